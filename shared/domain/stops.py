"""A protective stop resting at the broker for every position (D21).

When an entry fills, the same decision creates a STOP order for the bridge: the opposite side, the position's
quantity, `stop_price` the average fill ∓ the asset's `protective_stop_points`, rounded to the tick away from the
market. It follows the position: a further fill, a scale-in or protect changes its quantity or price in place.

How a stop travels (the contract for bridge authors, docs/api.md):
- it is handed out by the same poll as any order, once per version: `kind: "STOP"`, `stop_price`, `action`
  (`PLACE` the first time, `MODIFY` after a change) and `revision` (1, 2, …);
- a change of a stop the bridge holds puts it back to PENDING with `action: MODIFY` and the next revision: the
  bridge modifies the resting order (the order id is its tag) and reports WORKING, which acknowledges it;
- WORKING = resting at the broker; FILLED closes the trade with reason `broker_stop`; CANCELLED ends it (the
  bridge cancels it before an exit that names it: `replaces_stop` on the exit); REJECTED leaves the position
  unprotected: announced, and flattened at once when `flatten_if_unprotected` is on.
A resting stop is not the asset's pending order: it blocks neither an entry's pending-order gate nor an exit.
A bridge that does not declare `"capabilities": ["protective_stop"]` in a fresh heartbeat gets no stop orders.
"""

from __future__ import annotations

import math

from .config import Config, tick_size
from .core import Ctx, create_exit, current_contract, may_exit, new_order
from .decision import Refusal
from .money import stop_points
from .orders import TERMINAL
from .state import AssetState, GlobalState, Order

CAPABILITY = "protective_stop"
STOP_REASON = "broker_stop"


def capable(g: GlobalState, now: float, config: Config) -> bool:
    """The bridge declared it rests stops, in a heartbeat that is still fresh."""
    info = g.rithmic_bridge or {}
    received = info.get("server_received_ts")
    caps = info.get("capabilities") or ()
    return (CAPABILITY in caps and isinstance(received, int | float)
            and now - received <= config.rithmic_fresh_s)


def stop_level(position: int, average: float, distance: float, tick: float) -> float:
    """Average ∓ distance, rounded to the tick away from the market (a long's stop lower, a short's higher)."""
    if position > 0:
        return math.floor(round((average - distance) / tick, 6)) * tick
    return math.ceil(round((average + distance) / tick, 6)) * tick


def wanted_level(g: GlobalState, a: AssetState, asset: str, config: Config) -> float:
    """Where the stop belongs: protect's level once armed (entry −2.0 / +0.5), else the stop distance. Asked only
    for an open position, which always has its average."""
    assert a.avg_price is not None and a.position != 0  # noqa: S101 - callers follow open positions only
    tick = tick_size(config.assets[asset].traded_root)
    if a.protect_enabled and a.protect_threshold_points is not None:
        # protect's level is entry + threshold on the position's side: a stop "distance" of −threshold
        return stop_level(a.position, a.avg_price, -a.protect_threshold_points, tick)
    return stop_level(a.position, a.avg_price, stop_points(g, asset, config), tick)


def resting(ctx: Ctx, a: AssetState) -> Order | None:
    """The asset's stop while it is live (not ended)."""
    stop = ctx.world.orders.get(a.stop_order_id) if a.stop_order_id else None
    return stop if stop is not None and stop.status not in TERMINAL else None


def follow(ctx: Ctx, asset: str) -> None:
    """Create the stop, or move it to the position's quantity and level (D21: never a moment without one)."""
    a = ctx.world.assets[asset]
    if not capable(ctx.glob, ctx.now, ctx.config):
        return
    level = wanted_level(ctx.glob, a, asset, ctx.config)
    stop = resting(ctx, a)
    qty, side = abs(a.position), "SELL" if a.position > 0 else "BUY"
    if stop is None:
        stop = new_order(ctx, asset, side=side, qty=qty, kind="STOP", source="PROTECTIVE_STOP",
                         env=(a.env or ctx.glob.env).upper(), contract=a.rithmic_symbol or current_contract(ctx, asset),
                         reason=STOP_REASON, pending=False)
        stop.stop_price, stop.action, stop.revision = level, "PLACE", 1
        a.stop_order_id = stop.id
        ctx.emit("stop_placed", asset, "PROTECTIVE_STOP", order_id=stop.id, qty=qty, stop_price=level)
        return
    if (stop.qty, stop.stop_price, stop.side) == (stop.filled_qty + qty, level, side):
        return
    stop.qty, stop.stop_price, stop.side = stop.filled_qty + qty, level, side
    stop.revision += 1
    stop.updated_at = ctx.now
    if stop.status != "PENDING":  # the bridge holds it: hand the new version out
        stop.status, stop.action = "PENDING", "MODIFY"
        stop.lease_owner = stop.lease_until = stop.leased_at = None
    ctx.emit("stop_moved", asset, "PROTECTIVE_STOP", order_id=stop.id, qty=qty, stop_price=level,
             revision=stop.revision)


def rejected(ctx: Ctx, stop: Order) -> None:
    """The broker refused the stop: the position is unprotected. Announced; flattened at once if configured."""
    a = ctx.world.assets[stop.asset]
    if a.stop_order_id == stop.id:
        a.stop_order_id = None
    ctx.emit("stop_rejected", stop.asset, "UNPROTECTED", order_id=stop.id, reason=stop.reason)
    if ctx.glob.flatten_if_unprotected and may_exit(a):
        create_exit(ctx, stop.asset, "UNPROTECTED", reason="unprotected")


def gate_refusal(g: GlobalState, now: float, config: Config) -> Refusal | None:
    """D21: with `require_protective_stop` on, no entry without a bridge that rests stops."""
    if not g.require_protective_stop or capable(g, now, config):
        return None
    return Refusal(409, "NO_PROTECTIVE_STOP",
                   "No protective stop at the broker: the bridge does not rest stops (or is silent) – entries blocked")
