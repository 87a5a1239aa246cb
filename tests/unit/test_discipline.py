"""D22: the loss streak. The Nth losing trade in a row locks entries for M minutes and restarts the count; a win
resets it, a trade of exactly $0.00 leaves it; each further lock that trading day doubles M; the rollover resets the
count, the doubling and a running lock. The settings follow D5's ratchet."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CONFIG, T0, assert_refused, fresh_world, in_long_trade, ny, place, ready_to_enter, run

from shared.domain import World, discipline
from shared.domain.inputs import ExecutionReport, ManualExit, SetRisk
from shared.domain.state import GlobalState, from_doc
from shared.domain.view import state_view

NEXT_DAY = ny(2026, 1, 14, 10, 0, 0)   # after the 18:00 New York rollover


def record(g: GlobalState, *results: float, now: float = T0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for pnl in results:
        discipline.on_trade_closed(g, pnl, now,
                                   lambda kind, code, **d: events.append({"kind": kind, "code": code, **d}))
    return events


def with_risk(world: World, now: float = T0, **settings: Any) -> World:
    d = run(world, SetRisk(**settings), now)
    assert d.status == 200, d.body
    return d.world


class TestTheCount:
    def test_the_nth_loss_locks_and_restarts_the_count(self) -> None:
        g = GlobalState(loss_streak_limit=3)
        assert record(g, -10.0, -10.0) == [] and g.loss_streak_count == 2
        assert g.loss_streak_lock_until_ts is None
        events = record(g, -0.01)
        assert g.loss_streak_lock_until_ts == T0 + 30 * 60
        assert (g.loss_streak_count, g.loss_streak_locks_today) == (0, 1)
        assert events == [{"kind": "lock_set", "code": "LOSS_STREAK_LOCK", "until": T0 + 1800, "losses": 3,
                           "minutes": 30, "lock_of_day": 1}]

    def test_a_win_resets_the_count(self) -> None:
        g = GlobalState(loss_streak_limit=3)
        record(g, -10.0, -10.0, 0.01, -10.0, -10.0)
        assert (g.loss_streak_count, g.loss_streak_lock_until_ts) == (2, None)

    @pytest.mark.parametrize("flat", [0.0, 0.004, -0.004])   # exactly $0.00 in whole cents
    def test_a_flat_trade_leaves_the_count(self, flat: float) -> None:
        g = GlobalState(loss_streak_limit=3)
        record(g, -10.0, -10.0, flat)
        assert (g.loss_streak_count, g.loss_streak_lock_until_ts) == (2, None)
        record(g, -10.0)
        assert g.loss_streak_lock_until_ts == T0 + 1800

    def test_off_by_default_the_count_runs_but_never_locks(self) -> None:
        g = GlobalState()
        assert record(g, *[-10.0] * 20) == []
        assert (g.loss_streak_count, g.loss_streak_lock_until_ts) == (20, None)

    def test_each_further_lock_that_day_doubles_the_minutes(self) -> None:
        g = GlobalState(loss_streak_limit=2, loss_streak_lock_minutes=15)
        minutes = []
        for _ in range(4):
            minutes.append(record(g, -1.0, -1.0)[0]["minutes"])
        assert minutes == [15, 30, 60, 120]
        assert discipline.lock_minutes(g) == 240

    def test_a_hand_edited_document_cannot_overflow_the_lock(self) -> None:
        g = GlobalState(loss_streak_limit=1, loss_streak_lock_minutes=10**9, loss_streak_locks_today=10**9)
        assert discipline.lock_minutes(g) == discipline.MAX_LOCK_MINUTES * 2 ** 16
        g = GlobalState(loss_streak_lock_minutes=-5, loss_streak_locks_today=-3)
        assert discipline.lock_minutes(g) == 1


class TestTheLock:
    def locked(self) -> World:
        world = ready_to_enter(fresh_world())
        world.glob.loss_streak_lock_until_ts = T0 + 90
        return world

    def test_entries_are_refused_with_the_time_left_to_the_last_second(self) -> None:
        world = self.locked()
        d = place(world, T0)
        assert_refused(d, 403, "LOSS_STREAK_LOCK", "LOSS STREAK LOCK ACTIVE (01:30 remaining)")
        assert d.body["remaining_s"] == 90
        assert_refused(place(world, T0 + 89.5), 403, "LOSS_STREAK_LOCK", "LOSS STREAK LOCK ACTIVE (00:01 remaining)")
        assert place(world, T0 + 90).status == 201

    def test_exits_always_pass(self) -> None:
        world = in_long_trade(fresh_world())
        world.glob.loss_streak_lock_until_ts = T0 + 900
        assert run(world, ManualExit(asset="ES"), T0).status == 201

    def test_the_rollover_resets_count_doubling_and_lock(self) -> None:
        world = self.locked()
        g = world.glob
        g.loss_streak_lock_until_ts, g.loss_streak_count, g.loss_streak_locks_today = NEXT_DAY + 3600, 2, 3
        d = place(ready_to_enter(world, NEXT_DAY), NEXT_DAY)
        assert d.status == 201, d.body
        g = d.world.glob
        assert (g.loss_streak_count, g.loss_streak_locks_today, g.loss_streak_lock_until_ts) == (0, 0, None)

    def test_losing_exits_through_the_rules_lock_the_account(self) -> None:
        world = with_risk(in_long_trade(fresh_world(), price=5000.0), loss_streak_limit=1, loss_streak_lock_minutes=45)
        d = run(world, ManualExit(asset="ES"), T0)
        order_id = d.body["order"]["id"]
        d = run(d.world, ExecutionReport(order_id=order_id, status="FILLED", fill_price=4999.0), T0 + 1)
        assert d.trades[0]["pnl_usd"] < 0
        assert d.world.glob.loss_streak_lock_until_ts == T0 + 1 + 45 * 60
        assert any(e.code == "LOSS_STREAK_LOCK" and e.kind == "lock_set" for e in d.events)
        view = state_view(d.world, T0 + 61, CONFIG)["global"]["loss_streak"]
        assert (view["remaining_s"], view["locks_today"], view["next_lock_minutes"]) == (45 * 60 - 60, 1, 90)

    def test_the_view_after_a_lock_ended(self) -> None:
        g = GlobalState(loss_streak_lock_until_ts=T0 - 1)
        assert discipline.view(g, T0)["lock_until"] is None
        assert discipline.refusal(g, T0) is None


class TestTheRatchet:
    def test_switching_on_and_lowering_tighten_at_once(self) -> None:
        world = with_risk(fresh_world(), loss_streak_limit=4)
        assert world.glob.loss_streak_limit == 4
        world = with_risk(world, loss_streak_limit=2, loss_streak_lock_minutes=60)
        assert (world.glob.loss_streak_limit, world.glob.loss_streak_lock_minutes, world.glob.pending_risk) == (
            2, 60, {})

    @pytest.mark.parametrize(("before", "limit"), [(None, 3), (None, 2), (5, 3)])
    def test_a_limit_in_force_at_once_that_the_streak_already_reaches_locks_now(self, before: int | None,
                                                                                 limit: int) -> None:
        """Switched on or lowered at or below the losses already run up: the lock starts at the change, with the
        minutes in force after it, and the count restarts (a lock the next loss would otherwise have started)."""
        world = fresh_world() if before is None else with_risk(fresh_world(), loss_streak_limit=before)
        world.glob.loss_streak_count = 3
        d = run(world, SetRisk(loss_streak_limit=limit, loss_streak_lock_minutes=45), T0)
        assert d.status == 200, d.body
        g = d.world.glob
        assert (g.loss_streak_lock_until_ts, g.loss_streak_count, g.loss_streak_locks_today) == (T0 + 45 * 60, 0, 1)
        assert [(e.kind, e.code, e.detail["losses"]) for e in d.events if e.kind == "lock_set"] == [
            ("lock_set", "LOSS_STREAK_LOCK", 3)]
        assert d.body["loss_streak"]["remaining_s"] == 45 * 60
        assert_refused(place(ready_to_enter(d.world, T0 + 60), T0 + 60), 403, "LOSS_STREAK_LOCK",
                       "LOSS STREAK LOCK ACTIVE (44:00 remaining)")

    def test_a_request_refused_later_in_its_checks_locks_nothing(self) -> None:
        world = fresh_world()
        world.glob.loss_streak_count = 3
        d = run(world, SetRisk(loss_streak_limit=2, max_price_age_s=5.0), T0)
        assert (d.status, d.code) == (400, "INVALID_RISK") and d.body["error"].startswith("max_price_age_s")
        g = world.glob
        assert d.world is world and (g.loss_streak_lock_until_ts, g.loss_streak_limit, g.loss_streak_count) == (
            None, None, 3)
        assert not [e for e in d.events if e.kind == "lock_set"]

    @pytest.mark.parametrize(("before", "limit"), [(None, 4), (2, 4), (3, 3)])
    def test_a_limit_the_streak_does_not_reach_or_that_waits_locks_nothing(self, before: int | None,
                                                                          limit: int) -> None:
        world = fresh_world() if before is None else with_risk(fresh_world(), loss_streak_limit=before)
        world.glob.loss_streak_count = min(3, before - 1) if before is not None else 3
        count = world.glob.loss_streak_count
        d = run(world, SetRisk(loss_streak_limit=limit), T0)
        assert d.status == 200, d.body
        assert (d.world.glob.loss_streak_lock_until_ts, d.world.glob.loss_streak_count) == (None, count)
        assert not [e for e in d.events if e.kind == "lock_set"]

    def test_raising_switching_off_and_shorter_locks_wait_for_the_next_day(self) -> None:
        world = with_risk(fresh_world(), loss_streak_limit=2)
        world = with_risk(world, loss_streak_limit=5, loss_streak_lock_minutes=10)
        assert (world.glob.loss_streak_limit, world.glob.loss_streak_lock_minutes) == (2, 30)
        assert world.glob.pending_risk == {"loss_streak_limit": 5, "loss_streak_lock_minutes": 10}
        world = with_risk(world, off=("loss_streak_limit",))
        assert world.glob.pending_risk["loss_streak_limit"] is None
        d = run(world, SetRisk(), NEXT_DAY)
        assert (d.world.glob.loss_streak_limit, d.world.glob.loss_streak_lock_minutes) == (None, 10)

    @pytest.mark.parametrize(("field", "value", "text"), [
        ("loss_streak_limit", 0, "loss_streak_limit: expected losing trades between 1 and 50"),
        ("loss_streak_limit", 51, "loss_streak_limit: expected losing trades between 1 and 50"),
        ("loss_streak_lock_minutes", 0, "loss_streak_lock_minutes: expected minutes between 1 and 1440"),
        ("loss_streak_lock_minutes", 1441, "loss_streak_lock_minutes: expected minutes between 1 and 1440"),
    ])
    def test_out_of_range_is_a_400_naming_the_field(self, field: str, value: int, text: str) -> None:
        world = fresh_world()
        d = run(world, SetRisk(**{field: value}), T0)
        assert (d.status, d.code) == (400, "INVALID_RISK")
        assert d.body["error"].startswith(text)
        assert d.world is world

    def test_stored_garbage_reads_as_the_defaults(self) -> None:
        g = from_doc(GlobalState, {"loss_streak_limit": "3", "loss_streak_lock_minutes": None,
                                   "loss_streak_lock_until_ts": "soon"})
        assert (g.loss_streak_limit, g.loss_streak_lock_minutes, g.loss_streak_lock_until_ts) == (None, 30, None)


def test_a_preorder_does_not_trigger_during_the_lock() -> None:
    from builders import bar
    world = ready_to_enter(fresh_world())
    d = place(world, T0, order_type="preorder", direction="BUY")
    assert d.status == 201, d.body
    world = d.world
    world.glob.loss_streak_lock_until_ts = T0 + 600
    d = bar(world, "6pt", "green", T0 + 30)
    assert [o for o in d.world.orders.values() if o.kind == "ENTRY"] == []
    assert d.world.assets["ES"].preorder_status == "CANCELLED"
