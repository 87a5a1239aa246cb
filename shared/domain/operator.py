"""Operator commands from the dashboard: entries, intents, pre-orders, exits and the trade-management controls."""

from __future__ import annotations

import math

from . import discipline, money, stops, windows
from .config import CONTRACTS
from .core import (
    Ctx,
    cancel_pending_entry,
    clear_intent,
    clear_pending,
    clear_preorder,
    create_entry,
    create_exit,
    current_contract,
    eight_next_bar_exit_allowed,
    entry_qty,
    heartbeat_fresh,
    intent_expired_by_age,
    intent_ready,
    may_exit,
    new_order,
    parse_direction,
    preorder_expired_by_age,
    price_age_limit,
    six_next_bar_exit_allowed,
    trades_remaining,
)
from .decision import Refusal, Timer
from .exits import points_take_profit_exit, protect_exit
from .fills import after_entry_cancelled
from .gates import DAILY_STOP_TEXT, GateInput, first_refusal, market_direction, post_exit_cooldown
from .inputs import (
    AddBlackouts,
    BlackoutSpec,
    CancelIntent,
    CancelOrder,
    CancelPreorder,
    ConsumeTradeLimit,
    CreateIntent,
    ManualExit,
    PlaceOrder,
    RebaselineAccount,
    RemoveBlackout,
    ScaleIn,
    SetEnv,
    SetPointsTakeProfit,
    SetProtect,
    SetRisk,
    SetTakeProfit,
    ToggleExit,
)
from .orders import LIVE_AT_BROKER, STALE_CANCEL_REASON, effective_status, order_public, transition
from .state import AssetState

Body = dict[str, object]


def known_asset(ctx: Ctx, key: str, text: str = "Unknown asset") -> AssetState:
    if key not in ctx.config.assets or key not in ctx.world.assets:
        raise Refusal(400, "UNKNOWN_ASSET", text)
    return ctx.world.assets[key]


def expire_aged(ctx: Ctx, key: str, a: AssetState) -> None:
    """D8 time expiry does not wait for its Cloud Task: a late or lost task must not leave an aged intent or
    pre-order blocking a new one ("Intent already active", "Pre-order already active")."""
    if a.intent_active and intent_expired_by_age(a, ctx.now, ctx.config):
        clear_intent(a, "EXPIRED")
        ctx.emit("intent_expired", key, "MAX_AGE")
    if a.preorder_active and preorder_expired_by_age(a, ctx.now, ctx.config):
        clear_preorder(a, "EXPIRED")
        ctx.emit("preorder_expired", key, "MAX_AGE")


def require_position(a: AssetState) -> None:
    if a.position == 0:
        raise Refusal(409, "NO_POSITION", "No open position")


def require_no_pending(a: AssetState, text: str = "Pending order already exists") -> None:
    if a.pending_order_id is not None:
        raise Refusal(409, "PENDING_ORDER", text)


# ---- entries -----------------------------------------------------------------------------------------------------

def place_order(ctx: Ctx, cmd: PlaceOrder) -> tuple[int, Body]:
    order_type = (cmd.order_type or "market").strip().lower()
    if order_type not in ("market", "preorder"):
        raise Refusal(400, "INVALID_ORDER_TYPE", "Invalid order_type")
    a = known_asset(ctx, cmd.asset)
    expire_aged(ctx, cmd.asset, a)
    trade_mode = (cmd.trade_mode or "").strip().upper()
    if trade_mode not in ("SCALP", "RUNNER"):
        raise Refusal(400, "INVALID_TRADE_MODE", "Invalid trade_mode")
    x = GateInput(ctx.glob, a, ctx.now, ctx.config, cmd.asset)
    refusal = first_refusal(x)
    if refusal is not None:
        raise refusal
    direction = parse_direction(cmd.direction)
    if order_type == "preorder":
        return _create_preorder(ctx, cmd, a, direction, trade_mode)
    side, refusal = market_direction(x, override=cmd.entry_override, direction=direction)
    if refusal is not None:
        raise refusal
    assert side is not None  # noqa: S101 - market_direction returns a side whenever it does not refuse
    qty = entry_qty(cmd.entry_size_mode, ctx.config)
    # the last two gates of D22's order: a protective stop available (D21), then the room for its worst case (D20)
    refusal = (stops.gate_refusal(ctx.glob, ctx.now, ctx.config)
               or money.risk_room(ctx.glob, cmd.asset, qty, ctx.config))
    if refusal is not None:
        raise refusal
    # consumed only when the READY intent is what this entry follows (D8); an aged-out or other-way intent is just
    # cleared, as any successful market order clears it (§5.9)
    used_intent = intent_ready(a, ctx.now, ctx.config) and a.intent_direction == side
    order = create_entry(ctx, cmd.asset, side=side, qty=qty, source="UI", trade_mode=trade_mode)
    clear_intent(a, "CONSUMED" if used_intent else None)
    a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released = False, None, False
    a.two_half_tp_lock_started_ts = a.two_half_tp_lock_released_ts = None
    return 201, {"ok": True, "order": order_public(order)}


def _create_preorder(ctx: Ctx, cmd: PlaceOrder, a: AssetState, direction: str | None,
                     trade_mode: str) -> tuple[int, Body]:
    if direction is None:
        if cmd.entry_override:
            raise Refusal(403, "OVERRIDE_DIRECTION_REQUIRED",
                          "Override entry requires direction=BUY/SELL (or green/red)")
        raise Refusal(403, "PREORDER_DIRECTION_REQUIRED", "Pre-order requires direction=BUY/SELL")
    if a.preorder_active:
        raise Refusal(403, "PREORDER_ACTIVE", "Pre-order already active")
    a.preorder_active = True
    a.preorder_direction = direction
    a.preorder_qty = entry_qty(cmd.entry_size_mode, ctx.config)
    a.preorder_entry_size_mode = cmd.entry_size_mode
    a.preorder_trade_mode = trade_mode
    a.preorder_created_ts = ctx.now
    a.preorder_bar_base_ts = a.main_renko_ts
    a.preorder_status = "PENDING"
    clear_intent(a, None)
    expiry = ctx.now + ctx.config.intent_max_age_s
    ctx.timers.append(Timer("preorder_expiry", f"{cmd.asset}:{ctx.now:.3f}", expiry, {"asset": cmd.asset}))
    ctx.emit("preorder_created", cmd.asset, None, direction=direction, expires=expiry)
    return 201, {"ok": True, "preorder": True}


def create_intent(ctx: Ctx, cmd: CreateIntent) -> tuple[int, Body]:
    a = known_asset(ctx, cmd.asset)
    expire_aged(ctx, cmd.asset, a)
    g = ctx.glob
    x = GateInput(g, a, ctx.now, ctx.config, cmd.asset)
    if g.daily_stop_triggered:
        raise Refusal(403, "DAILY_STOP", DAILY_STOP_TEXT)
    refusal = post_exit_cooldown(x)
    if refusal is not None:
        raise refusal
    checks = (
        (g.trade_lock, "TRADE_LOCK", "Global trade lock active"),
        (a.position != 0, "POSITION_OPEN", "Asset already in a trade"),
        (a.pending_order_id is not None, "PENDING_ORDER", "Pending order already exists"),
        (a.preorder_active, "PREORDER_ACTIVE", "Pre-order already active"),
        (a.intent_active, "INTENT_ACTIVE", "Intent already active"),
        (not heartbeat_fresh(ctx.glob, a, ctx.now, ctx.config),
         "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot set intent"),
    )
    for failed, code, text in checks:
        if failed:
            raise Refusal(403, code, text)
    direction = parse_direction(cmd.direction)
    if direction is None:
        # D8: a READY intent lets an entry in its direction through; without one it could never do anything
        raise Refusal(403, "INTENT_DIRECTION_REQUIRED", "Intent requires direction=BUY/SELL")
    a.intent_active = True
    a.intent_direction = direction
    a.intent_created_ts = ctx.now
    a.intent_bar_base_ts = a.main_renko_ts
    a.intent_ready_bar_ts = None
    a.intent_status = "PENDING"
    expiry = ctx.now + ctx.config.intent_max_age_s
    ctx.timers.append(Timer("intent_expiry", f"{cmd.asset}:{ctx.now:.3f}", expiry, {"asset": cmd.asset}))
    ctx.emit("intent_created", cmd.asset, None, direction=a.intent_direction, expires=expiry)
    return 201, {"ok": True}


def cancel_intent(ctx: Ctx, cmd: CancelIntent) -> tuple[int, Body]:
    a = known_asset(ctx, cmd.asset)
    expire_aged(ctx, cmd.asset, a)
    if not a.intent_active:
        raise Refusal(409, "NO_INTENT", "No active intent")
    clear_intent(a, "CANCELLED_BY_USER")
    return 200, {"ok": True}


def cancel_preorder(ctx: Ctx, cmd: CancelPreorder) -> tuple[int, Body]:
    a = known_asset(ctx, cmd.asset)
    expire_aged(ctx, cmd.asset, a)
    if not a.preorder_active:
        raise Refusal(409, "NO_PREORDER", "No active pre-order")
    clear_preorder(a, "CANCELLED_BY_USER")
    return 200, {"ok": True}


# ---- exits -------------------------------------------------------------------------------------------------------

def manual_exit(ctx: Ctx, cmd: ManualExit) -> tuple[int, Body]:
    a = known_asset(ctx, cmd.asset)
    require_position(a)
    require_no_pending(a)
    if a.initial_exit_lock_active and not cmd.force:
        raise Refusal(409, "INITIAL_EXIT_LOCK_ACTIVE", "INITIAL_EXIT_LOCK_ACTIVE — wait for fresh 6pt bar after entry")
    order = create_exit(ctx, cmd.asset, "MANUAL_EXIT_FORCE" if cmd.force else "MANUAL_EXIT", reason="manual_exit")
    return 201, {"ok": True, "order": order_public(order)}


def exit_all(ctx: Ctx, force: bool) -> tuple[int, Body]:
    orders: list[dict[str, object]] = []
    skipped: list[dict[str, object]] = []
    for key in sorted(ctx.world.assets):
        a = ctx.world.assets[key]
        if a.position == 0:
            skipped.append({"asset": key, "reason": "no_open_position"})
        elif a.pending_order_id is not None:
            skipped.append({"asset": key, "reason": "pending_order_exists"})
        elif a.initial_exit_lock_active and not force:
            skipped.append({"asset": key, "reason": "initial_exit_lock_active"})
        else:
            order = create_exit(ctx, key, "MANUAL_EXIT_ALL_FORCE" if force else "MANUAL_EXIT_ALL", reason="exit_all")
            orders.append({"asset": key, "order_id": order.id, "side": order.side, "qty": order.qty})
    if not orders:
        raise Refusal(409, "NO_POSITIONS", "No open positions available to exit", skipped=skipped)
    return 201, {"ok": True, "orders": orders, "skipped": skipped}


def scale_in(ctx: Ctx, cmd: ScaleIn) -> tuple[int, Body]:
    """[MONO] gates (D1)."""
    a = known_asset(ctx, cmd.asset)
    g = ctx.glob
    checks = (
        (g.daily_stop_triggered, 403, "DAILY_STOP", "Daily stop TRIGGERED — scale-in blocked"),
        (g.trade_lock, 403, "TRADE_LOCK", "Global trade lock active"),
        (a.position == 0, 409, "NO_POSITION", "No open position to scale into"),
        (a.pending_order_id is not None, 409, "PENDING_ORDER", "Pending order already exists"),
        (a.scale_in_used, 409, "SCALE_IN_USED", "Scale-in already used for this trade"),
        (not a.scale_in_available, 403, "SCALE_IN_NOT_AVAILABLE", "Scale-in not available yet"),
        (not heartbeat_fresh(ctx.glob, a, ctx.now, ctx.config),
         403, "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot scale in"),
    )
    for failed, status, code, text in checks:
        if failed:
            raise Refusal(status, code, text)
    order = new_order(ctx, cmd.asset, side="BUY" if a.position > 0 else "SELL", qty=ctx.config.scale_in_qty,
                       kind="ENTRY", source="SCALE_IN", env=(a.env or g.env).upper(),
                       contract=a.rithmic_symbol or current_contract(ctx, cmd.asset), mode=a.exit_mode or "A",
                       trade_mode=a.trade_mode)
    a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts = False, True, None, ctx.now
    return 201, {"ok": True, "order": order_public(order), "asset": cmd.asset}


# ---- trade-management controls -----------------------------------------------------------------------------------

def set_protect(ctx: Ctx, cmd: SetProtect) -> tuple[int, Body]:
    a = known_asset(ctx, cmd.asset)
    require_position(a)
    require_no_pending(a)
    threshold = a.protect_threshold_points
    if cmd.threshold is not None:
        value = _float(cmd.threshold)
        if value is None:
            raise Refusal(400, "INVALID_THRESHOLD", "Invalid protect threshold")
        if value not in ctx.config.protect_thresholds:
            raise Refusal(400, "INVALID_THRESHOLD", "Protect threshold must be either -2.0 or 0.5 points")
        threshold = value
    a.protect_enabled = (not a.protect_enabled) if cmd.enabled is None else bool(cmd.enabled)
    a.protect_threshold_points = threshold
    protect_exit(ctx, cmd.asset)
    stops.follow(ctx, cmd.asset)   # D21: an armed protect moves the resting stop to its level
    return 200, {"ok": True, "asset": cmd.asset, "protect_enabled": a.protect_enabled,
                 "protect_threshold_points": a.protect_threshold_points,
                 "rithmic_open_points": a.rithmic_open_points, "pending_order_id": a.pending_order_id}


def set_points_take_profit(ctx: Ctx, cmd: SetPointsTakeProfit) -> tuple[int, Body]:
    a = known_asset(ctx, cmd.asset)
    require_position(a)
    target = a.points_tp_target
    if cmd.target is not None:
        if a.two_half_tp_lock_enabled:
            raise Refusal(423, "TWO_HALF_LOCK", "TP target changes locked until 2.5pt management unlocks")
        value = _float(cmd.target)
        if value is None:
            raise Refusal(400, "INVALID_TARGET", "Invalid target")
        if not 0 < value <= 200:
            raise Refusal(400, "INVALID_TARGET", "Target must be between 0 and 200 points")
        target = value
    if cmd.enabled is not None:
        a.points_tp_enabled = bool(cmd.enabled)
    a.points_tp_target = target
    points_take_profit_exit(ctx, cmd.asset)
    return 200, {"ok": True, "asset": cmd.asset, "points_tp_enabled": a.points_tp_enabled,
                 "points_tp_target": a.points_tp_target, "rithmic_open_points": a.rithmic_open_points,
                 "pending_order_id": a.pending_order_id}


def set_take_profit(ctx: Ctx, cmd: SetTakeProfit) -> tuple[int, Body]:
    a = known_asset(ctx, cmd.asset)
    require_position(a)
    if cmd.tp_arm == "toggle":
        turning_on = not a.tp_armed
        if turning_on and not six_next_bar_exit_allowed(a):
            raise Refusal(423, "TWO_HALF_LOCK", "6pt next-bar exit locked until 2.5pt management unlocks")
        a.tp_armed = turning_on
        if turning_on:
            a.tp_target = 1
        a.tp_count = 0
    else:
        if cmd.tp_target is None:
            raise Refusal(400, "INVALID_TARGET", "No tp_arm or tp_target provided")
        value = _int(cmd.tp_target)
        if value is None:
            raise Refusal(400, "INVALID_TARGET", "Invalid value")
        if not 1 <= value <= 50:
            raise Refusal(400, "INVALID_TARGET", "TP target must be between 1 and 50")
        a.tp_target = value
        if cmd.reset:
            a.tp_count = 0
    return 200, {"ok": True, "asset": cmd.asset, "tp_armed": a.tp_armed, "tp_target": a.tp_target,
                 "tp_count": a.tp_count}


def toggle_exit(ctx: Ctx, cmd: ToggleExit) -> tuple[int, Body]:
    if cmd.toggle == "main_flip":
        a = known_asset(ctx, cmd.asset, f"Unknown asset {cmd.asset}")
    else:
        a = known_asset(ctx, cmd.asset)
    require_position(a)
    if cmd.toggle == "auto_exit":
        a.auto_exit_renko = "6pt"
        return 200, {"ok": True, "asset": cmd.asset, "auto_exit_renko": "6pt"}
    if cmd.toggle == "four_pt":
        a.four_pt_invalidation_enabled = not a.four_pt_invalidation_enabled
        return 200, {"ok": True, "asset": cmd.asset, "four_pt_invalidation_enabled": a.four_pt_invalidation_enabled}
    if cmd.toggle == "main_flip":
        require_no_pending(a, "Cannot change exit toggle while order is pending")
        a.main_flip_exit_enabled = not a.main_flip_exit_enabled
        return 200, {"ok": True, "asset": cmd.asset, "main_flip_exit_enabled": a.main_flip_exit_enabled}
    require_no_pending(a)
    turning_on = not a.high_next_bar_exit_enabled
    if turning_on and not eight_next_bar_exit_allowed(a):
        raise Refusal(423, "TWO_HALF_LOCK", "8pt next-bar exit locked until 2.5pt management unlocks")
    a.high_next_bar_exit_enabled = turning_on
    a.high_next_bar_exit_started_ts = ctx.now if turning_on else None
    a.high_next_bar_exit_base_ts = a.high_renko_ts if turning_on else None
    return 200, {"ok": True, "asset": cmd.asset, "high_next_bar_exit_enabled": a.high_next_bar_exit_enabled,
                 "high_next_bar_exit_base_ts": a.high_next_bar_exit_base_ts,
                 "next_bar_exit_allowed": six_next_bar_exit_allowed(a),
                 "high_next_bar_exit_allowed": eight_next_bar_exit_allowed(a)}


# ---- global controls ---------------------------------------------------------------------------------------------

def consume_trade_limit(ctx: Ctx, _cmd: ConsumeTradeLimit) -> tuple[int, Body]:
    g = ctx.glob
    if trades_remaining(g) <= 0:
        raise Refusal(409, "DAILY_TRADE_LIMIT", "Daily trade limit already reached")
    g.trades_taken_today += 1
    return 200, {"ok": True, **trade_limit_view(ctx)}


def trade_limit_view(ctx: Ctx) -> Body:
    g = ctx.glob
    return {"max_trades_per_day": g.max_trades_per_day, "trades_taken_today": g.trades_taken_today,
            "trades_remaining_today": trades_remaining(g), "daily_trade_limit_date": g.trading_day}


def set_env(ctx: Ctx, cmd: SetEnv) -> tuple[int, Body]:
    env = (cmd.env or "").strip().upper()
    if env not in ("DEMO", "LIVE"):
        raise Refusal(400, "INVALID_ENV", "Invalid env value")
    ctx.glob.env = env
    message = ("Demo mode enabled. All trades are simulated." if env == "DEMO"
               else "Rithmic connection OK (handled by C# bridge).")
    connected = (ctx.glob.rithmic_last_ts is not None
                 and ctx.now - ctx.glob.rithmic_last_ts <= ctx.config.rithmic_fresh_s)
    return 200, {"ok": True, "env": env, "rithmic_connected": connected, "message": message}


def set_risk(ctx: Ctx, cmd: SetRisk) -> tuple[int, Body]:
    """D5: a tightening change applies now, a loosening one at the next trading day."""
    g = ctx.glob
    pending = dict(g.pending_risk)
    applied: dict[str, object] = {}
    if cmd.max_trades_per_day is not None:
        if not 1 <= cmd.max_trades_per_day <= 100:
            raise Refusal(400, "INVALID_RISK", "max_trades_per_day must be between 1 and 100")
        _tighten_or_defer(g, pending, applied, "max_trades_per_day", cmd.max_trades_per_day,
                          cmd.max_trades_per_day < g.max_trades_per_day)
    if cmd.daily_stop_limit_pct is not None:
        if not (math.isfinite(cmd.daily_stop_limit_pct) and 0 < cmd.daily_stop_limit_pct <= 100):
            raise Refusal(400, "INVALID_RISK", "daily_stop_limit_pct must be greater than 0 and at most 100")
        _tighten_or_defer(g, pending, applied, "daily_stop_limit_pct", float(cmd.daily_stop_limit_pct),
                          cmd.daily_stop_limit_pct < g.daily_stop_limit_pct)
    if cmd.daily_stop_enabled is not None:
        _tighten_or_defer(g, pending, applied, "daily_stop_enabled", cmd.daily_stop_enabled,
                          cmd.daily_stop_enabled and not g.daily_stop_enabled)
    for name in ("require_protective_stop", "flatten_if_unprotected"):   # D21: switching one on tightens
        value = getattr(cmd, name)
        if value is not None:
            _tighten_or_defer(g, pending, applied, name, value, value and not getattr(g, name))
    _dollar_settings(ctx, cmd, pending, applied)
    _discipline_settings(ctx, cmd, pending, applied)
    if cmd.max_price_age_s is not None:
        low, high = PRICE_AGE_RANGE
        if not (math.isfinite(cmd.max_price_age_s) and low <= cmd.max_price_age_s <= high):
            raise Refusal(400, "INVALID_RISK", f"max_price_age_s: expected seconds between {low:g} and {high:g}")
        _tighten_or_defer(g, pending, applied, "max_price_age_s", float(cmd.max_price_age_s),
                          cmd.max_price_age_s < g.max_price_age_s)
    g.pending_risk = pending
    ctx.emit("risk_changed", None, None, applied=applied, pending=pending)
    if "loss_streak_limit" in applied:
        discipline.on_limit_set(g, ctx.now, lambda kind, code, **detail: ctx.emit(kind, None, code, **detail))
    return 200, {"ok": True, **risk_view(ctx)}


# The dollar limits (D20): a lower limit is tighter, switching one on tightens and off loosens; for the cap on the
# trailing floor the reverse (a cap lowers the floor).
DOLLAR_LIMITS = ("daily_loss_limit_usd", "trailing_drawdown_usd", "max_loss_per_trade_usd")
FLOOR_CAP = "trailing_stops_at_usd"
# one tick of the finest contract to far beyond any day's range
STOP_POINTS_RANGE = (min(c.tick for c in CONTRACTS.values()), 500.0)
PRICE_AGE_RANGE = (30.0, 600.0)     # issue 21: the heartbeat gate's limit; never looser than the spec's 600 s


def _dollar_settings(ctx: Ctx, cmd: SetRisk, pending: dict[str, object], applied: dict[str, object]) -> None:
    g = ctx.glob
    for name in cmd.off:
        if name in DISCIPLINE_OFF:
            continue
        if name not in (*DOLLAR_LIMITS, FLOOR_CAP):
            raise Refusal(400, "INVALID_RISK", f"{name}: only a dollar limit can be switched off (null)")
        current = getattr(g, name)
        _tighten_or_defer(g, pending, applied, name, None, name == FLOOR_CAP and current is not None)
    for name in (*DOLLAR_LIMITS, FLOOR_CAP):
        value = getattr(cmd, name)
        if value is None:
            continue
        if not (math.isfinite(value) and 0 < value <= money.MAX_USD_SETTING):
            raise Refusal(400, "INVALID_RISK", f"{name}: expected dollars greater than 0 and at most "
                                               f"{money.MAX_USD_SETTING:,.0f}, or null to switch it off")
        current = getattr(g, name)
        lower = current is None or value < current
        _tighten_or_defer(g, pending, applied, name, float(value), (not lower) if name == FLOOR_CAP else lower)
    if cmd.trailing_mode is not None:
        if cmd.trailing_mode not in money.TRAILING_MODES:
            raise Refusal(400, "INVALID_RISK", f"trailing_mode: expected one of {list(money.TRAILING_MODES)}")
        # the intraday mark follows every high at once: the tighter of the two
        _tighten_or_defer(g, pending, applied, "trailing_mode", cmd.trailing_mode, cmd.trailing_mode == "intraday")
    if cmd.warn_at_pct is not None:
        if not (math.isfinite(cmd.warn_at_pct) and 1 <= cmd.warn_at_pct <= 100):
            raise Refusal(400, "INVALID_RISK", "warn_at_pct: expected a percent between 1 and 100")
        _tighten_or_defer(g, pending, applied, "warn_at_pct", float(cmd.warn_at_pct), cmd.warn_at_pct < g.warn_at_pct)
    if cmd.protective_stop_points is not None:
        _stop_points(ctx, cmd.protective_stop_points, pending, applied)


def _stop_points(ctx: Ctx, wanted: dict[str, float], pending: dict[str, object],
                 applied: dict[str, object]) -> None:
    """Per asset (D21): a shorter distance tightens at once, a longer one waits for the next trading day."""
    g = ctx.glob
    low, high = STOP_POINTS_RANGE
    now_points = dict(g.protective_stop_points)
    later: dict[str, float] = dict(pending.get("protective_stop_points") or {})  # type: ignore[call-overload]
    for asset, points in sorted(wanted.items()):
        if asset not in ctx.config.assets:
            raise Refusal(400, "INVALID_RISK", f"protective_stop_points.{asset}: unknown asset "
                                               f"(expected one of {sorted(ctx.config.assets)})")
        if not (math.isfinite(points) and low <= points <= high):
            raise Refusal(400, "INVALID_RISK", f"protective_stop_points.{asset}: expected points between {low:g} "
                                               f"and {high:g}")
        current = money.stop_points(g, asset, ctx.config)
        if points <= current:
            now_points[asset] = float(points)
            later.pop(asset, None)
            if points < current:
                applied[f"protective_stop_points.{asset}"] = float(points)
        else:
            later[asset] = float(points)
    g.protective_stop_points = now_points
    if later:
        pending["protective_stop_points"] = later
    else:
        pending.pop("protective_stop_points", None)


DISCIPLINE_OFF = ("loss_streak_limit", "trading_hours")


def _discipline_settings(ctx: Ctx, cmd: SetRisk, pending: dict[str, object], applied: dict[str, object]) -> None:
    """D22 under D5: a streak limit switched on or lowered, a longer lock, fewer allowed hours tighten at once."""
    g = ctx.glob
    if "loss_streak_limit" in cmd.off:
        _tighten_or_defer(g, pending, applied, "loss_streak_limit", None, False)
    if cmd.loss_streak_limit is not None:
        if not 1 <= cmd.loss_streak_limit <= discipline.MAX_LIMIT:
            raise Refusal(400, "INVALID_RISK", f"loss_streak_limit: expected losing trades between 1 and "
                                               f"{discipline.MAX_LIMIT}, or null to switch it off")
        current = g.loss_streak_limit
        _tighten_or_defer(g, pending, applied, "loss_streak_limit", cmd.loss_streak_limit,
                          current is None or cmd.loss_streak_limit < current)
    if cmd.loss_streak_lock_minutes is not None:
        if not 1 <= cmd.loss_streak_lock_minutes <= discipline.MAX_LOCK_MINUTES:
            raise Refusal(400, "INVALID_RISK", f"loss_streak_lock_minutes: expected minutes between 1 and "
                                               f"{discipline.MAX_LOCK_MINUTES}")
        _tighten_or_defer(g, pending, applied, "loss_streak_lock_minutes", cmd.loss_streak_lock_minutes,
                          cmd.loss_streak_lock_minutes > g.loss_streak_lock_minutes)
    hours = {} if "trading_hours" in cmd.off else _trading_hours(cmd.trading_hours)
    if hours is not None:
        _tighten_or_defer(g, pending, applied, "trading_hours", hours, windows.hours_tighten(hours, g.trading_hours))


def _trading_hours(wanted: dict[str, tuple[tuple[int, int], ...]] | None) -> dict[str, list[int]] | None:
    if wanted is None:
        return None
    hours: dict[str, list[int]] = {}
    for day, spans in wanted.items():
        if day not in windows.DAYS:
            raise Refusal(400, "INVALID_RISK", f"trading_hours.{day}: expected a day of {list(windows.DAYS)}")
        for i, (start, end) in enumerate(spans):
            if not 0 <= start < end <= windows.DAY_MINUTES:
                raise Refusal(400, "INVALID_RISK", f"trading_hours.{day}[{i}]: expected start before end, "
                                                   "from 00:00 to 24:00")
        hours[day] = [minute for span in sorted(spans) for minute in span]
    return hours


def add_blackouts(ctx: Ctx, cmd: AddBlackouts) -> tuple[int, Body]:
    """D22: new blackout windows are in force at once (adding tightens); the same window twice is kept once. A
    window with `flatten_before_s` flattens open positions that long before it starts (at once, if that moment has
    come already) and its timer is scheduled."""
    g = ctx.glob
    current = list(windows.windows(g))
    added: list[dict[str, object]] = []
    seq = g.blackout_seq
    for i, spec in enumerate(cmd.windows):
        w = _window(spec, i, ctx.now)
        if any(windows.same_window(w, other) for other in current if not other.get("removing")):
            continue   # a removed one leaves at the rollover: the same window added again is a new one
        seq += 1
        w["id"] = f"b{seq}"
        current.append(w)
        added.append(w)
    if len(current) > windows.MAX_WINDOWS:
        raise Refusal(400, "INVALID_WINDOW", f"windows: at most {windows.MAX_WINDOWS} blackout windows "
                                             f"({len(current)} with these)")
    g.blackouts, g.blackout_seq = current, seq
    for w in added:
        arm_flatten(ctx, w)
    ctx.emit("blackouts_added", None, "BLACKOUT", ids=[w["id"] for w in added])
    return 201, {"ok": True, "added": [windows.public(w) for w in added],
                 **windows.calendar_view(g, ctx.now, ctx.config.trading_day_start_hour)}


def _window(spec: BlackoutSpec, i: int, now: float) -> dict[str, object]:
    label = spec.label.strip()[:windows.MAX_LABEL] or "blackout"
    fb = spec.flatten_before_s
    if fb is not None and not 0 <= fb <= windows.MAX_FLATTEN_BEFORE_S:
        raise Refusal(400, "INVALID_WINDOW", f"windows[{i}].flatten_before_s: expected seconds from 0 to "
                                             f"{windows.MAX_FLATTEN_BEFORE_S}")
    w: dict[str, object] = {"id": "", "label": label, "kind": spec.kind, "flatten_before_s": fb,
                            "source": spec.source[:40]}
    if spec.kind == "once":
        if spec.start is None or spec.end is None or not spec.start < spec.end:
            raise Refusal(400, "INVALID_WINDOW", f"windows[{i}].end: expected an end after the start")
        for name, at in (("start", spec.start), ("end", spec.end)):
            if not 0 <= at < windows.MAX_INSTANT:   # what the view can show (a typo's year 1 or 10000 cannot)
                raise Refusal(400, "INVALID_WINDOW", f"windows[{i}].{name}: expected a time between 1970 and 9999")
        if spec.end <= now:   # over already: it would protect nothing, answered as added
            raise Refusal(400, "INVALID_WINDOW", f"windows[{i}].end: expected an end in the future")
        w["start"], w["end"] = float(spec.start), float(spec.end)
    else:
        days = sorted(set(spec.days))
        if not days or not all(0 <= d <= 6 for d in days):
            raise Refusal(400, "INVALID_WINDOW", f"windows[{i}].days: expected one or more of {list(windows.DAYS)}")
        if spec.start_min is None or spec.end_min is None or not (
                0 <= spec.start_min < spec.end_min <= windows.DAY_MINUTES):
            raise Refusal(400, "INVALID_WINDOW", f"windows[{i}].end: expected HH:MM after the start (24:00 at most)")
        w["days"], w["start_min"], w["end_min"] = days, spec.start_min, spec.end_min
    return w


def arm_flatten(ctx: Ctx, w: dict[str, object]) -> str:
    """The flatten-before of window `w` (D22): inside [start − flatten_before_s, end) of its current or next
    occurrence every open position gets its exit now; before it, a `blackout_flatten` timer is scheduled for that
    moment (its key names the window and the occurrence, so a repeat schedules nothing twice)."""
    fb = w.get("flatten_before_s")
    if not isinstance(fb, int) or isinstance(fb, bool):
        return "no_flatten"
    span = windows.next_occurrence(w, ctx.now)
    if span is None:
        return "no_occurrence"
    start, end = span
    if w.get("removing") and start > windows.last_second_of_day(ctx.now, ctx.config.trading_day_start_hour):
        return "removed"   # the window leaves at the rollover, before this occurrence (D5)
    due = start - fb
    if ctx.now >= due:
        flatten_all(ctx, str(w.get("label") or "blackout"))
        span = windows.next_occurrence(w, end)   # and the next occurrence's timer
        if span is None:
            return "flattened"
        start, due = span[0], span[0] - fb
    ctx.timers.append(Timer("blackout_flatten", f"{w['id']}:{int(start)}", due, {"window_id": w["id"]}))
    return "armed"


ENSURE_AHEAD_S = 3600   # the watchdog asks again for a flatten timer due within this (the longest lead)


def ensure_flatten(ctx: Ctx) -> list[str]:
    """D22's flatten-before derived from the stored windows, like every other lock (the watchdog's tick, once a
    minute): each window with a lead whose flatten moment has come gets `arm_flatten` (its exits, then the next
    occurrence's timer), and one whose moment is within `ENSURE_AHEAD_S` gets its timer asked for again (a named
    task: one already queued is not queued twice). A lost task (an enqueue that failed, a delivery given up) costs
    at most one tick, and a weekly chain never breaks. Answers "<window id>:<outcome>" for each window it armed."""
    done: list[str] = []
    for w in windows.windows(ctx.glob):
        if not windows.flattens_before(w):
            continue
        span = windows.next_occurrence(w, ctx.now)
        if span is not None and span[0] - w["flatten_before_s"] - ctx.now <= ENSURE_AHEAD_S:
            done.append(f"{w['id']}:{arm_flatten(ctx, w)}")
    return done


def flatten_all(ctx: Ctx, label: str) -> list[str]:
    """An entry not yet handed to the bridge is cancelled, as the daily stop does (D11, `cancel_pending_entry`;
    one the bridge claimed is left to its report, and a fill of it is flattened by the next watchdog tick), and
    every open position that may exit now gets its exit (one already in flight is left alone)."""
    fired: list[str] = []
    cancelled: list[str] = []
    for key in sorted(ctx.world.assets):
        if cancel_pending_entry(ctx, key, "BLACKOUT_FLATTEN", "blackout_flatten"):
            cancelled.append(key)
        if may_exit(ctx.world.assets[key]):
            create_exit(ctx, key, "BLACKOUT_FLATTEN", reason="blackout_flatten")
            fired.append(key)
    if fired or cancelled:
        ctx.emit("blackout_flatten", None, "BLACKOUT", label=label, assets=fired, cancelled=cancelled)
    return fired


def remove_blackout(ctx: Ctx, cmd: RemoveBlackout) -> tuple[int, Body]:
    """D22 under D5: removing a window loosens, so it stays in force until the next trading day."""
    g = ctx.glob
    found = next((w for w in windows.windows(g) if w["id"] == cmd.window_id), None)
    if found is None:
        raise Refusal(404, "UNKNOWN_WINDOW", f"No blackout window {cmd.window_id!r}")
    if not found.get("removing"):
        g.blackouts = [{**w, "removing": True} if w is found else w for w in g.blackouts]
        ctx.emit("blackout_removed", None, "BLACKOUT", id=cmd.window_id, effective_trading_day="next")
    return 200, {"ok": True, "removed": cmd.window_id, "effective_trading_day": "next",
                 **windows.calendar_view(g, ctx.now, ctx.config.trading_day_start_hour)}


def rebaseline_account(ctx: Ctx, cmd: RebaselineAccount) -> tuple[int, Body]:
    """D20: the operator starts the account afresh (a breached prop account is over, or a new one began): the
    high-water mark becomes the baseline and a trailing-drawdown lock lifts."""
    if not (math.isfinite(cmd.baseline_usd) and 0 < cmd.baseline_usd <= money.MAX_USD_SETTING):
        raise Refusal(400, "INVALID_RISK", "baseline_usd: expected dollars greater than 0")
    g = ctx.glob
    was_breached = g.trailing_breached
    g.trailing_hwm_usd = float(cmd.baseline_usd)
    g.trailing_breached, g.trailing_breached_equity_usd = False, None
    ctx.emit("account_rebaselined", None, "TRAILING_DRAWDOWN" if was_breached else None, baseline=cmd.baseline_usd,
             was_breached=was_breached)
    return 200, {"ok": True, **risk_view(ctx)}


def _tighten_or_defer(g: object, pending: dict[str, object], applied: dict[str, object], name: str,
                      value: object, tightens: bool) -> None:
    current = getattr(g, name)
    if value == current:
        pending.pop(name, None)
    elif tightens:
        setattr(g, name, value)
        pending.pop(name, None)
        applied[name] = value
    else:
        pending[name] = value


def risk_view(ctx: Ctx) -> Body:
    g, config = ctx.glob, ctx.config
    return {"max_trades_per_day": g.max_trades_per_day, "daily_stop_enabled": g.daily_stop_enabled,
            "daily_stop_limit_pct": g.daily_stop_limit_pct,
            "daily_loss_limit_usd": g.daily_loss_limit_usd, "trailing_drawdown_usd": g.trailing_drawdown_usd,
            "trailing_mode": g.trailing_mode, "trailing_stops_at_usd": g.trailing_stops_at_usd,
            "max_loss_per_trade_usd": g.max_loss_per_trade_usd, "warn_at_pct": g.warn_at_pct,
            "max_price_age_s": g.max_price_age_s, "price_age_limit_s": price_age_limit(g, config),
            "protective_stop_points": {k: money.stop_points(g, k, config) for k in sorted(config.assets)},
            "require_protective_stop": g.require_protective_stop, "flatten_if_unprotected": g.flatten_if_unprotected,
            "loss_streak_limit": g.loss_streak_limit, "loss_streak_lock_minutes": g.loss_streak_lock_minutes,
            "loss_streak": discipline.view(g, ctx.now),
            "trading_hours": windows.calendar_view(g, ctx.now, ctx.config.trading_day_start_hour)["trading_hours"],
            "pending": dict(g.pending_risk),
            "pending_effective_trading_day": "next" if g.pending_risk else None,
            "trades_remaining_today": trades_remaining(g),
            "money": money.money_view(g, config, config.entry_qty_default)}


def cancel_order(ctx: Ctx, cmd: CancelOrder) -> tuple[int, Body]:
    """The operator cancels an order the bridge has not started (PENDING) or that went STALE (D9)."""
    order = ctx.world.orders.get(cmd.order_id)
    if order is None:
        raise Refusal(404, "UNKNOWN_ORDER", "Unknown order")
    status = effective_status(order, ctx.now)
    if status in LIVE_AT_BROKER:
        raise Refusal(409, "ORDER_LIVE_AT_BROKER",
                      f"Order is {status} at the broker (the bridge reported it): cancel it at the broker; only "
                      "PENDING or STALE orders can be cancelled here")
    if status not in ("PENDING", "STALE"):
        raise Refusal(409, "ORDER_NOT_CANCELLABLE", f"Order is {status}; only PENDING or STALE orders can be cancelled")
    order.status = status
    transition(order, "cancel", ctx.now)
    if status == "STALE":
        order.reason = STALE_CANCEL_REASON  # a fill may still come: the bridge may have sent it (see fills.py)
    clear_pending(ctx.world.assets[order.asset], order.id)  # the shell loads every asset for a cancel
    if order.kind == "ENTRY" and order.filled_qty == 0:
        after_entry_cancelled(ctx, order)
    ctx.emit("order_cancelled", order.asset, "CANCELLED_BY_OPERATOR", order_id=order.id)
    return 200, {"ok": True, "order": order_public(order)}


def _float(raw: object) -> float | None:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _int(raw: object) -> int | None:
    try:
        return int(raw)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


