"""D2: input validation (400) and then the entry gate chain of POST /api/orders, first failure wins."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from builders import CONFIG, T0, assert_refused, fresh_world, place, ready_to_enter

from shared.domain import World
from shared.domain.gates import GateInput, checklist, direction_refusal

NOW = T0 + 10          # 10:00:10 New York: 290 s left in the 10:00 candle
BUCKET = int(NOW // 300)

Breaker = Callable[[World], None]


def _daily_stop(w: World) -> None:
    w.glob.daily_stop_triggered = True


def _cooldown(w: World) -> None:
    w.glob.post_exit_lock_started_ts = NOW - 80
    w.glob.post_exit_lock_expires_ts = NOW + 100


def _loss_streak(w: World) -> None:
    w.glob.loss_streak_lock_until_ts = NOW + 65


def _blackout(w: World) -> None:
    w.glob.blackouts = [{"id": "b1", "label": "FOMC", "kind": "once", "start": NOW - 10, "end": NOW + 125}]


def _trading_window(w: World) -> None:
    w.glob.trading_hours = {"TUE": [11 * 60, 16 * 60]}   # NOW is Tuesday 10:00:10 New York


def _candle(w: World) -> None:
    w.glob.five_min_trade_bucket = BUCKET


def _trade_lock(w: World) -> None:
    w.glob.trade_lock = True


def _trade_limit(w: World) -> None:
    w.glob.trades_taken_today = 6


def _position(w: World) -> None:
    w.assets["ES"].position = 5


def _pending(w: World) -> None:
    w.assets["ES"].pending_order_id = "ES-x-1"


def _mismatch(w: World) -> None:
    w.assets["ES"].position_mismatch = True


def _heartbeat(w: World) -> None:
    w.assets["ES"].last_heartbeat_ts = None


def _tempo(w: World) -> None:
    w.assets["ES"].tempo_spent_ts = NOW - 1     # spent after the last 6pt bar (NOW - 60)


def _structure(w: World) -> None:
    w.assets["ES"].two_half_renko_color = "red"  # NORMAL zone says BUY, the 2.5pt says no


# (name, breaker, status, code, text) in the order of D2 (extended by D22)
GATES: list[tuple[str, Breaker, int, str, str]] = [
    ("daily_stop", _daily_stop, 403, "DAILY_STOP", "Daily stop TRIGGERED — entries blocked for today"),
    ("cooldown", _cooldown, 403, "POST_EXIT_COOLDOWN", "POST-EXIT COOLDOWN ACTIVE (01:40 remaining)"),
    ("loss_streak", _loss_streak, 403, "LOSS_STREAK_LOCK", "LOSS STREAK LOCK ACTIVE (01:05 remaining)"),
    ("candle", _candle, 403, "CANDLE_LOCK_ACTIVE",
     "5 MIN LOCK ACTIVE — one trade already used this candle (04:50 remaining)"),
    ("trade_lock", _trade_lock, 403, "TRADE_LOCK", "Global trade lock active"),
    ("trade_limit", _trade_limit, 409, "DAILY_TRADE_LIMIT", "Daily trade limit reached"),
    ("blackout", _blackout, 403, "BLACKOUT", "BLACKOUT: FOMC (02:05 remaining)"),
    ("trading_window", _trading_window, 403, "OUTSIDE_TRADING_WINDOW", "Outside the trading window (opens in 59:50)"),
    ("position", _position, 403, "POSITION_OPEN", "Asset already in a trade"),
    ("pending", _pending, 403, "PENDING_ORDER", "Pending order already exists"),
    ("mismatch", _mismatch, 409, "POSITION_MISMATCH",
     "Broker position does not match the local position – entries blocked"),
    ("heartbeat", _heartbeat, 403, "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot trade"),
    ("tempo", _tempo, 403, "TEMPO_WAIT", "Tempo token WAIT — need a new 6pt bar"),
    ("structure", _structure, 409, "ZONE_BLOCKED", "Blocked by 2.5pt Renko: red"),
]
NAMES = [g[0] for g in GATES]


def ready() -> World:
    return ready_to_enter(fresh_world(NOW), NOW)


def test_all_gates_pass_on_the_ready_world() -> None:
    decision = place(ready(), NOW)
    assert decision.status == 201
    assert decision.body["order"]["side"] == "BUY"


@pytest.mark.parametrize("name", NAMES)
def test_each_gate_blocks_alone_with_its_code_text_and_status(name: str) -> None:
    _, breaker, status, code, text = GATES[NAMES.index(name)]
    world = ready()
    breaker(world)
    decision = place(world, NOW)
    assert_refused(decision, status, code, text)
    assert decision.world is world                      # a refusal returns the world unchanged
    assert world.orders == {}


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(NAMES, 2)))
def test_the_earlier_gate_wins_when_two_fail(first: str, second: str) -> None:
    world = ready()
    GATES[NAMES.index(first)][1](world)
    GATES[NAMES.index(second)][1](world)
    _, _, status, code, text = GATES[NAMES.index(first)]
    assert_refused(place(world, NOW), status, code, text)


@pytest.mark.parametrize("start", range(len(GATES)))
def test_the_first_of_all_failing_gates_wins(start: int) -> None:
    world = ready()
    for _, breaker, *_ in GATES[start:]:
        breaker(world)
    _, _, status, code, text = GATES[start]
    assert_refused(place(world, NOW), status, code, text)


def test_remaining_seconds_ride_along_in_the_refusal_body() -> None:
    world = ready()
    _cooldown(world)
    assert place(world, NOW).body["remaining_s"] == 100
    world = ready()
    _candle(world)
    assert place(world, NOW).body["remaining_s"] == 290


# ---- validation (400) comes before every gate -------------------------------------------------------------------

def test_invalid_order_type_is_checked_before_the_asset() -> None:
    assert_refused(place(ready(), NOW, asset="GC", order_type="limit"), 400, "INVALID_ORDER_TYPE",
                   "Invalid order_type")


def test_unknown_asset_is_checked_before_the_trade_mode() -> None:
    assert_refused(place(ready(), NOW, asset="GC", trade_mode="SWING"), 400, "UNKNOWN_ASSET", "Unknown asset")


@pytest.mark.parametrize("trade_mode", [None, "", "SWING", "scalper"])
def test_invalid_trade_mode(trade_mode: str | None) -> None:
    assert_refused(place(ready(), NOW, trade_mode=trade_mode), 400, "INVALID_TRADE_MODE", "Invalid trade_mode")


def test_validation_comes_before_the_daily_stop() -> None:
    world = ready()
    _daily_stop(world)
    assert_refused(place(world, NOW, trade_mode="bogus"), 400, "INVALID_TRADE_MODE", "Invalid trade_mode")


@pytest.mark.parametrize(("order_type", "trade_mode"),
                         [("MARKET", "scalp"), (" Market ", " runner "), ("market", "RUNNER")])
def test_order_type_and_trade_mode_are_case_insensitive(order_type: str, trade_mode: str) -> None:
    decision = place(ready(), NOW, order_type=order_type, trade_mode=trade_mode)
    assert decision.status == 201
    assert decision.body["order"]["trade_mode"] == trade_mode.strip().upper()


# ---- boundaries of the time-based gates -------------------------------------------------------------------------

def test_daily_trade_limit_blocks_at_zero_remaining_and_not_at_one() -> None:
    world = ready()
    world.glob.trades_taken_today = 5
    assert place(world, NOW).status == 201
    world.glob.trades_taken_today = 6
    assert_refused(place(world, NOW), 409, "DAILY_TRADE_LIMIT", "Daily trade limit reached")


def test_daily_trade_limit_follows_the_max_in_force() -> None:
    world = ready()
    world.glob.max_trades_per_day = 2
    world.glob.trades_taken_today = 2
    assert_refused(place(world, NOW), 409, "DAILY_TRADE_LIMIT")


@pytest.mark.parametrize(("age", "ok"), [(0, True), (600, True), (600.5, False), (601, False)])
def test_heartbeat_is_fresh_up_to_600_seconds(age: float, ok: bool) -> None:
    world = ready()
    world.assets["ES"].last_heartbeat_ts = NOW - age
    decision = place(world, NOW)
    if ok:
        assert decision.status == 201
    else:
        assert_refused(decision, 403, "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot trade")


def test_mismatch_blocks_only_while_flagged() -> None:
    world = ready()
    world.assets["ES"].broker_position = 3     # a disagreement alone (one snapshot) does not block
    assert place(world, NOW).status == 201


# ---- the checklist for GET /api/gates --------------------------------------------------------------------------

def test_checklist_lists_every_gate_in_order_and_does_not_short_cut() -> None:
    world = ready()
    _daily_stop(world)
    _heartbeat(world)
    rows = checklist(GateInput(world.glob, world.assets["ES"], NOW, CONFIG, "ES"))
    assert [r["gate"] for r in rows] == [
        "daily_stop", "trailing_drawdown", "post_exit_cooldown", "loss_streak", "candle_lock", "trade_lock",
        "daily_trade_limit", "blackout", "trading_window", "open_position", "pending_order", "position_mismatch",
        "heartbeat", "tempo", "structure", "protective_stop", "risk_room"]
    failed = {r["gate"]: r for r in rows if not r["pass"]}
    assert set(failed) == {"daily_stop", "heartbeat"}
    assert failed["heartbeat"]["code"] == "HEARTBEAT_STALE"
    assert failed["heartbeat"]["reason"] == "Heartbeat stale or missing – cannot trade"


def test_checklist_reports_seconds_remaining_and_the_structure_reason() -> None:
    world = ready()
    _candle(world)
    _structure(world)
    rows = {r["gate"]: r for r in checklist(GateInput(world.glob, world.assets["ES"], NOW, CONFIG, "ES"))}
    assert rows["candle_lock"]["remaining_s"] == 290
    assert rows["daily_stop"] == {"gate": "daily_stop", "pass": True, "code": None, "reason": None,
                                  "remaining_s": None}
    assert rows["structure"]["reason"] == "Blocked by 2.5pt Renko: red"
    assert rows["structure"]["remaining_s"] is None


def test_checklist_structure_in_free_zone_needs_the_direction() -> None:
    world = ready()
    world.assets["ES"].macro_renko_color = "red"
    x = GateInput(world.glob, world.assets["ES"], NOW, CONFIG, "ES")
    assert {r["gate"]: r for r in checklist(x)}["structure"]["code"] == "FREE_ZONE_DIRECTION_REQUIRED"
    assert {r["gate"]: r for r in checklist(x, direction="BUY")}["structure"]["pass"] is True


def test_direction_filter_refuses_a_missing_direction() -> None:
    refusal = direction_refusal(ready().assets["ES"], None)
    assert refusal is not None
    assert (refusal.status, refusal.code, refusal.text) == (409, "ZONE_BLOCKED", "Invalid direction")


# ---- post-exit cooldown (180 s) and candle lock boundaries, through real flows -------------------------------

@pytest.mark.parametrize(("after", "text"), [(0, "POST-EXIT COOLDOWN ACTIVE (03:00 remaining)"),
                                             (1, "POST-EXIT COOLDOWN ACTIVE (02:59 remaining)"),
                                             (179, "POST-EXIT COOLDOWN ACTIVE (00:01 remaining)"),
                                             (179.5, "POST-EXIT COOLDOWN ACTIVE (00:01 remaining)")])
def test_cooldown_blocks_for_180_seconds_with_the_mmss_text(after: float, text: str) -> None:
    world = ready()
    world.glob.post_exit_lock_started_ts, world.glob.post_exit_lock_expires_ts = T0 - 400, T0 - 400 + 180
    decision = place(world, T0 - 400 + after)
    assert_refused(decision, 403, "POST_EXIT_COOLDOWN", text)


def test_cooldown_is_over_at_exactly_180_seconds() -> None:
    world = ready()
    world.glob.post_exit_lock_started_ts, world.glob.post_exit_lock_expires_ts = T0 - 180, T0
    assert place(world, T0).status == 201


def test_cooldown_after_a_real_exit_fill() -> None:
    from builders import in_long_trade, run

    from shared.domain.inputs import ExecutionReport, ManualExit
    world = in_long_trade(fresh_world(), T0)
    world = run(world, ManualExit(asset="ES"), T0 + 400, request_id="x").world
    world = run(world, ExecutionReport(order_id="ES-x-1", status="FILLED", fill_price=5002.0), T0 + 600).world
    assert world.glob.post_exit_lock_expires_ts == T0 + 780
    ready_to_enter(world, T0 + 779)
    assert_refused(place(world, T0 + 779), 403, "POST_EXIT_COOLDOWN", "POST-EXIT COOLDOWN ACTIVE (00:01 remaining)")
    # 10:13:00 is in the 10:10 candle, no lock: the cooldown alone decided
    assert place(world, T0 + 780).status == 201


def test_candle_lock_ends_at_the_wall_clock_boundary_not_five_minutes_after_entry() -> None:
    from builders import ny
    entry = place(ready_to_enter(fresh_world(), T0), ny(2026, 1, 13, 10, 3, 20))
    assert entry.status == 201
    world = entry.world
    assert_refused(place(world, ny(2026, 1, 13, 10, 3, 21)), 403, "CANDLE_LOCK_ACTIVE",
                   "5 MIN LOCK ACTIVE — one trade already used this candle (01:39 remaining)")
    assert_refused(place(world, ny(2026, 1, 13, 10, 4, 59)), 403, "CANDLE_LOCK_ACTIVE",
                   "5 MIN LOCK ACTIVE — one trade already used this candle (00:01 remaining)")
    # at 10:05:00 the candle lock is gone; the entry's pending order is what blocks now
    assert_refused(place(world, ny(2026, 1, 13, 10, 5, 0)), 403, "PENDING_ORDER")


def test_candle_lock_full_candle_text() -> None:
    world = place(ready(), T0).world
    world.assets["ES"].pending_order_id = None
    assert_refused(place(world, T0), 403, "CANDLE_LOCK_ACTIVE",
                   "5 MIN LOCK ACTIVE — one trade already used this candle (05:00 remaining)")


def test_sides_open_tells_which_direction_a_free_zone_allows():
    from shared.domain.gates import GateInput, sides_open

    world = ready_to_enter(fresh_world(), T0)
    a = world.assets["ES"]
    assert sides_open(GateInput(world.glob, a, T0, CONFIG, "ES")) == {"BUY": True, "SELL": False}  # NORMAL, 8pt green
    a.macro_renko_color = "red"  # FREE zone: the 2.5pt colour (green) picks the side
    assert sides_open(GateInput(world.glob, a, T0, CONFIG, "ES")) == {"BUY": True, "SELL": False}
    a.two_half_renko_color = "red"
    assert sides_open(GateInput(world.glob, a, T0, CONFIG, "ES")) == {"BUY": False, "SELL": True}
    a.last_heartbeat_ts = None  # any lock gate closes both sides
    assert sides_open(GateInput(world.glob, a, T0, CONFIG, "ES")) == {"BUY": False, "SELL": False}
