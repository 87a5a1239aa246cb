"""D23's pure parts (issue 20): which audit events notify at which level, the destinations' filter, and the
watchdog's silence conditions announced once when they start and once when they clear."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain import default_config
from shared.domain.decision import Event
from shared.domain.engine import decide, initial_world
from shared.domain.inputs import TimerFired
from shared.domain.notify import CANARY_DELAY_S, canary_state, heard_at, notice, notices, silences, watch

CONFIG = default_config()
MONDAY_11_NY = 1_764_000_000.0        # 2025-11-24 16:00 UTC: the session is open
SATURDAY = 1_764_400_000.0            # 2025-11-29: no session


@pytest.mark.parametrize(("event", "level", "title"), [
    (Event("fill", "ES", "ENTRY", {"qty": 5, "price": 5001.0}), "important", "ES: ENTRY fill"),
    (Event("fill", "ES", None, {}), "important", "ES: Order fill"),
    (Event("late_fill", "ES", "LATE_FILL", {"qty": 1}), "critical", "ES: Late fill"),
    (Event("order_ended", "NQ", "REJECTED", {"reason": "margin"}), "critical", "NQ: Order rejected"),
    (Event("exit_fired", "ES", "EXIT_ENGINE", {}), "important", "ES: Automatic exit (EXIT_ENGINE)"),
    (Event("exit_fired", "ES", "UNPROTECTED", {}), "critical", "ES: Automatic exit (UNPROTECTED)"),
    (Event("stop_rejected", "ES", "UNPROTECTED", {}), "critical", "ES: Protective stop rejected: position unprotected"),
    (Event("daily_stop_trigger", None, "DAILY_STOP", {"equity": 1}), "critical",
     "Daily stop hit: flattening, entries locked"),
    (Event("risk_warning", None, "RISK_WARNING", {"used": 400.0, "allowed": 500.0}), "important", "Risk warning"),
    (Event("lock_set", None, "LOSS_STREAK_LOCK", {}), "important", "Lock set: LOSS_STREAK_LOCK"),
    (Event("lock_set", None, "CANDLE_LOCK_ACTIVE", {}), "info", "Lock set: CANDLE_LOCK_ACTIVE"),
    (Event("silence_started", None, "UNWATCHED_POSITION", {"text": "t"}), "critical", "UNWATCHED_POSITION started"),
    (Event("silence_cleared", None, "UNWATCHED_POSITION", {"text": "t"}), "important", "UNWATCHED_POSITION cleared"),
])
def test_what_the_trader_hears(event, level, title) -> None:
    n = notice(event)
    assert n is not None and (n["level"], n["title"]) == (level, title)
    assert n["text"]


@pytest.mark.parametrize("event", [
    Event("order_ended", "ES", "CANCELLED", {}), Event("exit_fired", "ES", "MANUAL_EXIT", {}),
    Event("lock_set", None, "SOMETHING_ELSE", {}), Event("order_created", "ES", "MANUAL", {}),
    Event("silence_started", None, "UNKNOWN", {}), Event("timer", None, "WATCHDOG", {}),
])
def test_what_is_not_news(event) -> None:
    assert notice(event) is None


def test_notices_keep_the_order_and_drop_the_rest() -> None:
    events = [Event("order_created", "ES"), Event("fill", "ES", "EXIT", {}), Event("trade_closed", "ES", "x", {})]
    assert [n["kind"] for n in notices(events)] == ["fill", "trade_closed"]
    assert notices(events)[1]["text"] == "x"


def test_destination_levels() -> None:
    assert heard_at("critical", "critical") and not heard_at("critical", "important")
    assert heard_at("important", "important") and not heard_at("important", "info")
    assert heard_at("all", "info") and not heard_at("nonsense", "critical")


def test_silence_conditions() -> None:
    world = initial_world(CONFIG)
    assert set(silences(world, MONDAY_11_NY, CONFIG)) == {"PRICE_SILENCE", "BRIDGE_SILENCE"}
    assert set(silences(world, SATURDAY, CONFIG)) == {"BRIDGE_SILENCE"}, "no price is expected out of session"
    world.assets["ES"].last_heartbeat_ts = MONDAY_11_NY - 100
    world.glob.rithmic_last_ts = MONDAY_11_NY - 30
    assert silences(world, MONDAY_11_NY, CONFIG) == {}
    world.assets["NQ"].position = -2
    later = MONDAY_11_NY + 61
    held = silences(world, later, CONFIG)
    assert set(held) == {"BRIDGE_SILENCE", "UNWATCHED_POSITION", "PRICE_SILENCE"}
    assert "NQ" in held["UNWATCHED_POSITION"]


def _ny(*args: int) -> float:
    from datetime import datetime

    from shared.domain.clock import NEW_YORK
    return datetime(*args, tzinfo=NEW_YORK).timestamp()


@pytest.mark.parametrize(("last_heartbeat", "opened"), [
    (_ny(2025, 11, 21, 16, 59, 50), _ny(2025, 11, 23, 18)),   # Friday's last one; the week opens Sunday 18:00
    (_ny(2025, 11, 24, 16, 59, 50), _ny(2025, 11, 24, 18)),   # before the daily break; the session reopens at 18:00
])
def test_price_silence_counts_only_the_seconds_the_session_was_open(last_heartbeat: float, opened: float) -> None:
    """D23: no TradingView heartbeat for PRICE_SILENCE_S *in session*. Nothing is expected while the market is
    closed, so at the reopening the silence starts counting then, not at the last heartbeat before the close."""
    world = initial_world(CONFIG)
    world.assets["ES"].last_heartbeat_ts = last_heartbeat
    world.glob.rithmic_last_ts = opened + CONFIG.price_silence_s + 1
    assert silences(world, opened + 30, CONFIG) == {}
    assert silences(world, opened + CONFIG.price_silence_s - 1, CONFIG) == {}
    assert set(silences(world, opened + CONFIG.price_silence_s + 1, CONFIG)) == {"PRICE_SILENCE"}


def test_each_condition_starts_once_and_clears_once() -> None:
    world = initial_world(CONFIG)
    first = watch(world, MONDAY_11_NY, CONFIG)
    assert sorted(e.code for e in first if e.kind == "silence_started") == ["BRIDGE_SILENCE", "PRICE_SILENCE"]
    assert watch(world, MONDAY_11_NY + 60, CONFIG) == []
    assert world.glob.silences == {"PRICE_SILENCE": MONDAY_11_NY, "BRIDGE_SILENCE": MONDAY_11_NY}
    world.glob.rithmic_last_ts = MONDAY_11_NY + 119
    cleared = watch(world, MONDAY_11_NY + 120, CONFIG)
    assert [(e.kind, e.code, e.detail["since"]) for e in cleared] == [
        ("silence_cleared", "BRIDGE_SILENCE", MONDAY_11_NY)]
    assert watch(world, MONDAY_11_NY + 121, CONFIG) == []
    world.glob.silences = {**(world.glob.silences or {}), "RETIRED_CODE": 1.0}
    assert watch(world, MONDAY_11_NY + 122, CONFIG) == [], "a condition this version does not know is dropped quietly"
    assert "RETIRED_CODE" not in (world.glob.silences or {})


def test_the_watchdog_timer_through_decide() -> None:
    world = initial_world(CONFIG)
    decision = decide(world, TimerFired(kind="watchdog", key="tick", at=MONDAY_11_NY), MONDAY_11_NY, CONFIG)
    assert decision.body["outcome"] == "BRIDGE_SILENCE,PRICE_SILENCE"
    assert {e.kind for e in decision.events} == {"silence_started", "timer"}
    decision = decide(decision.world, TimerFired(kind="watchdog", key="tick", at=SATURDAY), SATURDAY, CONFIG)
    quiet = initial_world(CONFIG)
    quiet.glob.rithmic_last_ts = SATURDAY
    assert decide(quiet, TimerFired(kind="watchdog", key="tick", at=SATURDAY), SATURDAY, CONFIG).body["outcome"] \
        == "quiet"


# ---- TIMERS_FAILING: the watchdog's canary timer -----------------------------------------------------------------

def _quiet_world() -> Any:
    """Nothing silent on Saturday (no session, a fresh bridge): only the canary can speak."""
    world = initial_world(CONFIG)
    world.glob.rithmic_last_ts = SATURDAY
    return world


def _tick(world: Any, now: float, offset: float = 0.0) -> Any:
    world.glob.rithmic_last_ts = now
    return decide(world, TimerFired(kind="watchdog", key="tick", at=now, offset=offset), now, CONFIG)


def _fire(world: Any, key: str, now: float) -> Any:
    return decide(world, TimerFired(kind="timer_canary", key=key, at=now), now, CONFIG)


def test_canary_states_and_their_boundaries() -> None:
    late = CONFIG.timer_late_s
    assert canary_state(None, SATURDAY, late) == "none" and canary_state({}, SATURDAY, late) == "none"
    canary = {"key": "canary:1", "due": SATURDAY, "fired": None}
    assert canary_state(canary, SATURDAY + late, late) == "waiting", "exactly timer_late_s late is not late yet"
    assert canary_state(canary, SATURDAY + late + 0.001, late) == "late"
    assert canary_state({**canary, "fired": SATURDAY + 999}, SATURDAY + 999, late) == "fired"


def test_each_tick_arms_one_canary_and_its_firing_is_recorded() -> None:
    world = _quiet_world()
    first = _tick(world, SATURDAY)
    (timer,) = first.timers
    assert (timer.kind, timer.at) == ("timer_canary", SATURDAY + CANARY_DELAY_S)
    assert first.body["outcome"] == "quiet"
    assert _tick(first.world, SATURDAY + 10).timers == [], "one canary on its way at a time"
    fired = _fire(first.world, timer.key, SATURDAY + CANARY_DELAY_S + 0.05)
    assert fired.body["outcome"] == "fired"
    assert _fire(fired.world, timer.key, SATURDAY + 7).body["outcome"] == "nothing_to_do", "a duplicate delivery"
    assert _fire(fired.world, "canary:1", SATURDAY + 7).body["outcome"] == "superseded"
    again = _tick(fired.world, SATURDAY + 60)
    assert [t.kind for t in again.timers] == ["timer_canary"] and again.timers[0].key != timer.key
    assert not [e for e in again.events if e.kind.startswith("silence")]


def test_a_canary_from_a_clock_since_moved_back_is_replaced() -> None:
    world = _quiet_world()
    ahead_tick = _tick(world, SATURDAY + 86_400)            # the dev clock a day ahead, then back
    (ahead,) = ahead_tick.timers
    d = _tick(ahead_tick.world, SATURDAY)
    assert [t.at for t in d.timers] == [SATURDAY + CANARY_DELAY_S] and d.timers[0].key != ahead.key


def test_timers_failing_starts_once_when_a_canary_is_late_and_clears_once_when_one_fires() -> None:
    world = _quiet_world()
    d = _tick(world, SATURDAY)
    lost = d.timers[0]                                   # never delivered
    due = lost.at
    at_edge = _tick(d.world, due + CONFIG.timer_late_s)
    assert at_edge.body["outcome"] == "quiet" and at_edge.timers == [], "on the boundary: not late yet"
    d = _tick(at_edge.world, due + CONFIG.timer_late_s + 1)
    started = [e for e in d.events if e.kind == "silence_started"]
    assert [e.code for e in started] == ["TIMERS_FAILING"]
    assert "31 s past its due time" in started[0].detail["text"]
    assert notice(started[0])["level"] == "important"
    (retry,) = d.timers                                  # a late canary is replaced: a lost task is not forever
    assert retry.key != lost.key
    # the next tick, the new canary still on its way: the condition holds, nothing announced again
    d = _tick(d.world, retry.at - 1)
    assert d.body["outcome"] == "TIMERS_FAILING" and not [e for e in d.events if e.kind.startswith("silence")]
    assert _fire(d.world, lost.key, retry.at).body["outcome"] == "superseded"
    d = _fire(d.world, retry.key, retry.at + 0.1)
    d = _tick(d.world, retry.at + 60)
    cleared = [e for e in d.events if e.kind == "silence_cleared"]
    assert [(e.code, e.detail["since"]) for e in cleared] == [("TIMERS_FAILING", due + CONFIG.timer_late_s + 1)]
    (next_canary,) = d.timers
    d = _fire(d.world, next_canary.key, next_canary.at)
    d = _tick(d.world, retry.at + 120)
    assert [e.kind for e in d.events] == ["timer"], "cleared once"


def test_a_canary_is_judged_in_real_seconds_while_a_replay_moves_the_clock_a_minute_a_tick() -> None:
    """The dev clock a minute on at each tick, half a real second apart (a replay's pace): the canary's task travels
    in real seconds, so one still on its way is not late, and TIMERS_FAILING never starts while the timers arrive."""
    world, real = _quiet_world(), SATURDAY - 1000.0       # the real clock behind the dev clock: offset = now - real
    d = _tick(world, SATURDAY, SATURDAY - real)
    (canary,) = d.timers
    assert d.world.glob.timer_canary["offset"] == 1000.0, "the offset it was armed under"
    for minute in range(1, 6):                            # 5 market minutes in 2.5 real seconds: still on its way
        now, real = SATURDAY + 60 * minute, real + 0.5
        d = _tick(d.world, now, now - real)
        assert d.body["outcome"] == "quiet" and d.timers == [], minute
    d = _fire(d.world, canary.key, SATURDAY + 330)        # it arrives 5 real seconds after it was armed
    now, real = SATURDAY + 360, real + 3.0
    d = _tick(d.world, now, now - real)
    assert d.body["outcome"] == "quiet" and [t.kind for t in d.timers] == ["timer_canary"]
    armed = real                                          # this one never arrives: late 35 real seconds on
    for minute in range(7, 200):
        now, real = SATURDAY + 60 * minute, real + 0.5
        d = _tick(d.world, now, now - real)
        if d.body["outcome"] != "quiet":
            break
    assert real - armed == 35.5, "late the first tick past its due time + timer_late_s, in real seconds"
    started = [e for e in d.events if e.kind == "silence_started"]
    assert [e.code for e in started] == ["TIMERS_FAILING"]
    assert f"{real - armed - CANARY_DELAY_S:.0f} s past its due time" in started[0].detail["text"]


def test_under_a_frozen_clock_a_canary_that_fires_clears_and_a_lost_one_is_late_in_real_seconds() -> None:
    """The dev clock frozen while real time passes (a test, a paused replay): the offset shrinks as real time goes
    on, so a lost canary is late after `timer_late_s` real seconds although `now` never moves."""
    world, real = _quiet_world(), SATURDAY - 50.0
    d = _tick(world, SATURDAY, SATURDAY - real)
    lost = d.timers[0]
    d = _tick(d.world, SATURDAY, SATURDAY - (real + CANARY_DELAY_S + CONFIG.timer_late_s))
    assert d.body["outcome"] == "quiet" and d.timers == [], "exactly timer_late_s real seconds late: not late"
    d = _tick(d.world, SATURDAY, SATURDAY - (real + CANARY_DELAY_S + CONFIG.timer_late_s + 1))
    assert d.body["outcome"] == "TIMERS_FAILING"
    (retry,) = d.timers
    assert retry.key == lost.key and d.world.glob.timer_canary["offset"] == SATURDAY - (real + 36), \
        "the same clock time names the same task; the new offset dates it in real seconds"
    d = _fire(d.world, retry.key, SATURDAY)
    d = _tick(d.world, SATURDAY, SATURDAY - (real + 45))
    assert [(e.kind, e.code) for e in d.events if e.kind.startswith("silence")] == [
        ("silence_cleared", "TIMERS_FAILING")]


def test_a_canary_armed_under_a_clock_since_moved_back_waits_for_its_real_due_time() -> None:
    """The dev clock a day ahead, then back: the canary kept its offset, so its task is due 5 real seconds after it
    was armed and is not replaced (a canary stored without one is: see the test above)."""
    world = _quiet_world()
    ahead = _tick(world, SATURDAY + 86_400, 86_400.0)
    d = _tick(ahead.world, SATURDAY + 1, 0.0)
    assert d.timers == [] and d.body["outcome"] == "quiet"
    assert _fire(d.world, ahead.timers[0].key, SATURDAY + 5).body["outcome"] == "fired"
