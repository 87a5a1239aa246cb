"""The VPS bridge: heartbeats, PnL snapshots (TP, protect, daily stop, reconciliation) and order claiming."""

from __future__ import annotations

import math

from . import money, stops
from .config import is_traded_contract, normalise_asset, point_value
from .core import Ctx, cancel_pending_entry, close_trade, create_exit, evaluate_two_half_lock
from .decision import Timer
from .exits import points_take_profit_exit, protect_exit
from .inputs import BridgeHeartbeat, PnlSnapshot, PollPending
from .orders import bridge_view, claim
from .state import AssetState

Body = dict[str, object]

BRIDGE_FIELDS = ("tsConnected", "mdConnected", "repoOk", "account", "tradeRoute", "exchange", "lastRapiEventUtc",
                 "lastOrdersPollUtc", "lastOrdersOkUtc", "lastPnlMsgUtc", "note")
BRIDGE_FLAGS = ("tsConnected", "mdConnected", "repoOk")   # stored as booleans


def bridge_heartbeat(ctx: Ctx, cmd: BridgeHeartbeat) -> tuple[int, Body]:
    g = ctx.glob
    g.rithmic_last_ts = ctx.now
    info: dict[str, object] = {name: cmd.info.get(name) for name in BRIDGE_FIELDS}
    for name in BRIDGE_FLAGS:
        info[name] = bool(info[name])
    caps = cmd.info.get("capabilities")
    info["capabilities"] = sorted(str(c) for c in caps) if isinstance(caps, list | tuple) else []   # D21
    info["server_received_ts"] = ctx.now
    g.rithmic_bridge = info
    return 200, {"ok": True}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def pnl_snapshot(ctx: Ctx, cmd: PnlSnapshot) -> tuple[int, Body]:
    g = ctx.glob
    g.rithmic_last_ts = g.rithmic_snapshot_ts = ctx.now
    g.rithmic_realized = _finite(cmd.realized) or 0.0
    g.rithmic_unrealized = _finite(cmd.unrealized) or 0.0
    g.rithmic_account_balance = _finite(cmd.account_balance)
    if g.rithmic_account_balance is not None:
        g.equity = g.rithmic_account_balance
    assets = ctx.world.assets
    broker: dict[str, tuple[int, float, float | None, str]] = {}
    for entry in cmd.symbols:
        key = normalise_asset(entry.symbol, ctx.config)
        if key is None or key not in assets or not is_traded_contract(entry.symbol, ctx.config.assets[key]):
            # the bridge lists every symbol it has seen: a full-size ES beside the traded MES is another instrument
            # (10x the point value) and must neither add to the MES position nor set the point value
            continue
        pos, pnl, avg = broker.get(key, (0, 0.0, None, entry.symbol))[:3]
        broker[key] = (pos + entry.position, pnl + (_finite(entry.open_pnl) or 0.0),
                       _finite(entry.avg_open_fill) if entry.position else avg, entry.symbol)
    keys = sorted(assets)
    for key in keys:
        _apply_broker(ctx, key, assets[key], broker.get(key))
    _daily_metrics_and_stop(ctx)
    for key in keys:
        a = assets[key]
        evaluate_two_half_lock(a, ctx.now)
        points_take_profit_exit(ctx, key)
        protect_exit(ctx, key)
    return 200, {"ok": True}


def _apply_broker(ctx: Ctx, key: str, a: AssetState, seen: tuple[int, float, float | None, str] | None) -> None:
    """D10: store the broker's view; two consecutive disagreements block entries; two flat snapshots close."""
    position, open_pnl, avg, contract = seen if seen is not None else (0, 0.0, None, a.rithmic_symbol)
    a.broker_position = position
    a.broker_avg_price = avg
    if seen is not None:
        a.pnl = open_pnl
        a.rithmic_point_value = point_value(contract)
        a.rithmic_open_points = open_pnl / (abs(position) * a.rithmic_point_value) if position else 0.0
    if position == a.position:
        if a.position_mismatch:
            ctx.emit("position_mismatch_cleared", key, "POSITION_MISMATCH")
        a.mismatch_streak, a.position_mismatch, a.broker_flat_streak = 0, False, 0
        return
    if a.pending_order_id is not None:
        # an order in flight explains a difference: wait for its report before judging
        a.mismatch_streak = a.broker_flat_streak = 0
        return
    a.mismatch_streak += 1
    if position == 0 and a.position != 0:
        a.broker_flat_streak += 1
        if a.broker_flat_streak >= 2:
            a.last_price = a.last_price if a.last_price is not None else a.avg_price
            # with a protective stop resting, the broker's flatness is that stop's doing (D21)
            closed = abs(a.position)
            close_trade(ctx, key, stops.STOP_REASON if a.stop_order_id else "broker_flat")
            a.unfilled_close_qty = closed   # the fill that did it may still be reported: it explains, not adds
            a.broker_position = 0
            a.mismatch_streak, a.broker_flat_streak = 0, 0
            return
    else:
        a.broker_flat_streak = 0
    if a.mismatch_streak >= 2 and not a.position_mismatch:
        a.position_mismatch = True
        ctx.emit("position_mismatch", key, "POSITION_MISMATCH", broker=position, local=a.position)


def _daily_metrics_and_stop(ctx: Ctx) -> None:
    """§8.10 with D4 (start equity = first balance of the trading day) and D11 (flatten on every snapshot); the
    dollar limits of D20 (money.py) beside the percent stop: the first to hit triggers the daily stop."""
    g = ctx.glob
    breached = money.on_snapshot(g, lambda kind, code, **detail: ctx.emit(kind, None, code, **detail))
    if breached == "daily_loss_limit":
        lost = money.daily_loss_cents(g) or 0
        net_liq = money.net_liq(g)
        _trigger_daily_stop(ctx, "DAILY_LOSS_LIMIT", f"Daily loss {money.usd(lost)} >= limit "
                            f"{money.usd(money.cents(g.daily_loss_limit_usd or 0.0))}", net_liq,
                            start_value=g.daily_start_netliq_usd, net_liq=net_liq, loss=lost / 100,
                            limit_usd=g.daily_loss_limit_usd)
    eq = g.rithmic_account_balance
    if g.daily_start_equity is None and eq is not None:
        g.daily_start_equity = eq
    start = g.daily_start_equity
    if start is not None and eq is not None and start > 0:
        g.daily_pnl_usd = eq - start
        g.daily_pnl_pct = (eq - start) / start
        g.daily_stop_remaining_pct = max(0.0, g.daily_stop_limit_pct / 100 + g.daily_pnl_pct)
        if (g.daily_stop_enabled and not g.daily_stop_triggered and g.daily_stop_limit_pct > 0):
            dd_pct = (start - eq) / start * 100
            if dd_pct >= g.daily_stop_limit_pct:
                g.daily_stop_triggered_dd_pct = dd_pct
                _trigger_daily_stop(ctx, "DAILY_STOP", f"Drawdown {dd_pct:.2f}% >= limit {g.daily_stop_limit_pct:.2f}%",
                                    eq, start_equity=start, equity=eq, dd_pct=dd_pct,
                                    limit_pct=g.daily_stop_limit_pct)
    if g.daily_stop_triggered:
        _flatten(ctx, "DAILY_STOP", "daily_stop")
    elif g.trailing_breached:
        _flatten(ctx, "TRAILING_DRAWDOWN", "trailing_drawdown")


def _trigger_daily_stop(ctx: Ctx, code: str, reason: str, equity: float | None, /, **detail: object) -> None:
    """The daily stop, by the percent (DAILY_STOP) or the dollar limit (DAILY_LOSS_LIMIT): the first to hit wins;
    entries lock until the rollover and every snapshot flattens what is open (D11)."""
    g = ctx.glob
    g.daily_stop_triggered, g.daily_stop_code = True, code
    g.daily_stop_triggered_ts = ctx.now
    g.daily_stop_triggered_reason = reason
    g.daily_stop_triggered_equity = equity
    g.trade_lock, g.trade_lock_reason = True, code
    ctx.emit("daily_stop_trigger", None, code, **detail)


def _flatten(ctx: Ctx, source: str, reason: str) -> None:
    for key in sorted(ctx.world.assets):
        a = ctx.world.assets[key]
        cancel_pending_entry(ctx, key, source, reason)
        if a.position != 0 and a.pending_order_id is None:
            create_exit(ctx, key, source, reason=reason)


def poll_pending(ctx: Ctx, cmd: PollPending) -> tuple[int, Body]:
    """D9: hand each PENDING order out once, PENDING → CLAIMED with owner and lease, oldest first."""
    pending = sorted((o for o in ctx.world.orders.values() if o.status == "PENDING"),
                     key=lambda o: (o.created_at, o.id))[: max(0, cmd.limit)]
    out: list[dict[str, object]] = []
    for order in pending:
        claim(order, cmd.owner, ctx.now, ctx.config.order_lease_s)
        assert order.lease_until is not None  # noqa: S101 - claim sets the lease
        ctx.timers.append(Timer("lease_end", order.id, order.lease_until, {"order_id": order.id}))
        ctx.emit("order_claimed", order.asset, None, order_id=order.id, owner=cmd.owner)
        out.append(bridge_view(order, ctx.glob.env))
    return 200, {"ok": True, "orders": out}
