"""Automatic exits evaluated on PnL snapshots and the controls that arm them (§8.3–§8.5, §8.9, §8.11, §8.12)."""

from __future__ import annotations

from typing import Any

import pytest
from builders import T0, fresh_world, in_long_trade, in_short_trade, run

from shared.domain import Decision, World
from shared.domain.config import CONTRACTS
from shared.domain.inputs import PnlSnapshot, SetPointsTakeProfit, SetProtect, SetTakeProfit, SymbolPosition, ToggleExit
from shared.domain.state import AssetState
from shared.domain.view import state_view

from builders import CONFIG  # isort: skip

POINT_VALUE = CONTRACTS["MES"].point_value


def es(x: Decision | World) -> AssetState:
    world = x.world if isinstance(x, Decision) else x
    return world.assets["ES"]


def trade(two_half: str = "red", short: bool = False, **fields: Any) -> World:
    """A 5-lot trade; the 2.5pt colour decides the management lock (opposite = unlocked)."""
    w = in_short_trade(fresh_world()) if short else in_long_trade(fresh_world())
    a = w.assets["ES"]
    a.two_half_renko_color = two_half
    a.points_tp_enabled, a.points_tp_target = True, 15.0
    for name, value in fields.items():
        setattr(a, name, value)
    return w


def at_points(points: float, qty: int = 5) -> PnlSnapshot:
    """A snapshot whose open PnL is `points` per contract on a `qty` position."""
    pnl = points * abs(qty) * POINT_VALUE
    return PnlSnapshot(symbols=(SymbolPosition(symbol="MESH6", position=qty, open_pnl=pnl),))


def exits(before: World, d: Decision) -> list[Any]:
    return [o for oid, o in d.world.orders.items() if oid not in before.orders]


class TestPointsTakeProfit:
    def test_fires_at_the_target(self) -> None:
        w = trade()
        d = run(w, at_points(15.0), T0)
        (order,) = exits(w, d)
        assert (order.source, order.kind, order.side, order.qty) == ("TAKE_PROFIT_POINTS", "EXIT", "SELL", 5)
        assert es(d).rithmic_open_points == 15.0 and es(d).points_tp_hit_ts == T0

    def test_does_not_fire_just_below(self) -> None:
        w = trade()
        d = run(w, at_points(14.99), T0)
        assert exits(w, d) == [] and es(d).points_tp_hit_ts is None

    def test_short_target_counts_the_profit_side(self) -> None:
        w = trade(two_half="green", short=True)
        d = run(w, at_points(15.0, qty=-5), T0)
        assert [o.side for o in exits(w, d)] == ["BUY"]

    def test_fires_even_while_both_locks_are_on(self) -> None:
        w = trade(two_half="green", initial_exit_lock_active=True, entry_main_renko_ts=None)
        assert [o.source for o in exits(w, run(w, at_points(20.0), T0))] == ["TAKE_PROFIT_POINTS"]

    @pytest.mark.parametrize("fields", [{"points_tp_enabled": False}, {"pending_order_id": "ES-x"}])
    def test_disabled_or_pending_never_fires(self, fields: dict[str, Any]) -> None:
        w = trade(**fields)
        assert exits(w, run(w, at_points(30.0), T0)) == []

    def test_setting_a_reached_target_fires_at_once(self) -> None:
        w = trade(rithmic_open_points=8.0)
        d = run(w, SetPointsTakeProfit(asset="ES", target=8), T0)
        assert d.status == 200 and d.body["points_tp_target"] == 8.0
        assert [o.source for o in exits(w, d)] == ["TAKE_PROFIT_POINTS"]
        assert d.body["pending_order_id"] == es(d).pending_order_id is not None

    def test_target_changes_are_locked_by_the_two_half_lock_but_toggling_is_not(self) -> None:
        w = trade(two_half="green")
        d = run(w, SetPointsTakeProfit(asset="ES", target=8), T0)
        assert (d.status, d.code, d.body["error"]) == (
            423, "TWO_HALF_LOCK", "TP target changes locked until 2.5pt management unlocks")
        d = run(w, SetPointsTakeProfit(asset="ES", enabled=False), T0)
        assert d.status == 200 and es(d).points_tp_enabled is False

    @pytest.mark.parametrize(("target", "text"), [
        ("abc", "Invalid target"), (0, "Target must be between 0 and 200 points"),
        (200.01, "Target must be between 0 and 200 points"),
    ])
    def test_invalid_targets(self, target: object, text: str) -> None:
        d = run(trade(), SetPointsTakeProfit(asset="ES", target=target), T0)
        assert (d.status, d.body["error"]) == (400, text)


class TestProtect:
    @pytest.mark.parametrize(("threshold", "points", "fires"), [
        (-2.0, -2.0, True), (-2.0, -1.99, False), (-2.0, -5.0, True), (0.5, 0.5, True), (0.5, 0.51, False),
        (0.5, -1.0, True),
    ])
    def test_fires_at_or_below_the_threshold(self, threshold: float, points: float, fires: bool) -> None:
        w = trade(protect_enabled=True, protect_threshold_points=threshold)
        d = run(w, at_points(points), T0)
        assert [o.source for o in exits(w, d)] == (["PROTECT"] if fires else [])
        assert (es(d).protect_hit_ts == T0) is fires

    @pytest.mark.parametrize("two_half", ["green", "neutral"])
    def test_suppressed_while_the_two_half_lock_is_on(self, two_half: str) -> None:
        w = trade(two_half=two_half, protect_enabled=True)
        d = run(w, at_points(-10.0), T0)
        assert es(d).two_half_tp_lock_enabled is True and exits(w, d) == []

    def test_dormant_protect_fires_on_the_first_snapshot_after_the_release(self) -> None:
        w = trade(two_half="green", protect_enabled=True)
        w = run(w, at_points(-3.0), T0).world
        w.assets["ES"].two_half_renko_color = "red"      # a 2.5pt bar against the trade releases the lock
        d = run(w, at_points(-3.0), T0 + 2)
        assert [o.source for o in exits(w, d)] == ["PROTECT"]

    def test_disabled_protect_never_fires(self) -> None:
        w = trade(protect_enabled=False)
        assert exits(w, run(w, at_points(-10.0), T0)) == []

    def test_the_endpoint_evaluates_at_once(self) -> None:
        w = trade(points_tp_enabled=False, rithmic_open_points=-2.0)
        d = run(w, SetProtect(asset="ES", enabled=True, threshold=-2), T0)
        assert d.status == 200 and d.body["protect_enabled"] is True
        assert [o.source for o in exits(w, d)] == ["PROTECT"]

    def test_toggle_and_threshold_validation(self) -> None:
        w = trade(points_tp_enabled=False, rithmic_open_points=5.0)   # in profit: enabling does not fire
        d = run(w, SetProtect(asset="ES", threshold=0.5), T0)
        assert exits(w, d) == []
        assert (es(d).protect_enabled, es(d).protect_threshold_points) == (True, 0.5)
        d = run(d.world, SetProtect(asset="ES"), T0 + 1)
        assert es(d).protect_enabled is False
        bad = run(w, SetProtect(asset="ES", threshold=-1.0), T0)
        assert (bad.status, bad.body["error"]) == (400, "Protect threshold must be either -2.0 or 0.5 points")
        bad = run(w, SetProtect(asset="ES", threshold="x"), T0)
        assert (bad.status, bad.body["error"]) == (400, "Invalid protect threshold")

    def test_points_tp_is_checked_before_protect(self) -> None:
        # both can never hold at once for a sane target; with a negative open points TP is silent, protect fires
        w = trade(protect_enabled=True, protect_threshold_points=0.5)
        d = run(w, at_points(0.0), T0)
        assert [o.source for o in exits(w, d)] == ["PROTECT"]


class TestNextBarWindows:
    """§8.12: arming 6PT NEXT / 8PT NEXT is allowed before the first fresh bar, or while the 2.5pt is opposite."""

    def _flags(self, w: World, now: float = T0) -> tuple[bool, bool]:
        view = state_view(w, now, CONFIG)["assets"]["ES"]
        return view["next_bar_exit_allowed"], view["high_next_bar_exit_allowed"]

    def test_before_any_fresh_bar_both_are_allowed_even_when_locked(self) -> None:
        assert self._flags(trade(two_half="green")) == (True, True)

    def test_fresh_bars_with_the_lock_on_forbid_arming(self) -> None:
        w = trade(two_half="green")
        a = w.assets["ES"]
        a.main_renko_ts, a.high_renko_ts = T0 - 1, T0 - 1
        assert self._flags(w) == (False, False)
        d = run(w, SetTakeProfit(asset="ES", tp_arm="toggle"), T0)
        assert (d.status, d.body["error"]) == (423, "6pt next-bar exit locked until 2.5pt management unlocks")
        d = run(w, ToggleExit(asset="ES", toggle="high_next_bar"), T0)
        assert (d.status, d.body["error"]) == (423, "8pt next-bar exit locked until 2.5pt management unlocks")

    def test_an_opposite_two_half_reopens_both_windows(self) -> None:
        w = trade(two_half="red")
        a = w.assets["ES"]
        a.main_renko_ts, a.high_renko_ts = T0 - 1, T0 - 1
        assert self._flags(w) == (True, True)
        d = run(w, SetTakeProfit(asset="ES", tp_arm="toggle"), T0)
        assert (d.status, d.body) == (200, {"ok": True, "asset": "ES", "tp_armed": True, "tp_target": 1,
                                            "tp_count": 0})
        d = run(w, ToggleExit(asset="ES", toggle="high_next_bar"), T0)
        assert d.status == 200 and es(d).high_next_bar_exit_base_ts == T0 - 1
        assert es(d).high_next_bar_exit_started_ts == T0

    def test_only_one_fresh_bar_matters_for_each_window(self) -> None:
        w = trade(two_half="green")
        w.assets["ES"].main_renko_ts = T0 - 1      # fresh 6pt only
        assert self._flags(w) == (False, True)

    def test_turning_off_is_always_allowed(self) -> None:
        w = trade(two_half="green", tp_armed=True, tp_target=1, high_next_bar_exit_enabled=True,
                  high_next_bar_exit_base_ts=T0 - 120)
        a = w.assets["ES"]
        a.main_renko_ts, a.high_renko_ts = T0 - 1, T0 - 1
        assert es(run(w, SetTakeProfit(asset="ES", tp_arm="toggle"), T0)).tp_armed is False
        off = run(w, ToggleExit(asset="ES", toggle="high_next_bar"), T0)
        assert (es(off).high_next_bar_exit_enabled, es(off).high_next_bar_exit_base_ts) == (False, None)

    def test_flat_allows_nothing(self) -> None:
        assert self._flags(fresh_world()) == (False, False)
