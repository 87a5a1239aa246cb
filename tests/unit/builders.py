"""Shared builders for the pure-domain unit tests: a fixed clock, worlds in common states, and small drivers.

Stable API (other test files import it as `from builders import ...`):

- `CONFIG`, `T0`, `ny(y, m, d, hh, mm, ss)`                      the config and the fixed clock
- `fresh_world(now=T0)`                                          a brand-new world, already on `now`'s trading day
- `ready_to_enter(world, now, asset="ES", direction="BUY")`       every entry gate passes for `direction`
- `in_long_trade(world, now, asset="ES", qty=5, price=5000.0)`    an open long (filled entry, no pending order)
- `in_short_trade(world, now, asset="ES", qty=5, price=5000.0)`   an open short
- `run(world, inp, now, request_id="r")`                         `decide` with CONFIG
- `bar(world, stream, color, now, asset="ES")`                   one Renko webhook through `decide`
- `place(world, now, **fields)`                                  POST /api/orders (asset ES, SCALP, market by default)
- `assert_refused(decision, status, code, text=None)`            a refusal with the world left unchanged

Builders mutate and return the world they are given (tests own their worlds); `run`/`bar`/`place` never mutate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain import Decision, World, decide, default_config, initial_world
from shared.domain.clock import NEW_YORK
from shared.domain.inputs import Input, PlaceOrder, RenkoBar
from shared.domain.view import normalise_world

CONFIG = default_config()


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: float = 0) -> float:
    """Epoch seconds of a New York wall-clock time (DST-aware)."""
    whole = int(second)
    micro = round((second - whole) * 1_000_000)
    return datetime(year, month, day, hour, minute, whole, micro, tzinfo=NEW_YORK).timestamp()


# Tuesday 2026-01-13 10:00:00 New York (EST): mid-session, on a 5-minute boundary, far from any roll or DST change.
T0 = ny(2026, 1, 13, 10, 0, 0)
assert T0 == 1768316400.0


def fresh_world(now: float = T0) -> World:
    world = initial_world(CONFIG)
    normalise_world(world, now, CONFIG)
    return world


def _colors(direction: str) -> tuple[str, str]:
    side = direction.upper()
    if side not in ("BUY", "SELL"):
        raise ValueError(f"direction must be BUY or SELL, got {direction!r}")
    return ("green", "red") if side == "BUY" else ("red", "green")


def ready_to_enter(world: World, now: float = T0, asset: str = "ES", direction: str = "BUY") -> World:
    """Fresh heartbeat, a 6pt bar never spent, NORMAL zone in `direction`, 2.5pt aligned: every gate passes."""
    a = world.assets[asset]
    aligned, _ = _colors(direction)
    a.last_heartbeat_ts = now - 10
    a.main_renko_color, a.main_renko_ts = aligned, now - 60
    a.high_renko_color, a.high_renko_ts = aligned, now - 120
    a.macro_renko_color, a.macro_renko_ts = aligned, now - 300
    a.two_half_renko_color, a.two_half_renko_ts = aligned, now - 30
    a.tempo_spent_ts = None
    return world


def _in_trade(world: World, now: float, asset: str, qty: int, price: float, direction: str) -> World:
    a = world.assets[asset]
    aligned, _ = _colors(direction)
    if a.main_renko_ts is None:
        ready_to_enter(world, now, asset, direction)
    a.position = qty if direction.upper() == "BUY" else -qty
    a.avg_price = a.entry_price = price
    a.last_entry_ts = now - 30
    a.exit_mode = "A"
    a.exit_tf = "high"
    a.env = world.glob.env
    a.rithmic_symbol = "MESH6" if asset == "ES" else "MNQH6"
    a.trade_mode = "SCALP"
    a.entry_main_renko_ts = a.main_renko_ts
    a.entry_high_renko_ts = a.high_renko_ts
    a.entry_main_renko_color = aligned
    a.tempo_spent_ts = now - 30
    a.initial_exit_lock_active = False
    a.initial_exit_lock_released = True
    a.two_half_renko_color = "neutral"      # 2.5pt lock stays on (neutral) unless a test sets a colour
    return world


def in_long_trade(world: World, now: float = T0, asset: str = "ES", qty: int = 5, price: float = 5000.0) -> World:
    return _in_trade(world, now, asset, qty, price, "BUY")


def in_short_trade(world: World, now: float = T0, asset: str = "ES", qty: int = 5, price: float = 5000.0) -> World:
    return _in_trade(world, now, asset, qty, price, "SELL")


def run(world: World, inp: Input, now: float = T0, request_id: str = "r") -> Decision:
    return decide(world, inp, now, CONFIG, request_id)


def bar(
    world: World, stream: str, color: str, now: float = T0, asset: str = "ES", bar_id: str | None = None
) -> Decision:
    return run(world, RenkoBar(stream=stream, asset=asset, color=color, bar_id=bar_id), now)  # type: ignore[arg-type]


def place(world: World, now: float = T0, **fields: Any) -> Decision:
    values: dict[str, Any] = {"asset": "ES", "trade_mode": "SCALP"}
    values.update(fields)
    return run(world, PlaceOrder(**values), now)


def assert_refused(decision: Decision, status: int, code: str, text: str | None = None) -> None:
    assert decision.status == status, (decision.status, decision.body)
    assert decision.code == code, decision.body
    assert decision.body["code"] == code
    assert decision.body["ok"] is False
    if text is not None:
        assert decision.body["error"] == text, decision.body["error"]
    assert decision.timers == []
