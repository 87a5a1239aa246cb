"""The order state machine (one transition table, D9) and the Cloud Task callbacks: each timer only tidies up, so
firing it twice, late or never leaves the same derived state."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CONFIG, T0, fresh_world, in_long_trade, place, ready_to_enter, run

from shared.domain import Decision, World
from shared.domain.inputs import (
    CancelOrder,
    CreateIntent,
    ExecutionReport,
    Input,
    ManualExit,
    PlaceOrder,
    PollPending,
    TimerFired,
    TvHeartbeat,
)
from shared.domain.orders import TERMINAL, IllegalTransition, effective_status, transition
from shared.domain.state import ORDER_STATUSES, Order
from shared.domain.view import state_view

TRIGGERS = ("claim", "cancel", "lease_end", "WORKING", "PARTIAL_FILL", "FILL", "REJECTED", "CANCELLED")
REPORTS = {"WORKING": "WORKING", "PARTIAL_FILL": "PARTIALLY_FILLED", "FILL": "FILLED", "REJECTED": "REJECTED",
           "CANCELLED": "CANCELLED"}
LEGAL: dict[tuple[str, str], str] = {
    ("PENDING", "claim"): "CLAIMED",
    ("PENDING", "cancel"): "CANCELLED",
    ("STALE", "cancel"): "CANCELLED",
    ("CLAIMED", "lease_end"): "STALE",
    **{(state, trig): nxt for state in ("PENDING", "CLAIMED", "WORKING", "STALE") for trig, nxt in REPORTS.items()},
    ("PARTIALLY_FILLED", "WORKING"): "PARTIALLY_FILLED",
    ("PARTIALLY_FILLED", "PARTIAL_FILL"): "PARTIALLY_FILLED",
    ("PARTIALLY_FILLED", "FILL"): "FILLED",
    ("PARTIALLY_FILLED", "REJECTED"): "REJECTED",
    ("PARTIALLY_FILLED", "CANCELLED"): "CANCELLED",
    # D19: a fill after the broker's CANCELLED or REJECTED is still a fact; a partial one leaves the order ended
    ("CANCELLED", "PARTIAL_FILL"): "CANCELLED",
    ("CANCELLED", "FILL"): "FILLED",
    ("REJECTED", "PARTIAL_FILL"): "REJECTED",
    ("REJECTED", "FILL"): "FILLED",
}


def order(status: str) -> Order:
    return Order(id="o1", asset="ES", symbol="MESH6", side="BUY", qty=5, kind="ENTRY", source="UI", env="DEMO",
                 status=status, created_at=T0, updated_at=T0, lease_owner="b", lease_until=T0 + 200, leased_at=T0)


class TestTransitionTable:
    @pytest.mark.parametrize(("state", "trigger"), sorted(LEGAL))
    def test_every_legal_pair(self, state: str, trigger: str) -> None:
        o = order(state)
        assert transition(o, trigger, T0 + 5) == LEGAL[(state, trigger)]
        assert (o.status, o.updated_at) == (LEGAL[(state, trigger)], T0 + 5)
        if o.status in TERMINAL:
            assert (o.lease_owner, o.lease_until, o.leased_at) == (None, None, None)
        else:
            assert o.lease_owner == "b"

    @pytest.mark.parametrize(("state", "trigger"),
                             [(s, t) for s in ORDER_STATUSES for t in TRIGGERS if (s, t) not in LEGAL])
    def test_every_illegal_pair_raises_and_changes_nothing(self, state: str, trigger: str) -> None:
        o = order(state)
        with pytest.raises(IllegalTransition) as info:
            transition(o, trigger, T0 + 5)
        assert (info.value.state, info.value.trigger, info.value.order_id) == (state, trigger, "o1")
        assert o == order(state)

    def test_ended_orders_accept_only_fills_and_a_filled_one_nothing(self) -> None:
        assert {trigger for state, trigger in LEGAL if state in TERMINAL} == {"PARTIAL_FILL", "FILL"}
        assert not [pair for pair in LEGAL if pair[0] == "FILLED"]

    @pytest.mark.parametrize(("status", "now", "expected"), [
        ("CLAIMED", T0 + 199.999, "CLAIMED"), ("CLAIMED", T0 + 200, "STALE"), ("WORKING", T0 + 199, "WORKING"),
        ("WORKING", T0 + 999, "WORKING"), ("PARTIALLY_FILLED", T0 + 999, "PARTIALLY_FILLED"),
        ("PENDING", T0 + 999, "PENDING"),
    ])
    def test_stale_is_derived_from_the_lease(self, status: str, now: float, expected: str) -> None:
        assert effective_status(order(status), now) == expected


# ---- operator cancel (D9) -------------------------------------------------------------------------------------

class TestCancelOrder:
    def _claimed(self) -> tuple[World, str]:
        w = place(ready_to_enter(fresh_world()), T0).world
        w = run(w, PollPending(), T0 + 1).world
        return w, next(iter(w.orders))

    def test_a_pending_order_can_be_cancelled_and_the_entry_is_given_back(self) -> None:
        w = place(ready_to_enter(fresh_world()), T0).world
        oid = next(iter(w.orders))
        d = run(w, CancelOrder(order_id=oid), T0 + 1)
        assert d.status == 200 and d.world.orders[oid].status == "CANCELLED"
        a = d.world.assets["ES"]
        assert a.pending_order_id is None and a.tempo_spent_ts is None and d.world.glob.five_min_trade_bucket is None

    def test_a_claimed_order_cannot_be_cancelled_until_it_is_stale(self) -> None:
        w, oid = self._claimed()
        d = run(w, CancelOrder(order_id=oid), T0 + 100)
        assert (d.status, d.code) == (409, "ORDER_NOT_CANCELLABLE")
        # stale by its lease even though the lease_end timer never ran
        d = run(w, CancelOrder(order_id=oid), T0 + 201)
        assert d.status == 200 and d.world.orders[oid].status == "CANCELLED"

    def test_unknown_order(self) -> None:
        d = run(fresh_world(), CancelOrder(order_id="nope"), T0)
        assert (d.status, d.code) == (404, "UNKNOWN_ORDER")


# ---- timers --------------------------------------------------------------------------------------------------------

def fire(world: World, kind: str, key: str, at: float, now: float) -> Decision:
    return run(world, TimerFired(kind=kind, key=key, at=at), now)  # type: ignore[arg-type]


def timer_scenarios(world: World, kind: str, key: str, due: float) -> dict[str, World]:
    """never / on time / twice / late (and early, which must do nothing)."""
    on_time = fire(world, kind, key, due, due).world
    return {
        "never": world,
        "on_time": on_time,
        "twice": fire(on_time, kind, key, due, due + 1).world,
        "late": fire(world, kind, key, due, due + 3600).world,
        "early_then_on_time": fire(fire(world, kind, key, due, due - 1).world, kind, key, due, due).world,
    }


def _derived(world: World, at: float) -> dict[str, Any]:
    """The view, without the leftovers of an intent or pre-order that is no longer active (they mean nothing)."""
    view = state_view(world, at, CONFIG)
    for shown in view["assets"].values():
        for prefix in ("intent_", "preorder_"):
            if not shown[prefix + "active"]:
                for name in [n for n in shown if n.startswith(prefix) and n not in (prefix + "active",
                                                                                    prefix + "status")]:
                    del shown[name]
    return view


def same_derived_state(worlds: dict[str, World], at: float) -> None:
    views = {name: _derived(w, at) for name, w in worlds.items()}
    reference = views["never"]
    for name, view in views.items():
        assert view == reference, name


def same_outcome(worlds: dict[str, World], inp: Input, at: float) -> None:
    outcomes = {name: run(w, inp, at, "probe") for name, w in worlds.items()}
    first = outcomes["never"]
    for name, d in outcomes.items():
        assert (d.status, d.code) == (first.status, first.code), name


class TestTimers:
    def test_candle_lock_end(self) -> None:
        placed = place(ready_to_enter(fresh_world()), T0)
        (timer,) = placed.timers
        assert (timer.kind, timer.at) == ("candle_lock_end", T0 + 300)
        w = run(placed.world, ExecutionReport(order_id=next(iter(placed.world.orders)), status="FILLED",
                                              fill_price=5000.0), T0 + 1).world
        early = fire(w, "candle_lock_end", timer.key, timer.at, T0 + 299)
        assert early.body["outcome"] == "nothing_to_do" and early.world.glob.five_min_trade_bucket is not None
        on_time = fire(w, "candle_lock_end", timer.key, timer.at, timer.at)
        assert on_time.body["outcome"] == "released" and on_time.world.glob.five_min_trade_bucket is None
        worlds = timer_scenarios(w, "candle_lock_end", timer.key, timer.at)
        same_derived_state(worlds, T0 + 4000)
        same_derived_state(worlds, T0 + 300)

    def test_cooldown_end(self) -> None:
        w = in_long_trade(fresh_world())
        w = run(w, ManualExit(asset="ES", force=True), T0, "x").world
        d = run(w, ExecutionReport(order_id=next(iter(w.orders)), status="FILLED", fill_price=5000.0), T0 + 1)
        (timer,) = d.timers
        assert (timer.kind, timer.at) == ("cooldown_end", T0 + 181)
        early = fire(d.world, "cooldown_end", timer.key, timer.at, T0 + 180)
        assert early.body["outcome"] == "nothing_to_do"
        assert fire(d.world, "cooldown_end", timer.key, timer.at, T0 + 181).body["outcome"] == "released"
        worlds = timer_scenarios(d.world, "cooldown_end", timer.key, timer.at)
        for at in (T0 + 181, T0 + 4000):
            same_derived_state(worlds, at)
            ready = {k: ready_to_enter(v.clone(), at) for k, v in worlds.items()}
            same_outcome(ready, PlaceOrder(asset="ES", trade_mode="SCALP"), at)

    def _with_intent(self) -> tuple[World, Any]:
        w = ready_to_enter(fresh_world())
        d = run(w, CreateIntent(asset="ES", direction="BUY"), T0)
        assert d.status == 201
        (timer,) = d.timers
        assert (timer.kind, timer.at) == ("intent_expiry", T0 + 900)
        return d.world, timer

    def test_intent_expiry(self) -> None:
        w, timer = self._with_intent()
        assert fire(w, "intent_expiry", timer.key, timer.at, T0 + 899).body["outcome"] == "nothing_to_do"
        d = fire(w, "intent_expiry", timer.key, timer.at, T0 + 900)
        a = d.world.assets["ES"]
        assert d.body["outcome"] == "expired"
        assert (a.intent_active, a.intent_status, a.intent_created_ts) == (False, "EXPIRED", None)
        worlds = timer_scenarios(w, "intent_expiry", timer.key, timer.at)
        same_derived_state(worlds, T0 + 950)
        fresh = {k: run(v, TvHeartbeat(asset="ES"), T0 + 950, "hb").world for k, v in worlds.items()}
        same_outcome(fresh, CreateIntent(asset="ES", direction="SELL"), T0 + 951)

    def test_preorder_expiry(self) -> None:
        w = ready_to_enter(fresh_world())
        d = place(w, T0, order_type="preorder", direction="BUY")
        assert d.status == 201
        (timer,) = d.timers
        assert (timer.kind, timer.at) == ("preorder_expiry", T0 + 900)
        assert fire(d.world, "preorder_expiry", timer.key, timer.at, T0 + 10).body["outcome"] == "nothing_to_do"
        fired = fire(d.world, "preorder_expiry", timer.key, timer.at, T0 + 900)
        assert fired.body["outcome"] == "expired" and fired.world.assets["ES"].preorder_status == "EXPIRED"
        assert fired.world.assets["ES"].preorder_active is False
        worlds = timer_scenarios(d.world, "preorder_expiry", timer.key, timer.at)
        same_derived_state(worlds, T0 + 950)
        fresh = {k: run(v, TvHeartbeat(asset="ES"), T0 + 950, "hb").world for k, v in worlds.items()}
        same_outcome(fresh, CreateIntent(asset="ES", direction="SELL"), T0 + 951)
        same_outcome(fresh, PlaceOrder(asset="ES", trade_mode="SCALP", order_type="preorder", direction="BUY"),
                     T0 + 951)

    def test_lease_end(self) -> None:
        w = place(ready_to_enter(fresh_world()), T0).world
        d = run(w, PollPending(), T0 + 1)
        (timer,) = d.timers
        oid = timer.key
        assert fire(d.world, "lease_end", oid, timer.at, T0 + 200).body["outcome"] == "nothing_to_do"
        assert fire(d.world, "lease_end", oid, timer.at, T0 + 201).body["outcome"] == "stale"
        worlds = timer_scenarios(d.world, "lease_end", oid, timer.at)
        for name, world in worlds.items():
            assert effective_status(world.orders[oid], T0 + 500) == "STALE", name
        same_outcome(worlds, PollPending(), T0 + 500)
        same_outcome(worlds, CancelOrder(order_id=oid), T0 + 500)
        same_outcome(worlds, ExecutionReport(order_id=oid, status="FILLED", fill_price=1.0), T0 + 500)

    def test_lease_end_after_a_report_does_nothing(self) -> None:
        w = place(ready_to_enter(fresh_world()), T0).world
        d = run(w, PollPending(), T0 + 1)
        (timer,) = d.timers
        worked = run(d.world, ExecutionReport(order_id=timer.key, status="WORKING"), T0 + 2).world
        fired = fire(worked, "lease_end", timer.key, timer.at, T0 + 500)
        assert fired.body["outcome"] == "nothing_to_do" and fired.world.orders[timer.key].status == "WORKING"

    @pytest.mark.parametrize(("kind", "key"), [
        ("lease_end", "nope"), ("intent_expiry", "XX:1"), ("preorder_expiry", "ES:1"), ("cooldown_end", "1"),
        ("candle_lock_end", "1"),
    ])
    def test_unknown_or_idle_targets_do_nothing(self, kind: str, key: str) -> None:
        w = fresh_world()
        d = fire(w, kind, key, T0, T0)
        assert d.body == {"ok": True, "outcome": "nothing_to_do"} and d.world == w
        assert [e.code for e in d.events] == [kind.upper()]




def test_an_order_id_names_its_asset() -> None:
    """The shell loads an order's asset before reading the order: the id must carry it (Ctx.next_order_id)."""
    from shared.domain.core import order_asset

    decision = place(ready_to_enter(fresh_world(), asset="NQ"), T0, asset="NQ")
    order_id = decision.body["order"]["id"]  # type: ignore[index]
    assert order_asset(order_id) == "NQ" and decision.world.orders[order_id].asset == "NQ"


def test_the_probe_timer_changes_nothing_and_says_it_fired() -> None:
    # issue 22: the smoke test's timer; its audit event is the proof that delivery works
    world = fresh_world()
    d = fire(world, "probe", "probe:0123456789abcdef", T0, T0)
    assert d.status == 200 and d.body["outcome"] == "fired"
    assert d.world == world
