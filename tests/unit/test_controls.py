"""Operator controls: exits (§8.1, §8.2), scale-in ([MONO] §7.4), protect / points TP / take-profit / toggles
(§8.4–§8.9, §8.13, §8.14), env, risk settings (D5), trade-limit consume (§5.7) and cancel_order (D9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from builders import T0, assert_refused, fresh_world, in_long_trade, in_short_trade, ny, place, ready_to_enter, run

from shared.domain import World
from shared.domain.inputs import (
    CancelOrder,
    ConsumeTradeLimit,
    CreateIntent,
    ExecutionReport,
    ExitAll,
    ManualExit,
    PollPending,
    ScaleIn,
    SetEnv,
    SetPointsTakeProfit,
    SetProtect,
    SetRisk,
    SetTakeProfit,
    ToggleExit,
)

NOW = T0 + 5


def long_trade(**asset_fields: object) -> World:
    world = in_long_trade(fresh_world(), T0)
    for name, value in asset_fields.items():
        setattr(world.assets["ES"], name, value)
    return world


def flat() -> World:
    return ready_to_enter(fresh_world(), T0)


def with_pending(world: World) -> World:
    world.assets["ES"].pending_order_id = "ES-x-1"
    return world


# ==== manual exit (§8.1) ========================================================================================

def test_manual_exit_unknown_asset() -> None:
    assert_refused(run(flat(), ManualExit(asset="GC"), NOW), 400, "UNKNOWN_ASSET", "Unknown asset")


def test_manual_exit_flat() -> None:
    assert_refused(run(flat(), ManualExit(asset="ES"), NOW), 409, "NO_POSITION", "No open position")


def test_manual_exit_pending() -> None:
    assert_refused(run(with_pending(long_trade()), ManualExit(asset="ES", force=True), NOW), 409, "PENDING_ORDER",
                   "Pending order already exists")


def test_manual_exit_initial_lock_without_force() -> None:
    world = long_trade(initial_exit_lock_active=True, initial_exit_lock_released=False)
    assert_refused(run(world, ManualExit(asset="ES"), NOW), 409, "INITIAL_EXIT_LOCK_ACTIVE",
                   "INITIAL_EXIT_LOCK_ACTIVE — wait for fresh 6pt bar after entry")


def test_manual_exit_force_passes_the_initial_lock() -> None:
    world = long_trade(initial_exit_lock_active=True)
    decision = run(world, ManualExit(asset="ES", force=True), NOW)
    assert decision.status == 201
    assert set(decision.body) == {"ok", "order"}
    assert decision.include_state is False
    order = decision.body["order"]
    assert (order["side"], order["qty"], order["kind"], order["source"], order["symbol"], order["mode"],
            order["env"]) == ("SELL", 5, "EXIT", "MANUAL_EXIT_FORCE", "MESH6", "A", "DEMO")
    a = decision.world.assets["ES"]
    assert (a.pending_order_id, a.pending_kind, a.pending_side, a.pending_trade_mode) == (order["id"], "EXIT",
                                                                                          "SELL", None)
    assert a.position == 5                           # the position only changes on the fill


def test_manual_exit_released_lock_is_plain_manual_exit_and_short_buys_back() -> None:
    world = in_short_trade(fresh_world(), T0, qty=3)
    decision = run(world, ManualExit(asset="ES"), NOW)
    assert decision.body["order"]["source"] == "MANUAL_EXIT"
    assert (decision.body["order"]["side"], decision.body["order"]["qty"]) == ("BUY", 3)


def test_manual_exit_lock_released_by_a_fresh_6pt_bar_on_read() -> None:
    world = long_trade(initial_exit_lock_active=True)
    world.assets["ES"].main_renko_ts = world.assets["ES"].entry_main_renko_ts + 1   # type: ignore[operator]
    assert run(world, ManualExit(asset="ES"), NOW).status == 201


def test_manual_exit_is_not_gated_by_daily_stop_heartbeat_or_2_5pt_lock() -> None:
    world = long_trade(last_heartbeat_ts=None, two_half_renko_color="green")
    world.glob.daily_stop_triggered = world.glob.trade_lock = True
    world.glob.post_exit_lock_expires_ts = NOW + 100
    assert run(world, ManualExit(asset="ES"), NOW).status == 201


def test_manual_exit_uses_the_asset_env_and_the_current_contract_when_none_stored() -> None:
    world = long_trade(env="LIVE", rithmic_symbol=None)
    order = run(world, ManualExit(asset="ES"), NOW).body["order"]
    assert (order["env"], order["symbol"]) == ("LIVE", "MESH6")


# ==== exit-all (§8.2) ===========================================================================================

def test_exit_all_nothing_open_is_409_with_the_skipped_list() -> None:
    decision = run(flat(), ExitAll(), NOW)
    assert_refused(decision, 409, "NO_POSITIONS", "No open positions available to exit")
    assert decision.body["skipped"] == [{"asset": "ES", "reason": "no_open_position"},
                                        {"asset": "NQ", "reason": "no_open_position"}]


def test_exit_all_force_defaults_to_true() -> None:
    world = long_trade(initial_exit_lock_active=True)
    decision = run(world, ExitAll(), NOW)
    assert decision.status == 201
    [row] = decision.body["orders"]
    assert row == {"asset": "ES", "order_id": row["order_id"], "side": "SELL", "qty": 5}
    assert decision.world.orders[row["order_id"]].source == "MANUAL_EXIT_ALL_FORCE"
    assert decision.body["skipped"] == [{"asset": "NQ", "reason": "no_open_position"}]


def test_exit_all_without_force_skips_locked_assets() -> None:
    world = long_trade(initial_exit_lock_active=True)
    decision = run(world, ExitAll(force=False), NOW)
    assert_refused(decision, 409, "NO_POSITIONS")
    assert {"asset": "ES", "reason": "initial_exit_lock_active"} in decision.body["skipped"]


def test_exit_all_without_force_exits_unlocked_assets() -> None:
    world = in_short_trade(long_trade(), T0, asset="NQ", qty=3)
    world = with_pending(world)
    decision = run(world, ExitAll(force=False), NOW)
    assert decision.status == 201
    assert [(o["asset"], o["side"], o["qty"]) for o in decision.body["orders"]] == [("NQ", "BUY", 3)]
    assert decision.body["skipped"] == [{"asset": "ES", "reason": "pending_order_exists"}]
    assert decision.world.orders[decision.body["orders"][0]["order_id"]].source == "MANUAL_EXIT_ALL"


# ==== scale-in ([MONO] §7.4) ====================================================================================

def scale_ready() -> World:
    return long_trade(scale_in_available=True, scale_in_stage="READY_6PT", last_heartbeat_ts=NOW - 30)


def _s_daily_stop(w: World) -> None:
    w.glob.daily_stop_triggered = True


def _s_trade_lock(w: World) -> None:
    w.glob.trade_lock = True


def _s_flat(w: World) -> None:
    w.assets["ES"].position = 0


def _s_pending(w: World) -> None:
    w.assets["ES"].pending_order_id = "ES-x-1"


def _s_used(w: World) -> None:
    w.assets["ES"].scale_in_used = True


def _s_not_available(w: World) -> None:
    w.assets["ES"].scale_in_available = False


def _s_heartbeat(w: World) -> None:
    w.assets["ES"].last_heartbeat_ts = NOW - 601


SCALE_CHECKS: list[tuple[Callable[[World], None], int, str, str]] = [
    (_s_daily_stop, 403, "DAILY_STOP", "Daily stop TRIGGERED — scale-in blocked"),
    (_s_trade_lock, 403, "TRADE_LOCK", "Global trade lock active"),
    (_s_flat, 409, "NO_POSITION", "No open position to scale into"),
    (_s_pending, 409, "PENDING_ORDER", "Pending order already exists"),
    (_s_used, 409, "SCALE_IN_USED", "Scale-in already used for this trade"),
    (_s_not_available, 403, "SCALE_IN_NOT_AVAILABLE", "Scale-in not available yet"),
    (_s_heartbeat, 403, "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot scale in"),
]


@pytest.mark.parametrize("start", range(len(SCALE_CHECKS)))
def test_scale_in_checks_in_order(start: int) -> None:
    world = scale_ready()
    for breaker, *_ in SCALE_CHECKS[start:]:
        breaker(world)
    _, status, code, text = SCALE_CHECKS[start]
    assert_refused(run(world, ScaleIn(asset="ES"), NOW), status, code, text)


@pytest.mark.parametrize("index", range(len(SCALE_CHECKS)))
def test_each_scale_in_check_blocks_alone(index: int) -> None:
    world = scale_ready()
    breaker, status, code, text = SCALE_CHECKS[index]
    breaker(world)
    assert_refused(run(world, ScaleIn(asset="ES"), NOW), status, code, text)


def test_scale_in_unknown_asset() -> None:
    assert_refused(run(scale_ready(), ScaleIn(asset="RTY"), NOW), 400, "UNKNOWN_ASSET", "Unknown asset")


def test_scale_in_heartbeat_at_600_seconds_passes() -> None:
    world = scale_ready()
    world.assets["ES"].last_heartbeat_ts = NOW - 600
    assert run(world, ScaleIn(asset="ES"), NOW).status == 201


def test_scale_in_creates_a_5_lot_in_the_trade_direction() -> None:
    decision = run(scale_ready(), ScaleIn(asset="ES"), NOW)
    assert decision.status == 201
    assert decision.include_state is True
    assert decision.body["asset"] == "ES"
    order = decision.body["order"]
    assert (order["side"], order["qty"], order["kind"], order["source"], order["mode"], order["trade_mode"],
            order["symbol"], order["env"]) == ("BUY", 5, "ENTRY", "SCALE_IN", "A", "SCALP", "MESH6", "DEMO")
    a = decision.world.assets["ES"]
    assert (a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts) == (False, True, None, NOW)
    assert (a.pending_order_id, a.pending_trade_mode) == (order["id"], "SCALP")
    assert a.tempo_spent_ts == T0 - 30                           # not spent by a scale-in
    assert decision.world.glob.five_min_trade_bucket is None     # no candle lock for a scale-in


def test_scale_in_short_sells() -> None:
    world = in_short_trade(fresh_world(), T0)
    world.assets["ES"].scale_in_available = True
    assert run(world, ScaleIn(asset="ES"), NOW).body["order"]["side"] == "SELL"


def test_scale_in_ignores_cooldown_candle_lock_tempo_and_trade_limit() -> None:
    world = scale_ready()
    world.glob.post_exit_lock_expires_ts = NOW + 100
    world.glob.five_min_trade_bucket = int(NOW // 300)
    world.glob.trades_taken_today = 6
    assert run(world, ScaleIn(asset="ES"), NOW).status == 201


def test_rejected_scale_in_is_given_back() -> None:
    decision = run(scale_ready(), ScaleIn(asset="ES"), NOW)
    order_id = decision.body["order"]["id"]
    back = run(decision.world, ExecutionReport(order_id=order_id, status="REJECTED"), NOW + 1).world.assets["ES"]
    assert (back.scale_in_available, back.scale_in_used, back.scale_in_stage) == (True, False, "READY_6PT")
    assert back.pending_order_id is None


# ==== protect (§8.5) ============================================================================================

def unlocked_long(points: float = 0.0) -> World:
    """A long whose 2.5pt is red (management lock released) with `points` open points."""
    return long_trade(two_half_renko_color="red", rithmic_open_points=points)


def test_protect_unknown_flat_pending() -> None:
    assert_refused(run(flat(), SetProtect(asset="GC"), NOW), 400, "UNKNOWN_ASSET", "Unknown asset")
    assert_refused(run(flat(), SetProtect(asset="ES"), NOW), 409, "NO_POSITION", "No open position")
    assert_refused(run(with_pending(unlocked_long()), SetProtect(asset="ES"), NOW), 409, "PENDING_ORDER",
                   "Pending order already exists")


def test_protect_position_is_checked_before_the_threshold() -> None:
    assert_refused(run(flat(), SetProtect(asset="ES", threshold="abc"), NOW), 409, "NO_POSITION")


@pytest.mark.parametrize("raw", ["abc", "nan", float("inf"), [1]])
def test_protect_unparsable_threshold(raw: object) -> None:
    assert_refused(run(unlocked_long(), SetProtect(asset="ES", threshold=raw), NOW), 400, "INVALID_THRESHOLD",
                   "Invalid protect threshold")


@pytest.mark.parametrize("raw", [1.0, -1.0, 0, "0.4", -2.5])
def test_protect_threshold_must_be_minus_2_or_half(raw: object) -> None:
    assert_refused(run(unlocked_long(), SetProtect(asset="ES", threshold=raw), NOW), 400, "INVALID_THRESHOLD",
                   "Protect threshold must be either -2.0 or 0.5 points")


@pytest.mark.parametrize(("raw", "value"), [(-2, -2.0), ("0.5", 0.5), (0.5, 0.5), ("-2.0", -2.0)])
def test_protect_accepted_thresholds(raw: object, value: float) -> None:
    decision = run(unlocked_long(), SetProtect(asset="ES", enabled=True, threshold=raw), NOW)
    assert decision.status == 200
    assert decision.body["protect_threshold_points"] == value
    assert decision.include_state is True


def test_protect_toggles_when_enabled_is_absent_and_keeps_the_threshold() -> None:
    world = unlocked_long(1.0)                                # above +0.5: nothing fires
    world.assets["ES"].protect_threshold_points = 0.5
    on = run(world, SetProtect(asset="ES"), NOW)
    assert on.world.assets["ES"].pending_order_id is None
    assert (on.body["protect_enabled"], on.body["protect_threshold_points"]) == (True, 0.5)
    off = run(on.world, SetProtect(asset="ES"), NOW)
    assert off.body["protect_enabled"] is False
    explicit = run(on.world, SetProtect(asset="ES", enabled=True), NOW)
    assert explicit.body["protect_enabled"] is True


@pytest.mark.parametrize(("points", "fires"), [(-2.0, True), (-3.5, True), (-1.99, False)])
def test_protect_fires_at_once_when_points_at_or_below_threshold(points: float, fires: bool) -> None:
    decision = run(unlocked_long(points), SetProtect(asset="ES", enabled=True, threshold=-2.0), NOW)
    a = decision.world.assets["ES"]
    if fires:
        order = decision.world.orders[a.pending_order_id]  # type: ignore[index]
        assert (order.source, order.kind, order.side) == ("PROTECT", "EXIT", "SELL")
        assert decision.body["pending_order_id"] == order.id
        assert a.protect_hit_ts == NOW
    else:
        assert a.pending_order_id is None and decision.body["pending_order_id"] is None


def test_protect_is_dormant_while_the_2_5pt_lock_is_on() -> None:
    world = long_trade(two_half_renko_color="green", rithmic_open_points=-5.0)
    decision = run(world, SetProtect(asset="ES", enabled=True), NOW)
    assert decision.status == 200                             # the endpoint does not check the lock
    assert decision.world.assets["ES"].pending_order_id is None


# ==== points take-profit (§8.4) =================================================================================

def test_points_tp_unknown_and_flat() -> None:
    assert_refused(run(flat(), SetPointsTakeProfit(asset="ZZ"), NOW), 400, "UNKNOWN_ASSET", "Unknown asset")
    assert_refused(run(flat(), SetPointsTakeProfit(asset="ES", target=5), NOW), 409, "NO_POSITION",
                   "No open position")


def test_points_tp_target_change_is_423_while_the_2_5pt_lock_is_on() -> None:
    world = long_trade(two_half_renko_color="green")
    assert_refused(run(world, SetPointsTakeProfit(asset="ES", target=5), NOW), 423, "TWO_HALF_LOCK",
                   "TP target changes locked until 2.5pt management unlocks")
    assert_refused(run(world, SetPointsTakeProfit(asset="ES", target="junk"), NOW), 423, "TWO_HALF_LOCK")


def test_points_tp_toggle_alone_is_allowed_while_locked() -> None:
    decision = run(long_trade(two_half_renko_color="neutral"), SetPointsTakeProfit(asset="ES", enabled=True), NOW)
    assert decision.status == 200
    assert decision.body["points_tp_enabled"] is True


@pytest.mark.parametrize(("raw", "text"), [
    ("ten", "Invalid target"), ("inf", "Invalid target"),
    (0, "Target must be between 0 and 200 points"), (-1, "Target must be between 0 and 200 points"),
    (200.01, "Target must be between 0 and 200 points"),
])
def test_points_tp_target_validation(raw: object, text: str) -> None:
    assert_refused(run(unlocked_long(), SetPointsTakeProfit(asset="ES", target=raw), NOW), 400, "INVALID_TARGET",
                   text)


@pytest.mark.parametrize("raw", [0.25, 200, "12.5"])
def test_points_tp_target_accepted(raw: object) -> None:
    decision = run(unlocked_long(), SetPointsTakeProfit(asset="ES", target=raw), NOW)
    assert decision.status == 200
    assert decision.body["points_tp_target"] == float(raw)  # type: ignore[arg-type]


def test_points_tp_enabled_absent_keeps_the_current_value() -> None:
    world = unlocked_long()
    world.assets["ES"].points_tp_enabled = True
    assert run(world, SetPointsTakeProfit(asset="ES", target=20), NOW).body["points_tp_enabled"] is True


@pytest.mark.parametrize(("points", "fires"), [(5.0, True), (4.99, False)])
def test_points_tp_fires_at_once_when_open_points_reach_the_target(points: float, fires: bool) -> None:
    decision = run(unlocked_long(points), SetPointsTakeProfit(asset="ES", enabled=True, target=5), NOW)
    a = decision.world.assets["ES"]
    if fires:
        assert decision.world.orders[a.pending_order_id].source == "TAKE_PROFIT_POINTS"  # type: ignore[index]
        assert a.points_tp_hit_ts == NOW
    else:
        assert a.pending_order_id is None


def test_points_tp_has_no_pending_check() -> None:
    decision = run(with_pending(unlocked_long(50.0)), SetPointsTakeProfit(asset="ES", enabled=True), NOW)
    assert decision.status == 200
    assert decision.body["pending_order_id"] == "ES-x-1"
    assert decision.world.orders == {}


# ==== signal-count take-profit "6PT NEXT" (§8.6) ================================================================

def test_take_profit_unknown_and_flat() -> None:
    assert_refused(run(flat(), SetTakeProfit(asset="NOPE", tp_arm="toggle"), NOW), 400, "UNKNOWN_ASSET")
    assert_refused(run(flat(), SetTakeProfit(asset="ES", tp_arm="toggle"), NOW), 409, "NO_POSITION",
                   "No open position")


def test_take_profit_toggle_on_sets_target_1_and_off_keeps_it() -> None:
    world = long_trade(tp_count=2, tp_target=3)
    on = run(world, SetTakeProfit(asset="ES", tp_arm="toggle"), NOW)
    assert on.body == {"ok": True, "asset": "ES", "tp_armed": True, "tp_target": 1, "tp_count": 0}
    on.world.assets["ES"].tp_count = 1
    off = run(on.world, SetTakeProfit(asset="ES", tp_arm="toggle"), NOW)
    assert off.body == {"ok": True, "asset": "ES", "tp_armed": False, "tp_target": 1, "tp_count": 0}


def test_take_profit_toggle_on_is_423_after_a_fresh_6pt_bar_unless_2_5pt_is_opposite() -> None:
    world = long_trade(two_half_renko_color="green")
    world.assets["ES"].main_renko_ts = T0 + 1          # a 6pt bar after the entry snapshot (T0 - 60)
    assert_refused(run(world, SetTakeProfit(asset="ES", tp_arm="toggle"), NOW), 423, "TWO_HALF_LOCK",
                   "6pt next-bar exit locked until 2.5pt management unlocks")
    world.assets["ES"].two_half_renko_color = "red"
    assert run(world, SetTakeProfit(asset="ES", tp_arm="toggle"), NOW).body["tp_armed"] is True


def test_take_profit_toggle_off_is_always_allowed() -> None:
    world = long_trade(two_half_renko_color="green", tp_armed=True)
    world.assets["ES"].main_renko_ts = T0 + 1
    assert run(world, SetTakeProfit(asset="ES", tp_arm="toggle"), NOW).body["tp_armed"] is False


@pytest.mark.parametrize(("raw", "text"), [
    (None, "No tp_arm or tp_target provided"), ("abc", "Invalid value"), ("2.5", "Invalid value"),
    (0, "TP target must be between 1 and 50"), (51, "TP target must be between 1 and 50"),
])
def test_take_profit_target_validation(raw: object, text: str) -> None:
    assert_refused(run(long_trade(), SetTakeProfit(asset="ES", tp_target=raw), NOW), 400, "INVALID_TARGET", text)


@pytest.mark.parametrize(("raw", "value"), [(1, 1), (50, 50), ("7", 7)])
def test_take_profit_target_sets_without_arming(raw: object, value: int) -> None:
    decision = run(long_trade(tp_count=2), SetTakeProfit(asset="ES", tp_target=raw), NOW)
    assert decision.body == {"ok": True, "asset": "ES", "tp_armed": False, "tp_target": value, "tp_count": 2}


def test_take_profit_target_reset_zeroes_the_count() -> None:
    decision = run(long_trade(tp_count=2), SetTakeProfit(asset="ES", tp_target=4, reset=True), NOW)
    assert decision.body["tp_count"] == 0


def test_take_profit_target_path_ignores_the_2_5pt_lock() -> None:
    world = long_trade(two_half_renko_color="green")
    world.assets["ES"].main_renko_ts = T0 + 1
    assert run(world, SetTakeProfit(asset="ES", tp_target=2), NOW).status == 200


# ==== toggles (§8.8, §8.9, §8.13, §8.14) =======================================================================

@pytest.mark.parametrize("toggle", ["high_next_bar", "four_pt", "auto_exit"])
def test_toggle_unknown_asset(toggle: str) -> None:
    assert_refused(run(flat(), ToggleExit(asset="GC", toggle=toggle), NOW), 400, "UNKNOWN_ASSET",  # type: ignore[arg-type]
                   "Unknown asset")


def test_main_flip_unknown_asset_names_it() -> None:
    assert_refused(run(flat(), ToggleExit(asset="GC", toggle="main_flip"), NOW), 400, "UNKNOWN_ASSET",
                   "Unknown asset GC")


@pytest.mark.parametrize("toggle", ["high_next_bar", "four_pt", "auto_exit", "main_flip"])
def test_toggle_flat_is_409(toggle: str) -> None:
    assert_refused(run(flat(), ToggleExit(asset="ES", toggle=toggle), NOW), 409, "NO_POSITION",  # type: ignore[arg-type]
                   "No open position")


def test_four_pt_toggle_flips_and_has_no_pending_check() -> None:
    on = run(with_pending(long_trade()), ToggleExit(asset="ES", toggle="four_pt"), NOW)
    assert on.body == {"ok": True, "asset": "ES", "four_pt_invalidation_enabled": True}
    off = run(on.world, ToggleExit(asset="ES", toggle="four_pt"), NOW)
    assert off.body["four_pt_invalidation_enabled"] is False
    assert on.include_state is False


def test_four_pt_enabling_while_4pt_is_opposite_does_not_exit() -> None:
    decision = run(long_trade(renko_color="red"), ToggleExit(asset="ES", toggle="four_pt"), NOW)
    assert decision.world.orders == {}


def test_auto_exit_is_a_no_op_returning_6pt() -> None:
    decision = run(long_trade(auto_exit_renko="8pt"), ToggleExit(asset="ES", toggle="auto_exit"), NOW)
    assert decision.body == {"ok": True, "asset": "ES", "auto_exit_renko": "6pt"}
    assert decision.world.assets["ES"].auto_exit_renko == "6pt"


def test_main_flip_toggle() -> None:
    on = run(long_trade(), ToggleExit(asset="ES", toggle="main_flip"), NOW)
    assert on.body == {"ok": True, "asset": "ES", "main_flip_exit_enabled": True}
    assert on.include_state is True
    assert run(on.world, ToggleExit(asset="ES", toggle="main_flip"), NOW).body["main_flip_exit_enabled"] is False


def test_main_flip_pending_text() -> None:
    assert_refused(run(with_pending(long_trade()), ToggleExit(asset="ES", toggle="main_flip"), NOW), 409,
                   "PENDING_ORDER", "Cannot change exit toggle while order is pending")


def test_high_next_bar_pending() -> None:
    assert_refused(run(with_pending(long_trade()), ToggleExit(asset="ES", toggle="high_next_bar"), NOW), 409,
                   "PENDING_ORDER", "Pending order already exists")


def test_high_next_bar_on_takes_the_current_8pt_time_as_base_and_off_clears() -> None:
    world = long_trade()
    on = run(world, ToggleExit(asset="ES", toggle="high_next_bar"), NOW)
    assert on.status == 200 and on.include_state is True
    assert on.body["high_next_bar_exit_enabled"] is True
    assert on.body["high_next_bar_exit_base_ts"] == T0 - 120
    assert on.body["high_next_bar_exit_allowed"] is True
    assert on.world.assets["ES"].high_next_bar_exit_started_ts == NOW
    off = run(on.world, ToggleExit(asset="ES", toggle="high_next_bar"), NOW + 1)
    b = off.world.assets["ES"]
    assert (b.high_next_bar_exit_enabled, b.high_next_bar_exit_started_ts, b.high_next_bar_exit_base_ts) == (
        False, None, None)


def test_high_next_bar_on_is_423_after_a_fresh_8pt_bar_unless_2_5pt_opposite() -> None:
    world = long_trade(two_half_renko_color="neutral")
    world.assets["ES"].high_renko_ts = T0 + 1
    assert_refused(run(world, ToggleExit(asset="ES", toggle="high_next_bar"), NOW), 423, "TWO_HALF_LOCK",
                   "8pt next-bar exit locked until 2.5pt management unlocks")
    world.assets["ES"].two_half_renko_color = "red"
    assert run(world, ToggleExit(asset="ES", toggle="high_next_bar"), NOW).status == 200
    world = in_short_trade(fresh_world(), T0)
    world.assets["ES"].high_renko_ts = T0 + 1
    world.assets["ES"].two_half_renko_color = "green"                # opposite of a short
    assert run(world, ToggleExit(asset="ES", toggle="high_next_bar"), NOW).status == 200


def test_high_next_bar_off_is_always_allowed() -> None:
    world = long_trade(high_next_bar_exit_enabled=True, high_next_bar_exit_base_ts=T0 - 120)
    world.assets["ES"].high_renko_ts = T0 + 1
    assert run(world, ToggleExit(asset="ES", toggle="high_next_bar"), NOW).body["high_next_bar_exit_enabled"] is False


# ==== env (§8.14) ===============================================================================================

@pytest.mark.parametrize(("raw", "env", "message"), [
    ("demo", "DEMO", "Demo mode enabled. All trades are simulated."),
    (" Live ", "LIVE", "Rithmic connection OK (handled by C# bridge)."),
])
def test_set_env(raw: str, env: str, message: str) -> None:
    decision = run(long_trade(), SetEnv(env=raw), NOW)
    assert decision.body == {"ok": True, "env": env, "rithmic_connected": False, "message": message}
    assert decision.world.glob.env == env


@pytest.mark.parametrize("raw", ["paper", "", "DEMO1"])
def test_set_env_invalid(raw: str) -> None:
    assert_refused(run(flat(), SetEnv(env=raw), NOW), 400, "INVALID_ENV", "Invalid env value")


@pytest.mark.parametrize(("age", "connected"), [(60, True), (61, False)])
def test_set_env_reports_rithmic_connectivity_within_60_seconds(age: float, connected: bool) -> None:
    world = flat()
    world.glob.rithmic_last_ts = NOW - age
    assert run(world, SetEnv(env="LIVE"), NOW).body["rithmic_connected"] is connected


# ==== risk settings (D5, D4) ====================================================================================

def test_risk_tightening_applies_now() -> None:
    decision = run(flat(), SetRisk(max_trades_per_day=3, daily_stop_limit_pct=20.0), NOW)
    g = decision.world.glob
    assert (g.max_trades_per_day, g.daily_stop_limit_pct, g.pending_risk) == (3, 20.0, {})
    body = {k: v for k, v in decision.body.items() if k not in DOLLAR_VIEW + DISCIPLINE_VIEW}
    assert body == {"ok": True, "max_trades_per_day": 3, "daily_stop_enabled": True,
                    "daily_stop_limit_pct": 20.0, "pending": {}, "pending_effective_trading_day": None,
                    "trades_remaining_today": 3}
    assert {k: decision.body[k] for k in DISCIPLINE_VIEW if k != "loss_streak"} == {
        "loss_streak_limit": None, "loss_streak_lock_minutes": 30, "trading_hours": {}}
    assert {k: decision.body[k] for k in DOLLAR_VIEW if k != "money"} == {
        "daily_loss_limit_usd": None, "trailing_drawdown_usd": None, "trailing_mode": "intraday",
        "trailing_stops_at_usd": None, "max_loss_per_trade_usd": None, "warn_at_pct": 80.0,
        "protective_stop_points": {"ES": 10.0, "NQ": 40.0}, "require_protective_stop": False,
        "flatten_if_unprotected": False, "max_price_age_s": 600.0, "price_age_limit_s": 600.0}


DOLLAR_VIEW = ("daily_loss_limit_usd", "trailing_drawdown_usd", "trailing_mode", "trailing_stops_at_usd",
               "max_loss_per_trade_usd", "warn_at_pct", "protective_stop_points", "money", "require_protective_stop",
               "flatten_if_unprotected", "max_price_age_s", "price_age_limit_s")
DISCIPLINE_VIEW = ("loss_streak_limit", "loss_streak_lock_minutes", "loss_streak", "trading_hours")


def test_risk_loosening_waits_for_the_next_trading_day() -> None:
    decision = run(flat(), SetRisk(max_trades_per_day=10, daily_stop_limit_pct=40.0, daily_stop_enabled=False), NOW)
    g = decision.world.glob
    assert (g.max_trades_per_day, g.daily_stop_limit_pct, g.daily_stop_enabled) == (6, 30.0, True)
    assert g.pending_risk == {"max_trades_per_day": 10, "daily_stop_limit_pct": 40.0, "daily_stop_enabled": False}
    assert decision.body["pending_effective_trading_day"] == "next"


@pytest.mark.parametrize(("when", "applied"), [((17, 59, 59), False), ((18, 0, 0), True)])
def test_pending_risk_applies_at_18_00_new_york(when: tuple[int, int, int], applied: bool) -> None:
    world = run(flat(), SetRisk(max_trades_per_day=10, daily_stop_enabled=False), NOW).world
    later = run(world, ConsumeTradeLimit(), ny(2026, 1, 13, *when)).world
    g = later.glob
    assert (g.max_trades_per_day == 10) is applied
    assert (g.daily_stop_enabled is False) is applied
    assert (g.pending_risk == {}) is applied


def test_enabling_the_daily_stop_is_a_tightening() -> None:
    world = flat()
    world.glob.daily_stop_enabled = False
    assert run(world, SetRisk(daily_stop_enabled=True), NOW).world.glob.daily_stop_enabled is True


def test_risk_tightening_cancels_a_pending_loosening_of_the_same_setting() -> None:
    world = run(flat(), SetRisk(max_trades_per_day=10), NOW).world
    decision = run(world, SetRisk(max_trades_per_day=4), NOW)
    assert (decision.world.glob.max_trades_per_day, decision.world.glob.pending_risk) == (4, {})


def test_risk_setting_the_current_value_drops_a_pending_change() -> None:
    world = run(flat(), SetRisk(daily_stop_limit_pct=50.0), NOW).world
    assert run(world, SetRisk(daily_stop_limit_pct=30.0), NOW).world.glob.pending_risk == {}


@pytest.mark.parametrize(("fields", "text"), [
    ({"max_trades_per_day": 0}, "max_trades_per_day must be between 1 and 100"),
    ({"max_trades_per_day": 101}, "max_trades_per_day must be between 1 and 100"),
    ({"daily_stop_limit_pct": 0.0}, "daily_stop_limit_pct must be greater than 0 and at most 100"),
    ({"daily_stop_limit_pct": 100.5}, "daily_stop_limit_pct must be greater than 0 and at most 100"),
    ({"daily_stop_limit_pct": float("nan")}, "daily_stop_limit_pct must be greater than 0 and at most 100"),
])
def test_risk_validation(fields: dict[str, object], text: str) -> None:
    assert_refused(run(flat(), SetRisk(**fields), NOW), 400, "INVALID_RISK", text)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "ok"), [({"max_trades_per_day": 1}, True), ({"max_trades_per_day": 100}, True),
                                            ({"daily_stop_limit_pct": 100.0}, True)])
def test_risk_bounds_accepted(fields: dict[str, object], ok: bool) -> None:
    assert run(flat(), SetRisk(**fields), NOW).ok is ok  # type: ignore[arg-type]


# ==== the price's age (issue 21): max_price_age_s tightens the heartbeat gate, never loosens it past 600 s ====

def test_a_shorter_max_price_age_applies_now_and_refuses_an_older_price() -> None:
    world = flat()
    world.assets["ES"].last_heartbeat_ts = NOW - 90
    assert place(world, NOW).status == 201                       # 90 s is fresh under the spec's 600 s
    decision = run(world, SetRisk(max_price_age_s=60.0), NOW)
    assert (decision.world.glob.max_price_age_s, decision.body["price_age_limit_s"]) == (60.0, 60.0)
    assert_refused(place(decision.world, NOW), 403, "HEARTBEAT_STALE", "Heartbeat stale or missing – cannot trade")
    assert_refused(run(decision.world, CreateIntent(asset="ES", direction="BUY"), NOW), 403, "HEARTBEAT_STALE",
                   "Heartbeat stale or missing – cannot set intent")


def test_a_longer_max_price_age_waits_for_the_next_trading_day() -> None:
    world = run(flat(), SetRisk(max_price_age_s=60.0), NOW).world
    decision = run(world, SetRisk(max_price_age_s=300.0), NOW)
    assert decision.world.glob.max_price_age_s == 60.0
    assert decision.world.glob.pending_risk == {"max_price_age_s": 300.0}
    later = run(decision.world, ConsumeTradeLimit(), ny(2026, 1, 13, 18, 0, 0)).world
    assert later.glob.max_price_age_s == 300.0


@pytest.mark.parametrize(("seconds", "ok"), [(29.9, False), (30.0, True), (600.0, True), (600.5, False),
                                             (float("nan"), False)])
def test_max_price_age_bounds(seconds: float, ok: bool) -> None:
    decision = run(flat(), SetRisk(max_price_age_s=seconds), NOW)
    if ok:
        assert decision.ok
    else:
        assert_refused(decision, 400, "INVALID_RISK", "max_price_age_s: expected seconds between 30 and 600")


def test_lowering_the_limit_below_the_trades_taken_blocks_entries_now() -> None:
    world = flat()
    world.glob.trades_taken_today = 4
    world = run(world, SetRisk(max_trades_per_day=3), NOW).world
    assert_refused(place(world, NOW), 409, "DAILY_TRADE_LIMIT", "Daily trade limit reached")


# ==== trade-limit consume (§5.7) ================================================================================

def test_consume_trade_limit() -> None:
    decision = run(flat(), ConsumeTradeLimit(), NOW)
    assert decision.body == {"ok": True, "max_trades_per_day": 6, "trades_taken_today": 1,
                             "trades_remaining_today": 5, "daily_trade_limit_date": "2026-01-13"}


def test_consume_trade_limit_at_zero_remaining() -> None:
    world = flat()
    world.glob.trades_taken_today = 6
    assert_refused(run(world, ConsumeTradeLimit(), NOW), 409, "DAILY_TRADE_LIMIT", "Daily trade limit already reached")


# ==== cancel_order (D9) =========================================================================================

def entered() -> World:
    decision = place(ready_to_enter(fresh_world(), T0), T0)
    assert decision.body["order"]["id"] == "ES-r-1"
    return decision.world


def test_cancel_unknown_order() -> None:
    assert_refused(run(flat(), CancelOrder(order_id="nope"), NOW), 404, "UNKNOWN_ORDER", "Unknown order")


def test_cancel_pending_entry() -> None:
    decision = run(entered(), CancelOrder(order_id="ES-r-1"), NOW)
    assert decision.status == 200
    assert decision.body["order"]["status"] == "CANCELLED"
    a = decision.world.assets["ES"]
    assert a.pending_order_id is None and a.tempo_spent_ts is None
    assert decision.world.glob.five_min_trade_bucket is None
    assert ("order_cancelled", "CANCELLED_BY_OPERATOR") in [(e.kind, e.code) for e in decision.events]


@pytest.mark.parametrize(("at", "status"), [(T0 + 200, 409), (T0 + 201, 200)])
def test_claimed_order_is_cancellable_only_once_stale(at: float, status: int) -> None:
    world = run(entered(), PollPending(), T0 + 1).world            # lease until T0 + 201
    decision = run(world, CancelOrder(order_id="ES-r-1"), at)
    assert decision.status == status
    if status == 409:
        assert_refused(decision, 409, "ORDER_NOT_CANCELLABLE",
                       "Order is CLAIMED; only PENDING or STALE orders can be cancelled")
    else:
        assert decision.world.orders["ES-r-1"].status == "CANCELLED"
        assert decision.world.assets["ES"].pending_order_id is None


@pytest.mark.parametrize(("report", "state"), [("FILLED", "FILLED"), ("REJECTED", "REJECTED")])
def test_terminal_orders_are_not_cancellable(report: str, state: str) -> None:
    world = run(entered(), ExecutionReport(order_id="ES-r-1", status=report, fill_price=5000.0),  # type: ignore[arg-type]
                T0 + 1).world
    assert_refused(run(world, CancelOrder(order_id="ES-r-1"), NOW), 409, "ORDER_NOT_CANCELLABLE",
                   f"Order is {state}; only PENDING or STALE orders can be cancelled")


@pytest.mark.parametrize("report", ["WORKING", "PARTIALLY_FILLED"])
def test_an_order_live_at_the_broker_is_never_cancelled_locally(report: str) -> None:
    """Issue 7: an order the bridge reported is live at the broker however old; a local cancel is refused (409)."""
    world = run(entered(), ExecutionReport(order_id="ES-r-1", status=report, qty=1, fill_id="F1",  # type: ignore[arg-type]
                                           fill_price=5000.0),
                T0 + 1).world
    assert world.orders["ES-r-1"].status == report
    assert_refused(run(world, CancelOrder(order_id="ES-r-1"), T0 + 10_000), 409, "ORDER_LIVE_AT_BROKER",
                   f"Order is {report} at the broker (the bridge reported it): cancel it at the broker; only "
                   "PENDING or STALE orders can be cancelled here")


def test_cancel_pending_exit_keeps_the_position_and_the_tempo() -> None:
    world = run(long_trade(), ManualExit(asset="ES"), NOW, request_id="x").world
    decision = run(world, CancelOrder(order_id="ES-x-1"), NOW + 1)
    a = decision.world.assets["ES"]
    assert (a.position, a.pending_order_id, a.tempo_spent_ts) == (5, None, T0 - 30)


def test_a_fill_reported_after_a_stale_order_was_cancelled_is_applied() -> None:
    """The cancel of a STALE order rests on missing evidence; a later fill is evidence and opens the trade."""
    world = run(entered(), PollPending(), T0 + 1).world
    world = run(world, CancelOrder(order_id="ES-r-1"), T0 + 300).world
    assert world.orders["ES-r-1"].status == "CANCELLED"
    decision = run(world, ExecutionReport(order_id="ES-r-1", status="FILLED", fill_price=5001.0), T0 + 310)
    assert decision.status == 200
    assert decision.world.orders["ES-r-1"].status == "FILLED"
    assert decision.world.assets["ES"].position == 5
    assert ("late_fill", "LATE_FILL") in [(e.kind, e.code) for e in decision.events]


def test_a_late_partial_fill_of_a_cancelled_stale_order_leaves_the_rest_working() -> None:
    """The operator's cancel of a STALE order was not the broker's word: the rest may still be working there."""
    world = run(entered(), PollPending(), T0 + 1).world
    world = run(world, CancelOrder(order_id="ES-r-1"), T0 + 300).world
    decision = run(world, ExecutionReport(order_id="ES-r-1", status="PARTIALLY_FILLED", cum_qty=2,
                                          fill_price=5001.0), T0 + 310)
    assert decision.world.orders["ES-r-1"].status == "PARTIALLY_FILLED"
    assert decision.world.assets["ES"].position == 2


def test_a_fill_after_a_pending_order_was_cancelled_is_applied() -> None:
    """D19 (it replaces "a PENDING order was never handed out, so its fill cannot be genuine"): whatever the order's
    state, a reported fill is the broker's fact; ignoring it would leave a position nothing manages."""
    world = run(entered(), CancelOrder(order_id="ES-r-1"), NOW).world
    decision = run(world, ExecutionReport(order_id="ES-r-1", status="FILLED", fill_price=5001.0), NOW + 1)
    assert decision.status == 200 and decision.world.assets["ES"].position == 5
    assert ("late_fill", "LATE_FILL") in [(e.kind, e.code) for e in decision.events]
