"""Issue 7 in the rules: a fill price is positive and near the last known price (a 1e308 fill poisoned the store for
good), and every audit record names the assets its input touched (the log's asset filter hid fills and cancels)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from builders import CONFIG, T0, fresh_world, place, ready_to_enter, run

from shared.domain import decide
from shared.domain.engine import audit_record
from shared.domain.inputs import (
    CancelOrder,
    ExecutionReport,
    PnlSnapshot,
    PollPending,
    SymbolPosition,
    TimerFired,
    TvHeartbeat,
)


def entered(price: float | None = 5000.0):
    world = ready_to_enter(fresh_world())
    if price is not None:
        world = run(world, TvHeartbeat(asset="ES", price=price), T0 - 1).world
    d = place(world, T0)
    assert d.status == 201, d.body
    return d.world, str(d.body["order"]["id"])  # type: ignore[index]


@pytest.mark.parametrize("price", [0.0, -5000.0, math.nan])
def test_a_fill_price_must_be_positive(price: float) -> None:
    world, oid = entered()
    d = run(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=price), T0 + 1)
    assert (d.status, d.code, d.body["error"]) == (400, "INVALID_FILL_PRICE", "fill_price: expected a number > 0")
    assert d.world is world and world.assets["ES"].position == 0


@pytest.mark.parametrize(("price", "ok"), [(5499.0, True), (4501.0, True), (5501.0, False), (4499.0, False),
                                           (1e308, False)])
def test_a_fill_price_must_be_within_the_band_of_the_last_price(price: float, ok: bool) -> None:
    world, oid = entered(5000.0)
    d = run(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=price), T0 + 1)
    if ok:
        assert d.status == 200 and d.world.assets["ES"].avg_price == price
    else:
        assert (d.status, d.code) == (400, "FILL_PRICE_OUT_OF_BAND")
        assert d.body["error"].startswith(f"fill_price: {price:g} is more than 10% away from the last known price")
        assert d.world is world


def test_the_band_is_configurable_and_zero_turns_it_off() -> None:
    world, oid = entered(5000.0)
    inp = ExecutionReport(order_id=oid, status="FILLED", fill_price=9000.0)
    assert decide(world, inp, T0 + 1, dataclasses.replace(CONFIG, fill_price_band_pct=0.0)).status == 200
    assert decide(world, inp, T0 + 1, dataclasses.replace(CONFIG, fill_price_band_pct=100.0)).status == 200
    assert decide(world, inp, T0 + 1, dataclasses.replace(CONFIG, fill_price_band_pct=50.0)).status == 400


def test_without_a_known_price_any_positive_price_is_taken_and_a_missing_one_defaults() -> None:
    world, oid = entered(None)
    assert run(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=123.0), T0 + 1).status == 200
    flat = run(world, ExecutionReport(order_id=oid, status="FILLED"), T0 + 1)
    assert flat.status == 200 and flat.world.assets["ES"].avg_price == 0.0  # the documented default: last price


def record(world, inp, now=T0 + 1):
    d = run(world, inp, now)
    return d, audit_record(inp, now, "rq", d)


def test_reports_and_cancels_carry_their_orders_asset() -> None:
    world, oid = entered()
    for inp in (ExecutionReport(order_id=oid, status="WORKING"), CancelOrder(order_id=oid),
                ExecutionReport(order_id=oid, status="REJECTED", reason="no margin")):
        d, rec = record(world, inp)
        assert (rec["asset"], rec["assets"]) == ("ES", ["ES"]), (inp, d.body)
    refused, rec = record(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=-1.0))
    assert refused.status == 400 and rec["asset"] == "ES"


def test_timers_carry_the_asset_of_their_key() -> None:
    world, oid = entered()
    world = run(world, PollPending(), T0 + 1).world
    _, lease = record(world, TimerFired(kind="lease_end", key=oid, at=T0 + 201), T0 + 202)
    _, intent = record(world, TimerFired(kind="intent_expiry", key="NQ:1.000", at=T0), T0 + 2)
    _, candle = record(world, TimerFired(kind="candle_lock_end", key="5880000", at=T0), T0 + 2)
    assert (lease["asset"], intent["asset"], candle["asset"]) == ("ES", "NQ", None)
    assert candle["assets"] == []


def test_a_snapshot_carries_every_asset_it_lists_joined_in_one_label() -> None:
    world = fresh_world()
    both = PnlSnapshot(symbols=(SymbolPosition(symbol="MNQZ5"), SymbolPosition(symbol="MESZ5", position=0),
                                SymbolPosition(symbol="GCZ5")))
    _, rec = record(world, both)
    assert (rec["asset"], rec["assets"]) == ("ES,NQ", ["ES", "NQ"])
    _, one = record(world, PnlSnapshot(symbols=(SymbolPosition(symbol="MESZ5"),)))
    assert (one["asset"], one["assets"]) == ("ES", ["ES"])
    _, none = record(world, PnlSnapshot())
    assert (none["asset"], none["assets"]) == (None, [])
