"""Execution reports (D9, §7): fills accumulate, duplicates are no-ops, illegal transitions answer 409, and closing a
trade writes a history row at the contract's point value (D7) with every reset of §7.6 and the cooldown."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CONFIG, T0, fresh_world, in_short_trade, place, ready_to_enter, run

from shared.domain import Decision, World
from shared.domain.inputs import (
    CancelOrder,
    ConsumeTradeLimit,
    ExecutionReport,
    Input,
    ManualExit,
    PnlSnapshot,
    PollPending,
    ScaleIn,
    TvHeartbeat,
)
from shared.domain.orders import effective_status
from shared.domain.state import AssetState


class Flow:
    """A world driven through `decide` with a clock that moves forward."""

    def __init__(self, world: World | None = None, now: float = T0) -> None:
        self.world = world if world is not None else ready_to_enter(fresh_world())
        self.now = now
        self.n = 0
        self.last: Decision | None = None

    def __call__(self, inp: Input, dt: float = 1.0) -> Decision:
        self.now += dt
        self.n += 1
        d = run(self.world, inp, self.now, f"r{self.n}")
        self.world = d.world
        self.last = d
        return d

    @property
    def es(self) -> AssetState:
        return self.world.assets["ES"]

    def enter(self, **fields: Any) -> str:
        d = place(self.world, self.now, **fields)
        assert d.status == 201, d.body
        self.world = d.world
        return str(d.body["order"]["id"])  # type: ignore[index]

    def report(self, order_id: str, status: str = "FILLED", dt: float = 1.0, **fields: Any) -> Decision:
        return self(ExecutionReport(order_id=order_id, status=status, **fields), dt)  # type: ignore[arg-type]

    def open_long(self, price: float = 5000.0) -> str:
        oid = self.enter()
        d = self.report(oid, fill_price=price)
        assert d.status == 200 and self.es.position == 5
        return oid

    def exit_order(self) -> str:
        d = self(ManualExit(asset="ES", force=True))
        assert d.status == 201, d.body
        return str(d.body["order"]["id"])  # type: ignore[index]


def assert_unchanged(before: World, d: Decision) -> None:
    assert d.world == before


# ---- WORKING ---------------------------------------------------------------------------------------------------

class TestWorking:
    def test_working_keeps_the_order_pending_on_the_asset(self) -> None:
        f = Flow()
        oid = f.enter()
        d = f.report(oid, "WORKING")
        assert (d.status, d.body) == (200, {"ok": True})
        assert f.world.orders[oid].status == "WORKING" and f.es.pending_order_id == oid

    def test_repeated_working_is_a_duplicate(self) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "WORKING")
        before = f.world
        d = f.report(oid, "WORKING")
        assert d.body == {"ok": True, "duplicate": True} and d.duplicate is True
        assert_unchanged(before, d)

    def test_late_working_after_a_fill_changes_nothing(self) -> None:
        f = Flow()
        oid = f.open_long()
        before = f.world
        d = f.report(oid, "WORKING")
        assert d.body == {"ok": True, "ignored": "late_working_report"}
        assert_unchanged(before, d)


# ---- entry fills --------------------------------------------------------------------------------------------------

class TestEntryFill:
    def test_full_fill_with_default_qty_opens_the_trade(self) -> None:
        f = Flow()
        oid = f.enter()
        f.world.assets["ES"].renko_color = "red"
        d = f.report(oid, fill_price=5000.0)
        a, order = f.es, f.world.orders[oid]
        assert d.status == 200
        assert (order.status, order.filled_qty, order.avg_fill_price) == ("FILLED", 5, 5000.0)
        assert (a.position, a.avg_price, a.entry_price, a.last_entry_ts) == (5, 5000.0, 5000.0, f.now)
        assert a.pending_order_id is None and a.pending_qty == 0 and a.pending_side is None
        assert (a.order_count, a.exit_mode, a.env, a.trade_mode) == (1, "A", "DEMO", "SCALP")
        assert (a.entry_zone, a.main_flip_exit_enabled) == ("NORMAL", False)
        assert (a.entry_main_renko_ts, a.entry_high_renko_ts) == (a.main_renko_ts, a.high_renko_ts)
        assert (a.entry_main_renko_color, a.entry_renko_color) == ("green", "red")
        assert (a.initial_exit_lock_active, a.initial_exit_lock_released, a.initial_exit_lock_started_ts) == (
            True, False, f.now)
        assert a.initial_exit_lock_base_main_ts == a.main_renko_ts
        assert (a.points_tp_enabled, a.points_tp_target, a.rithmic_point_value, a.rithmic_open_points) == (
            True, 15.0, 5.0, 0.0)
        assert (a.protect_enabled, a.protect_threshold_points) == (False, -2.0)
        assert (a.scale_in_available, a.scale_in_used, a.high_next_bar_exit_enabled,
                a.four_pt_invalidation_enabled) == (False, False, False, False)
        assert (a.tp_armed, a.tp_count, a.tp_target) == (False, 0, 3)
        assert f.world.glob.trades_taken_today == 1

    def test_aligned_two_half_starts_the_management_lock(self) -> None:
        f = Flow()
        f.open_long()
        a = f.es
        assert (a.two_half_tp_lock_enabled, a.two_half_tp_lock_base_color, a.two_half_tp_lock_released,
                a.two_half_tp_lock_started_ts) == (True, "green", False, f.now)

    def test_opposite_two_half_at_fill_starts_released(self) -> None:
        f = Flow()
        oid = f.enter()
        f.world.assets["ES"].two_half_renko_color = "red"
        f.report(oid, fill_price=5000.0)
        a = f.es
        assert (a.two_half_tp_lock_enabled, a.two_half_tp_lock_released, a.two_half_tp_lock_released_ts) == (
            False, True, f.now)

    def test_free_zone_entry_enables_the_six_point_flip(self) -> None:
        f = Flow()
        a = f.es
        a.macro_renko_color = "red"        # 8pt green, 12pt red → FREE
        oid = f.enter(direction="BUY")
        f.report(oid, fill_price=5000.0)
        assert (f.es.entry_zone, f.es.main_flip_exit_enabled) == ("FREE", True)

    @pytest.mark.parametrize("status", ["FILLED", "PARTIALLY_FILLED"])
    def test_a_fill_without_a_price_is_bad_input_even_with_a_price_known(self, status: str) -> None:
        """D19: the original took the last price, then 0.0 (a +$125,000 history row); the price is required now."""
        f = Flow()
        f(TvHeartbeat(asset="ES", price=4321.5), dt=0)
        oid = f.enter()
        before = f.world
        d = f.report(oid, status, cum_qty=2)
        assert (d.status, d.code) == (400, "INVALID_FILL_PRICE") and "fill_price: required" in str(d.body["error"])
        assert_unchanged(before, d)

    def test_a_fill_after_the_limit_was_used_up_meanwhile_opens_the_trade_without_counting_it(self) -> None:
        """The limit is judged when the entry is placed; the broker's fill is a fact that is kept regardless."""
        f = Flow()
        f.world.glob.trades_taken_today = f.world.glob.max_trades_per_day - 1
        oid = f.enter()
        assert f(ConsumeTradeLimit()).status == 200 and f.world.glob.trades_taken_today == 6
        d = f.report(oid, fill_price=5000.0)
        assert d.status == 200 and f.es.position == 5 and f.world.glob.trades_taken_today == 6
        assert ("trade_limit_exceeded", "DAILY_TRADE_LIMIT") in [(e.kind, e.code) for e in d.events]

    def test_partial_fills_accumulate_with_a_volume_weighted_price(self) -> None:
        f = Flow()
        oid = f.enter()
        d = f.report(oid, "PARTIALLY_FILLED", qty=2, fill_price=5000.0, fill_id="F1")
        order = f.world.orders[oid]
        assert d.status == 200 and (order.status, order.filled_qty) == ("PARTIALLY_FILLED", 2)
        assert f.es.position == 2 and f.es.pending_order_id == oid
        f.report(oid, "PARTIALLY_FILLED", qty=3, fill_price=5010.0, fill_id="F2")
        order = f.world.orders[oid]
        assert (order.status, order.filled_qty, order.avg_fill_price) == ("FILLED", 5, 5006.0)
        assert (f.es.position, f.es.avg_price) == (5, 5006.0)
        assert f.es.pending_order_id is None
        assert f.world.glob.trades_taken_today == 1 and f.es.order_count == 1

    def test_filled_after_a_partial_defaults_to_the_remaining_qty(self) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "PARTIALLY_FILLED", cum_qty=1, fill_price=5000.0)
        f.report(oid, "FILLED", fill_price=5005.0)
        assert (f.es.position, f.es.avg_price, f.world.orders[oid].filled_qty) == (5, 5004.0, 5)

    @pytest.mark.parametrize("fields", [{"cum_qty": 4}, {"fill_id": "B"}, {"qty": 4, "fill_id": "B"}])
    def test_a_filled_report_after_a_partial_is_a_repeat_whatever_it_carries(self, fields: dict[str, Any]) -> None:
        """D19: FILLED completes its order, so a FILLED again (a re-send after a lost answer) changes nothing."""
        f = Flow()
        oid = f.enter()
        f.report(oid, "PARTIALLY_FILLED", cum_qty=1, fill_price=5000.0)
        f.report(oid, "FILLED", fill_price=5005.0, fill_id="A")
        before = f.world
        d = f.report(oid, "FILLED", fill_price=5005.0, **fields)
        assert d.duplicate is True and f.es.position == 5
        assert_unchanged(before, d)

    @pytest.mark.parametrize(("status", "fields"), [
        ("PARTIALLY_FILLED", {"qty": 2}), ("FILLED", {"qty": 2}),
    ])
    def test_a_fill_short_of_the_order_must_say_which_fill_it_is(self, status: str, fields: dict[str, Any]) -> None:
        """D19: without fill_id or cum_qty a re-sent report would count twice: refused, naming both fields."""
        f = Flow()
        oid = f.enter()
        before = f.world
        d = f.report(oid, status, fill_price=5000.0, **fields)
        assert (d.status, d.code) == (400, "FILL_NOT_IDENTIFIED")
        assert str(d.body["error"]).startswith("fill_id or cum_qty: one is required")
        assert_unchanged(before, d)

    def test_a_filled_report_that_completes_the_order_needs_no_identity(self) -> None:
        """The original bridge's FILLED carries neither: it completes the order, and any FILLED after it repeats."""
        f = Flow()
        oid = f.enter()
        assert f.report(oid, "FILLED", fill_price=5000.0, qty=5).status == 200 and f.es.position == 5
        assert f.report(oid, "FILLED", fill_price=5000.0).duplicate is True and f.es.position == 5

    def test_cumulative_qty_repeats_are_duplicates(self) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "PARTIALLY_FILLED", cum_qty=2, fill_price=5000.0)
        before = f.world
        d = f.report(oid, "PARTIALLY_FILLED", cum_qty=2, fill_price=5000.0)
        assert d.duplicate is True
        assert_unchanged(before, d)
        f.report(oid, "FILLED", cum_qty=5, fill_price=5000.0)
        assert f.es.position == 5 and f.world.orders[oid].status == "FILLED"

    def test_a_repeated_filled_report_is_a_no_op(self) -> None:
        f = Flow()
        oid = f.open_long()
        before = f.world
        d = f.report(oid, fill_price=5000.0)
        assert (d.status, d.body, d.duplicate) == (200, {"ok": True, "duplicate": True}, True)
        assert_unchanged(before, d)

    def test_a_repeated_fill_id_is_a_no_op(self) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "PARTIALLY_FILLED", qty=2, fill_price=5000.0, fill_id="F1")
        before = f.world
        d = f.report(oid, "PARTIALLY_FILLED", qty=2, fill_price=5000.0, fill_id="F1")
        assert d.duplicate is True and f.es.position == 2
        assert_unchanged(before, d)
        f.report(oid, "PARTIALLY_FILLED", qty=2, fill_price=5000.0, fill_id="F2")
        assert f.es.position == 4 and f.world.orders[oid].fill_ids == ["F1", "F2"]

    @pytest.mark.parametrize(("fields", "text"), [
        ({"qty": 6}, "qty: 6 exceeds the 5 remaining"),
        ({"cum_qty": 7}, "cum_qty: 7 means a fill of 7, more than the 5 remaining"),
    ])
    def test_overfill_is_bad_input_naming_the_field(self, fields: dict[str, Any], text: str) -> None:
        # D15: a quantity beyond what remains is a bad value (400 naming the field), not a state conflict
        f = Flow()
        oid = f.enter()
        before = f.world
        d = f.report(oid, fill_price=5000.0, **fields)
        assert (d.status, d.code) == (400, "OVERFILL")
        assert str(d.body["error"]).startswith(text)
        assert_unchanged(before, d)

    @pytest.mark.parametrize(("fields", "text"), [
        ({"qty": 2}, "qty: 2 exceeds the 1 remaining"),
        ({"cum_qty": 6}, "cum_qty: 6 means a fill of 2, more than the 1 remaining"),
    ])
    def test_overfill_after_a_partial(self, fields: dict[str, Any], text: str) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "PARTIALLY_FILLED", qty=4, fill_price=5000.0, fill_id="F1")
        before = f.world
        d = f.report(oid, "PARTIALLY_FILLED", fill_price=5000.0, fill_id="F2", **fields)
        assert (d.status, d.code) == (400, "OVERFILL") and f.es.position == 4
        assert str(d.body["error"]).startswith(text) and "(4 of 5 filled)" in str(d.body["error"])
        assert_unchanged(before, d)
        # what remains is still accepted
        assert f.report(oid, "PARTIALLY_FILLED", qty=1, fill_price=5000.0, fill_id="F3").status == 200
        assert f.es.position == 5

    def test_zero_qty_is_bad_input(self) -> None:
        f = Flow()
        oid = f.enter()
        d = f.report(oid, "PARTIALLY_FILLED", qty=0, fill_id="F1", fill_price=5000.0)
        assert (d.status, d.code) == (400, "INVALID_QTY")

    def test_unknown_order_is_404_and_changes_nothing(self) -> None:
        f = Flow()
        f.enter()
        before = f.world
        for status in ("WORKING", "FILLED", "REJECTED"):
            d = f.report("nope", status)
            assert (d.status, d.code, d.body["error"]) == (404, "UNKNOWN_ORDER", "Unknown order")
            assert_unchanged(before, d)

    @pytest.mark.parametrize(("first", "second"), [
        ("FILLED", "REJECTED"), ("FILLED", "CANCELLED"), ("REJECTED", "CANCELLED"), ("CANCELLED", "REJECTED"),
    ])
    def test_illegal_transitions_are_409(self, first: str, second: str) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, first, fill_price=5000.0)
        before = f.world
        d = f.report(oid, second, fill_price=5000.0, qty=1)
        assert (d.status, d.code) == (409, "ILLEGAL_TRANSITION")
        assert_unchanged(before, d)

    @pytest.mark.parametrize("status", ["REJECTED", "CANCELLED"])
    def test_repeated_terminal_report_is_a_duplicate(self, status: str) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, status)
        before = f.world
        d = f.report(oid, status)
        assert d.duplicate is True
        assert_unchanged(before, d)


# ---- entries that end without a fill ------------------------------------------------------------------------

class TestEntryNotFilled:
    @pytest.mark.parametrize("status", ["REJECTED", "CANCELLED"])
    def test_in_the_same_candle_it_rearms_tempo_and_frees_the_candle(self, status: str) -> None:
        f = Flow()
        oid = f.enter()
        assert f.es.tempo_spent_ts == T0 and f.world.glob.five_min_trade_bucket is not None
        d = f.report(oid, status, reason="no route")
        assert d.status == 200
        assert f.es.pending_order_id is None and f.es.tempo_spent_ts is None
        assert f.world.glob.five_min_trade_bucket is None
        assert f.world.orders[oid].reason == "no route"
        assert any(e.kind == "lock_released" and e.code == "CANDLE_LOCK_ACTIVE" for e in d.events)
        assert place(f.world, f.now + 1).status == 201   # entry possible again in the same candle

    def test_in_a_later_candle_only_the_tempo_is_rearmed(self) -> None:
        f = Flow()
        oid = f.enter()
        bucket = f.world.glob.five_min_trade_bucket
        d = f.report(oid, "REJECTED", dt=CONFIG.candle_s)
        assert f.es.tempo_spent_ts is None and f.world.glob.five_min_trade_bucket == bucket
        assert not any(e.kind == "lock_released" for e in d.events)

    def test_rejected_after_a_partial_fill_keeps_the_trade(self) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "PARTIALLY_FILLED", qty=2, fill_price=5000.0, fill_id="F1")
        f.report(oid, "REJECTED")
        assert f.es.position == 2 and f.es.pending_order_id is None
        assert f.es.tempo_spent_ts == T0 and f.world.glob.five_min_trade_bucket is not None


# ---- late fills: a fill is a fact whatever the order's state (D19) -------------------------------------------------

def late_fill_events(d: Decision) -> list[dict[str, Any]]:
    return [e.detail for e in d.events if (e.kind, e.code) == ("late_fill", "LATE_FILL")]


class TestLateFills:
    @pytest.mark.parametrize("ended", ["REJECTED", "CANCELLED"])
    def test_an_entry_filled_after_the_broker_ended_it_opens_the_trade(self, ended: str) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, ended, reason="race")
        assert f.es.pending_order_id is None and f.es.tempo_spent_ts is None
        d = f.report(oid, "FILLED", fill_price=5001.0)
        assert d.status == 200 and f.es.position == 5 and f.es.avg_price == 5001.0
        assert f.world.orders[oid].status == "FILLED" and f.world.orders[oid].filled_qty == 5
        (late,) = late_fill_events(d)
        assert (late["after"], late["order_kind"], late["qty"], late["price"]) == (ended, "ENTRY", 5, 5001.0)
        # the position it opened is managed like any other: an exit is accepted for it
        assert f(ManualExit(asset="ES", force=True)).status == 201

    def test_a_partial_then_cancel_then_a_late_partial_keeps_every_contract(self) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "PARTIALLY_FILLED", cum_qty=2, fill_price=5000.0)
        f.report(oid, "CANCELLED")
        assert f.es.position == 2
        d = f.report(oid, "PARTIALLY_FILLED", cum_qty=3, fill_price=5003.0)
        order = f.world.orders[oid]
        assert d.status == 200 and f.es.position == 3 and f.es.avg_price == pytest.approx(5001.0)
        # the broker ended the rest: the order stays CANCELLED, with the fill counted on it
        assert (order.status, order.filled_qty) == ("CANCELLED", 3) and f.es.pending_order_id is None
        assert late_fill_events(d)[0]["after"] == "CANCELLED"
        before = f.world
        again = f.report(oid, "PARTIALLY_FILLED", cum_qty=3, fill_price=5003.0)
        assert again.duplicate is True
        assert_unchanged(before, again)

    def test_an_exit_filled_after_its_cancel_closes_the_trade(self) -> None:
        f = Flow()
        f.open_long(5000.0)
        oid = f.exit_order()
        f.report(oid, "CANCELLED")
        assert f.es.position == 5
        d = f.report(oid, "FILLED", fill_price=5010.0)
        (row,) = d.trades
        assert f.es.position == 0 and row["exit_price"] == 5010.0 and late_fill_events(d)[0]["order_kind"] == "EXIT"

    def test_a_fill_on_a_live_order_is_no_late_fill(self) -> None:
        f = Flow()
        oid = f.enter()
        f.report(oid, "WORKING")
        assert late_fill_events(f.report(oid, "FILLED", fill_price=5000.0)) == []

    def test_a_fill_on_an_order_whose_lease_ran_out_is_a_late_fill(self) -> None:
        f = Flow()
        oid = f.enter()
        f(PollPending(), dt=0)
        d = f.report(oid, "FILLED", fill_price=5000.0, dt=CONFIG.order_lease_s + 1)
        assert f.es.position == 5 and late_fill_events(d)[0]["after"] == "STALE"


# ---- scale-in ----------------------------------------------------------------------------------------------------

class TestScaleIn:
    def _scale_in(self, f: Flow, stage: str = "READY_4PT_PULLBACK") -> str:
        f.open_long(5000.0)
        a = f.es
        a.scale_in_available, a.scale_in_stage = True, stage
        d = f(ScaleIn(asset="ES"))
        assert d.status == 201, d.body
        order = f.world.orders[str(d.body["order"]["id"])]  # type: ignore[index]
        assert (order.side, order.qty, order.source, order.kind) == ("BUY", 5, "SCALE_IN", "ENTRY")
        assert (f.es.scale_in_available, f.es.scale_in_used) == (False, True)
        return order.id

    @pytest.mark.parametrize("status", ["REJECTED", "CANCELLED"])
    def test_a_rejected_scale_in_is_given_back_as_ready_6pt(self, status: str) -> None:
        f = Flow()
        oid = self._scale_in(f)
        spent = f.es.tempo_spent_ts
        f.report(oid, status)
        a = f.es
        assert (a.scale_in_available, a.scale_in_used, a.scale_in_stage, a.scale_in_last_ts) == (
            True, False, "READY_6PT", f.now)
        assert a.tempo_spent_ts == spent and a.position == 5 and a.pending_order_id is None

    def test_scale_in_fill_adds_with_a_weighted_average(self) -> None:
        f = Flow()
        oid = self._scale_in(f)
        before = f.es
        f.report(oid, fill_price=5010.0)
        a = f.es
        assert (a.position, a.avg_price, a.entry_price) == (10, 5005.0, 5005.0)
        assert (a.order_count, a.scale_in_used, a.scale_in_available, a.scale_in_stage) == (2, True, False, None)
        assert f.world.glob.trades_taken_today == 1
        assert a.initial_exit_lock_active == before.initial_exit_lock_active
        assert a.last_entry_ts == before.last_entry_ts and a.pending_order_id is None

    def test_scale_in_fill_against_a_flat_position_is_a_409_mismatch(self) -> None:
        f = Flow()
        oid = self._scale_in(f)
        f.world.assets["ES"].position = 0
        d = f.report(oid, fill_price=5010.0)
        assert (d.status, d.code) == (409, "SCALE_IN_MISMATCH")
        assert d.body["error"] == "Scale-in fill direction mismatch or no open position"
        assert f.es.position == 0 and f.es.pending_order_id is None

    def test_scale_in_fill_against_the_other_direction_is_a_409_mismatch(self) -> None:
        f = Flow()
        oid = self._scale_in(f)
        f.world.assets["ES"].position = -5
        d = f.report(oid, fill_price=5010.0)
        assert (d.status, d.code) == (409, "SCALE_IN_MISMATCH") and f.es.position == -5


# ---- exit fills and close_trade ---------------------------------------------------------------------------------

class TestExitFillAndClose:
    def test_partial_exit_fills_then_close_with_a_weighted_exit_price(self) -> None:
        f = Flow()
        f.open_long(5000.0)
        oid = f.exit_order()
        f.report(oid, "PARTIALLY_FILLED", qty=2, fill_price=5010.0, fill_id="X1")
        assert f.es.position == 3 and f.es.pending_order_id == oid
        d = f.report(oid, fill_price=5020.0)
        assert f.es.position == 0 and f.es.pending_order_id is None
        (row,) = d.trades
        assert (row["side"], row["size"], row["entry_price"], row["exit_price"]) == ("LONG", 5, 5000.0, 5016.0)
        assert row["pnl_points"] == pytest.approx(16.0) and row["pnl_usd"] == pytest.approx(16.0 * 5 * 5)
        assert row["reason"] == "manual_exit" and row["symbol"] == "MESH6"

    def test_history_uses_the_contract_point_value(self) -> None:
        f = Flow()
        f.open_long(5000.0)
        d = f.report(f.exit_order(), fill_price=5010.0)
        (row,) = d.trades
        assert (row["pnl_points"], row["pnl_usd"]) == (10.0, 250.0)   # MES $5 × 10 pts × 5 contracts

    def test_short_profit_has_positive_points(self) -> None:
        f = Flow()
        f.es.high_renko_color = f.es.macro_renko_color = f.es.main_renko_color = "red"
        f.es.two_half_renko_color = "red"
        oid = f.enter()
        f.report(oid, fill_price=5000.0)
        assert f.es.position == -5
        (row,) = f.report(f.exit_order(), fill_price=4990.0).trades
        assert (row["side"], row["pnl_points"], row["pnl_usd"]) == ("SHORT", 10.0, 250.0)

    def test_close_resets_list_a_and_starts_the_cooldown(self) -> None:
        f = Flow()
        f.open_long(5000.0)
        a = f.world.assets["ES"]
        a.tp_armed, a.tp_count, a.tp_target = True, 2, 1
        a.high_next_bar_exit_enabled, a.high_next_bar_exit_base_ts = True, T0
        a.four_pt_invalidation_enabled = True
        a.protect_enabled, a.protect_threshold_points = True, 0.5
        a.main_flip_exit_enabled = True
        a.scale_in_available, a.scale_in_stage = True, "READY_6PT"
        a.runner_4pt_unlocked = True
        a.main_renko_ts = f.now  # a fresh 6pt bar since entry
        oid = f.exit_order()
        d = f.report(oid, fill_price=5001.0)
        a = f.es
        expected = {
            "position": 0, "avg_price": None, "entry_price": None, "pnl": 0.0, "last_entry_ts": None,
            "exit_mode": None, "last_exit_ts": f.now, "tempo_4pt_unlock_ts": None, "color_changed": False,
            "env": None, "tp_count": 0, "tp_armed": False, "tp_target": 1, "high_next_bar_exit_enabled": False,
            "high_next_bar_exit_base_ts": None, "high_next_bar_exit_started_ts": None,
            "main_flip_exit_enabled": False, "initial_exit_lock_active": False,
            "initial_exit_lock_released": False, "initial_exit_lock_started_ts": None,
            "initial_exit_lock_released_ts": None, "initial_exit_lock_base_main_ts": None, "trade_mode": None,
            "entry_zone": None, "runner_4pt_unlocked": False, "entry_main_renko_ts": None,
            "entry_high_renko_ts": None, "entry_renko_color": None, "entry_main_renko_color": None,
            "four_pt_invalidation_enabled": False, "pending_trade_mode": None, "preorder_trade_mode": None,
            "points_tp_enabled": False, "points_tp_target": 15.0, "rithmic_open_points": 0.0,
            "rithmic_point_value": None, "points_tp_hit_ts": None, "protect_enabled": False,
            "protect_threshold_points": -2.0, "protect_hit_ts": None, "two_half_tp_lock_enabled": False,
            "two_half_tp_lock_base_color": None, "two_half_tp_lock_released": False,
            "two_half_tp_lock_started_ts": None, "two_half_tp_lock_released_ts": None, "scale_in_available": False,
            "scale_in_used": False, "scale_in_stage": None, "scale_in_last_ts": None,
            "last_trade_had_new_main_bar_after_entry": True, "exit_filled_qty": 0, "exit_fill_value": 0.0,
        }
        assert {k: getattr(a, k) for k in expected} == expected
        assert a.last_price == 5001.0
        g = f.world.glob
        assert (g.post_exit_lock_started_ts, g.post_exit_lock_expires_ts) == (f.now, f.now + 180.0)
        assert [t.kind for t in d.timers] == ["cooldown_end"] and d.timers[0].at == f.now + 180.0
        refused = place(ready_to_enter(f.world, f.now + 179), f.now + 179)
        assert (refused.code, refused.body["error"]) == (
            "POST_EXIT_COOLDOWN", "POST-EXIT COOLDOWN ACTIVE (00:01 remaining)")

    def test_a_trade_without_a_fresh_6pt_bar_is_remembered_as_such(self) -> None:
        f = Flow()
        f.open_long()
        f.report(f.exit_order(), fill_price=5000.0)
        assert f.es.last_trade_had_new_main_bar_after_entry is False

    def test_an_exit_fill_without_a_price_is_refused_and_the_trade_stays_open(self) -> None:
        """D19 replaces §7.2's fallback (last price, then 0.0: an exit at 0.0 booked a fantasy P&L)."""
        f = Flow()
        f.open_long(5000.0)
        oid = f.exit_order()
        before = f.world
        d = f.report(oid)
        assert (d.status, d.code) == (400, "INVALID_FILL_PRICE") and d.trades == []
        assert_unchanged(before, d)
        assert f.report(oid, fill_price=5004.0).status == 200 and f.es.position == 0

    def test_exit_fill_while_flat_records_only_the_order(self) -> None:
        """The broker's snapshots closed the trade (D10): the exit's fill arriving later explains it, adds nothing."""
        f = Flow()
        f.open_long()
        oid = f.exit_order()
        f.world.assets["ES"].position = 0
        f.world.assets["ES"].unfilled_close_qty = 5
        g_before = f.world.glob
        d = f.report(oid, fill_price=5010.0)
        assert d.status == 200 and d.trades == [] and d.timers == [] and f.es.position == 0
        assert f.world.orders[oid].status == "FILLED" and f.es.pending_order_id is None
        assert f.world.glob.post_exit_lock_expires_ts == g_before.post_exit_lock_expires_ts
        assert ("exit_fill_while_flat", "FLAT_LOCAL") in [(e.kind, e.code) for e in d.events]
        assert f.es.unfilled_close_qty == 0

    def test_broker_flat_snapshots_then_the_exit_fill_leave_the_desk_flat(self) -> None:
        f = Flow()
        f.open_long()
        oid = f.exit_order()
        f.world.assets["ES"].pending_order_id = None   # the exit's report lost: nothing explains the flatness yet
        for _ in range(2):
            f(PnlSnapshot(account_balance=50_050.0))
        assert f.es.position == 0 and f.es.unfilled_close_qty == 5
        f.report(oid, fill_price=5010.0)
        assert f.es.position == 0 and f.es.unfilled_close_qty == 0


    def test_exit_fill_in_the_same_direction_is_ignored(self) -> None:
        f = Flow()
        f.open_long()
        oid = f.exit_order()
        f.world.orders[oid].side = "BUY"
        d = f.report(oid, fill_price=5010.0)
        assert d.status == 200 and f.es.position == 5 and d.trades == []

    def test_exit_rejected_keeps_the_position(self) -> None:
        f = Flow()
        f.open_long()
        oid = f.exit_order()
        f.report(oid, "REJECTED")
        assert f.es.position == 5 and f.es.pending_order_id is None and f.es.tempo_spent_ts is not None

    def test_nq_history_at_two_dollars_a_point(self) -> None:
        world = ready_to_enter(fresh_world(), asset="NQ")
        f = Flow(world)
        d = place(f.world, f.now, asset="NQ")
        assert d.status == 201
        f.world = d.world
        oid = str(d.body["order"]["id"])  # type: ignore[index]
        f.report(oid, fill_price=20000.0)
        assert f.world.assets["NQ"].rithmic_point_value == 2.0
        d = f(ManualExit(asset="NQ", force=True))
        (row,) = f.report(str(d.body["order"]["id"]), fill_price=20010.0).trades  # type: ignore[index]
        assert (row["symbol"], row["pnl_usd"]) == ("MNQH6", 100.0)


class TestReviewFindings:
    """Fill math that only adds (D9), stuck orders that can be recovered, exact realized P&L."""

    def test_a_working_order_never_goes_stale_and_is_not_cancelled_locally(self) -> None:
        """Issue 7 (D9: STALE is a claimed order with NO report): WORKING is live at the broker however old."""
        f = Flow()
        oid = f.enter()
        f(PollPending(owner="b"))                      # lease: 200 s
        f.report(oid, "WORKING", dt=150)
        assert effective_status(f.world.orders[oid], f.now + 10_000) == "WORKING"
        d = f(CancelOrder(order_id=oid), dt=10_000)
        assert (d.status, d.code) == (409, "ORDER_LIVE_AT_BROKER") and f.es.pending_order_id == oid

    def test_a_late_opposite_entry_fill_closes_the_open_trade_with_its_history_row(self) -> None:
        f = Flow()
        oid = f.enter()
        f(PollPending(owner="b"))
        f(CancelOrder(order_id=oid), dt=201)          # STALE, cancelled by the operator
        short = in_short_trade(f.world)               # meanwhile a short of 5 at 4990 is open
        short.assets["ES"].avg_price = short.assets["ES"].entry_price = 4990.0
        f.world = short
        d = f.report(oid, fill_price=5000.0)          # the broker did fill the BUY 5 after all
        assert d.status == 200 and f.es.position == 0
        (row,) = d.trades
        assert (row["side"], row["size"], row["pnl_points"], row["pnl_usd"]) == ("SHORT", 5, -10.0, -250.0)
        assert f.world.glob.post_exit_lock_expires_ts == f.now + 180

    def test_the_rest_of_a_late_fill_beyond_the_open_trade_opens_a_new_one(self) -> None:
        f = Flow()
        oid = f.enter()                               # BUY 5
        f(PollPending(owner="b"))
        f(CancelOrder(order_id=oid), dt=201)
        f.world = in_short_trade(f.world, qty=3)
        d = f.report(oid, fill_price=5000.0)
        assert len(d.trades) == 1 and f.es.position == 2 and f.es.avg_price == 5000.0
        assert f.es.initial_exit_lock_active is True  # the rest is a managed trade of its own

    def test_a_filled_report_repeated_with_its_qty_is_a_duplicate(self) -> None:
        f = Flow()
        oid = f.open_long()
        before = f.world
        d = f.report(oid, fill_price=5000.0, qty=5)
        assert d.body == {"ok": True, "duplicate": True}
        assert_unchanged(before, d)

    def test_a_partial_fill_needs_its_quantity(self) -> None:
        f = Flow()
        oid = f.enter()
        d = f.report(oid, "PARTIALLY_FILLED", fill_price=5000.0)
        assert (d.status, d.code) == (400, "INVALID_QTY") and f.es.position == 0

    def test_realized_pnl_counts_a_scale_in_between_partial_exits(self) -> None:
        """5@5000, exit 2@5010, rest cancelled, scale-in 5@5020, exit 8@5030: 2×10 + 8×17.5 = 160 pts = $800."""
        f = Flow()
        f.open_long(5000.0)
        exit1 = f.exit_order()
        f.report(exit1, "PARTIALLY_FILLED", fill_price=5010.0, qty=2, fill_id="X1")
        f.report(exit1, "CANCELLED")
        assert f.es.position == 3
        f.world.assets["ES"].scale_in_available = True
        scale = f(ScaleIn(asset="ES")).body["order"]["id"]  # type: ignore[index]
        f.report(scale, fill_price=5020.0)
        assert f.es.position == 8 and f.es.avg_price == pytest.approx((3 * 5000 + 5 * 5020) / 8)
        exit2 = f.exit_order()
        d = f.report(exit2, fill_price=5030.0)
        (row,) = d.trades
        assert row["size"] == 10 and row["pnl_usd"] == pytest.approx(800.0)
        assert row["pnl_points"] == pytest.approx(16.0)

    def test_an_exit_fill_beyond_the_position_closes_it_and_reports_the_rest(self) -> None:
        """The rest is not booked as a new trade: D10's reconciliation flags what the broker holds."""
        f = Flow()
        f.open_long()
        exit_id = f.exit_order()
        f.world.assets["ES"].position = 3            # something else already reduced the trade
        d = f.report(exit_id, fill_price=5010.0)
        assert f.es.position == 0 and len(d.trades) == 1
        assert [(e.kind, e.detail["extra_qty"]) for e in d.events if e.code == "EXIT_OVERFILL"] == [
            ("exit_fill_beyond_position", 2)]
