"""The shared vocabulary of the rules: the decision context, derived flags, order creation, closing a trade."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import discipline, money, windows
from .clock import candle_bucket, ny_date, trading_day
from .config import Config, contract_for, point_value
from .decision import Event, Timer
from .orders import transition
from .state import AssetState, GlobalState, Order, World

GREEN_RED = ("green", "red")


@dataclass(slots=True)
class Ctx:
    """One decision in progress: the world being changed, the time, and what the decision has produced so far."""

    world: World
    now: float
    config: Config
    request_id: str
    events: list[Event] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    _order_seq: int = 0

    @property
    def glob(self) -> GlobalState:
        return self.world.glob

    def emit(self, kind: str, asset: str | None = None, code: str | None = None, **detail: Any) -> None:
        self.events.append(Event(kind, asset, code, detail))

    def next_order_id(self, asset: str) -> str:
        self._order_seq += 1
        return f"{asset}-{self.request_id}-{self._order_seq}"


def order_asset(order_id: str) -> str:
    """The asset key an order id starts with (see `Ctx.next_order_id`): lets the shell load the right asset
    before it has read the order."""
    return order_id.split("-", 1)[0]


# ---- colours, zone, direction --------------------------------------------------------------------------------

def opposite_color(position: int) -> str | None:
    if position > 0:
        return "red"
    if position < 0:
        return "green"
    return None


def aligned_color(position: int) -> str | None:
    if position > 0:
        return "green"
    if position < 0:
        return "red"
    return None


def compute_zone(a: AssetState) -> str | None:
    """8pt and 12pt agree → NORMAL (direction = 8pt), disagree → FREE, either not green/red → None (§4.7)."""
    high, macro = a.high_renko_color, a.macro_renko_color
    if high not in GREEN_RED or macro not in GREEN_RED:
        return None
    return "NORMAL" if high == macro else "FREE"


def parse_direction(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if text in ("buy", "long", "green", "g"):
        return "BUY"
    if text in ("sell", "short", "red", "r"):
        return "SELL"
    return None


def color_changed(prev: str, new: str) -> bool:
    return prev in GREEN_RED and new in GREEN_RED and prev != new


# ---- derived flags (never stored as truth) ----------------------------------------------------------------------

def tempo_ready(a: AssetState) -> bool:
    if a.main_renko_ts is None:
        return False
    if a.tempo_spent_ts is None:
        return True
    if a.main_renko_ts > a.tempo_spent_ts:
        return True
    return a.tempo_4pt_unlock_ts is not None and a.tempo_4pt_unlock_ts > a.tempo_spent_ts


def candle_lock_remaining(g: GlobalState, now: float, config: Config) -> int:
    """Seconds left in the 5-minute candle the last entry was created in; 0 when that candle is over."""
    if g.five_min_trade_bucket is None or g.five_min_trade_bucket != candle_bucket(now, config.candle_s):
        return 0
    return config.candle_s - (int(now) % config.candle_s)


def cooldown_remaining(g: GlobalState, now: float) -> int:
    expires = g.post_exit_lock_expires_ts
    if expires is None or now >= expires:
        return 0
    return max(0, math.ceil(expires - now))


def price_age_limit(g: GlobalState, config: Config) -> float:
    """The heartbeat gate's limit (§5.5): the spec's 600 s, or the operator's tighter `max_price_age_s`."""
    return min(config.heartbeat_fresh_s, g.max_price_age_s)


def heartbeat_fresh(g: GlobalState, a: AssetState, now: float, config: Config) -> bool:
    return a.last_heartbeat_ts is not None and now - a.last_heartbeat_ts <= price_age_limit(g, config)


def trades_remaining(g: GlobalState) -> int:
    return max(0, g.max_trades_per_day - g.trades_taken_today)


def fresh_main_bar_since_entry(a: AssetState) -> bool:
    """A 6pt bar newer than the one seen at the entry fill; if none had been seen, any 6pt bar after the fill
    (the original compared with a missing bar and so never released the initial exit lock, §13.3.16)."""
    main = a.main_renko_ts
    if main is None:
        return False
    reference = a.entry_main_renko_ts if a.entry_main_renko_ts is not None else a.last_entry_ts
    return reference is not None and main > reference


def six_next_bar_exit_allowed(a: AssetState) -> bool:
    opposite = a.two_half_renko_color == opposite_color(a.position)
    return a.position != 0 and (not fresh_main_bar_since_entry(a) or opposite)


def eight_next_bar_exit_allowed(a: AssetState) -> bool:
    fresh_high = (a.high_renko_ts is not None and a.entry_high_renko_ts is not None
                  and a.high_renko_ts > a.entry_high_renko_ts)
    return a.position != 0 and (not fresh_high or a.two_half_renko_color == opposite_color(a.position))


def intent_expired_by_age(a: AssetState, now: float, config: Config) -> bool:
    return a.intent_created_ts is not None and now >= a.intent_created_ts + config.intent_max_age_s


def preorder_expired_by_age(a: AssetState, now: float, config: Config) -> bool:
    return a.preorder_created_ts is not None and now >= a.preorder_created_ts + config.intent_max_age_s


def intent_ready(a: AssetState, now: float, config: Config) -> bool:
    return (a.intent_active and a.intent_status == "READY" and a.intent_ready_bar_ts is not None
            and a.intent_ready_bar_ts == a.main_renko_ts and not intent_expired_by_age(a, now, config))


# ---- normalisation run at the start of every decision and every read ---------------------------------------------

def roll_trading_day(g: GlobalState, now: float, config: Config) -> bool:
    """D4/D5: at 18:00 New York the daily stop, its trade lock and the trade counter reset; loosened risk applies."""
    today = trading_day(now, config.trading_day_start_hour)
    if g.trading_day == today:
        return False
    first_ever = g.trading_day is None
    g.trading_day = today
    if first_ever:
        return True
    money.on_rollover(g)
    discipline.on_rollover(g)
    windows.on_rollover(g, now)
    g.daily_stop_code = None
    g.daily_start_equity = None
    g.daily_stop_triggered = False
    g.daily_stop_triggered_ts = None
    g.daily_stop_triggered_reason = None
    g.daily_stop_triggered_equity = None
    g.daily_stop_triggered_dd_pct = None
    g.daily_pnl_usd = g.daily_pnl_pct = g.daily_stop_remaining_pct = None
    if g.trade_lock:
        g.trade_lock = False
        g.trade_lock_reason = None
    g.trades_taken_today = 0
    apply_pending_risk(g)
    return True


def apply_pending_risk(g: GlobalState) -> None:
    """The loosened risk settings waiting for the next trading day (D5) take effect (also: a new account starts
    with all of its settings in force, `sim.backtest --risk`)."""
    for name, value in g.pending_risk.items():
        if name == "protective_stop_points":   # per asset: the waiting ones join the others
            g.protective_stop_points = {**g.protective_stop_points, **value}
        else:
            setattr(g, name, value)
    g.pending_risk = {}


def release_initial_exit_lock(a: AssetState, now: float) -> bool:
    """§8.1: flat → inactive; released by the first 6pt bar after the entry fill."""
    if a.position == 0:
        if a.initial_exit_lock_active:
            a.initial_exit_lock_active = False
            return True
        return False
    if not a.initial_exit_lock_active or not fresh_main_bar_since_entry(a):
        return False
    a.initial_exit_lock_active = False
    a.initial_exit_lock_released = True
    a.initial_exit_lock_released_ts = now
    return True


def evaluate_two_half_lock(a: AssetState, now: float) -> None:
    """§8.11: the 2.5pt management lock follows the 2.5pt colour while in a trade (dynamic)."""
    if a.position == 0:
        a.two_half_tp_lock_enabled = False
        a.two_half_tp_lock_base_color = None
        a.two_half_tp_lock_released = False
        return
    color = a.two_half_renko_color
    if color == opposite_color(a.position):
        if a.two_half_tp_lock_enabled:
            a.two_half_tp_lock_released_ts = now
        a.two_half_tp_lock_enabled = False
        a.two_half_tp_lock_base_color = None
        a.two_half_tp_lock_released = True
        if a.two_half_tp_lock_released_ts is None:
            a.two_half_tp_lock_released_ts = now
    elif color == aligned_color(a.position):
        if not a.two_half_tp_lock_enabled:
            a.two_half_tp_lock_started_ts = now
        a.two_half_tp_lock_enabled = True
        a.two_half_tp_lock_base_color = color
        a.two_half_tp_lock_released = False
    else:
        a.two_half_tp_lock_enabled = True
        a.two_half_tp_lock_base_color = None
        a.two_half_tp_lock_released = False


# ---- orders ------------------------------------------------------------------------------------------------------

def current_contract(ctx: Ctx, asset: str) -> str:
    return contract_for(asset, ny_date(ctx.now), ctx.config)


def new_order(ctx: Ctx, asset: str, *, side: str, qty: int, kind: str, source: str, env: str,
              contract: str, trade_mode: str | None = None, mode: str = "A", reason: str | None = None,
              pending: bool = True) -> Order:
    """A new PENDING order for the bridge; `pending` (every order but a protective stop, D21) makes it the asset's
    order in flight, which the pending-order gate and the exits look at."""
    order = Order(
        id=ctx.next_order_id(asset), asset=asset, symbol=contract, side=side, qty=qty, kind=kind, source=source,
        env=env, exchange=ctx.config.assets[asset].exchange, mode=mode, trade_mode=trade_mode,
        created_at=ctx.now, updated_at=ctx.now, reason=reason, ref_price=ctx.world.assets[asset].last_price,
    )
    ctx.world.orders[order.id] = order
    ctx.emit("order_created", asset, source, order_id=order.id, order_kind=kind, side=side, qty=qty, symbol=contract)
    if not pending:
        return order
    a = ctx.world.assets[asset]
    a.pending_order_id = order.id
    a.pending_side = side
    a.pending_qty = qty
    a.pending_mode = mode
    a.pending_kind = kind
    a.pending_trade_mode = trade_mode if kind == "ENTRY" else None
    return order


def activate_candle_lock(ctx: Ctx) -> None:
    bucket = candle_bucket(ctx.now, ctx.config.candle_s)
    ctx.glob.five_min_trade_bucket = bucket
    end = float((bucket + 1) * ctx.config.candle_s)
    ctx.timers.append(Timer("candle_lock_end", str(bucket), end, {"bucket": bucket}))
    ctx.emit("lock_set", None, "CANDLE_LOCK_ACTIVE", until=end)


def create_entry(ctx: Ctx, asset: str, *, side: str, qty: int, source: str, trade_mode: str | None) -> Order:
    """A new entry: the order, the pending fields, the candle lock, the spent tempo token and the trade resets."""
    a = ctx.world.assets[asset]
    contract = current_contract(ctx, asset)
    order = new_order(ctx, asset, side=side, qty=qty, kind="ENTRY", source=source, env=ctx.glob.env.upper(),
                       contract=contract, trade_mode=trade_mode)
    a.exit_tf = "high"
    a.rithmic_symbol = contract
    a.main_flip_exit_enabled = False
    activate_candle_lock(ctx)
    a.tempo_spent_ts = ctx.now
    a.tp_count, a.tp_armed, a.tp_target = 0, False, ctx.config.tp_target_default
    a.points_tp_enabled, a.points_tp_target, a.rithmic_open_points, a.points_tp_hit_ts = False, 10.0, 0.0, None
    a.protect_enabled, a.protect_threshold_points, a.protect_hit_ts = False, ctx.config.protect_default_threshold, None
    a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts = False, False, None, None
    return order


def may_exit(a: AssetState) -> bool:
    """§8.3: an EXIT needs an open position and nothing in flight; every caller of `create_exit` checks this."""
    return a.position != 0 and a.pending_order_id is None


def create_exit(ctx: Ctx, asset: str, source: str, *, reason: str | None = None) -> Order:
    """§8.3: one EXIT order for the whole position, opposite side."""
    a = ctx.world.assets[asset]
    assert may_exit(a), f"EXIT for {asset} while flat or with an order in flight"  # noqa: S101 - callers check
    side = "SELL" if a.position > 0 else "BUY"
    contract = a.rithmic_symbol or current_contract(ctx, asset)
    env = (a.env or ctx.glob.env).upper()
    order = new_order(ctx, asset, side=side, qty=abs(a.position), kind="EXIT", source=source, env=env,
                      contract=contract, mode=a.exit_mode or "A", reason=reason)
    order.replaces_stop = a.stop_order_id   # the bridge cancels that stop first (D21)
    ctx.emit("exit_fired", asset, source, order_id=order.id)
    return order


def clear_pending(a: AssetState, order_id: str) -> None:
    """The order ended or filled: if it is the asset's live order, the asset has nothing in flight now. A report
    for any other order (e.g. a late fill of a cancelled STALE order) never clears the live one."""
    if a.pending_order_id != order_id:
        return
    a.pending_order_id = None
    a.pending_side = None
    a.pending_qty = 0
    a.pending_mode = None
    a.pending_trade_mode = None
    a.pending_kind = None


def cancel_pending_entry(ctx: Ctx, key: str, source: str, reason: str) -> bool:
    """D11: the asset's entry not yet handed to the bridge (PENDING) is cancelled, with `reason` and an
    `order_cancelled` event under `source`. One the bridge claimed cannot be: its report decides (a fill opens a
    position the caller flattens later). The order must be loaded (`engine.orders_needed`)."""
    a = ctx.world.assets[key]
    pending = ctx.world.orders.get(a.pending_order_id) if a.pending_order_id else None
    if pending is None or pending.kind != "ENTRY" or pending.status != "PENDING":
        return False
    transition(pending, "cancel", ctx.now)
    pending.reason = reason
    clear_pending(a, pending.id)
    ctx.emit("order_cancelled", key, source, order_id=pending.id)
    return True


def start_cooldown(ctx: Ctx) -> None:
    g = ctx.glob
    g.post_exit_lock_started_ts = ctx.now
    g.post_exit_lock_expires_ts = ctx.now + ctx.config.post_exit_cooldown_s
    ctx.timers.append(Timer("cooldown_end", f"{ctx.now:.3f}", g.post_exit_lock_expires_ts, {}))
    ctx.emit("lock_set", None, "POST_EXIT_COOLDOWN", until=g.post_exit_lock_expires_ts)


def close_trade(
    ctx: Ctx, asset: str, reason: str, exit_price: float | None = None, size: int | None = None,
    realized_points_qty: float | None = None,
) -> None:
    """§7.6: history row (contract point value, D7), every reset of list A, and the post-exit cooldown.

    Closed by exit fills, `realized_points_qty` is the exact result (each fill against the average entry price in
    force when it filled, so scale-ins between partial exits count right); otherwise (broker flat) the row uses
    the last known price against the average entry."""
    a = ctx.world.assets[asset]
    assert a.position != 0, f"closing a trade on flat {asset}"  # noqa: S101 - callers close open trades only
    size = size if size is not None else abs(a.position)
    sign = 1 if a.position > 0 else -1
    entry = a.avg_price if a.avg_price is not None else (a.entry_price if a.entry_price is not None else a.last_price)
    exit_px = exit_price if exit_price is not None else (a.last_price if a.last_price is not None else entry)
    entry_f = float(entry) if entry is not None else float(exit_px or 0.0)
    exit_f = float(exit_px) if exit_px is not None else entry_f
    points = realized_points_qty / size if realized_points_qty is not None else (exit_f - entry_f) * sign
    contract = a.rithmic_symbol or current_contract(ctx, asset)
    row = {
        "id": f"{asset}-{ctx.request_id}-trade",
        "asset": asset, "side": "LONG" if sign > 0 else "SHORT", "size": size, "symbol": contract,
        "entry_price": entry_f, "exit_price": exit_f, "entry_ts": a.last_entry_ts, "exit_ts": ctx.now,
        "pnl_points": points, "pnl_usd": points * point_value(contract) * size,
        "mode": a.exit_mode, "trade_mode": a.trade_mode, "reason": reason, "env": (a.env or ctx.glob.env),
    }
    ctx.trades.append(row)
    ctx.emit("trade_closed", asset, reason, pnl_points=points, pnl_usd=row["pnl_usd"])
    discipline.on_trade_closed(ctx.glob, points * point_value(contract) * size, ctx.now,
                               lambda kind, code, **detail: ctx.emit(kind, None, code, **detail))
    if fresh_main_bar_since_entry(a):
        a.last_trade_had_new_main_bar_after_entry = True
    reset_after_close(a, ctx.now, ctx.config)
    start_cooldown(ctx)


def reset_after_close(a: AssetState, now: float, config: Config) -> None:
    """Reset list A of §7.6."""
    a.position = 0
    a.stop_order_id = None   # a stop still resting ends with its CANCELLED report (the bridge cancels it, D21)
    a.avg_price = a.entry_price = None
    a.pnl = 0.0
    a.last_entry_ts = None
    a.exit_mode = None
    a.last_exit_ts = now
    a.tempo_4pt_unlock_ts = None
    a.color_changed = False
    a.env = None
    a.exit_filled_qty, a.exit_fill_value, a.realized_points_qty = 0, 0.0, 0.0
    a.tp_count, a.tp_armed = 0, False
    a.high_next_bar_exit_enabled = False
    a.high_next_bar_exit_started_ts = a.high_next_bar_exit_base_ts = None
    a.main_flip_exit_enabled = False
    a.initial_exit_lock_active = a.initial_exit_lock_released = False
    a.initial_exit_lock_started_ts = a.initial_exit_lock_released_ts = a.initial_exit_lock_base_main_ts = None
    a.trade_mode = a.entry_zone = None
    a.runner_4pt_unlocked = False
    a.entry_main_renko_ts = a.entry_high_renko_ts = None
    a.entry_renko_color = a.entry_main_renko_color = None
    a.four_pt_invalidation_enabled = False
    a.pending_trade_mode = a.preorder_trade_mode = None
    a.points_tp_enabled, a.points_tp_target, a.rithmic_open_points = False, config.points_tp_default_target, 0.0
    a.rithmic_point_value = a.points_tp_hit_ts = None
    a.protect_enabled, a.protect_threshold_points, a.protect_hit_ts = False, config.protect_default_threshold, None
    a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released = False, None, False
    a.two_half_tp_lock_started_ts = a.two_half_tp_lock_released_ts = None
    a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts = False, False, None, None
    a.broker_flat_streak = 0
    # §7.6's "tp_target = 3 if falsy" has nothing to do: every writer keeps tp_target in 1..50


def clear_intent(a: AssetState, status: str | None) -> None:
    a.intent_active = False
    a.intent_direction = None
    a.intent_created_ts = a.intent_bar_base_ts = a.intent_ready_bar_ts = None
    a.intent_status = status


def clear_preorder(a: AssetState, status: str | None) -> None:
    a.preorder_active = False
    a.preorder_direction = None
    a.preorder_qty = 0
    a.preorder_entry_size_mode = a.preorder_trade_mode = None
    a.preorder_created_ts = a.preorder_bar_base_ts = None
    a.preorder_status = status


def entry_qty(entry_size_mode: str | None, config: Config) -> int:
    return config.entry_qty_9pt if entry_size_mode == "9pt" else config.entry_qty_default
