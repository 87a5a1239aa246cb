"""The lists the shell, the simulator and the dashboard take from the rules rather than keep copies of: the timer
kinds and the TradingView streams (their brick sizes and webhook routes). The contracts' figures live with the
assets in config.py (`CONTRACTS`).

What derives from each, and the tests that hold the copies that cannot import Python (the Terraform, the docs) to
it: docs/architecture.md#one-source-for-each-list; tests/unit/test_catalog.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# ---- timers ------------------------------------------------------------------------------------------------------

# What the rules do when a timer fires (timers.py has one handler for each; an input's `TimerFired.kind`)
TimerKind = Literal["candle_lock_end", "cooldown_end", "intent_expiry", "preorder_expiry", "lease_end", "probe",
                    "blackout_flatten", "watchdog", "timer_canary"]
# and the one task the shell runs alone: a notification's delivery to one destination (D23, shared/service/notify.py)
DeliveryKind = Literal["notify"]
TaskKind = Literal[TimerKind, DeliveryKind]

TIMER_KINDS: tuple[TimerKind, ...] = get_args(TimerKind)
NOTIFY: DeliveryKind = "notify"
TASK_KINDS: tuple[TaskKind, ...] = (*TIMER_KINDS, NOTIFY)   # every kind the timers function accepts

# ---- streams -----------------------------------------------------------------------------------------------------

Stream = Literal["1pt_one", "1pt_small", "2.5pt", "4pt", "6pt", "8pt", "12pt"]


@dataclass(frozen=True)
class StreamSpec:
    """One TradingView Renko stream (§4): its name, its brick size, the webhook it arrives on, what it is for."""

    name: Stream
    box: float    # the brick size, in points
    route: str    # the webhook path TradingView posts its bars to
    label: str    # the dashboard's name for it: the size and its part in the rules
    color_field: str   # the asset record's field holding its last colour (streams.py writes it)
    ts_field: str      # and the time that colour came
    shown_only: bool = False   # no rule reads its colour: the dashboard shows it

    @property
    def size(self) -> str:
        """The brick size as the trader says it: 1pt, 2.5pt, …"""
        return f"{self.box:g}pt"


# In the order of their brick sizes. The 1pt bricks of the simulator's market go to `1pt_one` (the first of a size).
STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("1pt_one", 1.0, "/tv_renko_one", "1pt", "one_renko_color", "one_renko_ts", shown_only=True),
    StreamSpec("1pt_small", 1.0, "/tv_renko_small", "1pt (small)", "small_renko_color", "last_small_renko_ts",
               shown_only=True),
    StreamSpec("2.5pt", 2.5, "/tv_renko_two_half", "2.5pt", "two_half_renko_color", "two_half_renko_ts"),
    StreamSpec("4pt", 4.0, "/tv_renko", "4pt", "renko_color", "last_renko_ts"),
    StreamSpec("6pt", 6.0, "/tv_renko_main", "6pt (tempo)", "main_renko_color", "main_renko_ts"),
    StreamSpec("8pt", 8.0, "/tv_renko_high", "8pt (zone)", "high_renko_color", "high_renko_ts"),
    StreamSpec("12pt", 12.0, "/tv_renko_macro", "12pt (zone)", "macro_renko_color", "macro_renko_ts"),
)
STREAM_NAMES: tuple[Stream, ...] = get_args(Stream)
STREAM_ROUTES: dict[str, str] = {s.name: s.route for s in STREAMS}          # stream → webhook route
STREAM_BY_ROUTE: dict[str, Stream] = {s.route: s.name for s in STREAMS}     # webhook route → stream
BOX_SIZES: tuple[float, ...] = tuple(sorted({s.box for s in STREAMS}))       # every brick size, once
STREAM_BY_BOX: dict[float, Stream] = {                                       # brick size → its first stream
    box: next(s.name for s in STREAMS if s.box == box) for box in BOX_SIZES}
# the dashboard's card: one cell for each brick size, the first stream of that size (the state view's `streams`)
CARD_STREAMS: tuple[StreamSpec, ...] = tuple(s for s in STREAMS if STREAM_BY_BOX[s.box] == s.name)
