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
    ManualExit,
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


@pytest.mark.parametrize(("price", "ok"), [(2000.0, True), (20000.0, True), (1999.75, False), (20000.25, False),
                                           (9_999_999.0, False), (123.0, False)])
def test_without_a_known_price_a_fill_must_be_in_the_contracts_plausible_range(price: float, ok: bool) -> None:
    """D19: before any price is known, the band falls back to the order's reference price, then to the asset's
    configured range (the defect: a fill at 9,999,999 was taken, and the real exit at 5000 then refused)."""
    world, oid = entered(None)
    d = run(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=price), T0 + 1)
    if ok:
        assert d.status == 200 and d.world.assets["ES"].avg_price == price
    else:
        assert (d.status, d.code) == (400, "FILL_PRICE_OUT_OF_BAND") and d.world is world
        assert d.body["error"] == (f"fill_price: {price:g} is outside ES's plausible range 2000-20000 "
                                   "(no price known yet)")


def test_the_orders_reference_price_bands_a_fill_when_the_last_price_is_gone() -> None:
    """The order remembers the last price at its creation; a fill is checked against it while the asset has none
    (e.g. a rollover cleared it)."""
    world, oid = entered(5000.0)
    assert world.orders[oid].ref_price == 5000.0
    world.assets["ES"].last_price = None
    refused = run(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=5600.0), T0 + 1)
    assert refused.body["error"].startswith("fill_price: 5600 is more than 10% away from the order's reference price")
    assert run(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=5400.0), T0 + 1).status == 200


def test_the_open_positions_average_bands_an_exit_fill_when_no_other_price_is_known() -> None:
    world, oid = entered(None)
    world = run(world, ExecutionReport(order_id=oid, status="FILLED", fill_price=5000.0), T0 + 1).world
    exit_order = run(world, ManualExit(asset="ES", force=True), T0 + 2)
    assert exit_order.status == 201
    exit_id = str(exit_order.body["order"]["id"])  # type: ignore[index]
    refused = run(exit_order.world, ExecutionReport(order_id=exit_id, status="FILLED", fill_price=2500.0), T0 + 3)
    assert refused.body["error"].startswith("fill_price: 2500 is more than 10% away from the position's average")
    closed = run(exit_order.world, ExecutionReport(order_id=exit_id, status="FILLED", fill_price=5010.0), T0 + 3)
    assert closed.status == 200 and closed.world.assets["ES"].position == 0


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


# ---- stored documents of any shape load (issue 7, item 2) -----------------------------------------------------

def test_a_stored_value_of_the_wrong_type_takes_the_fields_default() -> None:
    from shared.domain.state import AssetState, GlobalState, Order, from_doc

    a = from_doc(AssetState, {"position": "abc", "avg_price": [], "pnl": {}, "last_price": math.inf,
                              "intent_active": "yes", "order_count": True, "mismatch_streak": 2.0,
                              "broker_flat_streak": 2.5, "tp_count": math.inf, "rithmic_symbol": 5,
                              "entry_price": 7, "main_renko_color": "green", "unknown": 1}, symbol="ES")
    default = AssetState(symbol="ES")
    assert (a.position, a.avg_price, a.pnl, a.intent_active, a.order_count) == (
        default.position, default.avg_price, default.pnl, default.intent_active, default.order_count)
    assert a.last_price == math.inf            # a float field keeps a float: the view sends it out as null
    assert a.mismatch_streak == 2 and isinstance(a.mismatch_streak, int)  # a whole float in an int field
    assert (a.broker_flat_streak, a.tp_count) == (default.broker_flat_streak, default.tp_count)
    assert (a.rithmic_symbol, a.entry_price, a.main_renko_color) == (None, 7, "green")
    g = from_doc(GlobalState, {"rithmic_bridge": "nope", "pending_risk": [1], "trade_lock": 1, "equity": None})
    assert (g.rithmic_bridge, g.pending_risk, g.trade_lock, g.equity) == (None, {}, False, GlobalState().equity)
    o = from_doc(Order, {"id": "ES-x-1", "asset": "ES", "status": 7, "lease_until": "soon", "fill_ids": "a",
                         "last_report": {"qty": 1}}, symbol="", side="", qty=0, kind="", source="", env="")
    assert (o.status, o.lease_until, o.fill_ids, o.last_report) == ("PENDING", None, [], {"qty": 1})
