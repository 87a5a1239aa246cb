"""The loss streak (D22): one count for the account, over every asset.

A closed trade whose P&L in whole cents is below zero adds one, above zero resets the count, exactly zero leaves
it. Reaching `loss_streak_limit` locks entries for `loss_streak_lock_minutes` and restarts the count (so does a
limit put in force at or below the count already run up); each further lock that trading day doubles the minutes.
The count, the doubling and a lock still running reset at the rollover. The lock is a stored end time compared with
`now` when read, like every other lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .clock import mmss
from .decision import Refusal
from .money import cents
from .state import GlobalState

MAX_LIMIT = 50                 # losing trades in a row: beyond this a limit protects nobody
MAX_LOCK_MINUTES = 24 * 60     # a lock never needs to outlast a trading day (the rollover ends it anyway)

Emit = Callable[..., None]     # emit(kind, code, **detail): an audit event of the account (no asset)


def on_trade_closed(g: GlobalState, pnl_usd: float, now: float, emit: Emit) -> None:
    """Count one closed trade; lock entries when the count reaches the limit in force."""
    result = cents(pnl_usd)
    if result > 0:
        g.loss_streak_count = 0
        return
    if result == 0:
        return
    g.loss_streak_count += 1
    if _reached(g):
        _lock(g, now, emit)


def on_limit_set(g: GlobalState, now: float, emit: Emit) -> None:
    """A limit put in force now (switched on or lowered: D5 tightens at once) that the streak already reaches locks
    entries now, as the loss that reached it would have (docs/decisions.md, D22: this repository's reading)."""
    if _reached(g):
        _lock(g, now, emit)


def _reached(g: GlobalState) -> bool:
    return g.loss_streak_limit is not None and g.loss_streak_count >= g.loss_streak_limit


def _lock(g: GlobalState, now: float, emit: Emit) -> None:
    minutes = lock_minutes(g)
    losses = g.loss_streak_count
    g.loss_streak_lock_until_ts = now + minutes * 60
    g.loss_streak_locks_today += 1
    g.loss_streak_count = 0
    emit("lock_set", "LOSS_STREAK_LOCK", until=g.loss_streak_lock_until_ts, losses=losses, minutes=minutes,
         lock_of_day=g.loss_streak_locks_today)


def lock_minutes(g: GlobalState) -> int:
    """The length of the next lock: the setting, doubled for each lock already taken this trading day (bounded: a
    stored count from a hand-edited document must not overflow)."""
    base = min(max(g.loss_streak_lock_minutes, 1), MAX_LOCK_MINUTES)
    doublings: int = min(max(g.loss_streak_locks_today, 0), 16)
    return base << doublings


def on_rollover(g: GlobalState) -> None:
    g.loss_streak_count = 0
    g.loss_streak_locks_today = 0
    g.loss_streak_lock_until_ts = None


def remaining(g: GlobalState, now: float) -> int:
    until = g.loss_streak_lock_until_ts
    if until is None or now >= until:
        return 0
    return math.ceil(until - now)


def refusal(g: GlobalState, now: float) -> Refusal | None:
    left = remaining(g, now)
    if left <= 0:
        return None
    return Refusal(403, "LOSS_STREAK_LOCK", f"LOSS STREAK LOCK ACTIVE ({mmss(left)} remaining)", remaining_s=left)


def view(g: GlobalState, now: float) -> dict[str, object]:
    return {"limit": g.loss_streak_limit, "lock_minutes": g.loss_streak_lock_minutes, "count": g.loss_streak_count,
            "locks_today": g.loss_streak_locks_today, "next_lock_minutes": lock_minutes(g),
            "lock_until": g.loss_streak_lock_until_ts if remaining(g, now) > 0 else None,
            "remaining_s": remaining(g, now)}
