"""D21: a protective stop rests at the broker for every position of a bridge that can rest one: created with the
entry's fill, following the position in place, named by every exit, closing the trade as `broker_stop` when it
fills, and announced (or flattened) when the broker rejects it."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CONFIG, T0, assert_refused, fresh_world, place, ready_to_enter, run

from shared.domain import Decision, World
from shared.domain.engine import orders_needed
from shared.domain.inputs import (
    BridgeHeartbeat,
    CancelOrder,
    ExecutionReport,
    ManualExit,
    PnlSnapshot,
    PollPending,
    SetProtect,
    SetRisk,
    SymbolPosition,
    TvHeartbeat,
)
from shared.domain.orders import bridge_view
from shared.domain.state import Order
from shared.domain.stops import capable, stop_level

NEXT_DAY = T0 + 86_400


class Desk:
    """A world driven through `decide` with a clock that moves one second per input."""

    def __init__(self, stops: bool = True) -> None:
        world = ready_to_enter(fresh_world())
        world = run(world, TvHeartbeat(asset="ES", price=5000.0), T0 - 2).world
        caps = ["protective_stop"] if stops else []
        self.world: World = run(world, BridgeHeartbeat(info={"capabilities": caps}), T0 - 1).world
        self.now = T0
        self.last: Decision | None = None

    def __call__(self, inp: Any) -> Decision:
        self.now += 1
        self.last = run(self.world, inp, self.now, f"r{self.now}")
        self.world = self.last.world
        return self.last

    def enter(self, **fill: Any) -> str:
        d = place(self.world, self.now)
        assert d.status == 201, d.body
        self.world = d.world
        oid = str(d.body["order"]["id"])  # type: ignore[index]
        if fill:
            assert self(ExecutionReport(order_id=oid, **fill)).status == 200, self.last.body  # type: ignore[union-attr]
        return oid

    @property
    def stop(self) -> Order | None:
        sid = self.world.assets["ES"].stop_order_id
        return None if sid is None else self.world.orders[sid]

    def codes(self) -> list[tuple[str, str | None]]:
        assert self.last is not None
        return [(e.kind, e.code) for e in self.last.events]


def long(desk: Desk, price: float = 5000.0) -> str:
    return desk.enter(status="FILLED", fill_price=price)


class TestCapability:
    def test_declared_in_a_fresh_heartbeat_only(self) -> None:
        desk = Desk()
        assert capable(desk.world.glob, T0, CONFIG)
        assert not capable(desk.world.glob, T0 - 1 + CONFIG.rithmic_fresh_s + 0.001, CONFIG)
        assert not capable(Desk(stops=False).world.glob, T0, CONFIG)
        assert not capable(fresh_world().glob, T0, CONFIG)

    def test_without_it_no_stop_is_created(self) -> None:
        desk = Desk(stops=False)
        long(desk)
        assert desk.world.assets["ES"].position == 5 and desk.stop is None

    @pytest.mark.parametrize(("position", "average", "distance", "level"), [
        (5, 5000.0, 10.0, 4990.0), (5, 5000.3, 10.0, 4990.25), (-5, 5000.3, 10.0, 5010.5), (-3, 5000.0, 2.0, 5002.0),
        (2, 5000.1, 0.25, 4999.75),
    ])
    def test_the_level_is_rounded_to_the_tick_away_from_the_market(self, position: int, average: float,
                                                                   distance: float, level: float) -> None:
        assert stop_level(position, average, distance, 0.25) == level


class TestTheStopFollowsThePosition:
    def test_created_with_the_entrys_fill_and_handed_out_once(self) -> None:
        desk = Desk()
        long(desk)
        stop = desk.stop
        assert stop is not None and ("stop_placed", "PROTECTIVE_STOP") in desk.codes()
        assert (stop.kind, stop.side, stop.qty, stop.stop_price, stop.action, stop.revision, stop.status) == (
            "STOP", "SELL", 5, 4990.0, "PLACE", 1, "PENDING")
        a = desk.world.assets["ES"]
        assert a.pending_order_id is None   # a resting stop is not the asset's order in flight
        polled = desk(PollPending())
        (view,) = polled.body["orders"]  # type: ignore[misc]
        assert (view["kind"], view["stop_price"], view["action"], view["revision"], view["qty"]) == (
            "STOP", 4990.0, "PLACE", 1, 5)
        assert desk(PollPending()).body["orders"] == []
        desk(ExecutionReport(order_id=stop.id, status="WORKING"))
        assert desk.stop.status == "WORKING"  # type: ignore[union-attr]

    def test_a_short_position_gets_a_buy_stop_above(self) -> None:
        desk = Desk()
        desk.world.assets["ES"].high_renko_color = "red"
        desk.world.assets["ES"].macro_renko_color = "red"
        desk.world.assets["ES"].two_half_renko_color = "red"
        desk.enter(status="FILLED", fill_price=5000.0)
        assert desk.world.assets["ES"].position == -5
        assert (desk.stop.side, desk.stop.stop_price) == ("BUY", 5010.0)  # type: ignore[union-attr]

    def test_partial_fills_move_it_in_place_and_hand_out_the_new_version(self) -> None:
        desk = Desk()
        oid = desk.enter(status="PARTIALLY_FILLED", cum_qty=2, fill_price=5000.0)
        stop = desk.stop
        assert stop is not None and (stop.qty, stop.stop_price) == (2, 4990.0)
        desk(PollPending())
        desk(ExecutionReport(order_id=stop.id, status="WORKING"))
        desk(ExecutionReport(order_id=oid, status="FILLED", cum_qty=5, fill_price=5005.0))
        moved = desk.stop
        assert moved is not None and moved.id == stop.id and ("stop_moved", "PROTECTIVE_STOP") in desk.codes()
        assert (moved.qty, moved.stop_price, moved.status, moved.action, moved.revision) == (
            5, 4993.0, "PENDING", "MODIFY", 2)   # average 5003: 4993
        (view,) = [o for o in desk(PollPending()).body["orders"] if o["id"] == stop.id]  # type: ignore[union-attr]
        assert (view["action"], view["revision"], view["qty"]) == ("MODIFY", 2, 5)

    def test_an_unchanged_position_leaves_it_as_it_is(self) -> None:
        desk = Desk()
        long(desk)
        stop = desk.stop
        assert stop is not None
        desk(ExecutionReport(order_id=stop.id, status="WORKING"))
        desk(ExecutionReport(order_id=stop.id, status="WORKING"))
        assert (desk.stop.revision, desk.stop.status) == (1, "WORKING")  # type: ignore[union-attr]

    @pytest.mark.parametrize(("threshold", "level"), [(-2.0, 4998.0), (0.5, 5000.5)])
    def test_protect_moves_it_to_its_level(self, threshold: float, level: float) -> None:
        desk = Desk()
        long(desk)
        desk.world.assets["ES"].initial_exit_lock_active = False
        d = desk(SetProtect(asset="ES", enabled=True, threshold=threshold))
        assert d.status == 200 and desk.stop.stop_price == level  # type: ignore[union-attr]

    def test_protect_asked_again_leaves_the_stop_as_it_is(self) -> None:
        desk = Desk()
        long(desk)
        desk.world.assets["ES"].initial_exit_lock_active = False
        desk(SetProtect(asset="ES", enabled=True, threshold=-2.0))
        revision = desk.stop.revision  # type: ignore[union-attr]
        desk(SetProtect(asset="ES", enabled=True, threshold=-2.0))
        assert desk.stop.revision == revision and ("stop_moved", "PROTECTIVE_STOP") not in desk.codes()  # type: ignore[union-attr]

    def test_a_fill_or_protect_loads_the_resting_stop(self) -> None:
        desk = Desk()
        long(desk)
        sid = desk.world.assets["ES"].stop_order_id
        assert orders_needed(desk.world, ExecutionReport(order_id="ES-x-1", status="WORKING")) == {sid}
        assert orders_needed(desk.world, SetProtect(asset="ES")) == {sid}


class TestExitsAndTheStop:
    def test_every_exit_names_the_stop_it_replaces(self) -> None:
        desk = Desk()
        long(desk)
        d = desk(ManualExit(asset="ES", force=True))
        exit_order = desk.world.orders[str(d.body["order"]["id"])]  # type: ignore[index]
        assert exit_order.replaces_stop == desk.stop.id  # type: ignore[union-attr]
        assert bridge_view(exit_order, "DEMO")["replaces_stop"] == exit_order.replaces_stop

    def test_a_stop_fill_closes_the_trade_as_broker_stop(self) -> None:
        desk = Desk()
        long(desk)
        stop = desk.stop
        assert stop is not None
        d = desk(ExecutionReport(order_id=stop.id, status="FILLED", fill_price=4990.0))
        (row,) = d.trades
        assert row["reason"] == "broker_stop" and row["exit_price"] == 4990.0
        assert desk.world.assets["ES"].position == 0 and desk.world.assets["ES"].stop_order_id is None
        assert desk.world.glob.post_exit_lock_expires_ts is not None   # the cooldown, as for any exit

    def test_the_bridge_cancelling_it_for_an_exit_then_the_exit_rejected_places_a_new_one(self) -> None:
        desk = Desk()
        long(desk)
        first = desk.stop
        assert first is not None
        exit_id = str(desk(ManualExit(asset="ES", force=True)).body["order"]["id"])  # type: ignore[index]
        desk(ExecutionReport(order_id=first.id, status="CANCELLED"))
        assert ("stop_cancelled", "UNPROTECTED") in desk.codes() and desk.stop is None
        desk(ExecutionReport(order_id=exit_id, status="REJECTED", reason="no route"))
        assert desk.stop is not None and desk.stop.id != first.id and desk.stop.status == "PENDING"

    def test_a_bridge_that_fills_both_the_stop_and_the_exit_leaves_a_position_shown_and_exitable(self) -> None:
        """D19: a bridge that broke D21's cancel-first rule: both fills are facts; the extra contracts are a short
        position at the broker, announced as critical, and the desk can exit it."""
        desk = Desk()
        long(desk)
        stop = desk.stop
        assert stop is not None
        exit_id = str(desk(ManualExit(asset="ES", force=True)).body["order"]["id"])  # type: ignore[index]
        desk(ExecutionReport(order_id=stop.id, status="FILLED", fill_price=4990.0))
        assert desk.world.assets["ES"].position == 0
        d = desk(ExecutionReport(order_id=exit_id, status="FILLED", fill_price=4989.0))
        assert ("double_exit_fill", "STOP_AND_EXIT_FILLED") in desk.codes() and d.status == 200
        a = desk.world.assets["ES"]
        assert (a.position, a.avg_price) == (-5, 4989.0)
        assert desk(ManualExit(asset="ES", force=True)).status == 201

    def test_a_cancelled_stop_of_a_closed_trade_is_simply_over(self) -> None:
        desk = Desk()
        long(desk)
        stop = desk.stop
        assert stop is not None
        exit_id = str(desk(ManualExit(asset="ES", force=True)).body["order"]["id"])  # type: ignore[index]
        desk(ExecutionReport(order_id=exit_id, status="FILLED", fill_price=5001.0))
        d = desk(ExecutionReport(order_id=stop.id, status="CANCELLED"))
        assert d.status == 200 and ("stop_cancelled", "UNPROTECTED") not in desk.codes()

    def test_a_rejected_stop_is_announced_and_with_the_setting_flattened(self) -> None:
        desk = Desk()
        long(desk)
        stop = desk.stop
        assert stop is not None
        desk(ExecutionReport(order_id=stop.id, status="REJECTED", reason="stop price on the wrong side"))
        assert ("stop_rejected", "UNPROTECTED") in desk.codes()
        assert desk.world.assets["ES"].stop_order_id is None and desk.world.assets["ES"].pending_order_id is None
        flattening = Desk()
        flattening(SetRisk(flatten_if_unprotected=True))
        long(flattening)
        stop = flattening.stop
        assert stop is not None
        flattening(ExecutionReport(order_id=stop.id, status="REJECTED"))
        exits = [o for o in flattening.world.orders.values() if o.kind == "EXIT"]
        assert [(o.source, o.reason) for o in exits] == [("UNPROTECTED", "unprotected")]

    def test_an_old_stop_rejected_after_the_trade_closed_changes_nothing_but_the_log(self) -> None:
        desk = Desk()
        long(desk)
        old = desk.stop
        assert old is not None
        exit_id = str(desk(ManualExit(asset="ES", force=True)).body["order"]["id"])  # type: ignore[index]
        desk(ExecutionReport(order_id=exit_id, status="FILLED", fill_price=5001.0))
        d = desk(ExecutionReport(order_id=old.id, status="REJECTED"))
        assert d.status == 200 and desk.world.assets["ES"].stop_order_id is None
        assert [o for o in desk.world.orders.values() if o.kind == "EXIT" and o.source == "UNPROTECTED"] == []

    def test_the_broker_flat_with_a_resting_stop_is_that_stops_doing(self) -> None:
        desk = Desk()
        long(desk)
        for _ in range(2):
            d = desk(PnlSnapshot(account_balance=49_950.0, symbols=(SymbolPosition(symbol="MESH6", position=0),)))
        (row,) = d.trades
        assert row["reason"] == "broker_stop"

    def test_a_stop_cannot_be_cancelled_by_the_operator_once_resting(self) -> None:
        desk = Desk()
        long(desk)
        stop = desk.stop
        assert stop is not None
        desk(ExecutionReport(order_id=stop.id, status="WORKING"))
        assert_refused(desk(CancelOrder(order_id=stop.id)), 409, "ORDER_LIVE_AT_BROKER")


class TestRequireAProtectiveStop:
    def test_entries_refused_without_a_capable_bridge_when_required(self) -> None:
        desk = Desk(stops=False)
        desk(SetRisk(require_protective_stop=True))
        assert desk.world.glob.require_protective_stop is True   # switching it on tightens: at once
        assert_refused(place(desk.world, desk.now), 409, "NO_PROTECTIVE_STOP")
        capable_desk = Desk()
        capable_desk(SetRisk(require_protective_stop=True))
        assert place(capable_desk.world, capable_desk.now).status == 201

    def test_switching_it_off_waits_for_the_next_trading_day(self) -> None:
        desk = Desk()
        desk(SetRisk(require_protective_stop=True, flatten_if_unprotected=True))
        d = desk(SetRisk(require_protective_stop=False, flatten_if_unprotected=False))
        assert d.world.glob.require_protective_stop is True
        assert d.world.glob.pending_risk == {"require_protective_stop": False, "flatten_if_unprotected": False}
        assert run(d.world, PnlSnapshot(), NEXT_DAY).world.glob.require_protective_stop is False
