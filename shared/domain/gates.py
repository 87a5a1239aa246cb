"""The entry gate chain (D2, extended by D20 and D22): small checks, each returning None or a Refusal with a stable
code and the spec's text.

`entry_refusal` stops at the first failure, in the order of D2; `checklist` evaluates every gate for the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import discipline, money, stops, windows
from .clock import mmss
from .config import Config
from .core import (
    candle_lock_remaining,
    compute_zone,
    cooldown_remaining,
    heartbeat_fresh,
    intent_ready,
    tempo_ready,
    trades_remaining,
)
from .decision import Refusal
from .state import AssetState, GlobalState

DAILY_STOP_TEXT = "Daily stop TRIGGERED — entries blocked for today"


@dataclass(frozen=True)
class GateInput:
    g: GlobalState
    a: AssetState
    now: float
    config: Config
    asset: str   # the asset's key, for the gates that look up its contract (a stored symbol is not trusted)


Gate = Callable[[GateInput], Refusal | None]


def daily_stop(x: GateInput) -> Refusal | None:
    """Triggered by the percent stop (the original's code and text) or by the dollar limit (D20)."""
    if not x.g.daily_stop_triggered:
        return None
    if x.g.daily_stop_code == "DAILY_LOSS_LIMIT":
        return Refusal(403, "DAILY_LOSS_LIMIT", money.daily_loss_text(x.g))
    return Refusal(403, "DAILY_STOP", DAILY_STOP_TEXT)


def trailing_drawdown(x: GateInput) -> Refusal | None:
    return money.trailing_refusal(x.g)


def post_exit_cooldown(x: GateInput) -> Refusal | None:
    left = cooldown_remaining(x.g, x.now)
    if left <= 0:
        return None
    return Refusal(403, "POST_EXIT_COOLDOWN", f"POST-EXIT COOLDOWN ACTIVE ({mmss(left)} remaining)",
                   remaining_s=left)


def loss_streak(x: GateInput) -> Refusal | None:
    """D22: entries locked for a while after `loss_streak_limit` losing trades in a row."""
    return discipline.refusal(x.g, x.now)


def candle_lock(x: GateInput) -> Refusal | None:
    left = candle_lock_remaining(x.g, x.now, x.config)
    if left <= 0:
        return None
    return Refusal(403, "CANDLE_LOCK_ACTIVE",
                   f"5 MIN LOCK ACTIVE — one trade already used this candle ({mmss(left)} remaining)",
                   remaining_s=left)


def trade_lock(x: GateInput) -> Refusal | None:
    return Refusal(403, "TRADE_LOCK", "Global trade lock active") if x.g.trade_lock else None


def daily_trade_limit(x: GateInput) -> Refusal | None:
    if trades_remaining(x.g) > 0:
        return None
    return Refusal(409, "DAILY_TRADE_LIMIT", "Daily trade limit reached")


def blackout(x: GateInput) -> Refusal | None:
    """D22: inside a blackout window (one-off, weekly or imported), with its label and the time left."""
    return windows.blackout_refusal(x.g, x.now, x.config.trading_day_start_hour)


def trading_window(x: GateInput) -> Refusal | None:
    """D22: outside the allowed trading hours of the New York weekday."""
    return windows.trading_window_refusal(x.g, x.now)


def open_position(x: GateInput) -> Refusal | None:
    return Refusal(403, "POSITION_OPEN", "Asset already in a trade") if x.a.position != 0 else None


def pending_order(x: GateInput) -> Refusal | None:
    if x.a.pending_order_id is None:
        return None
    return Refusal(403, "PENDING_ORDER", "Pending order already exists")


def position_mismatch(x: GateInput) -> Refusal | None:
    if not x.a.position_mismatch:
        return None
    return Refusal(409, "POSITION_MISMATCH", "Broker position does not match the local position – entries blocked")


def heartbeat(x: GateInput) -> Refusal | None:
    if heartbeat_fresh(x.g, x.a, x.now, x.config):
        return None
    return Refusal(403, "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot trade")


def tempo(x: GateInput) -> Refusal | None:
    return None if tempo_ready(x.a) else Refusal(403, "TEMPO_WAIT", "Tempo token WAIT — need a new 6pt bar")


LOCK_GATES: tuple[Gate, ...] = (
    daily_stop, trailing_drawdown, post_exit_cooldown, loss_streak, candle_lock, trade_lock, daily_trade_limit,
    blackout, trading_window, open_position, pending_order, position_mismatch, heartbeat, tempo,
)


def first_refusal(x: GateInput, gates: tuple[Gate, ...] = LOCK_GATES) -> Refusal | None:
    for gate in gates:
        refusal = gate(x)
        if refusal is not None:
            return refusal
    return None


def direction_refusal(a: AssetState, direction: str | None) -> Refusal | None:
    """§5.6: zone and 2.5pt filter for a market entry in `direction` (HTTP 409)."""
    zone = compute_zone(a)
    reason: str | None = None
    if direction not in ("BUY", "SELL"):
        reason = "Invalid direction"
    elif zone is None:
        reason = "8/12 zone unavailable"
    elif zone == "NORMAL" and direction != ("BUY" if a.high_renko_color == "green" else "SELL"):
        reason = "Blocked by 8/12 structure"
    elif a.two_half_renko_color != ("green" if direction == "BUY" else "red"):
        reason = f"Blocked by 2.5pt Renko: {a.two_half_renko_color}"
    if reason is None:
        return None
    return Refusal(409, "ZONE_BLOCKED", reason, zone_type=zone, main_renko_color=a.main_renko_color,
                   high_renko_color=a.high_renko_color, macro_renko_color=a.macro_renko_color,
                   two_half_renko_color=a.two_half_renko_color)


def market_direction(x: GateInput, *, override: bool, direction: str | None) -> tuple[str | None, Refusal | None]:
    """Gates 11a–11c and 12 for a market entry (or a READY intent, D8); returns the chosen direction."""
    a = x.a
    if intent_ready(a, x.now, x.config) and a.intent_direction is not None and direction in (None, a.intent_direction):
        return a.intent_direction, None
    if override:
        if direction is None:
            return None, Refusal(403, "OVERRIDE_DIRECTION_REQUIRED",
                                 "Override entry requires direction=BUY/SELL (or green/red)")
        chosen: str | None = direction
    else:
        zone = compute_zone(a)
        if zone is None:
            return None, Refusal(403, "STRUCTURE_UNAVAILABLE", "8pt/12pt structure unavailable – cannot trade")
        if zone == "FREE":
            if direction is None:
                return None, Refusal(403, "FREE_ZONE_DIRECTION_REQUIRED", "Free zone: choose direction=BUY/SELL")
            chosen = direction
        else:
            chosen = "BUY" if a.high_renko_color == "green" else "SELL"
    return chosen, direction_refusal(a, chosen)


def checklist(x: GateInput, direction: str | None = None) -> list[dict[str, object]]:
    """Every gate of D2 with pass/fail, code, reason and seconds remaining, for `GET /api/gates` (no short cut)."""
    rows: list[dict[str, object]] = []
    for gate in LOCK_GATES:
        refusal = gate(x)
        rows.append(_row(gate.__name__, refusal))
    _, structure = market_direction(x, override=False, direction=direction)
    rows.append(_row("structure", structure))
    rows.append(_row("protective_stop", stops.gate_refusal(x.g, x.now, x.config)))
    rows.append(_row("risk_room", _next_entry_room(x)))
    return rows


def sides_open(x: GateInput) -> dict[str, bool]:
    """For each side, whether a market entry would pass every gate now (a FREE zone allows a choice)."""
    locks_pass = (first_refusal(x) is None and stops.gate_refusal(x.g, x.now, x.config) is None
                  and _next_entry_room(x) is None)
    sides: dict[str, bool] = {}
    for side in ("BUY", "SELL"):
        chosen, refusal = market_direction(x, override=False, direction=side)
        sides[side] = locks_pass and refusal is None and chosen == side  # NORMAL picks its own side
    return sides


def _next_entry_room(x: GateInput) -> Refusal | None:
    """RISK_ROOM for an entry of the default size (the board cannot know the size the operator will choose)."""
    return money.risk_room(x.g, x.asset, x.config.entry_qty_default, x.config)


def _row(name: str, refusal: Refusal | None) -> dict[str, object]:
    return {
        "gate": name,
        "pass": refusal is None,
        "code": None if refusal is None else refusal.code,
        "reason": None if refusal is None else refusal.text,
        "remaining_s": None if refusal is None else refusal.extra.get("remaining_s", None),
    }
