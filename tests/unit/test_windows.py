"""D22: blackout windows (one-off and weekly in New York time, each [start, end)), the allowed trading hours, the
flatten-before timer, and D5's ratchet for them: adding tightens at once, removing waits for the next trading day."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CONFIG, T0, assert_refused, bar, fresh_world, in_long_trade, ny, place, ready_to_enter, run

from shared.domain import World, orders_needed, windows
from shared.domain.gates import GateInput, checklist
from shared.domain.inputs import (
    AddBlackouts,
    BlackoutSpec,
    ExecutionReport,
    ManualExit,
    PollPending,
    RemoveBlackout,
    SetRisk,
    TimerFired,
)
from shared.domain.state import GlobalState
from shared.domain.view import state_view

NEXT_DAY = ny(2026, 1, 14, 10, 0, 0)


def once(label: str = "FOMC", start: float = T0, end: float = T0 + 600, **more: Any) -> BlackoutSpec:
    return BlackoutSpec(kind="once", label=label, start=start, end=end, **more)


def weekly(days: tuple[int, ...] = (0,), start: str = "09:30", end: str = "10:00", **more: Any) -> BlackoutSpec:
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return BlackoutSpec(kind="weekly", label="open", days=days, start_min=h1 * 60 + m1, end_min=h2 * 60 + m2, **more)


def add(world: World, *specs: BlackoutSpec, now: float = T0) -> World:
    d = run(world, AddBlackouts(windows=specs), now)
    assert d.status == 201, d.body
    return d.world


def entry(world: World, now: float) -> Any:
    return place(ready_to_enter(world, now), now)


class TestOneOff:
    def test_the_first_second_is_inside_and_the_end_is_not(self) -> None:
        world = add(fresh_world(), once(start=T0 + 60, end=T0 + 660))
        assert entry(world, T0 + 59.999).status == 201
        d = entry(world, T0 + 60)
        assert_refused(d, 403, "BLACKOUT", "BLACKOUT: FOMC (10:00 remaining)")
        assert (d.body["label"], d.body["remaining_s"], d.body["window_id"]) == ("FOMC", 600, "b1")
        assert_refused(entry(world, T0 + 659.5), 403, "BLACKOUT", "BLACKOUT: FOMC (00:01 remaining)")
        assert entry(world, T0 + 660).status == 201

    def test_overlapping_windows_answer_with_the_later_end(self) -> None:
        world = add(fresh_world(), once("A", T0, T0 + 60), once("B", T0, T0 + 120), once("C", T0, T0 + 90))
        assert entry(world, T0 + 1).body["label"] == "B"

    def test_exits_always_pass(self) -> None:
        world = add(in_long_trade(fresh_world()), once())
        assert run(world, ManualExit(asset="ES"), T0 + 1).status == 201

    def test_a_preorder_does_not_trigger_inside_a_blackout(self) -> None:
        d = place(ready_to_enter(fresh_world()), T0, order_type="preorder", direction="BUY")
        world = add(d.world, once(start=T0 + 10, end=T0 + 100))
        d = bar(world, "6pt", "green", T0 + 30)
        assert [o for o in d.world.orders.values() if o.kind == "ENTRY"] == []


class TestWeekly:
    # Monday 2026-03-02 is EST, Monday 2026-03-09 EDT (the clocks went forward on Sunday 03-08); Monday 2026-11-02
    # is EST again (back on Sunday 11-01)
    @pytest.mark.parametrize("day", [(2026, 3, 2), (2026, 3, 9), (2026, 10, 26), (2026, 11, 2)])
    def test_the_wall_clock_window_on_either_side_of_dst(self, day: tuple[int, int, int]) -> None:
        world = add(fresh_world(), weekly())
        assert entry(world, ny(*day, 9, 29, 59.999)).status == 201
        d = entry(world, ny(*day, 9, 30))
        assert_refused(d, 403, "BLACKOUT", "BLACKOUT: open (30:00 remaining)")
        assert_refused(entry(world, ny(*day, 9, 59, 59.5)), 403, "BLACKOUT", "BLACKOUT: open (00:01 remaining)")
        assert entry(world, ny(*day, 10, 0)).status == 201

    def test_only_on_its_days(self) -> None:
        world = add(fresh_world(), weekly(days=(0, 2)))
        assert entry(world, ny(2026, 3, 3, 9, 45)).status == 201               # a Tuesday
        assert entry(world, ny(2026, 3, 4, 9, 45)).code == "BLACKOUT"          # a Wednesday

    def test_a_window_to_midnight(self) -> None:
        world = add(fresh_world(), weekly(days=(1,), start="23:00", end="24:00"))
        d = entry(world, ny(2026, 1, 13, 23, 59, 59))
        assert_refused(d, 403, "BLACKOUT", "BLACKOUT: open (00:01 remaining)")
        assert entry(world, ny(2026, 1, 14, 0, 0)).status == 201

    def test_the_next_occurrence_across_the_spring_change(self) -> None:
        w = windows.windows(add(fresh_world(), weekly(days=(6,), start="12:00", end="13:00")).glob)
        window = next(w)
        start, end = windows.next_occurrence(window, ny(2026, 3, 7, 12, 0)) or (0.0, 0.0)
        assert (start, end) == (ny(2026, 3, 8, 12, 0), ny(2026, 3, 8, 13, 0))
        assert end - start == 3600


class TestTradingHours:
    def hours(self, **days: list[tuple[int, int]]) -> World:
        d = run(fresh_world(), SetRisk(trading_hours={k: tuple(v) for k, v in days.items()}), T0)
        assert d.status == 200, d.body
        return d.world

    def test_the_first_second_is_allowed_and_the_end_is_not(self) -> None:
        world = self.hours(TUE=[(9 * 60 + 30, 11 * 60)])
        d = entry(world, ny(2026, 1, 13, 9, 29, 59))
        assert_refused(d, 403, "OUTSIDE_TRADING_WINDOW", "Outside the trading window (opens in 00:01)")
        assert entry(world, ny(2026, 1, 13, 9, 30)).status == 201
        assert entry(world, ny(2026, 1, 13, 10, 59, 59)).status == 201
        d = entry(world, ny(2026, 1, 13, 11, 0))
        assert d.code == "OUTSIDE_TRADING_WINDOW"
        assert d.body["remaining_s"] == 7 * 86400 - 90 * 60                    # next Tuesday 09:30

    def test_a_day_not_listed_allows_nothing_and_no_day_at_all_says_so(self) -> None:
        world = self.hours(MON=[(0, 1440)])
        assert entry(world, T0).code == "OUTSIDE_TRADING_WINDOW"              # T0 is a Tuesday
        world.glob.trading_hours = {"MON": []}
        assert_refused(entry(world, T0), 403, "OUTSIDE_TRADING_WINDOW",
                       "Outside the trading window — no allowed hours are set")

    def test_exits_always_pass(self) -> None:
        world = in_long_trade(fresh_world())
        world.glob.trading_hours = {"MON": [0, 60]}
        assert run(world, ManualExit(asset="ES"), T0).status == 201

    def test_fewer_hours_tighten_at_once_more_hours_or_off_wait(self) -> None:
        world = self.hours(TUE=[(540, 960)])
        assert world.glob.trading_hours == {"TUE": [540, 960]}
        d = run(world, SetRisk(trading_hours={"TUE": ((600, 900),), "WED": ((600, 700),)}), T0)
        assert d.world.glob.trading_hours == {"TUE": [540, 960]}              # WED added: more hours, waits
        assert d.world.glob.pending_risk == {"trading_hours": {"TUE": [600, 900], "WED": [600, 700]}}
        d = run(world, SetRisk(trading_hours={"TUE": ((600, 900), (540, 560))}), T0)
        assert (d.world.glob.trading_hours, d.world.glob.pending_risk) == ({"TUE": [540, 560, 600, 900]}, {})
        d = run(world, SetRisk(off=("trading_hours",)), T0)
        assert (d.world.glob.trading_hours, d.world.glob.pending_risk) == ({"TUE": [540, 960]}, {"trading_hours": {}})
        assert run(d.world, SetRisk(), NEXT_DAY).world.glob.trading_hours == {}

    @pytest.mark.parametrize(("hours", "text"), [
        ({"TUESDAY": ((1, 2),)}, "trading_hours.TUESDAY: expected a day of"),
        ({"TUE": ((600, 600),)}, "trading_hours.TUE[0]: expected start before end"),
        ({"TUE": ((0, 1441),)}, "trading_hours.TUE[0]: expected start before end"),
    ])
    def test_a_bad_day_or_span_is_a_400_naming_it(self, hours: Any, text: str) -> None:
        world = fresh_world()
        d = run(world, SetRisk(trading_hours=hours), T0)
        assert (d.status, d.code, d.world) == (400, "INVALID_RISK", world)
        assert d.body["error"].startswith(text)

    def test_stored_garbage_spans_are_skipped(self) -> None:
        g = GlobalState(trading_hours={"TUE": [600, "x", 660, 720, 5], "WED": "all"})  # type: ignore[dict-item]
        assert windows.in_trading_hours(g, T0) is False           # 10:00: the pair (600, "x") is skipped
        assert windows.in_trading_hours(g, T0 + 3600) is True     # 11:00: (660, 720); the odd 5 is left
        g = GlobalState(trading_hours={"TUE": [540, 960]})
        assert windows.in_trading_hours(g, T0) is True

    def test_tightening_compares_allowed_minutes(self) -> None:
        assert windows.hours_tighten({}, {}) is True
        assert windows.hours_tighten({}, {"MON": [0, 10]}) is False
        assert windows.hours_tighten({"MON": [0, 10]}, {}) is True
        assert windows.hours_tighten({"MON": [0, 10]}, {"MON": [0, 5]}) is False


class TestManaging:
    def test_ids_and_the_same_window_twice_is_kept_once(self) -> None:
        world = add(fresh_world(), once(), weekly())
        d = run(world, AddBlackouts(windows=(once(), once("CPI"))), T0)
        assert [w["id"] for w in d.world.glob.blackouts] == ["b1", "b2", "b3"]
        assert [w["id"] for w in d.body["added"]] == ["b3"]
        assert d.body["added"][0]["start"] == "2026-01-13T10:00:00-05:00"
        assert d.body["windows"][1] == {"id": "b2", "label": "open", "kind": "weekly", "flatten_before_s": None,
                                        "source": "manual", "removing": False, "days": ["MON"],
                                        "start": "09:30", "end": "10:00"}

    def test_at_most_fifty_windows(self) -> None:
        specs = tuple(once(f"w{i}", T0 + i, T0 + i + 1) for i in range(windows.MAX_WINDOWS + 1))
        world = fresh_world()
        d = run(world, AddBlackouts(windows=specs), T0)
        assert (d.status, d.code, d.world) == (400, "INVALID_WINDOW", world)
        assert d.body["error"] == "windows: at most 50 blackout windows (51 with these)"

    @pytest.mark.parametrize(("spec", "text"), [
        (once(end=T0), "windows[0].end: expected an end after the start"),
        (BlackoutSpec(kind="once", label="x", start=T0), "windows[0].end: expected an end after the start"),
        (weekly(days=()), "windows[0].days: expected one or more of"),
        (weekly(days=(7,)), "windows[0].days: expected one or more of"),
        (weekly(start="10:00", end="09:00"), "windows[0].end: expected HH:MM after the start"),
        (BlackoutSpec(kind="weekly", label="x", days=(1,)), "windows[0].end: expected HH:MM after the start"),
        (once(flatten_before_s=3601), "windows[0].flatten_before_s: expected seconds from 0 to 3600"),
    ])
    def test_a_bad_window_is_a_400_naming_the_field(self, spec: BlackoutSpec, text: str) -> None:
        world = fresh_world()
        d = run(world, AddBlackouts(windows=(spec,)), T0)
        assert (d.status, d.code, d.world) == (400, "INVALID_WINDOW", world)
        assert d.body["error"].startswith(text)

    def test_removing_loosens_at_the_next_trading_day(self) -> None:
        world = add(fresh_world(), weekly(days=(1, 2), start="00:00", end="24:00"), once(end=T0 + 7 * 86400))
        d = run(world, RemoveBlackout(window_id="b1"), T0)
        assert (d.status, d.body["effective_trading_day"]) == (200, "next")
        assert d.body["windows"][0]["removing"] is True
        assert entry(d.world, T0 + 1).code == "BLACKOUT"                        # still in force today
        again = run(d.world, RemoveBlackout(window_id="b1"), T0 + 2)
        assert again.status == 200 and again.events == []
        later = entry(d.world, NEXT_DAY)
        assert later.code == "BLACKOUT" and later.body["window_id"] == "b2"
        assert [w["id"] for w in later.world.glob.blackouts] == ["b1", "b2"]    # a refusal keeps the old world
        rolled = run(d.world, SetRisk(), NEXT_DAY).world
        assert [w["id"] for w in rolled.glob.blackouts] == ["b2"]

    def test_an_unknown_window_is_a_404(self) -> None:
        d = run(fresh_world(), RemoveBlackout(window_id="b9"), T0)
        assert (d.status, d.code) == (404, "UNKNOWN_WINDOW")

    def test_one_offs_that_ended_leave_at_the_rollover(self) -> None:
        world = add(fresh_world(), once(end=T0 + 60), once("later", T0 + 86400 * 3, T0 + 86400 * 3 + 60))
        rolled = run(world, SetRisk(), NEXT_DAY).world
        assert [w["label"] for w in rolled.glob.blackouts] == ["later"]

    def test_stored_garbage_windows_are_skipped(self) -> None:
        world = ready_to_enter(fresh_world())
        world.glob.blackouts = [
            "x", {"id": 1, "kind": "once"}, {"id": "a", "kind": "once", "start": T0 + 5, "end": T0},
            {"id": "b", "kind": "weekly", "days": [9], "start_min": 0, "end_min": 1440},
            {"id": "c", "kind": "weekly", "days": "MON", "start_min": 0, "end_min": 1440},
            {"id": "d", "kind": "monthly"}, {"id": "e", "kind": "once", "start": True, "end": T0 + 9},
        ]
        assert place(world, T0).status == 201
        rolled = run(world, SetRisk(), NEXT_DAY).world
        assert rolled.glob.blackouts == []

    def test_the_view_shows_the_active_and_the_next_window_with_countdowns(self) -> None:
        world = add(fresh_world(), once("CPI", T0 - 10, T0 + 50), once("FOMC", T0 + 3600, T0 + 4200),
                    weekly(days=(1,), start="12:00", end="12:30"))
        cal = state_view(world, T0, CONFIG)["global"]["calendar"]
        assert cal["active"] == {"id": "b1", "label": "CPI", "end": T0 + 50, "remaining_s": 50,
                                 "flatten_before_s": None}
        assert cal["next"] == {"id": "b2", "label": "FOMC", "start": T0 + 3600, "end": T0 + 4200,
                               "starts_in_s": 3600, "flatten_before_s": None}
        assert (cal["in_trading_hours"], cal["trading_opens_in_s"], cal["trading_hours"]) == (True, None, {})
        world.glob.trading_hours = {"TUE": [660, 720]}
        cal = windows.calendar_view(world.glob, T0 + 3700, CONFIG.trading_day_start_hour)
        assert (cal["next"]["label"], cal["in_trading_hours"], cal["trading_opens_in_s"]) == ("open", True, None)
        cal = windows.calendar_view(world.glob, T0, CONFIG.trading_day_start_hour)
        assert (cal["in_trading_hours"], cal["trading_opens_in_s"], cal["trading_hours"]) == (
            False, 3600, {"TUE": [["11:00", "12:00"]]})

    def test_a_weekly_window_without_days_has_no_occurrence(self) -> None:
        w = {"id": "x", "kind": "weekly", "days": [], "start_min": 0, "end_min": 60}
        assert windows.next_occurrence(w, T0) is None


class TestFlattenBefore:
    def test_adding_arms_a_timer_at_start_minus_the_lead(self) -> None:
        d = run(in_long_trade(fresh_world()), AddBlackouts(windows=(once(start=T0 + 600, end=T0 + 900,
                                                                        flatten_before_s=120),)), T0)
        assert [(t.kind, t.key, t.at) for t in d.timers] == [("blackout_flatten", f"b1:{int(T0 + 600)}", T0 + 480)]
        assert [o for o in d.world.orders.values() if o.kind == "EXIT"] == []

    def test_inside_the_lead_at_once_it_flattens_every_open_position(self) -> None:
        world = in_long_trade(in_long_trade(fresh_world(), asset="NQ"))
        d = run(world, AddBlackouts(windows=(once(start=T0 + 60, end=T0 + 900, flatten_before_s=120),)), T0)
        exits = sorted((o.asset, o.source, o.reason) for o in d.world.orders.values() if o.kind == "EXIT")
        assert exits == [("ES", "BLACKOUT_FLATTEN", "blackout_flatten"), ("NQ", "BLACKOUT_FLATTEN",
                                                                          "blackout_flatten")]
        assert d.timers == []                                          # a one-off has no next occurrence
        assert any(e.kind == "blackout_flatten" and e.detail["assets"] == ["ES", "NQ"] for e in d.events)

    def test_the_timer_flattens_then_arms_the_next_weekly_occurrence(self) -> None:
        world = add(in_long_trade(fresh_world()), weekly(days=(1,), start="12:00", end="12:30",
                                                         flatten_before_s=300))
        due = ny(2026, 1, 13, 11, 55)
        fired = TimerFired(kind="blackout_flatten", key=f"b1:{int(ny(2026, 1, 13, 12))}", at=due)
        d = run(world, fired, due)
        assert d.body["outcome"] == "armed"
        assert [o.source for o in d.world.orders.values() if o.kind == "EXIT"] == ["BLACKOUT_FLATTEN"]
        assert [(t.key, t.at) for t in d.timers] == [(f"b1:{int(ny(2026, 1, 20, 12))}", ny(2026, 1, 20, 11, 55))]
        again = run(d.world, fired, due + 1)                           # a duplicate: the exit is in flight
        assert len([o for o in again.world.orders.values() if o.kind == "EXIT"]) == 1

    def test_a_timer_of_a_window_gone_or_without_a_lead_does_nothing(self) -> None:
        world = add(in_long_trade(fresh_world()), once(start=T0 + 60))
        for key in ("b9:1", "b1:1"):
            d = run(world, TimerFired(kind="blackout_flatten", key=key, at=T0), T0)
            assert d.body["outcome"] in ("nothing_to_do", "no_flatten") and d.timers == []

    def test_a_late_timer_after_the_window_only_arms_nothing(self) -> None:
        world = add(fresh_world(), once(start=T0 + 60, end=T0 + 120, flatten_before_s=30))
        d = run(world, TimerFired(kind="blackout_flatten", key=f"b1:{int(T0 + 60)}", at=T0 + 30), T0 + 200)
        assert (d.body["outcome"], d.timers) == ("no_occurrence", [])

    def test_a_fill_closing_the_flattened_trade_is_ordinary(self) -> None:
        world = in_long_trade(fresh_world())
        d = run(world, AddBlackouts(windows=(once(start=T0 + 10, end=T0 + 900, flatten_before_s=60),)), T0)
        exit_id = next(o.id for o in d.world.orders.values() if o.kind == "EXIT")
        d = run(d.world, ExecutionReport(order_id=exit_id, status="FILLED", fill_price=5001.0), T0 + 2)
        assert d.world.assets["ES"].position == 0 and d.trades[0]["reason"] == "blackout_flatten"


WATCHDOG = TimerFired(kind="watchdog", key="tick", at=0)


def armed(d: Any) -> list[str]:
    """What the tick did with the windows (its outcome begins with the silences, D23)."""
    return list(d.body["outcome"].split(";")[1:])


def flattens(decision: Any) -> list[Any]:
    """The timers a watchdog tick asks for besides its own canary (TIMERS_FAILING's, D23)."""
    return [t for t in decision.timers if t.kind != "timer_canary"]


class TestTheWatchdogKeepsTheFlattenTimers:
    """Issue 19: the flatten-before timers are derived from the stored windows at every watchdog tick, so a task
    lost on its way (an enqueue that failed, a delivery given up) breaks neither the flatten nor a weekly chain."""

    def test_a_lost_weekly_timer_is_asked_for_again_within_the_hour_before_it_is_due(self) -> None:
        world = add(fresh_world(), weekly(days=(1,), start="12:00", end="12:30", flatten_before_s=300))
        due, start = ny(2026, 1, 13, 11, 55), ny(2026, 1, 13, 12)
        far = run(world, WATCHDOG, due - 3601)                          # more than an hour ahead: nothing asked
        assert (armed(far), flattens(far)) == ([], [])
        near = run(world, WATCHDOG, due - 3600)
        assert armed(near) == ["b1:armed"]
        assert [(t.kind, t.key, t.at) for t in flattens(near)] == [("blackout_flatten", f"b1:{int(start)}", due)]
        assert flattens(run(near.world, WATCHDOG, due - 60)) == flattens(near)   # the same name each tick: queued once

    def test_a_missed_flatten_is_done_by_the_next_tick_and_the_chain_goes_on(self) -> None:
        world = add(in_long_trade(fresh_world()), weekly(days=(1,), start="12:00", end="12:30",
                                                         flatten_before_s=300))
        late = ny(2026, 1, 13, 11, 56)                                 # the 11:55 task never came
        d = run(world, WATCHDOG, late)
        assert armed(d) == ["b1:armed"]
        assert [o.source for o in d.world.orders.values() if o.kind == "EXIT"] == ["BLACKOUT_FLATTEN"]
        assert [(t.key, t.at) for t in flattens(d)] == [(f"b1:{int(ny(2026, 1, 20, 12))}", ny(2026, 1, 20, 11, 55))]
        again = run(d.world, WATCHDOG, late + 60)                      # the exit is in flight: no second one
        assert len([o for o in again.world.orders.values() if o.kind == "EXIT"]) == 1

    def test_windows_without_a_lead_or_an_occurrence_are_left_alone(self) -> None:
        world = add(fresh_world(), once(start=T0 + 60), once("over", T0 - 600, T0 - 60, flatten_before_s=30),
                    now=T0 - 700)
        d = run(world, WATCHDOG, T0)
        assert (armed(d), flattens(d)) == ([], [])

    def test_a_flag_stored_as_a_boolean_is_no_lead(self) -> None:
        world = fresh_world()
        world.glob.blackouts = [{"id": "b1", "kind": "once", "label": "x", "start": T0 + 60, "end": T0 + 120,
                                 "flatten_before_s": True}]
        assert flattens(run(world, WATCHDOG, T0)) == []


def test_a_removed_windows_flatten_before_holds_to_the_rollover_then_does_nothing() -> None:
    """D5 for D22: removing a window loosens, so its flatten-before still acts that trading day; the next day the
    window is gone and its timer finds nothing (tests/emulator/test_blackout_flatten.py shows it on the stack)."""
    start = T0 + 3600
    world = add(in_long_trade(fresh_world()), once(start=start, end=start + 600, flatten_before_s=300))
    removed = run(world, RemoveBlackout(window_id="b1"), T0).world
    fired = TimerFired(kind="blackout_flatten", key=f"b1:{int(start)}", at=start - 300)
    today = run(removed, fired, start - 300)
    assert [o.source for o in today.world.orders.values() if o.kind == "EXIT"] == ["BLACKOUT_FLATTEN"]
    tomorrow = add(in_long_trade(fresh_world()), once(start=NEXT_DAY, end=NEXT_DAY + 600, flatten_before_s=300))
    removed = run(tomorrow, RemoveBlackout(window_id="b1"), T0).world
    later = run(removed, TimerFired(kind="blackout_flatten", key=f"b1:{int(NEXT_DAY)}", at=NEXT_DAY - 300),
                NEXT_DAY - 300)
    assert later.body["outcome"] == "nothing_to_do" and later.world.orders == removed.orders


class TestWindowTimesTheRulesCanHold:
    """A one-off that is over before it is added protects nothing and would be answered 201 "added": a mistyped
    date must be a 400 naming the field. An instant outside what the view can show (year 1, year 10000 in New York)
    must be a 400 too, not an error of the view after the decision (nothing written either way)."""

    @pytest.mark.parametrize(("spec", "text"), [
        (once(start=T0 - 7200, end=T0 - 3600), "windows[0].end: expected an end in the future"),
        (once(start=T0 - 600, end=T0), "windows[0].end: expected an end in the future"),
        (once(start=-62135596800.0, end=T0 + 600), "windows[0].start: expected a time between 1970 and"),
        (once(start=T0, end=253402300799.0 + 86400), "windows[0].end: expected a time between 1970 and"),
    ])
    def test_a_window_over_already_or_out_of_range_is_a_400_naming_the_field(self, spec: BlackoutSpec,
                                                                              text: str) -> None:
        world = fresh_world()
        d = run(world, AddBlackouts(windows=(once("ok"), spec)), T0)
        assert (d.status, d.code, d.world) == (400, "INVALID_WINDOW", world)
        assert d.body["error"].startswith(text.replace("[0]", "[1]")), d.body["error"]

    def test_a_window_that_began_and_has_not_ended_is_in_force_at_once(self) -> None:
        world = add(fresh_world(), once(start=T0 - 600, end=T0 + 600))
        assert_refused(entry(world, T0 + 1), 403, "BLACKOUT", "BLACKOUT: FOMC (09:59 remaining)")


class TestTheSameWindowAgain:
    def test_adding_back_a_removed_window_keeps_it_after_the_rollover(self) -> None:
        """A removed window stays only to the rollover (D5); the operator who adds it again that day wants it
        kept: it must not be taken for the one already there and dropped with it."""
        spec = once(start=NEXT_DAY, end=NEXT_DAY + 600)
        world = run(add(fresh_world(), spec), RemoveBlackout(window_id="b1"), T0).world
        d = run(world, AddBlackouts(windows=(spec,)), T0 + 60)
        assert [w["id"] for w in d.body["added"]] == ["b2"]
        rolled = run(d.world, SetRisk(), NEXT_DAY - 60).world
        assert [w["id"] for w in rolled.glob.blackouts] == ["b2"]
        assert entry(rolled, NEXT_DAY + 1).code == "BLACKOUT"

    def test_the_same_window_with_a_flatten_before_is_added_and_armed(self) -> None:
        """Adding a flatten-before to a window that has none must not be answered 201 with nothing added: the
        operator would believe the positions get flattened before it."""
        world = add(in_long_trade(fresh_world()), once(start=T0 + 3600, end=T0 + 4200))
        d = run(world, AddBlackouts(windows=(once(start=T0 + 3600, end=T0 + 4200, flatten_before_s=300),)), T0)
        assert [(w["id"], w["flatten_before_s"]) for w in d.body["added"]] == [("b2", 300)]
        assert [(t.kind, t.at) for t in d.timers] == [("blackout_flatten", T0 + 3300)]
        fired = run(d.world, TimerFired(kind="blackout_flatten", key=f"b2:{int(T0 + 3600)}", at=T0 + 3300), T0 + 3300)
        assert [o.source for o in fired.world.orders.values() if o.kind == "EXIT"] == ["BLACKOUT_FLATTEN"]


def test_a_stored_one_off_with_a_time_the_view_cannot_show_is_skipped_not_a_failed_read() -> None:
    """The module's promise: a window edited by hand into nonsense is skipped, never a reason for a read to fail.
    Firestore stores Infinity and 1e300 as numbers; `GET /api/state` and `/api/calendar` show every window."""
    world = ready_to_enter(fresh_world())
    world.glob.blackouts = [{"id": "i", "kind": "once", "label": "x", "start": T0 - 60, "end": float("inf")},
                            {"id": "h", "kind": "once", "label": "x", "start": -1e300, "end": T0 + 60},
                            {"id": "ok", "kind": "once", "label": "ok", "start": T0 + 60, "end": T0 + 120}]
    view = windows.calendar_view(world.glob, T0, CONFIG.trading_day_start_hour)
    assert [w["id"] for w in view["windows"]] == ["ok"] and view["active"] is None
    assert place(world, T0).status == 201


def test_a_removed_window_does_not_flatten_for_an_occurrence_after_the_rollover() -> None:
    """D5: a removed window is in force to the rollover and gone after it. Its flatten-before may reach across the
    rollover (a window at 18:30 with an hour's lead flattens at 17:30): that occurrence is one the window will no
    longer be in force for, so nothing is flattened for it."""
    start = ny(2026, 1, 13, 18, 30)
    world = add(in_long_trade(fresh_world()), once(start=start, end=start + 1800, flatten_before_s=3600))
    removed = run(world, RemoveBlackout(window_id="b1"), T0).world
    for inp in (TimerFired(kind="blackout_flatten", key=f"b1:{int(start)}", at=start - 3600), WATCHDOG):
        d = run(removed, inp, start - 3600)
        assert [o for o in d.world.orders.values() if o.kind == "EXIT"] == [], inp.kind
    kept = run(world, WATCHDOG, start - 3600)                        # not removed: it flattens as before
    assert [o.source for o in kept.world.orders.values() if o.kind == "EXIT"] == ["BLACKOUT_FLATTEN"]


HOUR = CONFIG.trading_day_start_hour


class TestTheLeadIsPartOfTheWindowForEntries:
    """D22 as this repository reads it: a window with `flatten_before_s` refuses entries from start − lead, so the
    trader is flat when it starts; an entry accepted there would only be flattened by the next tick (a round trip,
    a cooldown, maybe a counted loss). Windows without a lead are unchanged (TestOneOff)."""

    def test_entries_are_refused_from_start_minus_the_lead_with_the_time_to_the_windows_end(self) -> None:
        world = add(fresh_world(), once(start=T0 + 600, end=T0 + 900, flatten_before_s=120))
        assert entry(world, T0 + 479.5).status == 201
        d = entry(world, T0 + 480)
        assert_refused(d, 403, "BLACKOUT", "BLACKOUT: FOMC, its flatten lead (07:00 remaining)")
        assert (d.body["label"], d.body["remaining_s"], d.body["window_id"], d.body["in_lead"]) == (
            "FOMC", 420, "b1", True)
        d = entry(world, T0 + 600)
        assert_refused(d, 403, "BLACKOUT", "BLACKOUT: FOMC (05:00 remaining)")
        assert d.body["in_lead"] is False
        assert entry(world, T0 + 900).status == 201

    def test_a_weekly_lead_reaches_back_across_midnight(self) -> None:
        world = add(fresh_world(), weekly(days=(2,), start="00:10", end="01:00", flatten_before_s=1800))
        assert entry(world, ny(2026, 1, 13, 23, 39, 59)).status == 201
        assert_refused(entry(world, ny(2026, 1, 13, 23, 40)), 403, "BLACKOUT",
                       "BLACKOUT: open, its flatten lead (80:00 remaining)")

    def test_the_gate_row_and_the_calendar_view_agree_with_the_gate(self) -> None:
        world = add(fresh_world(), once(start=T0 + 600, end=T0 + 900, flatten_before_s=120),
                    once("CPI", T0 + 3600, T0 + 4200))
        cal = windows.calendar_view(world.glob, T0, HOUR)
        assert cal["active"] is None
        assert cal["next"] == {"id": "b1", "label": "FOMC", "start": T0 + 600, "end": T0 + 900, "starts_in_s": 600,
                               "flatten_before_s": 120}
        at = T0 + 500
        cal = state_view(world, at, CONFIG)["global"]["calendar"]
        assert cal["active"] == {"id": "b1", "label": "FOMC", "end": T0 + 900, "remaining_s": 400,
                                 "flatten_before_s": 120}
        assert cal["next"]["label"] == "CPI" and cal["next"]["flatten_before_s"] is None
        ready = ready_to_enter(world, at)
        row = next(r for r in checklist(GateInput(ready.glob, ready.assets["ES"], at, CONFIG, "ES"))
                   if r["gate"] == "blackout")
        assert row == {"gate": "blackout", "pass": False, "code": "BLACKOUT",
                       "reason": "BLACKOUT: FOMC, its flatten lead (06:40 remaining)", "remaining_s": 400}

    def test_a_preorder_does_not_trigger_in_the_lead(self) -> None:
        d = place(ready_to_enter(fresh_world()), T0, order_type="preorder", direction="BUY")
        world = add(d.world, once(start=T0 + 100, end=T0 + 200, flatten_before_s=60))
        d = bar(world, "6pt", "green", T0 + 40)
        assert [o for o in d.world.orders.values() if o.kind == "ENTRY"] == []

    def test_a_removed_windows_lead_refuses_only_for_an_occurrence_before_the_rollover(self) -> None:
        """As its flatten (test_a_removed_window_does_not_flatten_for_an_occurrence_after_the_rollover)."""
        today, tonight = T0 + 3600, ny(2026, 1, 13, 18, 30)
        world = add(fresh_world(), once("today", today, today + 600, flatten_before_s=300),
                    once("tonight", tonight, tonight + 600, flatten_before_s=3600))
        world = run(run(world, RemoveBlackout(window_id="b1"), T0).world, RemoveBlackout(window_id="b2"), T0).world
        assert entry(world, today - 300).code == "BLACKOUT"
        assert entry(world, tonight - 3600).status == 201
        assert windows.calendar_view(world.glob, tonight - 3600, HOUR)["active"] is None

    @pytest.mark.parametrize(("stored", "refused_from"), [
        (True, T0 + 600), (-60, T0 + 600), (10**9, T0 + 600 - windows.MAX_FLATTEN_BEFORE_S)])
    def test_a_stored_lead_out_of_range_is_read_as_none_or_the_longest(self, stored: Any,
                                                                         refused_from: float) -> None:
        world = ready_to_enter(fresh_world())
        world.glob.blackouts = [{"id": "b1", "kind": "once", "label": "x", "start": T0 + 600, "end": T0 + 900,
                                 "flatten_before_s": stored}]
        assert windows.blackout_refusal(world.glob, refused_from - 1, HOUR) is None
        refusal = windows.blackout_refusal(world.glob, refused_from, HOUR)
        assert refusal is not None and refusal.code == "BLACKOUT"


class TestTheFlattenCancelsAnEntryNotYetHandedToTheBridge:
    """As the daily stop does for its pending entry (D11, bridge._flatten through core.cancel_pending_entry): at
    the flatten moment an entry still PENDING is cancelled; one the bridge claimed cannot be, and its fill opens a
    position the next watchdog tick inside [lead, end) flattens."""

    START = T0 + 3600

    def placed(self, now: float) -> World:
        world = add(fresh_world(), once(start=self.START, end=self.START + 600, flatten_before_s=300), now=now)
        d = place(ready_to_enter(world, now), now)
        assert d.status == 201, d.body
        return d.world

    @pytest.mark.parametrize("inp", [
        TimerFired(kind="blackout_flatten", key=f"b1:{int(T0 + 3600)}", at=T0 + 3300), WATCHDOG])
    def test_a_pending_entry_is_cancelled_at_the_flatten_moment(self, inp: TimerFired) -> None:
        world = self.placed(self.START - 400)
        oid = world.assets["ES"].pending_order_id
        assert oid is not None
        d = run(world, inp, self.START - 300)
        order = d.world.orders[oid]
        assert (order.status, order.reason) == ("CANCELLED", "blackout_flatten")
        assert d.world.assets["ES"].pending_order_id is None
        assert [o for o in d.world.orders.values() if o.kind == "EXIT"] == []
        assert any(e.kind == "order_cancelled" and e.asset == "ES" and e.code == "BLACKOUT_FLATTEN"
                   and e.detail["order_id"] == oid for e in d.events)
        (flat,) = [e for e in d.events if e.kind == "blackout_flatten"]
        assert (flat.detail["assets"], flat.detail["cancelled"]) == ([], ["ES"])

    def test_a_claimed_entry_is_left_to_its_fill_which_the_next_tick_flattens(self) -> None:
        world = run(self.placed(self.START - 400), PollPending(), self.START - 350).world
        (oid,) = world.orders
        d = run(world, TimerFired(kind="blackout_flatten", key=f"b1:{int(self.START)}", at=self.START - 300),
                self.START - 300)
        assert d.world.orders[oid].status == "CLAIMED" and d.world.assets["ES"].pending_order_id == oid
        filled = run(d.world, ExecutionReport(order_id=oid, status="FILLED", fill_price=5000.0), self.START - 200)
        assert filled.world.assets["ES"].position != 0
        tick = run(filled.world, WATCHDOG, self.START - 180)
        assert [o.source for o in tick.world.orders.values() if o.kind == "EXIT"] == ["BLACKOUT_FLATTEN"]

    def test_the_flatten_timer_and_a_watchdog_with_a_lead_load_each_assets_in_flight_order(self) -> None:
        world = self.placed(self.START - 400)
        oid = world.assets["ES"].pending_order_id
        fired = TimerFired(kind="blackout_flatten", key=f"b1:{int(self.START)}", at=self.START - 300)
        assert orders_needed(world, fired) == orders_needed(world, WATCHDOG) == {oid}
        world.glob.blackouts = [{**w, "flatten_before_s": None} for w in world.glob.blackouts]
        assert orders_needed(world, WATCHDOG) == set()             # no window with a lead: the tick flattens nothing
        assert orders_needed(world, fired) == {oid}
