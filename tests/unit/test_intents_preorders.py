"""Pre-orders (§5.8 + D8 time expiry) and intents (§5.9 + D8: READY lets a market entry pass the structure gate)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from builders import CONFIG, T0, assert_refused, bar, fresh_world, place, ready_to_enter, run

from shared.domain import World
from shared.domain.inputs import CancelIntent, CancelPreorder, CreateIntent, TimerFired
from shared.domain.view import state_view

BASE = T0 - 60          # the last 6pt bar of ready_to_enter
BUCKET = int(T0 // 300)


def ready(direction: str = "BUY") -> World:
    return ready_to_enter(fresh_world(), T0, direction=direction)


def preorder(direction: str = "buy", now: float = T0, **fields: object) -> World:
    decision = place(ready(), now, order_type="preorder", direction=direction, **fields)
    assert decision.status == 201, decision.body
    return decision.world


# ==== pre-orders ================================================================================================

def test_preorder_creation_stores_the_condition_only() -> None:
    world = ready()
    world.assets["ES"].intent_active, world.assets["ES"].intent_status = True, "PENDING"
    decision = place(world, T0, order_type="Preorder", direction="sell", trade_mode="runner", entry_size_mode="9pt")
    assert decision.status == 201
    assert decision.body == {"ok": True, "preorder": True}
    assert decision.include_state is True
    a = decision.world.assets["ES"]
    assert (a.preorder_active, a.preorder_direction, a.preorder_qty, a.preorder_entry_size_mode,
            a.preorder_trade_mode, a.preorder_created_ts, a.preorder_bar_base_ts, a.preorder_status) == (
        True, "SELL", 3, "9pt", "RUNNER", T0, BASE, "PENDING")
    # no order, no tempo spend, no candle lock; the intent is cleared
    assert decision.world.orders == {} and a.pending_order_id is None
    assert a.tempo_spent_ts is None
    assert decision.world.glob.five_min_trade_bucket is None
    assert (a.intent_active, a.intent_status) == (False, None)
    assert [(t.kind, t.at) for t in decision.timers] == [("preorder_expiry", T0 + 900)]


def test_preorder_default_size_is_5() -> None:
    assert preorder().assets["ES"].preorder_qty == 5


def test_preorder_requires_a_direction() -> None:
    assert_refused(place(ready(), T0, order_type="preorder"), 403, "PREORDER_DIRECTION_REQUIRED",
                   "Pre-order requires direction=BUY/SELL")


def test_preorder_override_without_direction_uses_the_override_text() -> None:
    assert_refused(place(ready(), T0, order_type="preorder", entry_override=True), 403,
                   "OVERRIDE_DIRECTION_REQUIRED", "Override entry requires direction=BUY/SELL (or green/red)")


def test_second_preorder_is_refused() -> None:
    assert_refused(place(preorder(), T0 + 1, order_type="preorder", direction="buy"), 403, "PREORDER_ACTIVE",
                   "Pre-order already active")


def test_preorder_skips_the_zone_and_2_5pt_filter() -> None:
    world = ready("BUY")                                  # NORMAL green, 2.5pt green
    decision = place(world, T0, order_type="preorder", direction="sell")
    assert decision.status == 201
    assert decision.world.assets["ES"].preorder_direction == "SELL"


@pytest.mark.parametrize(("breaker", "code"), [
    (lambda w: setattr(w.assets["ES"], "tempo_spent_ts", T0 - 1), "TEMPO_WAIT"),
    (lambda w: setattr(w.glob, "five_min_trade_bucket", BUCKET), "CANDLE_LOCK_ACTIVE"),
    (lambda w: setattr(w.assets["ES"], "last_heartbeat_ts", T0 - 601), "HEARTBEAT_STALE"),
    (lambda w: setattr(w.glob, "trades_taken_today", 6), "DAILY_TRADE_LIMIT"),
    (lambda w: setattr(w.glob, "post_exit_lock_expires_ts", T0 + 1), "POST_EXIT_COOLDOWN"),
])
def test_preorder_creation_goes_through_the_lock_gates(breaker: Callable[[World], None], code: str) -> None:
    world = ready()
    breaker(world)
    decision = place(world, T0, order_type="preorder", direction="buy")
    assert decision.status in (403, 409)
    assert decision.code == code


def test_preorder_lock_gates_come_before_the_direction_check() -> None:
    world = ready()
    world.glob.trade_lock = True
    assert_refused(place(world, T0, order_type="preorder"), 403, "TRADE_LOCK")


def test_preorder_triggers_on_the_next_6pt_bar_of_its_colour() -> None:
    world = preorder("buy", trade_mode="RUNNER", entry_size_mode="9pt")
    decision = bar(world, "6pt", "green", T0 + 120)
    a = decision.world.assets["ES"]
    orders = list(decision.world.orders.values())
    assert len(orders) == 1
    order = orders[0]
    assert (order.side, order.qty, order.source, order.kind, order.trade_mode, order.mode, order.symbol) == (
        "BUY", 3, "PREORDER_TRIGGER", "ENTRY", "RUNNER", "A", "MESH6")
    assert a.pending_order_id == order.id and a.pending_trade_mode == "RUNNER"
    assert (a.preorder_active, a.preorder_status, a.preorder_direction, a.preorder_qty) == (False, "FILLED", None, 0)
    assert decision.world.glob.five_min_trade_bucket == int((T0 + 120) // 300)
    assert a.tempo_spent_ts == T0 + 120
    assert a.exit_tf == "high"


def test_sell_preorder_triggers_on_red() -> None:
    decision = bar(preorder("sell"), "6pt", "red", T0 + 120)
    assert [o.side for o in decision.world.orders.values()] == ["SELL"]


@pytest.mark.parametrize("color", ["red", "neutral"])
def test_preorder_colour_mismatch_cancels_it(color: str) -> None:
    decision = bar(preorder("buy"), "6pt", color, T0 + 120)
    a = decision.world.assets["ES"]
    assert decision.world.orders == {}
    assert (a.preorder_active, a.preorder_status) == (False, "CANCELLED")


@pytest.mark.parametrize("breaker", [
    lambda w: setattr(w.glob, "trade_lock", True),
    lambda w: setattr(w.assets["ES"], "pending_order_id", "ES-x-1"),
    lambda w: setattr(w.assets["ES"], "position", 2),
    lambda w: setattr(w.glob, "daily_stop_triggered", True),        # beyond §5.8: the daily stop itself
    lambda w: setattr(w.glob, "trades_taken_today", 6),             # D3
    lambda w: setattr(w.assets["ES"], "position_mismatch", True),   # D10
])
def test_preorder_not_free_at_trigger_is_cancelled(breaker: Callable[[World], None]) -> None:
    world = preorder("buy")
    breaker(world)
    decision = bar(world, "6pt", "green", T0 + 120)
    assert not any(o.source == "PREORDER_TRIGGER" for o in decision.world.orders.values())
    assert decision.world.assets["ES"].preorder_status == "CANCELLED"


@pytest.mark.parametrize("breaker", [
    pytest.param(lambda w: setattr(w.assets["ES"], "last_heartbeat_ts", T0 - 3600), id="heartbeat-stale"),
    pytest.param(lambda w: setattr(w.glob, "post_exit_lock_expires_ts", T0 + 170), id="cooldown-active"),
    pytest.param(lambda w: setattr(w.glob, "five_min_trade_bucket", int((T0 + 120) // 300)), id="candle-locked"),
    pytest.param(lambda w: setattr(w.assets["ES"], "two_half_renko_color", "red"), id="2.5pt-against"),
    pytest.param(lambda w: (setattr(w.assets["ES"], "high_renko_color", "red"),
                            setattr(w.assets["ES"], "macro_renko_color", "red")), id="zone-against"),
    pytest.param(lambda w: setattr(w.assets["ES"], "macro_renko_color", "neutral"), id="no-structure"),
    pytest.param(lambda w: setattr(w.assets["ES"], "tempo_spent_ts", T0 + 100), id="tempo-spent-before-bar"),
])
def test_preorder_trigger_does_not_recheck(breaker: Callable[[World], None]) -> None:
    world = preorder("buy")
    breaker(world)
    decision = bar(world, "6pt", "green", T0 + 120)
    assert [o.source for o in decision.world.orders.values()] == ["PREORDER_TRIGGER"]
    assert decision.world.assets["ES"].preorder_status == "FILLED"


def test_preorder_is_not_triggered_by_a_bar_at_its_base_time() -> None:
    world = preorder("buy")
    world.assets["ES"].preorder_bar_base_ts = T0 + 120
    decision = bar(world, "6pt", "green", T0 + 120)
    assert decision.world.orders == {}
    assert decision.world.assets["ES"].preorder_active is True


def test_preorder_made_before_any_6pt_bar_fires_on_the_first_one() -> None:
    """§13.3.15 trap fixed: with no base bar, the first 6pt bar is the next one."""
    world = preorder("buy")
    world.assets["ES"].preorder_bar_base_ts = None
    decision = bar(world, "6pt", "green", T0 + 120)
    assert [o.source for o in decision.world.orders.values()] == ["PREORDER_TRIGGER"]
    assert decision.world.assets["ES"].preorder_status == "FILLED"


@pytest.mark.parametrize(("age", "fires"), [(899, True), (900, False)])
def test_preorder_time_expiry_at_900_seconds(age: float, fires: bool) -> None:
    decision = bar(preorder("buy"), "6pt", "green", T0 + age)
    a = decision.world.assets["ES"]
    if fires:
        assert a.preorder_status == "FILLED" and len(decision.world.orders) == 1
    else:
        assert a.preorder_status == "EXPIRED" and decision.world.orders == {}


@pytest.mark.parametrize(("at", "active"), [(T0 + 899, True), (T0 + 900, False)])
def test_preorder_expiry_timer(at: float, active: bool) -> None:
    decision = run(preorder("buy"), TimerFired(kind="preorder_expiry", key=f"ES:{T0:.3f}", at=T0 + 900), at)
    assert decision.status == 200
    if active:   # an early or duplicated task changes nothing; the expiry itself is derived from the age
        assert decision.body["outcome"] == "nothing_to_do"
    a = decision.world.assets["ES"]
    assert a.preorder_active is active
    assert a.preorder_status == ("PENDING" if active else "EXPIRED")


def test_preorder_shows_expired_in_the_view_without_the_timer() -> None:
    world = preorder("buy")
    assert state_view(world, T0 + 899, CONFIG)["assets"]["ES"]["preorder_active"] is True
    shown = state_view(world, T0 + 900, CONFIG)["assets"]["ES"]
    assert (shown["preorder_active"], shown["preorder_status"]) == (False, "EXPIRED")


def test_cancel_preorder() -> None:
    decision = run(preorder("buy"), CancelPreorder(asset="ES"), T0 + 5)
    assert (decision.status, decision.body) == (200, {"ok": True})
    a = decision.world.assets["ES"]
    assert (a.preorder_active, a.preorder_status, a.preorder_direction) == (False, "CANCELLED_BY_USER", None)


def test_cancel_preorder_without_one_is_409() -> None:
    assert_refused(run(ready(), CancelPreorder(asset="ES"), T0), 409, "NO_PREORDER", "No active pre-order")


def test_cancel_preorder_unknown_asset() -> None:
    assert_refused(run(ready(), CancelPreorder(asset="GC"), T0), 400, "UNKNOWN_ASSET", "Unknown asset")


# ==== intents ===================================================================================================

def intent(direction: str | None = "sell", now: float = T0, world: World | None = None) -> World:
    decision = run(world if world is not None else ready("BUY"), CreateIntent(asset="ES", direction=direction), now)
    assert decision.status == 201, decision.body
    return decision.world


def test_create_intent() -> None:
    decision = run(ready(), CreateIntent(asset="ES", direction="short"), T0)
    assert (decision.status, decision.body) == (201, {"ok": True})
    a = decision.world.assets["ES"]
    assert (a.intent_active, a.intent_direction, a.intent_created_ts, a.intent_bar_base_ts, a.intent_ready_bar_ts,
            a.intent_status) == (True, "SELL", T0, BASE, None, "PENDING")
    assert [(t.kind, t.at, t.key) for t in decision.timers] == [("intent_expiry", T0 + 900, f"ES:{T0:.3f}")]


def _i_daily_stop(w: World) -> None:
    w.glob.daily_stop_triggered = True


def _i_cooldown(w: World) -> None:
    w.glob.post_exit_lock_expires_ts = T0 + 61


def _i_trade_lock(w: World) -> None:
    w.glob.trade_lock = True


def _i_position(w: World) -> None:
    w.assets["ES"].position = -5


def _i_pending(w: World) -> None:
    w.assets["ES"].pending_order_id = "ES-x-1"


def _i_preorder(w: World) -> None:
    w.assets["ES"].preorder_active = True


def _i_intent(w: World) -> None:
    w.assets["ES"].intent_active = True


def _i_heartbeat(w: World) -> None:
    w.assets["ES"].last_heartbeat_ts = T0 - 601


INTENT_CHECKS: list[tuple[Callable[[World], None], str, str]] = [
    (_i_daily_stop, "DAILY_STOP", "Daily stop TRIGGERED — entries blocked for today"),
    (_i_cooldown, "POST_EXIT_COOLDOWN", "POST-EXIT COOLDOWN ACTIVE (01:01 remaining)"),
    (_i_trade_lock, "TRADE_LOCK", "Global trade lock active"),
    (_i_position, "POSITION_OPEN", "Asset already in a trade"),
    (_i_pending, "PENDING_ORDER", "Pending order already exists"),
    (_i_preorder, "PREORDER_ACTIVE", "Pre-order already active"),
    (_i_intent, "INTENT_ACTIVE", "Intent already active"),
    (_i_heartbeat, "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot set intent"),
]


@pytest.mark.parametrize("start", range(len(INTENT_CHECKS)))
def test_intent_checks_in_order_first_failure_wins(start: int) -> None:
    world = ready()
    for breaker, _, _ in INTENT_CHECKS[start:]:
        breaker(world)
    _, code, text = INTENT_CHECKS[start]
    assert_refused(run(world, CreateIntent(asset="ES"), T0), 403, code, text)


@pytest.mark.parametrize("start", range(len(INTENT_CHECKS)))
def test_each_intent_check_blocks_alone(start: int) -> None:
    world = ready()
    breaker, code, text = INTENT_CHECKS[start]
    breaker(world)
    assert_refused(run(world, CreateIntent(asset="ES"), T0), 403, code, text)


def test_intent_unknown_asset_comes_first() -> None:
    world = ready()
    _i_daily_stop(world)
    assert_refused(run(world, CreateIntent(asset="GC"), T0), 400, "UNKNOWN_ASSET", "Unknown asset")


def test_intent_heartbeat_600_seconds_is_still_fresh() -> None:
    world = ready()
    world.assets["ES"].last_heartbeat_ts = T0 - 600
    assert run(world, CreateIntent(asset="ES", direction="BUY"), T0).status == 201


@pytest.mark.parametrize("breaker", [
    pytest.param(lambda w: setattr(w.glob, "five_min_trade_bucket", BUCKET), id="candle-lock"),
    pytest.param(lambda w: setattr(w.assets["ES"], "tempo_spent_ts", T0 - 1), id="tempo-spent"),
    pytest.param(lambda w: setattr(w.glob, "trades_taken_today", 6), id="trade-limit"),
    pytest.param(lambda w: setattr(w.assets["ES"], "two_half_renko_color", "neutral"), id="structure"),
])
def test_intent_is_not_blocked_by_candle_tempo_limit_or_structure(breaker: Callable[[World], None]) -> None:
    world = ready()
    breaker(world)
    assert run(world, CreateIntent(asset="ES", direction="BUY"), T0).status == 201


def test_intent_becomes_ready_on_the_next_6pt_bar_and_expires_on_the_one_after() -> None:
    world = intent()
    ready_bar = bar(world, "6pt", "red", T0 + 100)
    a = ready_bar.world.assets["ES"]
    assert (a.intent_active, a.intent_status, a.intent_ready_bar_ts) == (True, "READY", T0 + 100)
    expired = bar(ready_bar.world, "6pt", "red", T0 + 400).world.assets["ES"]
    assert (expired.intent_active, expired.intent_status, expired.intent_direction) == (False, "EXPIRED", None)


def test_intent_created_before_any_6pt_bar_is_ready_on_the_first_one() -> None:
    """§13.3.15 trap fixed: D8's "READY on the next 6pt bar" holds even when no bar existed yet."""
    world = ready()
    world.assets["ES"].main_renko_ts = None
    world = intent(world=world)
    assert world.assets["ES"].intent_bar_base_ts is None
    a = bar(world, "6pt", "red", T0 + 100).world.assets["ES"]
    assert (a.intent_active, a.intent_status, a.intent_ready_bar_ts) == (True, "READY", T0 + 100)


def _ready_intent(direction: str = "sell") -> World:
    """NORMAL green zone and 2.5pt green (structure says BUY), intent READY for `direction` at T0+100."""
    world = bar(intent(direction), "6pt", "green", T0 + 100).world
    assert world.assets["ES"].intent_status == "READY"
    return world


def test_ready_intent_lets_a_market_entry_in_its_direction_pass_structure_and_is_consumed() -> None:
    decision = place(_ready_intent("sell"), T0 + 110)
    assert decision.status == 201
    assert decision.body["order"]["side"] == "SELL"
    a = decision.world.assets["ES"]
    assert (a.intent_active, a.intent_status, a.intent_direction) == (False, "CONSUMED", None)


def test_ready_intent_with_the_same_supplied_direction_passes() -> None:
    assert place(_ready_intent("sell"), T0 + 110, direction="short").body["order"]["side"] == "SELL"


def test_ready_intent_passes_the_2_5pt_filter_too() -> None:
    world = _ready_intent("sell")
    world.assets["ES"].two_half_renko_color = "neutral"
    assert place(world, T0 + 110).status == 201


def test_ready_intent_does_not_help_a_different_supplied_direction() -> None:
    world = _ready_intent("sell")
    world.assets["ES"].macro_renko_color = "red"       # FREE: the supplied BUY direction is used
    world.assets["ES"].two_half_renko_color = "red"
    assert_refused(place(world, T0 + 110, direction="buy"), 409, "ZONE_BLOCKED", "Blocked by 2.5pt Renko: red")


def test_ready_intent_still_goes_through_every_lock_gate() -> None:
    world = _ready_intent("sell")
    world.assets["ES"].last_heartbeat_ts = T0 + 110 - 601
    assert_refused(place(world, T0 + 110), 403, "HEARTBEAT_STALE")
    world = _ready_intent("sell")
    world.glob.five_min_trade_bucket = int((T0 + 110) // 300)
    assert_refused(place(world, T0 + 110), 403, "CANDLE_LOCK_ACTIVE")


def test_pending_intent_does_not_pass_structure() -> None:
    world = intent("sell")
    world.assets["ES"].two_half_renko_color = "red"
    assert_refused(place(world, T0 + 10), 409, "ZONE_BLOCKED", "Blocked by 2.5pt Renko: red")


@pytest.mark.parametrize(("at", "ok"), [(T0 + 899, True), (T0 + 900, False)])
def test_ready_intent_time_expiry_at_900_seconds(at: float, ok: bool) -> None:
    world = _ready_intent("sell")
    world.assets["ES"].last_heartbeat_ts = at - 1
    decision = place(world, at)
    if ok:
        assert decision.body["order"]["side"] == "SELL"
    else:
        assert decision.status == 201                       # the structure (BUY) decides again
        assert decision.body["order"]["side"] == "BUY"


def test_structure_entry_clears_an_unused_intent() -> None:
    decision = place(intent("sell"), T0 + 10)
    assert decision.body["order"]["side"] == "BUY"
    a = decision.world.assets["ES"]
    assert (a.intent_active, a.intent_status) == (False, None)


@pytest.mark.parametrize(("at", "status"), [(T0 + 899, "PENDING"), (T0 + 900, "EXPIRED")])
def test_intent_expiry_timer(at: float, status: str) -> None:
    decision = run(intent(), TimerFired(kind="intent_expiry", key=f"ES:{T0:.3f}", at=T0 + 900), at)
    assert decision.status == 200
    if status == "PENDING":
        assert decision.body["outcome"] == "nothing_to_do"
    assert decision.world.assets["ES"].intent_status == status
    assert decision.world.assets["ES"].intent_active is (status == "PENDING")


@pytest.mark.parametrize(("at", "ok"), [(T0 + 899, False), (T0 + 900, True)])
def test_aged_intent_no_longer_blocks_a_new_one(at: float, ok: bool) -> None:
    world = intent()
    world.assets["ES"].last_heartbeat_ts = at - 1
    decision = run(world, CreateIntent(asset="ES", direction="buy"), at)
    if ok:
        assert decision.status == 201 and decision.world.assets["ES"].intent_created_ts == at
    else:
        assert_refused(decision, 403, "INTENT_ACTIVE", "Intent already active")


@pytest.mark.parametrize(("at", "ok"), [(T0 + 899, False), (T0 + 900, True)])
def test_aged_preorder_no_longer_blocks_a_new_one(at: float, ok: bool) -> None:
    world = preorder("buy")
    world.assets["ES"].last_heartbeat_ts = at - 1
    decision = place(world, at, order_type="preorder", direction="sell")
    if ok:
        assert decision.status == 201 and decision.world.assets["ES"].preorder_direction == "SELL"
    else:
        assert_refused(decision, 403, "PREORDER_ACTIVE", "Pre-order already active")


def test_intent_shows_expired_in_the_view_at_900_seconds() -> None:
    world = intent()
    assert state_view(world, T0 + 899, CONFIG)["assets"]["ES"]["intent_status"] == "PENDING"
    assert state_view(world, T0 + 900, CONFIG)["assets"]["ES"]["intent_status"] == "EXPIRED"
    assert state_view(world, T0 + 900, CONFIG)["assets"]["ES"]["intent_active"] is False


def test_cancel_intent() -> None:
    decision = run(intent(), CancelIntent(asset="ES"), T0 + 5)
    assert (decision.status, decision.body) == (200, {"ok": True})
    a = decision.world.assets["ES"]
    assert (a.intent_active, a.intent_status) == (False, "CANCELLED_BY_USER")


def test_cancel_intent_without_one_is_409() -> None:
    assert_refused(run(ready(), CancelIntent(asset="ES"), T0), 409, "NO_INTENT", "No active intent")


def test_cancel_intent_unknown_asset() -> None:
    assert_refused(run(ready(), CancelIntent(asset="YM"), T0), 400, "UNKNOWN_ASSET", "Unknown asset")


def test_aged_out_ready_intent_is_not_recorded_as_consumed_by_a_structure_entry() -> None:
    world = _ready_intent("sell")
    world.assets["ES"].last_heartbeat_ts = T0 + 899
    decision = place(world, T0 + 900)
    assert decision.body["order"]["side"] == "BUY"
    a = decision.world.assets["ES"]
    assert (a.intent_active, a.intent_status) == (False, None)


def test_ready_intent_in_the_other_direction_is_not_recorded_as_consumed() -> None:
    world = _ready_intent("sell")
    world.assets["ES"].macro_renko_color = "red"        # FREE zone
    decision = place(world, T0 + 110, direction="buy")
    assert decision.body["order"]["side"] == "BUY"
    assert decision.world.assets["ES"].intent_status is None


def test_an_intent_needs_a_direction():
    """D8: the intent's direction is what a READY intent lets through; none is refused after the state checks."""
    world = fresh_world()
    ready_to_enter(world, T0)
    assert_refused(run(world, CreateIntent(asset="ES"), T0), 403, "INTENT_DIRECTION_REQUIRED",
                   "Intent requires direction=BUY/SELL")
    assert run(world, CreateIntent(asset="ES", direction="green"), T0).status == 201
