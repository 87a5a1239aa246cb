"""GET /api/state (§3.6): flags derived from stored timestamps and `now`, never from polling."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from builders import CONFIG, T0, fresh_world, in_long_trade, in_short_trade, ny, place, ready_to_enter

from shared.domain import World
from shared.domain.view import state_view


def view(world: World, now: float = T0) -> dict[str, Any]:
    return state_view(world, now, CONFIG)


def es(world: World, now: float = T0) -> dict[str, Any]:
    return view(world, now)["assets"]["ES"]


def glob(world: World, now: float = T0) -> dict[str, Any]:
    return view(world, now)["global"]


# ---- tempo token ------------------------------------------------------------------------------------------------

def test_tempo_not_ready_before_any_6pt_bar() -> None:
    shown = es(fresh_world())
    assert (shown["tempo_ready"], shown["tempo_age_s"], shown["tempo_ts"]) == (False, None, None)


def test_tempo_ready_when_never_spent() -> None:
    shown = es(ready_to_enter(fresh_world(), T0))
    assert shown["tempo_ready"] is True
    assert shown["tempo_age_s"] == 60
    assert (shown["tempo_ts"], shown["tempo_last_bar_ts"], shown["tempo_color"]) == (T0 - 60, T0 - 60, "green")


def test_tempo_spent_then_re_armed_by_a_newer_6pt_bar_without_any_poll_in_between() -> None:
    world = place(ready_to_enter(fresh_world(), T0), T0).world
    assert es(world, T0 + 1)["tempo_ready"] is False
    world.assets["ES"].main_renko_ts = T0 + 0.001             # the webhook stores a timestamp, nothing else
    assert es(world, T0 + 1)["tempo_ready"] is True


def test_tempo_ready_by_the_4pt_unlock() -> None:
    world = ready_to_enter(fresh_world(), T0)
    world.assets["ES"].tempo_spent_ts = T0 - 10
    assert es(world)["tempo_ready"] is False
    world.assets["ES"].tempo_4pt_unlock_ts = T0 - 10          # equal is not later
    assert es(world)["tempo_ready"] is False
    world.assets["ES"].tempo_4pt_unlock_ts = T0 - 9
    assert es(world)["tempo_ready"] is True


def test_tempo_ready_ignores_the_position() -> None:
    world = in_long_trade(fresh_world(), T0)
    world.assets["ES"].main_renko_ts = T0 - 1
    assert es(world)["tempo_ready"] is True


# ---- connectivity -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("hb_age", "rt_age", "tv", "rithmic"), [
    (600, 60, True, True), (601, 60, False, True), (600, 61, True, False), (None, None, False, False),
])
def test_connectivity_windows(hb_age: float | None, rt_age: float | None, tv: bool, rithmic: bool) -> None:
    world = fresh_world()
    world.assets["NQ"].last_heartbeat_ts = None if hb_age is None else T0 - hb_age
    world.glob.rithmic_last_ts = None if rt_age is None else T0 - rt_age
    g = glob(world)
    assert (g["tradingview_connected"], g["rithmic_connected"]) == (tv, rithmic)
    assert g["connected_count"] == int(tv) + int(rithmic)
    assert g["connected_expected"] == 2
    assert g["connected"] is (tv and rithmic)


def test_heartbeat_freshness_per_asset() -> None:
    world = fresh_world()
    world.assets["ES"].last_heartbeat_ts = T0 - 601
    shown = es(world)
    assert (shown["heartbeat_fresh"], shown["heartbeat_age_s"]) == (False, 601)


# ---- candle lock and cooldown ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("at", "active", "remaining"), [
    (ny(2026, 1, 13, 10, 0, 42), True, 258), (ny(2026, 1, 13, 10, 4, 59), True, 1),
    (ny(2026, 1, 13, 10, 5, 0), False, 0),
])
def test_candle_lock_in_the_view(at: float, active: bool, remaining: int) -> None:
    world = place(ready_to_enter(fresh_world(), T0), T0).world
    g = glob(world, at)
    assert (g["five_min_trade_lock_active"], g["five_min_trade_lock_remaining_s"]) == (active, remaining)
    assert g["five_min_trade_bucket"] == (int(T0 // 300) if active else None)
    assert g["current_candle_bucket"] == int(at // 300)


@pytest.mark.parametrize(("after", "active", "remaining"), [(0, True, 180), (179, True, 1), (179.5, True, 1),
                                                            (180, False, 0), (500, False, 0)])
def test_cooldown_in_the_view(after: float, active: bool, remaining: int) -> None:
    world = fresh_world()
    world.glob.post_exit_lock_started_ts, world.glob.post_exit_lock_expires_ts = T0, T0 + 180
    g = glob(world, T0 + after)
    assert (g["post_exit_lock_active"], g["post_exit_lock_remaining_s"]) == (active, remaining)
    assert g["post_exit_lock_expires_ts"] == (T0 + 180 if active else None)
    assert g["post_exit_lock_started_ts"] == (T0 if active else None)


# ---- permissions and zone ---------------------------------------------------------------------------------------

def test_flat_permissions_are_all_off() -> None:
    shown = es(ready_to_enter(fresh_world(), T0))
    assert (shown["next_bar_exit_allowed"], shown["high_next_bar_exit_allowed"],
            shown["four_pt_invalidation_allowed"]) == (False, False, False)
    assert (shown["manual_exit_allowed"], shown["reentry_lock_active"], shown["last_exit_direction"]) == (
        True, False, None)


def test_in_trade_permissions_before_any_fresh_bar() -> None:
    shown = es(in_long_trade(fresh_world(), T0))
    assert (shown["next_bar_exit_allowed"], shown["high_next_bar_exit_allowed"],
            shown["four_pt_invalidation_allowed"]) == (True, True, True)


@pytest.mark.parametrize(("two_half", "allowed"), [("green", False), ("neutral", False), ("red", True)])
def test_next_bar_permissions_after_fresh_bars_follow_the_2_5pt(two_half: str, allowed: bool) -> None:
    world = in_long_trade(fresh_world(), T0)
    a = world.assets["ES"]
    a.main_renko_ts, a.high_renko_ts, a.two_half_renko_color = T0 + 1, T0 + 1, two_half
    shown = es(world, T0 + 2)
    assert (shown["next_bar_exit_allowed"], shown["high_next_bar_exit_allowed"]) == (allowed, allowed)


def test_short_permissions_use_green_as_opposite() -> None:
    world = in_short_trade(fresh_world(), T0)
    a = world.assets["ES"]
    a.main_renko_ts, a.two_half_renko_color = T0 + 1, "green"
    assert es(world, T0 + 2)["next_bar_exit_allowed"] is True


@pytest.mark.parametrize(("high", "macro", "zone"), [("green", "green", "NORMAL"), ("red", "red", "NORMAL"),
                                                     ("green", "red", "FREE"), ("neutral", "red", None)])
def test_zone_and_conflict_mode(high: str, macro: str, zone: str | None) -> None:
    world = fresh_world()
    world.assets["ES"].high_renko_color, world.assets["ES"].macro_renko_color = high, macro
    shown = es(world)
    assert (shown["zone_type"], shown["conflict_mode"]) == (zone, zone == "FREE")


# ---- self-healing on read, never written back ------------------------------------------------------------------

def test_read_evaluates_the_2_5pt_lock_and_the_initial_exit_lock_without_mutating() -> None:
    world = in_long_trade(fresh_world(), T0)
    a = world.assets["ES"]
    a.two_half_renko_color = "red"
    a.two_half_tp_lock_enabled = True
    a.initial_exit_lock_active, a.initial_exit_lock_released = True, False
    a.main_renko_ts = T0 + 1
    before = copy.deepcopy(world)
    shown = es(world, T0 + 2)
    assert (shown["two_half_tp_lock_enabled"], shown["two_half_tp_lock_released"]) == (False, True)
    assert (shown["initial_exit_lock_active"], shown["initial_exit_lock_released"]) == (False, True)
    assert world == before


def test_read_rolls_the_trading_day_in_the_view_only() -> None:
    world = fresh_world()
    g = world.glob
    g.daily_stop_triggered, g.trade_lock, g.trade_lock_reason, g.trades_taken_today = True, True, "DAILY_STOP", 6
    before = glob(world, ny(2026, 1, 13, 17, 59, 59))
    assert (before["daily_stop_triggered"], before["trade_lock"], before["trades_remaining_today"]) == (True, True, 0)
    after = glob(world, ny(2026, 1, 13, 18, 0, 0))
    assert (after["daily_stop_triggered"], after["trade_lock"], after["trades_remaining_today"]) == (False, False, 6)
    assert after["trading_day"] == "2026-01-14" and after["today_date"] == "2026-01-13"
    assert after["daily_trade_limit_date"] == "2026-01-14"
    assert world.glob.trades_taken_today == 6 and world.glob.trading_day == "2026-01-13"


def test_global_totals_and_scrubbing() -> None:
    world = fresh_world()
    world.assets["ES"].order_count, world.assets["NQ"].order_count = 2, 3
    world.glob.rithmic_unrealized = None
    world.glob.equity = float("nan")
    world.glob.rithmic_bridge = {"account": "A1", "secret": "s3", "apiToken": "t", "Password": "p"}
    world.assets["ES"].recent_bar_ids = {"6pt": ["b1"]}
    shown = view(world)
    g = shown["global"]
    assert (g["total_orders"], g["open_pnl"], g["equity"]) == (5, 0.0, None)
    assert g["rithmic_bridge"] == {"account": "A1"}
    assert "recent_bar_ids" not in shown["assets"]["ES"]
    assert g["server_time"] == T0
    assert sorted(shown["assets"]) == ["ES", "NQ"]


def test_open_pnl_is_the_unrealized_pnl() -> None:
    world = fresh_world()
    world.glob.rithmic_unrealized = -125.5
    assert glob(world)["open_pnl"] == -125.5


def test_intent_and_preorder_shown_as_is_before_their_age_limit() -> None:
    world = ready_to_enter(fresh_world(), T0)
    a = world.assets["ES"]
    a.intent_active, a.intent_status, a.intent_created_ts = True, "READY", T0 - 899
    a.preorder_active, a.preorder_status, a.preorder_created_ts = True, "PENDING", T0 - 100
    shown = es(world)
    assert (shown["intent_active"], shown["intent_status"]) == (True, "READY")
    assert (shown["preorder_active"], shown["preorder_status"]) == (True, "PENDING")


def test_non_finite_numbers_inside_lists_are_scrubbed_too() -> None:
    world = fresh_world()
    world.glob.rithmic_bridge = {"note": [1.5, float("inf")], "lastPnlMsgUtc": ("a", float("nan"))}
    assert glob(world)["rithmic_bridge"] == {"note": [1.5, None], "lastPnlMsgUtc": ["a", None]}


def test_scrubbing_reaches_every_depth_and_every_kind_of_float() -> None:
    from shared.domain.view import scrub_non_finite

    class Price(float):   # a float by inheritance (e.g. a library's scalar) is judged as a float
        pass

    class Side(str):      # any other value is kept as it is
        pass

    value = {"a": [{"b": (float("-inf"), 2, True, None, "x")}], "c": Price("nan"), "d": {"e": {"f": float("nan")}},
             "g": Side("BUY")}
    assert scrub_non_finite(value) == {"a": [{"b": [None, 2, True, None, "x"]}], "c": None, "d": {"e": {"f": None}},
                                       "g": "BUY"}


# ---- the gates checklist (GET /api/gates, D2) --------------------------------------------------------------------

def test_gates_view_passes_every_gate_when_ready_and_names_the_first_failure_otherwise() -> None:
    from shared.domain.view import gates_view

    ready = gates_view(ready_to_enter(fresh_world(), T0), "ES", T0, CONFIG, None)
    assert ready["can_enter"] is True and ready["sides"] == {"BUY": True, "SELL": False}
    assert all(row["pass"] for row in ready["gates"])
    busy = gates_view(in_long_trade(fresh_world(), T0), "ES", T0, CONFIG, None)
    assert busy["can_enter"] is False and busy["sides"] == {"BUY": False, "SELL": False}
    assert next(row["code"] for row in busy["gates"] if not row["pass"]) == "POSITION_OPEN"
