"""The computed state the dashboard reads (`GET /api/state`, §3.6): stored facts plus flags derived from `now`.

Nothing here is stored; every flag is a function of stored timestamps and the clock, so nothing depends on someone
polling (the original only re-armed the tempo token when the dashboard polled).
"""

from __future__ import annotations

import math
from typing import Any

from . import discipline, windows
from .catalog import CARD_STREAMS
from .clock import candle_bucket, ny_date, trading_day
from .config import Config, contract_view
from .core import (
    candle_lock_remaining,
    compute_zone,
    cooldown_remaining,
    eight_next_bar_exit_allowed,
    evaluate_two_half_lock,
    heartbeat_fresh,
    intent_expired_by_age,
    preorder_expired_by_age,
    price_age_limit,
    release_initial_exit_lock,
    roll_trading_day,
    six_next_bar_exit_allowed,
    tempo_ready,
    trades_remaining,
)
from .gates import GateInput, checklist, sides_open
from .money import money_view
from .state import AssetState, GlobalState, World, shallow_copy, to_doc

SECRET_KEYS = ("secret", "password", "token")


def normalise_world(world: World, now: float, config: Config) -> None:
    """The self-healing of §3.6, applied (in place) to a world about to be decided on or shown."""
    roll_trading_day(world.glob, now, config)
    for a in world.assets.values():
        release_initial_exit_lock(a, now)
        if a.position != 0:
            evaluate_two_half_lock(a, now)


def global_view(g: GlobalState, assets: dict[str, AssetState], now: float, config: Config) -> dict[str, Any]:
    out = to_doc(g)
    out.pop("rithmic_bridge", None)
    out["rithmic_bridge"] = _scrub(g.rithmic_bridge)
    candle_left = candle_lock_remaining(g, now, config)
    cooldown_left = cooldown_remaining(g, now)
    tv = any(heartbeat_fresh(g, a, now, config) for a in assets.values())
    rithmic = g.rithmic_last_ts is not None and now - g.rithmic_last_ts <= config.rithmic_fresh_s
    out.update({
        "five_min_trade_lock_active": candle_left > 0,
        "five_min_trade_lock_remaining_s": candle_left,
        "five_min_trade_bucket": g.five_min_trade_bucket if candle_left > 0 else None,
        "current_candle_bucket": candle_bucket(now, config.candle_s),
        "post_exit_lock_active": cooldown_left > 0,
        "post_exit_lock_remaining_s": cooldown_left,
        "open_pnl": g.rithmic_unrealized or 0.0,
        "total_orders": sum(a.order_count for a in assets.values()),
        "tradingview_connected": tv,
        "rithmic_connected": rithmic,
        "connected_count": int(tv) + int(rithmic),
        "connected_expected": 2,
        "connected": tv and rithmic,
        "trades_remaining_today": trades_remaining(g),
        "daily_trade_limit_date": g.trading_day,
        "daily_stop_date": g.trading_day,
        "today_date": ny_date(now).isoformat(),
        "trading_day": trading_day(now, config.trading_day_start_hour),
        "manual_pnl_usd": None,
        "server_time": now,
        "price_age_limit_s": price_age_limit(g, config),
        "money": money_view(g, config, config.entry_qty_default),
        "loss_streak": discipline.view(g, now),
        "calendar": windows.calendar_view(g, now, config.trading_day_start_hour),
    })
    if not out["post_exit_lock_active"]:
        out["post_exit_lock_started_ts"] = out["post_exit_lock_expires_ts"] = None
    return out


def asset_view(g: GlobalState, key: str, a: AssetState, now: float, config: Config) -> dict[str, Any]:
    out = to_doc(a)
    out.pop("recent_bar_ids", None)
    zone = compute_zone(a)
    in_trade = a.position != 0
    ready = tempo_ready(a)
    out.update({
        "zone_type": zone,
        "conflict_mode": zone == "FREE",
        "manual_exit_allowed": True,
        "reentry_lock_active": False,
        "last_exit_direction": None,
        "next_bar_exit_allowed": six_next_bar_exit_allowed(a),
        "high_next_bar_exit_allowed": eight_next_bar_exit_allowed(a),
        "four_pt_invalidation_allowed": in_trade,
        "tempo_color": a.main_renko_color,
        "tempo_ts": a.main_renko_ts,
        "tempo_last_bar_ts": a.main_renko_ts,
        "tempo_age_s": None if a.main_renko_ts is None else now - a.main_renko_ts,
        "tempo_ready": ready,
        "heartbeat_fresh": heartbeat_fresh(g, a, now, config),
        "price_age_limit_s": price_age_limit(g, config),
        "heartbeat_age_s": None if a.last_heartbeat_ts is None else now - a.last_heartbeat_ts,
        "computed_entry_qty": config.entry_qty_default,
        "contract": contract_view(config.assets[key], a.rithmic_symbol),   # D7: its point value and tick
        # the card's colour cells, one for each brick size (catalog.CARD_STREAMS: the dashboard keeps no copy)
        "streams": [{"stream": s.name, "size": s.size, "color": getattr(a, s.color_field),
                     "ts": getattr(a, s.ts_field)} for s in CARD_STREAMS],
    })
    if a.intent_active and intent_expired_by_age(a, now, config):
        out.update({"intent_active": False, "intent_status": "EXPIRED"})
    if a.preorder_active and preorder_expired_by_age(a, now, config):
        out.update({"preorder_active": False, "preorder_status": "EXPIRED"})
    return out


def state_view(world: World, now: float, config: Config) -> dict[str, Any]:
    """The whole `state` object: {global, assets}; the shell adds `history` and `logs` from the audit trail."""
    shown = World(glob=shallow_copy(world.glob), assets={k: shallow_copy(v) for k, v in world.assets.items()})
    normalise_world(shown, now, config)
    body = {
        "global": global_view(shown.glob, shown.assets, now, config),
        "assets": {key: asset_view(shown.glob, key, a, now, config) for key, a in sorted(shown.assets.items())},
    }
    scrubbed: dict[str, Any] = scrub_non_finite(body)
    return scrubbed


def gates_view(world: World, asset: str, now: float, config: Config, direction: str | None) -> dict[str, Any]:
    """D2's whole checklist for one asset (`GET /api/gates`): every gate evaluated, no short cut. Normalises the
    given world in place: pass a copy when it must stay as it is."""
    normalise_world(world, now, config)
    x = GateInput(world.glob, world.assets[asset], now, config, asset)
    rows = checklist(x, direction)
    return {"ok": True, "asset": asset, "can_enter": all(r["pass"] for r in rows), "sides": sides_open(x),
            "gates": rows}


# Values of exactly these types are neither floats nor containers: a view's many text, integer, flag and empty
# fields are taken as they are, without a call each (a state view holds ~370 values).
_LEAVES = frozenset({str, int, bool, type(None)})


def scrub_non_finite(value: Any) -> Any:
    """The value with every NaN or infinity (in it, at any depth) as None: JSON has neither."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: v if type(v) in _LEAVES else scrub_non_finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _LEAVES else scrub_non_finite(v) for v in value]
    return value


def _scrub(info: dict[str, Any] | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {k: v for k, v in info.items() if not any(s in k.lower() for s in SECRET_KEYS)}
