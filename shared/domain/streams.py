"""TradingView streams (§4): bar colours arm and release locks, move the zone, count signals and fire exits.

A bar's time is the server receive time `now` (D6); a webhook that carries a bar id already seen for that stream and
asset is a duplicate and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from . import discipline, money, windows
from .catalog import Stream
from .core import (
    Ctx,
    aligned_color,
    clear_intent,
    clear_preorder,
    color_changed,
    compute_zone,
    create_entry,
    create_exit,
    evaluate_two_half_lock,
    fresh_main_bar_since_entry,
    opposite_color,
    preorder_expired_by_age,
    release_initial_exit_lock,
    trades_remaining,
)
from .exits import (
    four_pt_invalidation_exit,
    high_flip_exit,
    high_next_bar_exit,
    main_flip_exit,
    signal_count_take_profit_exit,
)
from .inputs import LevelExit, RenkoBar, TvHeartbeat
from .state import AssetState

Body = dict[str, object]


def seen_before(ctx: Ctx, a: AssetState, stream: str, bar_id: str | None) -> bool:
    """D6 receipts: remember the last bar ids of each stream on the asset (written in the same commit)."""
    if not bar_id:
        return False
    recent = a.recent_bar_ids.get(stream, [])
    if bar_id in recent:
        return True
    kept = [*recent, bar_id][-ctx.config.recent_bar_ids:]
    a.recent_bar_ids = {**a.recent_bar_ids, stream: kept}
    return False


def heartbeat(ctx: Ctx, cmd: TvHeartbeat) -> tuple[int, Body]:
    a = ctx.world.assets[cmd.asset]
    a.last_heartbeat_ts = ctx.now
    a.heartbeat_client_ts = cmd.client_ts
    if cmd.price is not None:
        a.last_price = cmd.price
    return 200, {"ok": True}


def renko_bar(ctx: Ctx, cmd: RenkoBar) -> tuple[int, Body]:
    a = ctx.world.assets[cmd.asset]
    if seen_before(ctx, a, cmd.stream, cmd.bar_id):
        return 200, {"ok": True, "duplicate": True}
    handler = _STREAMS[cmd.stream]
    return handler(ctx, cmd.asset, a, cmd.color)


def _four(ctx: Ctx, asset: str, a: AssetState, color: str) -> tuple[int, Body]:
    now = ctx.now
    changed = color_changed(a.renko_color, color)
    a.renko_color, a.last_renko_ts, a.color_changed = color, now, changed
    if a.position != 0:
        if a.scale_in_used:
            a.scale_in_available = False
        elif not a.scale_in_available and changed and color == opposite_color(a.position):
            a.scale_in_available, a.scale_in_stage, a.scale_in_last_ts = True, "READY_4PT_PULLBACK", now
    if (changed and a.position == 0 and a.last_trade_had_new_main_bar_after_entry and a.last_exit_ts is not None
            and now > a.last_exit_ts):
        a.tempo_4pt_unlock_ts = now
    if a.position != 0 and fresh_main_bar_since_entry(a) and changed and color == opposite_color(a.position):
        a.runner_4pt_unlocked = True
    four_pt_invalidation_exit(ctx, asset)
    return 200, {"ok": True}


def _two_half(ctx: Ctx, asset: str, a: AssetState, color: str) -> tuple[int, Body]:
    changed = color_changed(a.two_half_renko_color, color)
    a.two_half_renko_color, a.two_half_renko_ts, a.two_half_color_changed = color, ctx.now, changed
    evaluate_two_half_lock(a, ctx.now)
    return 200, {"ok": True, "asset": asset, "two_half_renko_color": color,
                 "two_half_tp_lock_enabled": a.two_half_tp_lock_enabled,
                 "two_half_tp_lock_released": a.two_half_tp_lock_released,
                 "two_half_renko_ts": ctx.now, "two_half_color_changed": changed}


def _main(ctx: Ctx, asset: str, a: AssetState, color: str) -> tuple[int, Body]:
    now = ctx.now
    a.main_renko_color, a.main_renko_ts = color, now
    if a.position == 0:
        a.scale_in_available, a.scale_in_stage = False, None
    elif a.scale_in_used:
        a.scale_in_available = False
    elif (not a.scale_in_available and color in ("green", "red") and a.entry_main_renko_ts is not None
          and now > a.entry_main_renko_ts and color == aligned_color(a.position)):
        a.scale_in_available, a.scale_in_stage, a.scale_in_last_ts = True, "READY_6PT", now
    if release_initial_exit_lock(a, now):
        ctx.emit("lock_released", asset, "INITIAL_EXIT_LOCK", why="fresh_6pt_bar")
    _advance_intent(ctx, asset, a)
    _trigger_preorder(ctx, asset, a, color)
    if a.position != 0 and a.tp_armed:
        a.tp_count += 1
        signal_count_take_profit_exit(ctx, asset)
    main_flip_exit(ctx, asset)  # not if the signal-count exit just fired: one exit order at a time
    return 200, {"ok": True, "asset": asset, "main_renko_color": color, "main_renko_ts": now}


def _advance_intent(ctx: Ctx, asset: str, a: AssetState) -> None:
    """READY on the next 6pt bar, EXPIRED on the one after (D8)."""
    if not a.intent_active:
        return
    base = a.intent_bar_base_ts
    if base is not None and ctx.now == base:
        return  # (base None: set before any 6pt bar, so this first bar is the next one; §13.3.15 trap fixed)
    if a.intent_ready_bar_ts is None:
        a.intent_ready_bar_ts = ctx.now
        a.intent_status = "READY"
        ctx.emit("intent_ready", asset, None)
    elif a.intent_ready_bar_ts != ctx.now:
        clear_intent(a, "EXPIRED")
        ctx.emit("intent_expired", asset, "NEXT_BAR")


def _trigger_preorder(ctx: Ctx, asset: str, a: AssetState, color: str) -> None:
    """§5.8: on the next 6pt bar the pre-order enters if the colour matches and the asset is free; else it ends."""
    if not a.preorder_active or (a.preorder_bar_base_ts is not None and ctx.now == a.preorder_bar_base_ts):
        return
    if preorder_expired_by_age(a, ctx.now, ctx.config):
        clear_preorder(a, "EXPIRED")
        ctx.emit("preorder_expired", asset, "MAX_AGE")
        return
    direction = a.preorder_direction
    wanted = "green" if direction == "BUY" else "red"
    g = ctx.glob
    free = (a.pending_order_id is None and a.position == 0 and not g.trade_lock and not g.daily_stop_triggered
            and not g.trailing_breached and trades_remaining(g) > 0 and not a.position_mismatch
            and money.risk_room(g, asset, a.preorder_qty, ctx.config) is None
            and discipline.remaining(g, ctx.now) <= 0
            and windows.blackout_refusal(g, ctx.now, ctx.config.trading_day_start_hour) is None
            and windows.in_trading_hours(g, ctx.now))
    if color == wanted and free and direction is not None:
        create_entry(ctx, asset, side=direction, qty=a.preorder_qty, source="PREORDER_TRIGGER",
                     trade_mode=a.preorder_trade_mode)
        clear_preorder(a, "FILLED")
        ctx.emit("preorder_triggered", asset, None)
        return
    clear_preorder(a, "CANCELLED")
    ctx.emit("preorder_cancelled", asset, "COLOR_MISMATCH" if color != wanted else "NOT_FREE")


def _high(ctx: Ctx, asset: str, a: AssetState, color: str) -> tuple[int, Body]:
    a.high_renko_color, a.high_renko_ts = color, ctx.now
    high_next_bar_exit(ctx, asset)
    high_flip_exit(ctx, asset)  # not if the next-bar exit just fired: one exit order at a time
    return 200, {"ok": True, "asset": asset, "high_renko_color": color, "high_renko_ts": ctx.now}


def _macro(ctx: Ctx, asset: str, a: AssetState, color: str) -> tuple[int, Body]:
    a.macro_renko_color, a.macro_renko_ts = color, ctx.now
    zone = compute_zone(a)
    return 200, {"ok": True, "asset": asset, "macro_renko_color": color, "zone_type": zone,
                 "macro_renko_ts": ctx.now, "conflict_mode": zone == "FREE"}


def _small(ctx: Ctx, asset: str, a: AssetState, color: str) -> tuple[int, Body]:
    a.small_renko_color, a.last_small_renko_ts = color, ctx.now
    return 200, {"ok": True}


def _one(ctx: Ctx, asset: str, a: AssetState, color: str) -> tuple[int, Body]:
    changed = color != a.one_renko_color
    a.one_renko_color, a.one_renko_ts, a.one_renko_color_changed = color, ctx.now, changed
    return 200, {"ok": True, "asset": asset, "one_renko_color": color, "one_renko_ts": ctx.now,
                 "one_renko_color_changed": changed}


_STREAMS: dict[Stream, Callable[[Ctx, str, AssetState, str], tuple[int, Body]]] = {   # one for each of STREAMS
    "4pt": _four, "2.5pt": _two_half, "6pt": _main, "8pt": _high, "12pt": _macro, "1pt_small": _small, "1pt_one": _one,
}


def level_exit(ctx: Ctx, cmd: LevelExit) -> tuple[int, Body]:
    a = ctx.world.assets[cmd.asset]
    if seen_before(ctx, a, "level_exit", cmd.bar_id):
        return 200, {"ok": True, "duplicate": True}
    if a.position == 0:
        return 200, {"ok": True, "ignored": "no_position"}
    if a.pending_order_id is not None:
        return 200, {"ok": True, "ignored": "pending_exit_exists"}
    create_exit(ctx, cmd.asset, "TV_LEVEL_EXIT", reason="tv_level_exit")
    return 200, {"ok": True, "action": "exit_order_created"}
