"""What the shell asks of the engine besides `decide`: which orders a decision must see (D11), the audit record of an
input and its replay (D13), the record codecs of the store, and the derived flags nothing else reaches."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import CONFIG, T0, fresh_world, in_long_trade, place, ready_to_enter, run

from shared.domain import World, audit_record, initial_world, orders_needed, replay
from shared.domain.core import aligned_color, fresh_main_bar_since_entry, opposite_color
from shared.domain.inputs import (
    BridgeHeartbeat,
    ExecutionReport,
    Input,
    PlaceOrder,
    PnlSnapshot,
    RenkoBar,
    TvHeartbeat,
)
from shared.domain.state import AssetState, GlobalState, Order, from_doc, to_doc


def with_pending_entries(**glob: Any) -> tuple[World, set[str]]:
    """ES and NQ each with an entry order in flight (placed in two candles: the 5-minute lock is global) and the
    global fields as given (start equity 50 000 by default). The clock is then at `LATER`."""
    world = fresh_world()
    ids = set()
    for asset, now in (("ES", T0), ("NQ", T0 + 300)):
        d = place(ready_to_enter(world, now, asset), now, asset=asset)
        assert d.status == 201, d.body
        world = d.world
        ids.add(str(d.body["order"]["id"]))  # type: ignore[index]
    world.glob.daily_start_equity = 50000.0
    for name, value in glob.items():
        setattr(world.glob, name, value)
    return world, ids


LATER = T0 + 301


def snapshot(balance: float | None) -> PnlSnapshot:
    return PnlSnapshot(account_balance=balance, realized=0.0, unrealized=0.0)


class TestOrdersNeeded:
    """D11: a snapshot that may trigger (or find) the daily stop cancels pending entries, so the shell must load
    them; any other snapshot, and every other input, needs nothing besides what the input names."""

    @pytest.mark.parametrize(("glob", "balance"), [
        ({"daily_stop_triggered": True}, 50000.0),           # already stopped today: every snapshot flattens
        ({"daily_stop_triggered": True}, None),
        ({}, 35000.0),                                       # exactly the 30 % limit
        ({}, 20000.0),
        ({"daily_stop_limit_pct": 10.0}, 45000.0),           # a tightened limit counts at once
    ])
    def test_a_snapshot_that_stops_the_day_needs_every_pending_order(self, glob: dict[str, Any],
                                                                      balance: float | None) -> None:
        world, ids = with_pending_entries(**glob)
        assert orders_needed(world, snapshot(balance)) == ids
        d = run(world, snapshot(balance), LATER)
        assert d.world.glob.daily_stop_triggered
        assert {o.status for oid, o in d.world.orders.items() if oid in ids} == {"CANCELLED"}

    @pytest.mark.parametrize(("glob", "balance"), [
        ({}, 35000.01),                                      # just short of the limit
        ({}, 60000.0),
        ({}, None),                                          # no balance: nothing to judge
        ({"daily_start_equity": None}, 10000.0),             # first balance of the day becomes the start
        ({"daily_start_equity": 0.0}, 10000.0),              # no meaningful start equity
        ({"daily_stop_enabled": False}, 10000.0),
    ])
    def test_a_snapshot_that_cannot_stop_the_day_needs_none(self, glob: dict[str, Any],
                                                            balance: float | None) -> None:
        world, ids = with_pending_entries(**glob)
        assert orders_needed(world, snapshot(balance)) == set()
        d = run(world, snapshot(balance), LATER)
        assert not d.world.glob.daily_stop_triggered
        assert {o.status for oid, o in d.world.orders.items() if oid in ids} == {"PENDING"}

    def test_a_stopped_day_with_nothing_in_flight_needs_none(self) -> None:
        world = fresh_world()
        world.glob.daily_stop_triggered = True
        assert orders_needed(world, snapshot(50000.0)) == set()

    @pytest.mark.parametrize("inp", [
        PlaceOrder(asset="ES", trade_mode="SCALP"), ExecutionReport(order_id="ES-r-1", status="FILLED"),
        RenkoBar(stream="6pt", asset="ES", color="red"), BridgeHeartbeat(info={}),
    ])
    def test_other_inputs_need_none_even_on_a_stopped_day(self, inp: Input) -> None:
        world, _ = with_pending_entries(daily_stop_triggered=True)
        assert orders_needed(world, inp) == set()


class TestAuditAndReplay:
    def test_the_record_names_the_input_the_time_and_the_outcome(self) -> None:
        world = ready_to_enter(fresh_world())
        inp = PlaceOrder(asset="ES", trade_mode="SCALP", direction="buy")
        d = run(world, inp, T0, "req-1")
        record = audit_record(inp, T0, "req-1", d)
        assert {k: record[k] for k in ("request_id", "ts", "type", "asset", "status", "code", "duplicate")} == {
            "request_id": "req-1", "ts": T0, "type": "place_order", "asset": "ES", "status": 201, "code": None,
            "duplicate": False}
        assert record["input"] == inp.model_dump(mode="json")
        kinds = [(e["kind"], e["asset"], e["code"]) for e in record["decisions"]]
        assert ("order_created", "ES", "UI") in kinds and ("lock_set", None, "CANDLE_LOCK_ACTIVE") in kinds

    def test_a_refusal_is_recorded_with_its_code(self) -> None:
        inp = PlaceOrder(asset="ES", trade_mode="SCALP")
        record = audit_record(inp, T0, "r", run(fresh_world(), inp, T0))
        assert (record["status"], record["code"]) == (403, "HEARTBEAT_STALE")
        assert record["decisions"] == [{"kind": "refused", "asset": "ES", "code": "HEARTBEAT_STALE",
                                        "detail": {"status": 403}}]

    def test_an_input_without_an_asset_and_a_duplicate(self) -> None:
        inp = BridgeHeartbeat(info={"account": "A1"})
        record = audit_record(inp, T0, "r", run(fresh_world(), inp, T0))
        assert (record["asset"], record["type"], record["duplicate"]) == (None, "bridge_heartbeat", False)
        bar = RenkoBar(stream="4pt", asset="ES", color="red", bar_id="b1")
        first = run(fresh_world(), bar, T0)
        assert audit_record(bar, T0, "r", run(first.world, bar, T0 + 1))["duplicate"] is True

    def _trade_log(self) -> tuple[list[dict[str, Any]], World]:
        """A whole trade as JSON audit records, and the world it leaves."""
        inputs: list[tuple[float, Input]] = [
            (T0 - 120, RenkoBar(stream="8pt", asset="ES", color="green")),
            (T0 - 110, RenkoBar(stream="12pt", asset="ES", color="green")),
            (T0 - 100, RenkoBar(stream="2.5pt", asset="ES", color="green")),
            (T0 - 90, RenkoBar(stream="6pt", asset="ES", color="green")),
            (T0 - 10, TvHeartbeat(asset="ES", price=5000.0)),
            (T0, PlaceOrder(asset="ES", trade_mode="SCALP")),
            (T0 + 1, ExecutionReport(order_id="ES-q6-1", status="FILLED", fill_price=5000.0)),
        ]
        world = initial_world(CONFIG)
        records = []
        for n, (now, inp) in enumerate(inputs, start=1):
            d = run(world, inp, now, f"q{n}")
            assert d.ok, d.body
            records.append(json.loads(json.dumps(audit_record(inp, now, f"q{n}", d))))
            world = d.world
        return records, world

    def test_replay_of_the_log_rebuilds_the_world(self) -> None:
        records, world = self._trade_log()
        assert world.assets["ES"].position == 5
        assert replay(records, CONFIG) == world

    def test_replay_continues_from_a_given_world(self) -> None:
        records, world = self._trade_log()
        middle = replay(records[:5], CONFIG)
        assert middle.assets["ES"].last_heartbeat_ts == T0 - 10 and middle.orders == {}
        assert replay(records[5:], CONFIG, middle) == world
        assert replay([], CONFIG, middle) is middle


class TestRecordCodecs:
    """The store keeps records as plain documents (`to_doc`) and builds them back (`from_doc`)."""

    def test_an_order_round_trips_and_its_list_is_a_copy(self) -> None:
        order = Order(id="ES-r-1", asset="ES", symbol="MESH6", side="BUY", qty=5, kind="ENTRY", source="UI",
                      env="DEMO", fill_ids=["f1"], last_report={"qty": 5})
        doc = to_doc(order)
        assert doc["fill_ids"] == ["f1"] and doc["fill_ids"] is not order.fill_ids
        assert from_doc(Order, doc) == order

    def test_an_asset_round_trips_and_its_bar_ids_are_copies(self) -> None:
        a = in_long_trade(fresh_world()).assets["ES"]
        a.recent_bar_ids = {"6pt": ["b1", "b2"]}
        doc = to_doc(a)
        assert doc["recent_bar_ids"] == {"6pt": ["b1", "b2"]}
        assert doc["recent_bar_ids"]["6pt"] is not a.recent_bar_ids["6pt"]
        assert from_doc(AssetState, doc) == a

    def test_unknown_keys_are_ignored_and_missing_ones_take_the_defaults(self) -> None:
        a = from_doc(AssetState, {"position": 3, "_rev": 7, "legacy_flag": True}, symbol="NQ")
        assert (a.symbol, a.position, a.renko_color) == ("NQ", 3, "neutral")
        assert from_doc(GlobalState, None) == GlobalState()
        assert from_doc(AssetState, {}, symbol="ES") == AssetState(symbol="ES")


class TestDerivedColours:
    @pytest.mark.parametrize(("position", "aligned", "opposite"), [(5, "green", "red"), (-2, "red", "green"),
                                                                    (0, None, None)])
    def test_aligned_and_opposite_colours_of_a_position(self, position: int, aligned: str | None,
                                                        opposite: str | None) -> None:
        assert (aligned_color(position), opposite_color(position)) == (aligned, opposite)

    def test_no_6pt_bar_ever_seen_is_never_a_fresh_one(self) -> None:
        a = AssetState(position=5, last_entry_ts=T0)
        assert fresh_main_bar_since_entry(a) is False
        a.main_renko_ts = T0 + 1
        assert fresh_main_bar_since_entry(a) is True
