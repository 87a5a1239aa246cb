"""POST /api/orders, market entries (§5.1, §5.4, §5.6, §2.4, D7, D8): direction choice, sizes, effects, tempo."""

from __future__ import annotations

import pytest
from builders import T0, assert_refused, bar, fresh_world, in_long_trade, place, ready_to_enter, run

from shared.domain import World
from shared.domain.inputs import CancelOrder, ExecutionReport, ManualExit, SetEnv

BUCKET = int(T0 // 300)


def ready(direction: str = "BUY") -> World:
    return ready_to_enter(fresh_world(), T0, direction=direction)


def free_zone(two_half: str = "green") -> World:
    """8pt green, 12pt red: FREE zone, either direction allowed by structure."""
    world = ready()
    a = world.assets["ES"]
    a.high_renko_color, a.macro_renko_color, a.two_half_renko_color = "green", "red", two_half
    return world


# ---- direction choice and the zone / 2.5pt filter (§5.6) ------------------------------------------------------

@pytest.mark.parametrize(("color", "side"), [("green", "BUY"), ("red", "SELL")])
def test_normal_zone_takes_the_8pt_direction(color: str, side: str) -> None:
    decision = place(ready(side), T0)
    assert decision.status == 201
    assert decision.body["order"]["side"] == side
    assert decision.world.assets["ES"].high_renko_color == color


@pytest.mark.parametrize("supplied", ["sell", "short", "red", "r", "buy"])
def test_normal_zone_ignores_a_supplied_direction(supplied: str) -> None:
    decision = place(ready("BUY"), T0, direction=supplied)
    assert decision.status == 201
    assert decision.body["order"]["side"] == "BUY"


@pytest.mark.parametrize("two_half", ["neutral", "red"])
def test_normal_zone_2_5pt_filter_blocks_with_409_and_the_colours(two_half: str) -> None:
    world = ready("BUY")
    world.assets["ES"].two_half_renko_color = two_half
    world.assets["ES"].main_renko_color = "red"
    decision = place(world, T0)
    assert_refused(decision, 409, "ZONE_BLOCKED", f"Blocked by 2.5pt Renko: {two_half}")
    assert decision.body["zone_type"] == "NORMAL"
    assert decision.body["main_renko_color"] == "red"
    assert decision.body["high_renko_color"] == "green"
    assert decision.body["macro_renko_color"] == "green"
    assert decision.body["two_half_renko_color"] == two_half


def test_neutral_2_5pt_blocks_sell_too() -> None:
    world = ready("SELL")
    world.assets["ES"].two_half_renko_color = "neutral"
    assert_refused(place(world, T0), 409, "ZONE_BLOCKED", "Blocked by 2.5pt Renko: neutral")


def test_free_zone_without_direction_asks_for_one() -> None:
    assert_refused(place(free_zone(), T0), 403, "FREE_ZONE_DIRECTION_REQUIRED", "Free zone: choose direction=BUY/SELL")


def test_free_zone_unparsable_direction_counts_as_none() -> None:
    assert_refused(place(free_zone(), T0, direction="up"), 403, "FREE_ZONE_DIRECTION_REQUIRED")


@pytest.mark.parametrize(("raw", "side", "two_half"), [
    ("buy", "BUY", "green"), ("LONG", "BUY", "green"), (" green ", "BUY", "green"), ("g", "BUY", "green"),
    ("sell", "SELL", "red"), ("short", "SELL", "red"), ("Red", "SELL", "red"), ("R", "SELL", "red"),
])
def test_free_zone_takes_the_supplied_direction(raw: str, side: str, two_half: str) -> None:
    decision = place(free_zone(two_half), T0, direction=raw)
    assert decision.status == 201
    assert decision.body["order"]["side"] == side


def test_free_zone_still_applies_the_2_5pt_filter() -> None:
    decision = place(free_zone("red"), T0, direction="buy")
    assert_refused(decision, 409, "ZONE_BLOCKED", "Blocked by 2.5pt Renko: red")
    assert decision.body["zone_type"] == "FREE"


@pytest.mark.parametrize(("high", "macro"), [("neutral", "green"), ("green", "neutral"), ("neutral", "neutral")])
def test_structure_unavailable_without_green_or_red_on_8pt_and_12pt(high: str, macro: str) -> None:
    world = ready()
    world.assets["ES"].high_renko_color, world.assets["ES"].macro_renko_color = high, macro
    assert_refused(place(world, T0, direction="buy"), 403, "STRUCTURE_UNAVAILABLE",
                   "8pt/12pt structure unavailable – cannot trade")


# ---- entry_override only chooses the direction ---------------------------------------------------------------

def test_override_without_direction_is_refused() -> None:
    assert_refused(place(ready(), T0, entry_override=True), 403, "OVERRIDE_DIRECTION_REQUIRED",
                   "Override entry requires direction=BUY/SELL (or green/red)")


def test_override_against_normal_structure_is_still_409() -> None:
    world = ready("BUY")
    world.assets["ES"].two_half_renko_color = "red"
    decision = place(world, T0, entry_override=True, direction="sell")
    assert_refused(decision, 409, "ZONE_BLOCKED", "Blocked by 8/12 structure")
    assert decision.body["zone_type"] == "NORMAL"


def test_override_with_the_structure_direction_passes() -> None:
    decision = place(ready("SELL"), T0, entry_override=True, direction="short")
    assert decision.status == 201
    assert decision.body["order"]["side"] == "SELL"


def test_override_in_free_zone_chooses_the_direction() -> None:
    decision = place(free_zone("red"), T0, entry_override=True, direction="red")
    assert decision.status == 201
    assert decision.body["order"]["side"] == "SELL"


def test_override_does_not_bypass_the_2_5pt_filter() -> None:
    assert_refused(place(free_zone("red"), T0, entry_override=True, direction="buy"), 409, "ZONE_BLOCKED",
                   "Blocked by 2.5pt Renko: red")


def test_override_without_structure_is_409_zone_unavailable() -> None:
    world = ready()
    world.assets["ES"].macro_renko_color = "neutral"
    decision = place(world, T0, entry_override=True, direction="buy")
    assert_refused(decision, 409, "ZONE_BLOCKED", "8/12 zone unavailable")
    assert decision.body["zone_type"] is None


def test_override_does_not_bypass_lock_gates() -> None:
    world = ready()
    world.assets["ES"].last_heartbeat_ts = T0 - 601
    assert_refused(place(world, T0, entry_override=True, direction="buy"), 403, "HEARTBEAT_STALE")


# ---- sizes (§2.4) and contract (D7) ----------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "qty"), [("9pt", 3), ("6pt", 5), (None, 5), ("12pt", 5), ("9PT", 5)])
def test_entry_size(mode: str | None, qty: int) -> None:
    decision = place(ready(), T0, entry_size_mode=mode)
    assert decision.body["order"]["qty"] == qty
    assert decision.world.assets["ES"].pending_qty == qty


def test_nq_trades_the_micro_front_month() -> None:
    world = ready_to_enter(fresh_world(), T0, asset="NQ")
    decision = place(world, T0, asset="NQ")
    assert decision.status == 201
    assert decision.body["order"]["symbol"] == "MNQH6"
    assert decision.body["order"]["asset"] == "NQ"


@pytest.mark.parametrize(("day", "symbol"), [((2026, 3, 11), "MESH6"), ((2026, 3, 12), "MESM6"),
                                             ((2026, 12, 9), "MESZ6"), ((2026, 12, 10), "MESH7")])
def test_entry_contract_is_the_front_month_of_the_new_york_date(day: tuple[int, int, int], symbol: str) -> None:
    from builders import ny
    now = ny(*day, 10, 0, 0)
    world = ready_to_enter(fresh_world(now), now)
    decision = place(world, now)
    assert decision.body["order"]["symbol"] == symbol
    assert decision.world.assets["ES"].rithmic_symbol == symbol


# ---- effects of a successful market entry (§5.1) ---------------------------------------------------------------

def test_successful_entry_creates_the_order_and_pending_fields() -> None:
    world = ready()
    decision = place(world, T0, trade_mode="runner")
    assert decision.status == 201
    assert decision.include_state is True
    order = decision.body["order"]
    assert decision.body["ok"] is True
    assert order["id"] == "ES-r-1"
    assert {k: order[k] for k in ("asset", "symbol", "exchange", "side", "qty", "status", "source", "mode", "kind",
                                  "env", "trade_mode", "createdAt", "filled_qty")} == {
        "asset": "ES", "symbol": "MESH6", "exchange": "CME", "side": "BUY", "qty": 5, "status": "PENDING",
        "source": "UI", "mode": "A", "kind": "ENTRY", "env": "DEMO", "trade_mode": "RUNNER", "createdAt": T0,
        "filled_qty": 0}
    a = decision.world.assets["ES"]
    assert (a.pending_order_id, a.pending_side, a.pending_qty, a.pending_mode, a.pending_kind,
            a.pending_trade_mode) == ("ES-r-1", "BUY", 5, "A", "ENTRY", "RUNNER")
    assert set(decision.world.orders) == {"ES-r-1"}
    assert world.orders == {} and world.assets["ES"].pending_order_id is None   # the input world is untouched


def test_successful_entry_sets_the_candle_lock_and_its_timer() -> None:
    decision = place(ready(), T0 + 42)
    assert decision.world.glob.five_min_trade_bucket == BUCKET
    timers = [t for t in decision.timers if t.kind == "candle_lock_end"]
    assert len(timers) == 1
    assert timers[0].at == T0 + 300
    assert timers[0].key == str(BUCKET)


def test_successful_entry_spends_the_tempo_token() -> None:
    decision = place(ready(), T0)
    assert decision.world.assets["ES"].tempo_spent_ts == T0


def test_successful_entry_resets_trade_management_fields() -> None:
    world = ready()
    a = world.assets["ES"]
    a.tp_count, a.tp_armed, a.tp_target = 4, True, 1
    a.points_tp_enabled, a.points_tp_target, a.rithmic_open_points, a.points_tp_hit_ts = True, 22.0, 3.0, 1.0
    a.protect_enabled, a.protect_threshold_points, a.protect_hit_ts = True, 0.5, 2.0
    a.main_flip_exit_enabled, a.exit_tf = True, "main"
    a.scale_in_available, a.scale_in_used, a.scale_in_stage = True, True, "READY_6PT"
    a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released = True, "green", True
    a.two_half_tp_lock_started_ts = a.two_half_tp_lock_released_ts = 5.0
    b = place(world, T0).world.assets["ES"]
    assert (b.tp_count, b.tp_armed, b.tp_target) == (0, False, 3)
    assert (b.points_tp_enabled, b.points_tp_target, b.rithmic_open_points, b.points_tp_hit_ts) == (False, 10.0, 0.0,
                                                                                                     None)
    assert (b.protect_enabled, b.protect_threshold_points, b.protect_hit_ts) == (False, -2.0, None)
    assert (b.main_flip_exit_enabled, b.exit_tf) == (False, "high")
    assert (b.scale_in_available, b.scale_in_used, b.scale_in_stage) == (False, False, None)
    assert (b.two_half_tp_lock_enabled, b.two_half_tp_lock_base_color, b.two_half_tp_lock_released) == (False, None,
                                                                                                         False)
    assert b.two_half_tp_lock_started_ts is None and b.two_half_tp_lock_released_ts is None


def test_successful_entry_does_not_consume_a_trade_slot_until_the_fill() -> None:
    decision = place(ready(), T0)
    assert decision.world.glob.trades_taken_today == 0
    filled = run(decision.world, ExecutionReport(order_id="ES-r-1", status="FILLED", fill_price=5000.0), T0 + 1)
    assert filled.world.glob.trades_taken_today == 1
    assert filled.world.assets["ES"].position == 5


def test_entry_env_is_the_global_env_upper_cased() -> None:
    world = run(ready(), SetEnv(env="live"), T0).world
    assert place(world, T0).body["order"]["env"] == "LIVE"


def test_entry_on_one_asset_candle_locks_the_other() -> None:
    world = ready_to_enter(ready(), T0, asset="NQ")
    first = place(world, T0)
    assert_refused(place(first.world, T0 + 1, asset="NQ"), 403, "CANDLE_LOCK_ACTIVE")


def test_entry_emits_order_created_and_lock_set() -> None:
    decision = place(ready(), T0)
    kinds = [(e.kind, e.code) for e in decision.events]
    assert ("order_created", "UI") in kinds
    assert ("lock_set", "CANDLE_LOCK_ACTIVE") in kinds


# ---- tempo token (§5.4) ----------------------------------------------------------------------------------------

def test_no_6pt_bar_ever_means_tempo_wait() -> None:
    world = ready()
    world.assets["ES"].main_renko_ts = None
    assert_refused(place(world, T0), 403, "TEMPO_WAIT", "Tempo token WAIT — need a new 6pt bar")


def _entered_filled_and_closed() -> World:
    """Entry at T0, filled at T0+1, force-exited at T0+2, exit filled at T0+3: flat, cooldown until T0+183."""
    world = place(ready(), T0).world
    world = run(world, ExecutionReport(order_id="ES-r-1", status="FILLED", fill_price=5000.0), T0 + 1).world
    world = run(world, ManualExit(asset="ES", force=True), T0 + 2, request_id="x").world
    world = run(world, ExecutionReport(order_id="ES-x-1", status="FILLED", fill_price=5001.0), T0 + 3).world
    assert world.assets["ES"].position == 0
    world.assets["ES"].last_heartbeat_ts = T0 + 350
    return world


def test_spent_token_waits_for_a_newer_6pt_bar() -> None:
    world = _entered_filled_and_closed()
    assert_refused(place(world, T0 + 400), 403, "TEMPO_WAIT")
    world = bar(world, "6pt", "green", T0 + 401).world
    assert place(world, T0 + 402).status == 201


def test_a_6pt_bar_at_the_spend_time_does_not_re_arm() -> None:
    world = _entered_filled_and_closed()
    world.assets["ES"].main_renko_ts = world.assets["ES"].tempo_spent_ts
    assert_refused(place(world, T0 + 400), 403, "TEMPO_WAIT")


@pytest.mark.parametrize("status", ["REJECTED", "CANCELLED"])
def test_rejected_or_cancelled_entry_re_arms_tempo_and_frees_the_candle(status: str) -> None:
    world = place(ready(), T0).world
    ended = run(world, ExecutionReport(order_id="ES-r-1", status=status), T0 + 5).world  # type: ignore[arg-type]
    assert ended.assets["ES"].tempo_spent_ts is None
    assert ended.glob.five_min_trade_bucket is None
    again = place(ended, T0 + 6)
    assert again.status == 201


def test_rejection_in_a_later_candle_re_arms_tempo_only() -> None:
    world = place(ready(), T0).world
    ended = run(world, ExecutionReport(order_id="ES-r-1", status="REJECTED"), T0 + 301).world
    assert ended.assets["ES"].tempo_spent_ts is None
    assert ended.glob.five_min_trade_bucket == BUCKET   # stale bucket; the gate ignores it (derived)
    assert place(ended, T0 + 302).status == 201


def test_operator_cancel_of_a_pending_entry_re_arms_tempo() -> None:
    world = place(ready(), T0).world
    cancelled = run(world, CancelOrder(order_id="ES-r-1"), T0 + 5)
    assert cancelled.status == 200
    assert cancelled.world.assets["ES"].tempo_spent_ts is None
    assert place(cancelled.world, T0 + 6).status == 201


def test_four_pt_re_arm_path_makes_the_token_ready() -> None:
    world = ready()
    a = world.assets["ES"]
    a.tempo_spent_ts = T0 - 10                 # spent after the last 6pt bar (T0 - 60)
    assert_refused(place(world, T0), 403, "TEMPO_WAIT")
    a.tempo_4pt_unlock_ts = T0 - 5
    assert place(world, T0).status == 201


def test_tempo_token_re_arms_while_a_trade_is_open() -> None:
    world = in_long_trade(fresh_world(), T0)
    world = bar(world, "6pt", "green", T0 + 10).world
    a = world.assets["ES"]
    assert a.main_renko_ts == T0 + 10 and a.tempo_spent_ts == T0 - 30
    assert_refused(place(world, T0 + 11), 403, "POSITION_OPEN")     # position, not tempo, is what blocks
