"""Cloud Task callbacks. They only tidy up and log: every flag they touch is also derived from timestamps on read,
so a late, duplicated or lost task never leaves anything stuck or changes anything wrongly."""

from __future__ import annotations

from collections.abc import Callable

from . import notify, windows
from .catalog import TimerKind
from .clock import candle_bucket
from .core import Ctx, clear_intent, clear_preorder, intent_expired_by_age, preorder_expired_by_age
from .inputs import TimerFired
from .operator import arm_flatten, ensure_flatten
from .orders import effective_status, transition

Body = dict[str, object]


def timer_fired(ctx: Ctx, cmd: TimerFired) -> tuple[int, Body]:
    handler = _HANDLERS[cmd.kind]
    outcome = handler(ctx, cmd)
    ctx.emit("timer", None, cmd.kind.upper(), key=cmd.key, outcome=outcome)
    return 200, {"ok": True, "outcome": outcome}


def _candle_lock_end(ctx: Ctx, cmd: TimerFired) -> str:
    g = ctx.glob
    if g.five_min_trade_bucket is not None and g.five_min_trade_bucket < candle_bucket(ctx.now, ctx.config.candle_s):
        g.five_min_trade_bucket = None
        return "released"
    return "nothing_to_do"


def _cooldown_end(ctx: Ctx, cmd: TimerFired) -> str:
    g = ctx.glob
    if g.post_exit_lock_expires_ts is not None and ctx.now >= g.post_exit_lock_expires_ts:
        g.post_exit_lock_started_ts = g.post_exit_lock_expires_ts = None
        return "released"
    return "nothing_to_do"


def _asset_of(cmd: TimerFired) -> str:
    return cmd.key.split(":", 1)[0]


def _intent_expiry(ctx: Ctx, cmd: TimerFired) -> str:
    a = ctx.world.assets.get(_asset_of(cmd))
    if a is not None and a.intent_active and intent_expired_by_age(a, ctx.now, ctx.config):
        clear_intent(a, "EXPIRED")
        return "expired"
    return "nothing_to_do"


def _preorder_expiry(ctx: Ctx, cmd: TimerFired) -> str:
    a = ctx.world.assets.get(_asset_of(cmd))
    if a is not None and a.preorder_active and preorder_expired_by_age(a, ctx.now, ctx.config):
        clear_preorder(a, "EXPIRED")
        return "expired"
    return "nothing_to_do"


def _lease_end(ctx: Ctx, cmd: TimerFired) -> str:
    order = ctx.world.orders.get(cmd.key)
    if order is not None and order.status == "CLAIMED" and effective_status(order, ctx.now) == "STALE":
        transition(order, "lease_end", ctx.now)
        ctx.emit("order_stale", order.asset, "LEASE_EXPIRED", order_id=order.id)
        return "stale"
    return "nothing_to_do"


def _blackout_flatten(ctx: Ctx, cmd: TimerFired) -> str:
    """D22's flatten-before, derived from the stored window and `now` (never from the task alone): if the window
    still exists and `now` is inside [start − flatten_before_s, end) of an occurrence, every open position gets its
    exit; then the next occurrence is armed. A duplicate finds the exits in flight and arms the same task name."""
    window_id = cmd.key.split(":", 1)[0]
    w = next((w for w in windows.windows(ctx.glob) if w["id"] == window_id), None)
    if w is None:
        return "nothing_to_do"
    return arm_flatten(ctx, w)


def _probe(ctx: Ctx, cmd: TimerFired) -> str:
    """The smoke test's timer (POST /api/timer-probe, issue 22): proves Cloud Tasks reaches the timers function
    through its OIDC check. It touches nothing; the audit event timer_fired writes is the proof."""
    return "fired"


def _watchdog(ctx: Ctx, cmd: TimerFired) -> str:
    """D23's silence conditions, once a minute (Cloud Scheduler; the local stack's ticker): each one is announced
    when it starts and when it clears (notify.watch). The same tick keeps D22's flatten-before timers derived from
    the stored windows (operator.ensure_flatten): a lost one is asked for again, a missed flatten done.
    The canary (TIMERS_FAILING) is judged in real seconds: `cmd.offset` is the clock's lead over the real one."""
    events = notify.watch(ctx.world, ctx.now, ctx.config, cmd.offset)
    ctx.events.extend(events)
    canary = notify.arm_canary(ctx.glob, ctx.now, ctx.config.timer_late_s, cmd.offset)
    if canary is not None:
        ctx.timers.append(canary)
    silences = ",".join(sorted(ctx.glob.silences or {})) or "quiet"
    flatten = ensure_flatten(ctx)
    return ";".join([silences, *flatten])


def _timer_canary(ctx: Ctx, cmd: TimerFired) -> str:
    """The watchdog's canary came back (TIMERS_FAILING clears at the next tick)."""
    return notify.canary_fired(ctx.glob, cmd.key, ctx.now)


_HANDLERS: dict[TimerKind, Callable[[Ctx, TimerFired], str]] = {   # one for each of catalog.TIMER_KINDS
    "candle_lock_end": _candle_lock_end, "cooldown_end": _cooldown_end, "intent_expiry": _intent_expiry,
    "preorder_expiry": _preorder_expiry, "lease_end": _lease_end, "probe": _probe,
    "blackout_flatten": _blackout_flatten, "watchdog": _watchdog, "timer_canary": _timer_canary,
}
