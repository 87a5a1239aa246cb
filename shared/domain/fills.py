"""Execution reports (D9): fills accumulate on the order, position math adds, duplicates are no-ops."""

from __future__ import annotations

from . import stops
from .clock import candle_bucket
from .config import point_value
from .core import (
    Ctx,
    clear_pending,
    close_trade,
    compute_zone,
    fresh_main_bar_since_entry,
    opposite_color,
    trades_remaining,
)
from .decision import Refusal
from .inputs import ExecutionReport
from .orders import (
    LATE_FILL_STATES,
    STALE_CANCEL_REASON,
    TERMINAL,
    IllegalTransition,
    effective_status,
    renew_lease,
    transition,
)
from .state import AssetState, Order

Body = dict[str, object]
DUPLICATE: tuple[int, Body] = (200, {"ok": True, "duplicate": True})


def execution_report(ctx: Ctx, cmd: ExecutionReport) -> tuple[int, Body]:
    order = ctx.world.orders.get(cmd.order_id)
    if order is None:
        raise Refusal(404, "UNKNOWN_ORDER", "Unknown order")
    a = ctx.world.assets[order.asset]
    if cmd.fill_id is not None and cmd.fill_id in order.fill_ids:
        return DUPLICATE
    if cmd.status == "WORKING":
        return _working(ctx, order)
    if cmd.status in ("REJECTED", "CANCELLED"):
        return _ended(ctx, order, a, cmd)
    return _fill(ctx, order, a, cmd)


def _working(ctx: Ctx, order: Order) -> tuple[int, Body]:
    if order.status in ("WORKING", "PARTIALLY_FILLED"):
        return DUPLICATE
    if order.status in TERMINAL:
        # reports are fire-and-forget and may arrive out of order: a late WORKING changes nothing
        return 200, {"ok": True, "ignored": "late_working_report"}
    transition(order, "WORKING", ctx.now)
    renew_lease(order, ctx.now, ctx.config.order_lease_s)
    ctx.emit("order_working", order.asset, None, order_id=order.id)
    return 200, {"ok": True}


def _ended(ctx: Ctx, order: Order, a: AssetState, cmd: ExecutionReport) -> tuple[int, Body]:
    if order.status == cmd.status:
        return DUPLICATE
    try:
        transition(order, cmd.status, ctx.now)
    except IllegalTransition as exc:
        raise Refusal(409, "ILLEGAL_TRANSITION", str(exc)) from None
    order.reason = cmd.reason or order.reason
    clear_pending(a, order.id)
    ctx.emit("order_ended", order.asset, cmd.status, order_id=order.id, reason=cmd.reason)
    if order.kind == "ENTRY" and order.filled_qty == 0:
        after_entry_cancelled(ctx, order)
    elif order.kind == "STOP":
        _stop_ended(ctx, order, a, cmd.status)
    elif order.kind == "EXIT" and a.position != 0:
        stops.follow(ctx, order.asset)   # the bridge cancelled the stop for this exit: the position needs one again
    return 200, {"ok": True}


def _stop_ended(ctx: Ctx, order: Order, a: AssetState, status: str) -> None:
    """D21: a rejected stop leaves the position unprotected; a cancelled one is over (before an exit, or the
    bridge's own doing: the next change of the position places a new one)."""
    if status == "REJECTED":
        stops.rejected(ctx, order)
    elif a.stop_order_id == order.id:   # the asset's live stop (a closed trade's stop was let go at the close)
        a.stop_order_id = None
        ctx.emit("stop_cancelled", order.asset, "UNPROTECTED", order_id=order.id)


def after_entry_cancelled(ctx: Ctx, order: Order) -> None:
    """§7.2: a scale-in is given back; a regular entry re-arms the tempo token and frees the candle if still in it."""
    a = ctx.world.assets[order.asset]
    if order.source == "SCALE_IN":
        a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts = True, False, "READY_6PT", ctx.now
        return
    a.tempo_spent_ts = None
    g = ctx.glob
    bucket = candle_bucket(ctx.now, ctx.config.candle_s)
    if g.five_min_trade_bucket is not None and g.five_min_trade_bucket == bucket:
        g.five_min_trade_bucket = None
        ctx.emit("lock_released", None, "CANDLE_LOCK_ACTIVE", why="entry_not_filled")


def _fill_qty(order: Order, cmd: ExecutionReport) -> int | None:
    """The quantity this report fills; None when it repeats what the order already has (D9, D19: a report is
    identified by its `fill_id` (checked before), else by its `cum_qty`; a FILLED order is complete, so a FILLED
    report for it is a repeat whatever it carries)."""
    if order.status == "FILLED" and cmd.status == "FILLED":
        return None
    if cmd.status == "PARTIALLY_FILLED" and cmd.qty is None and cmd.cum_qty is None:
        raise Refusal(400, "INVALID_QTY", "qty or cum_qty is required for a partial fill")
    if cmd.cum_qty is not None:
        qty = cmd.cum_qty - order.filled_qty
        if qty <= 0:
            return None
        if qty > order.remaining_qty:
            raise _overfill("cum_qty", f"{cmd.cum_qty} means a fill of {qty}, more than", order)
        return qty
    qty = cmd.qty if cmd.qty is not None else order.remaining_qty
    if qty <= 0:
        raise Refusal(400, "INVALID_QTY", "qty must be a positive integer")
    if qty > order.remaining_qty:
        raise _overfill("qty", f"{qty} exceeds", order)
    if cmd.fill_id is None and (cmd.status == "PARTIALLY_FILLED" or qty < order.remaining_qty):
        # re-sent after a lost answer, it would count again; a FILLED that completes the order needs no identity:
        # once the order is complete, any FILLED again is a repeat
        raise Refusal(400, "FILL_NOT_IDENTIFIED",
                      "fill_id or cum_qty: one is required for a fill that does not complete the order "
                      "(it is what keeps a re-sent report from counting twice)")
    return qty


def _overfill(field: str, given: str, order: Order) -> Refusal:
    """D15: a quantity beyond what remains is a bad value, so a 400 naming the field with nothing written (not even
    the audit line), not a 409 state conflict. Deviation: the original had no such check (§7.1 answers
    200 and takes the qty from its order index, so a broken bridge could over-fill a position unnoticed)."""
    return Refusal(400, "OVERFILL",
                   f"{field}: {given} the {order.remaining_qty} remaining on order {order.id} "
                   f"({order.filled_qty} of {order.qty} filled)")


def _fill(ctx: Ctx, order: Order, a: AssetState, cmd: ExecutionReport) -> tuple[int, Body]:
    qty = _fill_qty(order, cmd)
    if qty is None:
        return DUPLICATE
    price = _fill_price(ctx, order, a, cmd)
    was = effective_status(order, ctx.now)
    if was in LATE_FILL_STATES:
        # D19: the desk thought this order dead, the broker executed it: applied like any fill, and announced
        ctx.emit("late_fill", order.asset, "LATE_FILL", order_id=order.id, order_kind=order.kind, after=was, qty=qty,
                 price=price)
        order.late_fill_qty += qty
    if order.status == "CANCELLED" and order.reason == STALE_CANCEL_REASON:
        order.status = "STALE"  # the operator's cancel was not the broker's word: the rest may still be working
    transition(order, "FILL" if qty == order.remaining_qty else "PARTIAL_FILL", ctx.now)
    prior_value = (order.avg_fill_price or 0.0) * order.filled_qty
    order.filled_qty += qty
    order.avg_fill_price = (prior_value + price * qty) / order.filled_qty
    if cmd.fill_id is not None:
        order.fill_ids = [*order.fill_ids, cmd.fill_id]
    order.last_report = {"status": cmd.status, "qty": qty, "fill_price": price}
    if order.status == "FILLED":
        clear_pending(a, order.id)
    else:
        renew_lease(order, ctx.now, ctx.config.order_lease_s)
    signed = qty if order.side == "BUY" else -qty
    ctx.emit("fill", order.asset, order.kind, order_id=order.id, qty=qty, price=price, cumulative=order.filled_qty)
    answer = _apply_fill(ctx, order, a, signed, price)
    if a.position != 0:
        stops.follow(ctx, order.asset)   # D21: the resting stop follows every change of the position
    return answer


def _apply_fill(ctx: Ctx, order: Order, a: AssetState, signed: int, price: float) -> tuple[int, Body]:
    if order.kind in ("EXIT", "STOP"):   # a protective stop's fill closes like an exit, as `broker_stop`
        return _exit_fill(ctx, order, a, signed, price)
    if order.source == "SCALE_IN":
        return _scale_in_fill(ctx, a, signed, price)
    if a.position != 0 and (a.position > 0) != (signed > 0):
        # an entry filling against an open opposite trade (e.g. a late fill of a cancelled STALE order): it
        # reduces that trade, closes it at zero, and any rest opens a trade of its own; position math only adds
        left = _reduce(ctx, order, a, signed, price)
        if left == 0:
            return 200, {"ok": True}
        signed = left if signed > 0 else -left
    if a.position == 0:
        _open_trade(ctx, order, a, signed, price)
    else:
        _add_to_position(a, signed, price)
    return 200, {"ok": True}


def _fill_price(ctx: Ctx, order: Order, a: AssetState, cmd: ExecutionReport) -> float:
    """The report's price, checked (D19): required, positive, and plausible even before any price is known: within
    the configured band of the last known price, else of the order's reference price (the last price when it was
    created), else of the position's average, else inside the contract's configured plausible range. A price far
    off is a broken bridge and would poison the trade's P&L for good (and refuse the real exit's fill later)."""
    if cmd.fill_price is None:
        raise Refusal(400, "INVALID_FILL_PRICE", "fill_price: required for a fill (FILLED / PARTIALLY_FILLED)")
    price = cmd.fill_price
    if not price > 0:  # NaN too
        raise Refusal(400, "INVALID_FILL_PRICE", "fill_price: expected a number > 0")
    for reference, what in ((a.last_price, "last known price"), (order.ref_price, "order's reference price"),
                            (a.avg_price, "position's average price")):
        if reference:
            band = ctx.config.fill_price_band_pct  # 0 = no band (a backtest's choice; a deployment's is 1-25 %)
            if band > 0 and abs(price - reference) > reference * band / 100:
                raise Refusal(400, "FILL_PRICE_OUT_OF_BAND",
                              f"fill_price: {price:g} is more than {band:g}% away from the {what} {reference:g}")
            return price
    low, high = ctx.config.assets[order.asset].plausible_price
    if not low <= price <= high:
        raise Refusal(400, "FILL_PRICE_OUT_OF_BAND",
                      f"fill_price: {price:g} is outside {order.asset}'s plausible range {low:g}-{high:g} "
                      f"(no price known yet)")
    return price


def _add_to_position(a: AssetState, signed: int, price: float) -> None:
    old = abs(a.position)
    old_avg = a.avg_price if a.avg_price is not None else price
    a.position += signed
    a.avg_price = a.entry_price = (old_avg * old + price * abs(signed)) / max(1, old + abs(signed))


def _scale_in_fill(ctx: Ctx, a: AssetState, signed: int, price: float) -> tuple[int, Body]:
    if a.position == 0 or (a.position > 0) != (signed > 0):
        ctx.emit("scale_in_mismatch", a.symbol, "SCALE_IN_MISMATCH")
        return 409, {"ok": False, "error": "Scale-in fill direction mismatch or no open position",
                     "code": "SCALE_IN_MISMATCH"}
    _add_to_position(a, signed, price)
    a.pnl = 0.0
    a.order_count += 1
    a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts = False, True, None, ctx.now
    return 200, {"ok": True}


def _open_trade(ctx: Ctx, order: Order, a: AssetState, signed: int, price: float) -> None:
    """§7.3: the first fill of a regular entry opens the trade and arms its automatic management."""
    now = ctx.now
    a.position = signed
    a.avg_price = a.entry_price = price
    a.last_entry_ts = now
    a.tempo_4pt_unlock_ts = None
    a.pnl = 0.0
    a.order_count += 1
    a.exit_mode = order.mode or "A"
    a.env = order.env
    a.exit_filled_qty, a.exit_fill_value, a.realized_points_qty = 0, 0.0, 0.0
    mode = (order.trade_mode or a.pending_trade_mode or "").upper()
    a.trade_mode = mode if mode in ("SCALP", "RUNNER") else None
    zone = compute_zone(a)
    a.entry_zone = zone
    a.runner_4pt_unlocked = False
    a.entry_main_renko_ts, a.entry_high_renko_ts = a.main_renko_ts, a.high_renko_ts
    a.entry_main_renko_color, a.entry_renko_color = a.main_renko_color, a.renko_color
    a.initial_exit_lock_active, a.initial_exit_lock_released = True, False
    a.initial_exit_lock_started_ts, a.initial_exit_lock_released_ts = now, None
    a.initial_exit_lock_base_main_ts = a.main_renko_ts
    a.last_trade_had_new_main_bar_after_entry = False
    a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts = False, False, None, None
    a.high_next_bar_exit_enabled = False
    a.high_next_bar_exit_started_ts = a.high_next_bar_exit_base_ts = None
    a.four_pt_invalidation_enabled = False
    a.main_flip_exit_enabled = zone == "FREE"
    # 2.5pt lock initial state: opposite → released now, otherwise locked (aligned base colour, or neutral)
    color = a.two_half_renko_color
    if color == opposite_color(a.position):
        a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released = False, None, True
        a.two_half_tp_lock_started_ts, a.two_half_tp_lock_released_ts = None, now
    else:
        base = color if color in ("green", "red") else None
        a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released = True, base, False
        a.two_half_tp_lock_started_ts, a.two_half_tp_lock_released_ts = now, None
    a.points_tp_enabled, a.points_tp_target, a.rithmic_open_points = True, ctx.config.points_tp_default_target, 0.0
    a.rithmic_point_value = point_value(a.rithmic_symbol or order.symbol)
    a.points_tp_hit_ts = None
    a.protect_enabled, a.protect_threshold_points, a.protect_hit_ts = False, ctx.config.protect_default_threshold, None
    g = ctx.glob
    if trades_remaining(g) > 0:
        g.trades_taken_today += 1
    else:
        ctx.emit("trade_limit_exceeded", order.asset, "DAILY_TRADE_LIMIT")
    ctx.emit("trade_opened", order.asset, None, position=a.position, price=price, zone=zone)


def _exit_fill(ctx: Ctx, order: Order, a: AssetState, signed: int, price: float) -> tuple[int, Body]:
    if a.position == 0:
        return _closing_fill_while_flat(ctx, order, a, signed, price)
    if (a.position > 0) == (signed > 0):
        ctx.emit("exit_fill_same_direction", order.asset, "IGNORED", order_id=order.id)
        return 200, {"ok": True}
    left = _reduce(ctx, order, a, signed, price)
    if left:
        ctx.emit("exit_fill_beyond_position", order.asset, "EXIT_OVERFILL", order_id=order.id, extra_qty=left)
    return 200, {"ok": True}


def _closing_fill_while_flat(ctx: Ctx, order: Order, a: AssetState, signed: int, price: float) -> tuple[int, Body]:
    """An exit's (or a stop's) fill with no trade open. If the broker's snapshots closed the trade without a fill
    (D10), this is that fill arriving: recorded, nothing else (never a second cooldown). Otherwise both the stop
    and an exit executed (a bridge that broke D21's cancel-first rule): facts win (D19), the extra contracts are a
    position at the broker, shown and exitable, and the anomaly is announced as critical."""
    explained = min(abs(signed), a.unfilled_close_qty)
    a.unfilled_close_qty -= explained
    extra = abs(signed) - explained
    if extra == 0:
        ctx.emit("exit_fill_while_flat", order.asset, "FLAT_LOCAL", order_id=order.id)
        return 200, {"ok": True}
    a.position = extra if signed > 0 else -extra
    a.avg_price = a.entry_price = price
    a.last_entry_ts = ctx.now
    a.env = order.env
    ctx.emit("double_exit_fill", order.asset, "STOP_AND_EXIT_FILLED", order_id=order.id, position=a.position,
             price=price)
    return 200, {"ok": True}


def _reduce(ctx: Ctx, order: Order, a: AssetState, signed: int, price: float) -> int:
    """A fill against the open position: reduce it, close the trade at zero; returns the quantity left over."""
    a.last_price = price
    q = min(abs(signed), abs(a.position))
    side = 1 if a.position > 0 else -1
    average = a.avg_price if a.avg_price is not None else price
    a.exit_filled_qty += q
    a.exit_fill_value += q * price
    a.realized_points_qty += q * (price - average) * side
    if q < abs(a.position):
        a.position -= side * q
        return abs(signed) - q
    a.last_trade_had_new_main_bar_after_entry = fresh_main_bar_since_entry(a)
    close_trade(ctx, order.asset, order.reason or "exit_order_filled",
                exit_price=a.exit_fill_value / a.exit_filled_qty, size=a.exit_filled_qty,
                realized_points_qty=a.realized_points_qty)
    return abs(signed) - q
