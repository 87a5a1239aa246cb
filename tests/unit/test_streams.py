"""TradingView streams (§4.3–§4.9, D6): each webhook's effects on locks, scale-in, intents, pre-orders and exits."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CONFIG, T0, bar, fresh_world, in_long_trade, in_short_trade, run
from pydantic import ValidationError

from shared.domain import Decision, World
from shared.domain.inputs import LevelExit, RenkoBar, TvHeartbeat
from shared.domain.state import AssetState
from shared.domain.view import normalise_world


def es(x: Decision | World) -> AssetState:
    world = x.world if isinstance(x, Decision) else x
    return world.assets["ES"]


def long_world(**fields: Any) -> World:
    world = in_long_trade(fresh_world())
    for name, value in fields.items():
        setattr(world.assets["ES"], name, value)
    return world


def flat_world(**fields: Any) -> World:
    world = fresh_world()
    for name, value in fields.items():
        setattr(world.assets["ES"], name, value)
    return world


def new_orders(before: World, d: Decision) -> list[Any]:
    return [o for oid, o in d.world.orders.items() if oid not in before.orders]


def only_order(before: World, d: Decision) -> Any:
    created = new_orders(before, d)
    assert len(created) == 1, created
    return created[0]


# ---- input validation ------------------------------------------------------------------------------------------

class TestColourInput:
    def test_the_domain_accepts_only_normalised_colours(self) -> None:
        for color in ("green", "red", "neutral"):
            assert RenkoBar(stream="4pt", asset="ES", color=color).color == color  # type: ignore[arg-type]
        for color in ("GREEN", "blue", ""):
            with pytest.raises(ValidationError):
                RenkoBar(stream="4pt", asset="ES", color=color)  # type: ignore[arg-type]


# ---- 4pt ---------------------------------------------------------------------------------------------------------

class TestFourPoint:
    def test_colour_time_and_changed_flag_ignore_neutral(self) -> None:
        w = flat_world()
        steps = [("green", False), ("red", True), ("red", False), ("neutral", False), ("green", False),
                 ("red", True)]
        for i, (color, changed) in enumerate(steps):
            now = T0 + i
            d = bar(w, "4pt", color, now)
            assert (es(d).renko_color, es(d).last_renko_ts, es(d).color_changed) == (color, now, changed)
            w = d.world

    def test_pullback_to_the_opposite_colour_unlocks_scale_in(self) -> None:
        w = long_world(renko_color="green")
        d = bar(w, "4pt", "red", T0 + 5)
        a = es(d)
        assert (a.scale_in_available, a.scale_in_stage, a.scale_in_last_ts) == (True, "READY_4PT_PULLBACK", T0 + 5)

    def test_pullback_unlock_works_for_a_short_too(self) -> None:
        w = in_short_trade(fresh_world())
        w.assets["ES"].renko_color = "red"
        assert es(bar(w, "4pt", "green", T0 + 5)).scale_in_stage == "READY_4PT_PULLBACK"

    @pytest.mark.parametrize(("prev", "color"), [("green", "green"), ("neutral", "red"), ("red", "red"),
                                                  ("red", "green")])
    def test_no_unlock_without_a_change_to_the_opposite_colour(self, prev: str, color: str) -> None:
        w = long_world(renko_color=prev)
        a = es(bar(w, "4pt", color, T0 + 5))
        assert a.scale_in_available is False and a.scale_in_stage is None

    def test_used_scale_in_is_forced_unavailable(self) -> None:
        w = long_world(renko_color="green", scale_in_used=True, scale_in_available=True)
        a = es(bar(w, "4pt", "red", T0 + 5))
        assert a.scale_in_available is False and a.scale_in_stage is None

    def test_already_available_keeps_its_stage(self) -> None:
        w = long_world(renko_color="green", scale_in_available=True, scale_in_stage="READY_6PT",
                       scale_in_last_ts=T0 - 9)
        a = es(bar(w, "4pt", "red", T0 + 5))
        assert (a.scale_in_available, a.scale_in_stage, a.scale_in_last_ts) == (True, "READY_6PT", T0 - 9)

    def test_flat_never_unlocks_scale_in(self) -> None:
        w = flat_world(renko_color="green")
        assert es(bar(w, "4pt", "red", T0)).scale_in_available is False

    def test_tempo_4pt_rearm_after_a_trade_that_saw_a_fresh_6pt_bar(self) -> None:
        w = flat_world(renko_color="green", last_trade_had_new_main_bar_after_entry=True, last_exit_ts=T0 - 100)
        assert es(bar(w, "4pt", "red", T0)).tempo_4pt_unlock_ts == T0

    @pytest.mark.parametrize("change", ["no_fresh_bar", "no_change", "no_exit_ts", "same_instant", "in_trade"])
    def test_tempo_4pt_rearm_needs_every_condition(self, change: str) -> None:
        fields: dict[str, Any] = {"renko_color": "green", "last_trade_had_new_main_bar_after_entry": True,
                                  "last_exit_ts": T0 - 100}
        color = "red"
        if change == "no_fresh_bar":
            fields["last_trade_had_new_main_bar_after_entry"] = False
        elif change == "no_change":
            fields["renko_color"] = "neutral"
        elif change == "no_exit_ts":
            fields["last_exit_ts"] = None
        elif change == "same_instant":
            fields["last_exit_ts"] = T0
        w = long_world(**fields) if change == "in_trade" else flat_world(**fields)
        assert es(bar(w, "4pt", color, T0)).tempo_4pt_unlock_ts is None

    def test_runner_unlock_needs_a_fresh_6pt_bar_since_entry(self) -> None:
        w = long_world(renko_color="green")
        assert es(bar(w, "4pt", "red", T0)).runner_4pt_unlocked is False
        w.assets["ES"].main_renko_ts = T0 - 1  # a 6pt bar after the entry's (T0 - 60)
        assert es(bar(w, "4pt", "red", T0)).runner_4pt_unlocked is True

    def test_invalidation_exits_on_the_opposite_colour_without_a_change(self) -> None:
        w = long_world(renko_color="red", four_pt_invalidation_enabled=True)
        d = bar(w, "4pt", "red", T0)
        order = only_order(w, d)
        assert (order.kind, order.side, order.qty, order.source) == ("EXIT", "SELL", 5, "EXIT_ENGINE_4PT")
        assert es(d).pending_order_id == order.id

    def test_invalidation_for_a_short_buys_back(self) -> None:
        w = in_short_trade(fresh_world(), qty=3)
        w.assets["ES"].four_pt_invalidation_enabled = True
        order = only_order(w, bar(w, "4pt", "green", T0))
        assert (order.side, order.qty) == ("BUY", 3)

    @pytest.mark.parametrize("fields", [
        {"four_pt_invalidation_enabled": False},
        {"exit_mode": None},
        {"pending_order_id": "ES-other"},
    ])
    def test_invalidation_needs_toggle_mode_a_and_nothing_pending(self, fields: dict[str, Any]) -> None:
        w = long_world(**{"four_pt_invalidation_enabled": True, **fields})
        assert new_orders(w, bar(w, "4pt", "red", T0)) == []

    def test_invalidation_ignores_the_aligned_colour(self) -> None:
        w = long_world(four_pt_invalidation_enabled=True)
        assert new_orders(w, bar(w, "4pt", "green", T0)) == []


# ---- 2.5pt -------------------------------------------------------------------------------------------------------

class TestTwoHalf:
    def test_answer_carries_colour_lock_and_change(self) -> None:
        w = long_world(two_half_renko_color="green")
        d = bar(w, "2.5pt", "red", T0)
        assert d.body == {"ok": True, "asset": "ES", "two_half_renko_color": "red", "two_half_tp_lock_enabled": False,
                          "two_half_tp_lock_released": True, "two_half_renko_ts": T0, "two_half_color_changed": True}
        assert es(d).two_half_renko_ts == T0

    def test_lock_follows_the_colour_dynamically(self) -> None:
        w = long_world()
        a = w.assets["ES"]
        a.two_half_renko_color = "red"
        a.two_half_tp_lock_enabled, a.two_half_tp_lock_released = False, True
        a.two_half_tp_lock_started_ts, a.two_half_tp_lock_released_ts = None, T0 - 50

        d = bar(w, "2.5pt", "green", T0)            # aligned → locked, started now
        a = es(d)
        assert (a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released) == (
            True, "green", False)
        assert a.two_half_tp_lock_started_ts == T0

        d = bar(d.world, "2.5pt", "green", T0 + 10)  # still aligned: started_ts unchanged
        assert es(d).two_half_tp_lock_started_ts == T0

        d = bar(d.world, "2.5pt", "red", T0 + 20)    # opposite → released, released_ts now
        a = es(d)
        assert (a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released) == (
            False, None, True)
        assert a.two_half_tp_lock_released_ts == T0 + 20

        d = bar(d.world, "2.5pt", "red", T0 + 30)    # stays released; released_ts kept
        assert es(d).two_half_tp_lock_released_ts == T0 + 20

        d = bar(d.world, "2.5pt", "neutral", T0 + 40)  # neutral → locked conservatively, no base, started unchanged
        a = es(d)
        assert (a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released) == (
            True, None, False)
        assert a.two_half_tp_lock_started_ts == T0

        d = bar(d.world, "2.5pt", "green", T0 + 50)  # neutral → aligned: was enabled, started kept
        assert es(d).two_half_tp_lock_started_ts == T0 and es(d).two_half_tp_lock_base_color == "green"

    def test_short_is_locked_by_red_and_released_by_green(self) -> None:
        w = in_short_trade(fresh_world())
        assert es(bar(w, "2.5pt", "red", T0)).two_half_tp_lock_enabled is True
        assert es(bar(w, "2.5pt", "green", T0)).two_half_tp_lock_enabled is False

    def test_flat_clears_the_lock_but_keeps_timestamps(self) -> None:
        w = flat_world(two_half_tp_lock_enabled=True, two_half_tp_lock_base_color="green",
                       two_half_tp_lock_started_ts=T0 - 5)
        a = es(bar(w, "2.5pt", "green", T0))
        assert (a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released) == (
            False, None, False)
        assert a.two_half_tp_lock_started_ts == T0 - 5

    def test_the_two_half_stream_never_exits(self) -> None:
        w = long_world(four_pt_invalidation_enabled=True, main_flip_exit_enabled=True)
        assert new_orders(w, bar(w, "2.5pt", "red", T0)) == []


# ---- 6pt ---------------------------------------------------------------------------------------------------------

class TestMainSixPoint:
    def test_stores_colour_and_receive_time(self) -> None:
        d = bar(flat_world(), "6pt", "green", T0)
        assert d.body == {"ok": True, "asset": "ES", "main_renko_color": "green", "main_renko_ts": T0}
        assert (es(d).main_renko_color, es(d).main_renko_ts) == ("green", T0)

    def test_flat_clears_scale_in(self) -> None:
        w = flat_world(scale_in_available=True, scale_in_stage="READY_6PT")
        a = es(bar(w, "6pt", "green", T0))
        assert (a.scale_in_available, a.scale_in_stage) == (False, None)

    def test_aligned_bar_after_entry_unlocks_continuation_scale_in(self) -> None:
        a = es(bar(long_world(), "6pt", "green", T0))
        assert (a.scale_in_available, a.scale_in_stage, a.scale_in_last_ts) == (True, "READY_6PT", T0)

    @pytest.mark.parametrize(("color", "fields"), [
        ("red", {}), ("neutral", {}), ("green", {"entry_main_renko_ts": None}),
        ("green", {"entry_main_renko_ts": T0}),
    ])
    def test_no_continuation_unlock(self, color: str, fields: dict[str, Any]) -> None:
        a = es(bar(long_world(**fields), "6pt", color, T0))
        assert a.scale_in_available is False and a.scale_in_stage is None

    def test_used_scale_in_stays_unavailable(self) -> None:
        a = es(bar(long_world(scale_in_used=True, scale_in_available=True), "6pt", "green", T0))
        assert a.scale_in_available is False

    def test_first_fresh_bar_releases_the_initial_exit_lock(self) -> None:
        w = long_world(initial_exit_lock_active=True, initial_exit_lock_released=False,
                       initial_exit_lock_base_main_ts=None)  # the base is never read (§8.1)
        d = bar(w, "6pt", "green", T0)
        a = es(d)
        assert (a.initial_exit_lock_active, a.initial_exit_lock_released, a.initial_exit_lock_released_ts) == (
            False, True, T0)
        assert any(e.kind == "lock_released" and e.code == "INITIAL_EXIT_LOCK" for e in d.events)

    def test_release_compares_numerically_with_the_entry_bar_time(self) -> None:
        # a bar at the very instant of the entry's 6pt bar is not "fresh": main_renko_ts > entry_main_renko_ts fails
        w = long_world(initial_exit_lock_active=True, initial_exit_lock_released=False, entry_main_renko_ts=T0)
        a = es(bar(w, "6pt", "green", T0))
        assert a.initial_exit_lock_active is True and a.initial_exit_lock_released is False
        a = es(bar(w, "6pt", "green", T0 + 0.001))
        assert a.initial_exit_lock_active is False and a.initial_exit_lock_released is True

    def test_without_an_entry_bar_the_first_bar_after_the_fill_releases_the_lock(self) -> None:
        """§13.3.16 trap fixed: the original compared with a missing bar and never released."""
        w = long_world(initial_exit_lock_active=True, initial_exit_lock_released=False, entry_main_renko_ts=None,
                       last_entry_ts=T0)
        assert es(bar(w, "6pt", "green", T0)).initial_exit_lock_active is True  # not after the fill
        released = es(bar(w, "6pt", "green", T0 + 1))
        assert (released.initial_exit_lock_active, released.initial_exit_lock_released) == (False, True)

    def test_intent_ready_on_the_next_bar_then_expired(self) -> None:
        w = flat_world(intent_active=True, intent_status="PENDING", intent_bar_base_ts=T0 - 60,
                       intent_created_ts=T0 - 30, intent_direction="BUY", main_renko_ts=T0 - 60)
        d = bar(w, "6pt", "green", T0)
        assert (es(d).intent_status, es(d).intent_ready_bar_ts, es(d).intent_active) == ("READY", T0, True)
        d = bar(d.world, "6pt", "red", T0 + 60)
        assert (es(d).intent_status, es(d).intent_active, es(d).intent_ready_bar_ts) == ("EXPIRED", False, None)

    def test_a_second_bar_at_the_ready_instant_keeps_the_intent_ready(self) -> None:
        """Two 6pt webhooks with the same receive time are one bar for D8: READY, not READY then EXPIRED."""
        w = flat_world(intent_active=True, intent_status="PENDING", intent_bar_base_ts=T0 - 60,
                       intent_created_ts=T0 - 30, intent_direction="BUY", main_renko_ts=T0 - 60)
        ready = bar(w, "6pt", "green", T0)
        again = bar(ready.world, "6pt", "green", T0)
        assert (es(again).intent_status, es(again).intent_active, es(again).intent_ready_bar_ts) == ("READY", True, T0)
        assert [e.kind for e in again.events] == []

    def test_intent_without_a_base_bar_is_ready_on_the_first_bar(self) -> None:
        w = flat_world(intent_active=True, intent_status="PENDING", intent_bar_base_ts=None,
                       intent_created_ts=T0 - 30)
        d = bar(w, "6pt", "green", T0)
        assert (es(d).intent_status, es(d).intent_active) == ("READY", True)

    def test_a_bar_at_the_intent_base_time_does_not_advance_it(self) -> None:
        w = flat_world(intent_active=True, intent_status="PENDING", intent_bar_base_ts=T0, intent_created_ts=T0 - 1)
        assert es(bar(w, "6pt", "green", T0)).intent_status == "PENDING"

    def _preorder_world(self, **fields: Any) -> World:
        w = fresh_world()
        a = w.assets["ES"]
        a.main_renko_color, a.main_renko_ts = "green", T0 - 60
        a.preorder_active, a.preorder_direction, a.preorder_qty = True, "BUY", 3
        a.preorder_trade_mode, a.preorder_created_ts, a.preorder_bar_base_ts = "RUNNER", T0 - 30, T0 - 60
        a.preorder_status = "PENDING"
        for name, value in fields.items():
            setattr(a, name, value)
        return w

    def test_preorder_enters_on_the_next_bar_of_its_colour(self) -> None:
        w = self._preorder_world()
        d = bar(w, "6pt", "green", T0)
        order = only_order(w, d)
        assert (order.kind, order.side, order.qty, order.source, order.trade_mode) == (
            "ENTRY", "BUY", 3, "PREORDER_TRIGGER", "RUNNER")
        a = es(d)
        assert (a.preorder_active, a.preorder_status, a.pending_order_id) == (False, "FILLED", order.id)
        assert a.tempo_spent_ts == T0 and d.world.glob.five_min_trade_bucket is not None
        assert [t.kind for t in d.timers] == ["candle_lock_end"]

    @pytest.mark.parametrize(("color", "fields", "glob"), [
        ("red", {}, {}),
        ("neutral", {}, {}),
        ("green", {"pending_order_id": "ES-x"}, {}),
        ("green", {"position": 2}, {}),
        ("green", {}, {"trade_lock": True}),
    ])
    def test_preorder_is_cancelled_when_colour_or_asset_state_disagree(
            self, color: str, fields: dict[str, Any], glob: dict[str, Any]) -> None:
        w = self._preorder_world(**fields)
        for name, value in glob.items():
            setattr(w.glob, name, value)
        d = bar(w, "6pt", color, T0)
        assert new_orders(w, d) == []
        assert (es(d).preorder_active, es(d).preorder_status) == (False, "CANCELLED")

    def test_preorder_without_a_base_bar_triggers_on_the_first_bar(self) -> None:
        w = self._preorder_world(preorder_bar_base_ts=None)
        d = bar(w, "6pt", "green", T0)
        assert [o.source for o in new_orders(w, d)] == ["PREORDER_TRIGGER"] and es(d).preorder_active is False

    def test_preorder_past_its_max_age_expires(self) -> None:
        w = self._preorder_world(preorder_created_ts=T0 - 900)
        d = bar(w, "6pt", "green", T0)
        assert new_orders(w, d) == []
        assert es(d).preorder_status == "EXPIRED"

    def test_signal_count_tp_counts_any_colour_and_exits_at_target(self) -> None:
        w = long_world(tp_armed=True, tp_target=2, tp_count=0)
        d = bar(w, "6pt", "neutral", T0)
        assert es(d).tp_count == 1 and new_orders(w, d) == []
        d2 = bar(d.world, "6pt", "green", T0 + 60)  # aligned colour still counts
        assert es(d2).tp_count == 2
        order = only_order(d.world, d2)
        assert (order.source, order.side, order.qty) == ("TAKE_PROFIT", "SELL", 5)

    def test_signal_count_tp_is_blocked_by_the_initial_exit_lock(self) -> None:
        w = long_world(tp_armed=True, tp_target=1, initial_exit_lock_active=True, entry_main_renko_ts=T0)
        d = bar(w, "6pt", "green", T0)  # not newer than the entry's bar: the lock holds
        assert es(d).tp_count == 1 and new_orders(w, d) == [] and es(d).initial_exit_lock_active is True

    def test_the_bar_that_releases_the_lock_also_takes_profit(self) -> None:
        w = long_world(tp_armed=True, tp_target=1, initial_exit_lock_active=True)
        assert only_order(w, bar(w, "6pt", "green", T0)).source == "TAKE_PROFIT"

    def test_unarmed_or_flat_does_not_count(self) -> None:
        assert es(bar(long_world(tp_armed=False), "6pt", "green", T0)).tp_count == 0
        assert es(bar(flat_world(tp_armed=True), "6pt", "green", T0)).tp_count == 0

    @pytest.mark.parametrize("fields", [{"exit_tf": "main"}, {"exit_tf": "high", "main_flip_exit_enabled": True}])
    def test_six_point_flip_exit(self, fields: dict[str, Any]) -> None:
        w = long_world(initial_exit_lock_active=True, entry_main_renko_ts=None, **fields)  # not blocked by the lock
        order = only_order(w, bar(w, "6pt", "red", T0))
        assert (order.source, order.side) == ("EXIT_ENGINE", "SELL")

    @pytest.mark.parametrize(("color", "fields"), [
        ("red", {"exit_tf": "high", "main_flip_exit_enabled": False}),
        ("green", {"exit_tf": "main"}),
        ("neutral", {"exit_tf": "main"}),
        ("red", {"exit_tf": "main", "exit_mode": None}),
    ])
    def test_no_six_point_flip(self, color: str, fields: dict[str, Any]) -> None:
        w = long_world(**fields)
        assert new_orders(w, bar(w, "6pt", color, T0)) == []

    def test_take_profit_wins_over_the_flip_in_the_same_bar(self) -> None:
        w = long_world(tp_armed=True, tp_target=1, exit_tf="main")
        d = bar(w, "6pt", "red", T0)
        assert only_order(w, d).source == "TAKE_PROFIT"


# ---- 8pt ---------------------------------------------------------------------------------------------------------

class TestHighEightPoint:
    def test_stores_colour_and_time(self) -> None:
        d = bar(flat_world(), "8pt", "red", T0)
        assert d.body == {"ok": True, "asset": "ES", "high_renko_color": "red", "high_renko_ts": T0}

    def test_next_bar_exit_fires_on_any_colour_and_disarms(self) -> None:
        w = long_world(high_next_bar_exit_enabled=True, high_next_bar_exit_base_ts=T0 - 120,
                       high_next_bar_exit_started_ts=T0 - 10)
        d = bar(w, "8pt", "green", T0)
        assert only_order(w, d).source == "HIGH_NEXT_BAR_EXIT"
        a = es(d)
        assert (a.high_next_bar_exit_enabled, a.high_next_bar_exit_base_ts, a.high_next_bar_exit_started_ts) == (
            False, None, None)

    def test_next_bar_exit_armed_before_any_bar_fires_on_the_first(self) -> None:
        """§13.3.15 trap fixed: armed with no 8pt bar yet (base None), the first 8pt bar is the next one."""
        w = long_world(high_next_bar_exit_enabled=True, high_next_bar_exit_base_ts=None)
        d = bar(w, "8pt", "green", T0)
        assert only_order(w, d).source == "HIGH_NEXT_BAR_EXIT" and es(d).high_next_bar_exit_enabled is False

    def test_a_bar_at_the_arming_base_time_is_not_the_next_bar(self) -> None:
        """Armed on the 8pt bar received at T0: another webhook with the same receive time is that bar again."""
        w = long_world(high_next_bar_exit_enabled=True, high_next_bar_exit_base_ts=T0, high_renko_ts=T0)
        same = bar(w, "8pt", "green", T0)
        assert new_orders(w, same) == [] and es(same).high_next_bar_exit_enabled is True
        later = bar(same.world, "8pt", "green", T0 + 1)
        assert only_order(same.world, later).source == "HIGH_NEXT_BAR_EXIT"

    def test_next_bar_then_flip_inside_one_webhook(self) -> None:
        w = long_world(high_next_bar_exit_enabled=True, high_next_bar_exit_base_ts=T0 - 120)
        d = bar(w, "8pt", "red", T0)
        assert only_order(w, d).source == "HIGH_NEXT_BAR_EXIT"

    def test_flip_exit_is_always_on_for_exit_tf_high_even_during_the_initial_lock(self) -> None:
        w = long_world(initial_exit_lock_active=True, entry_main_renko_ts=None)
        order = only_order(w, bar(w, "8pt", "red", T0))
        assert (order.source, order.side, order.qty) == ("EXIT_ENGINE_HIGH", "SELL", 5)

    def test_short_flips_on_green(self) -> None:
        w = in_short_trade(fresh_world())
        assert only_order(w, bar(w, "8pt", "green", T0)).side == "BUY"

    @pytest.mark.parametrize(("color", "fields"), [
        ("green", {}), ("neutral", {}), ("red", {"exit_tf": "main"}), ("red", {"pending_order_id": "ES-x"}),
    ])
    def test_no_flip(self, color: str, fields: dict[str, Any]) -> None:
        w = long_world(**fields)
        assert new_orders(w, bar(w, "8pt", color, T0)) == []


# ---- 12pt and the 1pt visual streams -------------------------------------------------------------------------

class TestMacroAndVisual:
    @pytest.mark.parametrize(("high", "macro", "zone"), [
        ("green", "green", "NORMAL"), ("red", "red", "NORMAL"), ("green", "red", "FREE"), ("neutral", "red", None),
        ("red", "neutral", None),
    ])
    def test_macro_answers_the_zone(self, high: str, macro: str, zone: str | None) -> None:
        d = bar(flat_world(high_renko_color=high), "12pt", macro, T0)
        assert d.body == {"ok": True, "asset": "ES", "macro_renko_color": macro, "zone_type": zone,
                          "macro_renko_ts": T0, "conflict_mode": zone == "FREE"}

    def test_small_stream_only_records(self) -> None:
        w = long_world(four_pt_invalidation_enabled=True)
        d = bar(w, "1pt_small", "red", T0)
        assert d.body == {"ok": True}
        assert (es(d).small_renko_color, es(d).last_small_renko_ts) == ("red", T0)
        assert new_orders(w, d) == []

    def test_one_stream_counts_neutral_as_a_change(self) -> None:  # [MONO]
        w = flat_world()
        expected = [("neutral", False), ("green", True), ("green", False), ("neutral", True), ("red", True)]
        for i, (color, changed) in enumerate(expected):
            d = bar(w, "1pt_one", color, T0 + i)
            assert d.body == {"ok": True, "asset": "ES", "one_renko_color": color, "one_renko_ts": T0 + i,
                              "one_renko_color_changed": changed}
            w = d.world

    def test_visual_streams_touch_nothing_else(self) -> None:
        w = long_world()
        normalise_world(w, T0, CONFIG)  # the time-derived self-healing is not the stream's doing
        d = bar(w, "1pt_one", "red", T0)
        before, after = w.assets["ES"], es(d)
        changed = {n for n in AssetState.__slots__ if getattr(before, n) != getattr(after, n)}
        assert changed == {"one_renko_color", "one_renko_ts", "one_renko_color_changed"}


# ---- D6 de-duplication ------------------------------------------------------------------------------------------

class TestDeduplication:
    def test_a_repeated_bar_id_is_a_duplicate_and_changes_nothing(self) -> None:
        w = long_world(tp_armed=True, tp_target=5)
        first = run(w, RenkoBar(stream="6pt", asset="ES", color="green", bar_id="b1"), T0)
        assert first.duplicate is False and es(first).tp_count == 1
        again = run(first.world, RenkoBar(stream="6pt", asset="ES", color="red", bar_id="b1"), T0 + 30)
        assert again.duplicate is True and again.body == {"ok": True, "duplicate": True}
        assert again.world == first.world

    def test_the_same_id_on_another_stream_is_not_a_duplicate(self) -> None:
        w = flat_world()
        d = run(w, RenkoBar(stream="6pt", asset="ES", color="green", bar_id="b1"), T0)
        d = run(d.world, RenkoBar(stream="8pt", asset="ES", color="red", bar_id="b1"), T0 + 1)
        assert d.duplicate is False and es(d).high_renko_color == "red"

    def test_without_a_bar_id_every_webhook_is_a_new_bar(self) -> None:
        w = flat_world()
        d = run(w, RenkoBar(stream="4pt", asset="ES", color="green"), T0)
        d = run(d.world, RenkoBar(stream="4pt", asset="ES", color="green"), T0 + 1)
        assert d.duplicate is False and es(d).last_renko_ts == T0 + 1

    def test_a_repeated_level_exit_is_a_duplicate(self) -> None:
        w = long_world()
        d = run(w, LevelExit(asset="ES", bar_id="L1"), T0)
        assert d.body["action"] == "exit_order_created"
        again = run(d.world, LevelExit(asset="ES", bar_id="L1"), T0 + 1)
        assert again.duplicate is True and again.world == d.world

    def test_receipts_are_bounded_per_stream(self) -> None:
        w = flat_world()
        for i in range(40):
            w = run(w, RenkoBar(stream="4pt", asset="ES", color="green", bar_id=f"b{i}"), T0 + i).world
        assert es(w).recent_bar_ids["4pt"] == [f"b{i}" for i in range(8, 40)]


# ---- level exit and heartbeat --------------------------------------------------------------------------------

class TestLevelExitAndHeartbeat:
    def test_flat_is_ignored(self) -> None:
        d = run(flat_world(), LevelExit(asset="ES"), T0)
        assert (d.status, d.body) == (200, {"ok": True, "ignored": "no_position"})

    def test_any_pending_order_is_ignored(self) -> None:
        d = run(long_world(pending_order_id="ES-x"), LevelExit(asset="ES"), T0)
        assert (d.status, d.body) == (200, {"ok": True, "ignored": "pending_exit_exists"})

    def test_exit_for_the_whole_position_despite_both_locks(self) -> None:
        w = in_short_trade(fresh_world(), qty=4)
        w.assets["ES"].initial_exit_lock_active = True
        w.assets["ES"].entry_main_renko_ts = None
        d = run(w, LevelExit(asset="ES"), T0)
        assert es(d).two_half_tp_lock_enabled is True
        assert (d.status, d.body) == (200, {"ok": True, "action": "exit_order_created"})
        order = only_order(w, d)
        assert (order.kind, order.side, order.qty, order.source) == ("EXIT", "BUY", 4, "TV_LEVEL_EXIT")

    def test_heartbeat_uses_the_receive_time_and_keeps_the_client_time(self) -> None:
        w = flat_world(last_price=4999.0)
        d = run(w, TvHeartbeat(asset="ES", price=5001.25, client_ts=9_999_999_999_999.0), T0)
        a = es(d)
        assert (a.last_heartbeat_ts, a.heartbeat_client_ts, a.last_price) == (T0, 9_999_999_999_999.0, 5001.25)
        d = run(d.world, TvHeartbeat(asset="ES"), T0 + 5)
        assert (es(d).last_price, es(d).last_heartbeat_ts) == (5001.25, T0 + 5)
