"""The VPS bridge (§9, D9–D11): heartbeats, PnL snapshots with reconciliation and the daily stop, order claiming."""

from __future__ import annotations

from typing import Any

import pytest
from builders import T0, fresh_world, in_long_trade, ny, place, ready_to_enter, run

from shared.domain import Decision, World
from shared.domain.inputs import (
    BridgeHeartbeat,
    CreateIntent,
    ExecutionReport,
    LevelExit,
    PnlSnapshot,
    PollPending,
    ScaleIn,
    SymbolPosition,
    TimerFired,
)
from shared.domain.orders import effective_status
from shared.domain.state import AssetState
from shared.domain.view import state_view

from builders import CONFIG  # isort: skip


def es(x: Decision | World) -> AssetState:
    world = x.world if isinstance(x, Decision) else x
    return world.assets["ES"]


def snap(balance: float | None = None, *positions: tuple[str, int, float], **fields: Any) -> PnlSnapshot:
    symbols = tuple(SymbolPosition(symbol=s, position=p, open_pnl=pnl) for s, p, pnl in positions)
    return PnlSnapshot(account_balance=balance, symbols=symbols, **fields)


def snapshots(world: World, now: float, *inputs: PnlSnapshot, step: float = 2.0) -> list[Decision]:
    out = []
    for i, inp in enumerate(inputs):
        d = run(world, inp, now + i * step, f"s{i}")
        out.append(d)
        world = d.world
    return out


# ---- bridge heartbeat ------------------------------------------------------------------------------------------

class TestBridgeHeartbeat:
    def test_stores_the_bridge_fields_with_booleans_coerced_and_no_secret(self) -> None:
        info = {"tsConnected": 1, "mdConnected": 0, "repoOk": None, "account": "ACC-1", "tradeRoute": "R1",
                "exchange": "CME", "lastRapiEventUtc": "2026-01-13T15:00:00Z", "lastOrdersPollUtc": None,
                "lastOrdersOkUtc": None, "lastPnlMsgUtc": None, "note": "hi", "secret": "s3cr3t",
                "bridge": "rithmic-unified-bridge", "version": "v1"}
        d = run(fresh_world(), BridgeHeartbeat(info=info), T0)
        g = d.world.glob
        assert d.body == {"ok": True} and g.rithmic_last_ts == T0
        assert g.rithmic_bridge is not None
        assert (g.rithmic_bridge["tsConnected"], g.rithmic_bridge["mdConnected"], g.rithmic_bridge["repoOk"]) == (
            True, False, False)
        assert g.rithmic_bridge["account"] == "ACC-1" and g.rithmic_bridge["server_received_ts"] == T0
        assert "secret" not in g.rithmic_bridge and "s3cr3t" not in repr(d.world)
        assert "bridge" not in g.rithmic_bridge

    def test_connectivity_is_judged_by_recency_only(self) -> None:
        d = run(fresh_world(), BridgeHeartbeat(info={"tsConnected": False}), T0)
        assert state_view(d.world, T0 + 60, CONFIG)["global"]["rithmic_connected"] is True
        assert state_view(d.world, T0 + 60.5, CONFIG)["global"]["rithmic_connected"] is False


# ---- PnL snapshot: common part and open points ----------------------------------------------------------------

class TestSnapshotBasics:
    def test_balance_becomes_equity_and_account_figures_are_kept(self) -> None:
        d = run(fresh_world(), snap(51000.0, realized=12.5, unrealized=-3.0), T0)
        g = d.world.glob
        assert (g.equity, g.rithmic_account_balance, g.rithmic_realized, g.rithmic_unrealized) == (
            51000.0, 51000.0, 12.5, -3.0)
        assert g.rithmic_last_ts == g.rithmic_snapshot_ts == T0

    def test_a_heartbeat_is_no_snapshot_the_money_figures_age_from_the_last_snapshot(self) -> None:
        world = run(fresh_world(), snap(51000.0), T0).world
        g = run(world, BridgeHeartbeat(info={"tsConnected": True}), T0 + 30).world.glob
        assert (g.rithmic_last_ts, g.rithmic_snapshot_ts) == (T0 + 30, T0)

    def test_missing_or_non_finite_balance_keeps_equity(self) -> None:
        w = run(fresh_world(), snap(51000.0), T0).world
        for balance in (None, float("nan"), float("inf")):
            d = run(w, snap(balance), T0 + 1)
            assert d.world.glob.equity == 51000.0 and d.world.glob.rithmic_account_balance is None

    @pytest.mark.parametrize(("pos", "pnl", "points"), [(5, 100.0, 4.0), (-2, 20.0, 2.0), (5, -62.5, -2.5)])
    def test_open_points_are_open_pnl_per_contract_point(self, pos: int, pnl: float, points: float) -> None:
        w = in_long_trade(fresh_world(), qty=abs(pos)) if pos > 0 else fresh_world()
        if pos < 0:
            from builders import in_short_trade

            w = in_short_trade(w, qty=-pos)
        a = es(run(w, snap(None, ("MESH6", pos, pnl)), T0))
        assert (a.rithmic_open_points, a.rithmic_point_value, a.pnl, a.broker_position) == (points, 5.0, pnl, pos)

    def test_flat_broker_contract_has_zero_open_points(self) -> None:
        a = es(run(fresh_world(), snap(None, ("MESH6", 0, 12.0)), T0))
        assert (a.rithmic_open_points, a.broker_position) == (0.0, 0)

    def test_a_contract_not_listed_counts_as_flat(self) -> None:
        w = run(fresh_world(), snap(None, ("MESH6", 2, 0.0)), T0).world
        assert es(run(w, snap(None), T0 + 1)).broker_position == 0

    def test_unknown_contracts_are_ignored(self) -> None:
        d = run(fresh_world(), snap(None, ("CLF6", 3, 50.0)), T0)
        assert es(d).broker_position == 0 and d.world.assets["NQ"].broker_position == 0


# ---- D10 reconciliation -------------------------------------------------------------------------------------------

class TestReconciliation:
    def test_one_disagreeing_snapshot_changes_nothing_two_set_mismatch(self) -> None:
        w = in_long_trade(fresh_world())
        one, two = snapshots(w, T0, snap(None, ("MESH6", 3, 0.0)), snap(None, ("MESH6", 3, 0.0)))
        assert (es(one).position, es(one).position_mismatch) == (5, False)
        assert (es(two).position, es(two).position_mismatch) == (5, True)
        assert any(e.kind == "position_mismatch" for e in two.events)

    def test_agreement_clears_the_mismatch(self) -> None:
        w = in_long_trade(fresh_world())
        *_, d = snapshots(w, T0, snap(None, ("MESH6", 3, 0.0)), snap(None, ("MESH6", 3, 0.0)),
                          snap(None, ("MESH6", 5, 0.0)))
        assert es(d).position_mismatch is False and es(d).mismatch_streak == 0
        assert any(e.kind == "position_mismatch_cleared" for e in d.events)

    def test_disagreements_must_be_consecutive(self) -> None:
        w = in_long_trade(fresh_world())
        *_, d = snapshots(w, T0, snap(None, ("MESH6", 3, 0.0)), snap(None, ("MESH6", 5, 0.0)),
                          snap(None, ("MESH6", 3, 0.0)))
        assert es(d).position_mismatch is False

    def test_mismatch_blocks_entries(self) -> None:
        w = ready_to_enter(fresh_world())
        *_, d = snapshots(w, T0, snap(None, ("MESH6", 2, 0.0)), snap(None, ("MESH6", 2, 0.0)))
        assert es(d).position == 0 and es(d).position_mismatch is True
        refused = place(d.world, T0 + 5)
        assert (refused.status, refused.code) == (409, "POSITION_MISMATCH")

    def test_an_order_in_flight_suspends_the_judgement(self) -> None:
        w = in_long_trade(fresh_world())
        w.assets["ES"].pending_order_id = "ES-x"
        *_, d = snapshots(w, T0, snap(None, ("MESH6", 0, 0.0)), snap(None, ("MESH6", 0, 0.0)),
                          snap(None, ("MESH6", 0, 0.0)))
        assert (es(d).position, es(d).position_mismatch, es(d).mismatch_streak) == (5, False, 0)
        assert d.trades == []

    def test_two_broker_flat_snapshots_close_the_trade(self) -> None:
        w = in_long_trade(fresh_world(), price=5000.0)
        w.assets["ES"].last_price = 4990.0
        one, two = snapshots(w, T0, snap(None), snap(None, ("MESH6", 0, 0.0)))
        assert es(one).position == 5 and one.trades == []
        assert es(two).position == 0
        (row,) = two.trades
        assert (row["reason"], row["exit_price"], row["size"], row["pnl_usd"]) == ("broker_flat", 4990.0, 5, -250.0)
        g = two.world.glob
        assert g.post_exit_lock_expires_ts == T0 + 2 + 180
        assert es(two).position_mismatch is False

    def test_broker_flat_without_any_price_closes_at_the_entry(self) -> None:
        w = in_long_trade(fresh_world(), price=5000.0)
        _, two = snapshots(w, T0, snap(None), snap(None))
        (row,) = two.trades
        assert (row["exit_price"], row["pnl_points"]) == (5000.0, 0.0)


# ---- §8.10 daily stop with D4 / D11 -----------------------------------------------------------------------------

class TestDailyStop:
    def test_start_equity_is_the_first_balance_of_the_day(self) -> None:
        *_, d = snapshots(fresh_world(), T0, snap(None), snap(50000.0), snap(49000.0))
        g = d.world.glob
        assert g.daily_start_equity == 50000.0
        assert (g.daily_pnl_usd, g.daily_pnl_pct) == (-1000.0, -0.02)
        assert g.daily_stop_remaining_pct == pytest.approx(0.28)

    def test_thirty_percent_boundary(self) -> None:
        w = fresh_world()
        _, near = snapshots(w, T0, snap(50000.0), snap(35000.01))
        assert near.world.glob.daily_stop_triggered is False and near.world.glob.trade_lock is False
        _, hit = snapshots(w, T0, snap(50000.0), snap(35000.0))
        g = hit.world.glob
        assert (g.daily_stop_triggered, g.trade_lock, g.trade_lock_reason) == (True, True, "DAILY_STOP")
        assert g.daily_stop_triggered_reason == "Drawdown 30.00% >= limit 30.00%"
        assert (g.daily_stop_triggered_equity, g.daily_stop_triggered_ts) == (35000.0, T0 + 2)
        assert g.daily_stop_triggered_dd_pct == pytest.approx(30.0)
        assert [e.kind for e in hit.events].count("daily_stop_trigger") == 1

    def test_disabled_daily_stop_never_triggers(self) -> None:
        w = fresh_world()
        w.glob.daily_stop_enabled = False
        _, d = snapshots(w, T0, snap(50000.0), snap(1000.0))
        assert d.world.glob.daily_stop_triggered is False

    def test_trigger_exits_open_positions_and_blocks_entries(self) -> None:
        w = in_long_trade(fresh_world())
        _, d = snapshots(w, T0, snap(50000.0, ("MESH6", 5, 0.0)), snap(30000.0, ("MESH6", 5, 0.0)))
        (order,) = d.world.orders.values()
        assert (order.source, order.kind, order.side, order.qty) == ("DAILY_STOP", "EXIT", "SELL", 5)
        fresh = ready_to_enter(d.world, T0 + 10)
        fresh.assets["NQ"] = ready_to_enter(fresh, T0 + 10, asset="NQ").assets["NQ"]
        refused = place(fresh, T0 + 10, asset="NQ")
        assert (refused.status, refused.code, refused.body["error"]) == (
            403, "DAILY_STOP", "Daily stop TRIGGERED — entries blocked for today")
        assert run(fresh, CreateIntent(asset="NQ"), T0 + 10).code == "DAILY_STOP"

    def test_trigger_cancels_pending_entries(self) -> None:
        w = ready_to_enter(fresh_world())
        placed = place(w, T0)
        oid = es(placed).pending_order_id
        assert oid is not None
        _, d = snapshots(placed.world, T0 + 1, snap(50000.0), snap(20000.0))
        order = d.world.orders[oid]
        assert (order.status, order.reason) == ("CANCELLED", "daily_stop")
        assert es(d).pending_order_id is None
        assert len(d.world.orders) == 1   # flat: no exit

    def test_a_claimed_entry_is_left_to_its_report(self) -> None:
        w = ready_to_enter(fresh_world())
        placed = place(w, T0)
        claimed = run(placed.world, PollPending(), T0 + 1).world
        _, d = snapshots(claimed, T0 + 2, snap(50000.0), snap(20000.0))
        (order,) = d.world.orders.values()
        assert order.status == "CLAIMED" and es(d).pending_order_id == order.id

    def test_every_later_snapshot_flattens_what_is_still_open(self) -> None:
        w = in_long_trade(fresh_world())
        w = run(w, LevelExit(asset="ES"), T0).world     # an exit in flight at trigger time
        (exit_id,) = w.orders
        _, d = snapshots(w, T0 + 1, snap(50000.0, ("MESH6", 5, 0.0)), snap(30000.0, ("MESH6", 5, 0.0)))
        assert list(d.world.orders) == [exit_id]
        rejected = run(d.world, ExecutionReport(order_id=exit_id, status="REJECTED"), T0 + 10)
        assert es(rejected).pending_order_id is None
        later = run(rejected.world, snap(30000.0, ("MESH6", 5, 0.0)), T0 + 12, "later")
        new = [o for oid, o in later.world.orders.items() if oid != exit_id]
        assert [(o.source, o.qty) for o in new] == [("DAILY_STOP", 5)]
        assert [e.kind for e in later.events].count("daily_stop_trigger") == 0

    def test_after_the_stop_scale_in_is_blocked(self) -> None:
        w = in_long_trade(fresh_world())
        w.assets["ES"].scale_in_available = True
        w.assets["ES"].pending_order_id = "ES-held"   # keeps the daily stop from exiting
        _, d = snapshots(w, T0, snap(50000.0), snap(30000.0))
        d.world.assets["ES"].pending_order_id = None
        refused = run(d.world, ScaleIn(asset="ES"), T0 + 5)
        assert (refused.code, refused.body["error"]) == ("DAILY_STOP", "Daily stop TRIGGERED — scale-in blocked")

    def test_rollover_at_1800_new_york_clears_the_stop_and_takes_a_new_start(self) -> None:
        w = fresh_world()
        _, d = snapshots(w, T0, snap(50000.0), snap(30000.0))
        w = d.world
        before = ny(2026, 1, 13, 17, 59, 59)
        still = run(w, snap(31000.0), before)
        assert still.world.glob.daily_stop_triggered is True and still.world.glob.daily_start_equity == 50000.0
        rolled = run(still.world, snap(None), ny(2026, 1, 13, 18, 0, 0))
        g = rolled.world.glob
        assert (g.daily_stop_triggered, g.trade_lock, g.trade_lock_reason, g.daily_start_equity) == (
            False, False, None, None)
        assert g.trading_day == "2026-01-14" and g.trades_taken_today == 0
        first = run(rolled.world, snap(31000.0), ny(2026, 1, 13, 18, 0, 2))
        assert first.world.glob.daily_start_equity == 31000.0
        assert first.world.glob.daily_stop_triggered is False

    def test_trade_lock_from_elsewhere_is_not_cleared_by_a_snapshot(self) -> None:
        w = fresh_world()
        _, d = snapshots(w, T0, snap(50000.0), snap(30000.0))
        again = run(d.world, snap(60000.0), T0 + 60)
        assert again.world.glob.daily_stop_triggered is True and again.world.glob.trade_lock is True


# ---- D9 claiming ---------------------------------------------------------------------------------------------------

def two_pending_orders() -> World:
    w = ready_to_enter(fresh_world())
    w = ready_to_enter(w, asset="NQ")
    w = place(w, T0 + 1, asset="NQ").world
    w.glob.five_min_trade_bucket = None   # the candle lock is global: let ES enter in the same candle
    w = place(w, T0 + 2, asset="ES").world
    return w


class TestPollClaiming:
    def test_oldest_first_limit_honoured_each_order_once(self) -> None:
        w = two_pending_orders()
        nq_id, es_id = sorted(w.orders, key=lambda k: w.orders[k].created_at)
        first = run(w, PollPending(owner="bridge-A", limit=1), T0 + 10)
        assert [o["id"] for o in first.body["orders"]] == [nq_id]  # type: ignore[union-attr]
        order = first.world.orders[nq_id]
        assert (order.status, order.lease_owner, order.leased_at, order.lease_until) == (
            "CLAIMED", "bridge-A", T0 + 10, T0 + 210)
        assert [(t.kind, t.key, t.at) for t in first.timers] == [("lease_end", nq_id, T0 + 210)]
        second = run(first.world, PollPending(owner="bridge-B", limit=10), T0 + 11)
        assert [o["id"] for o in second.body["orders"]] == [es_id]  # type: ignore[union-attr]
        third = run(second.world, PollPending(owner="bridge-A"), T0 + 12)
        assert third.body == {"ok": True, "orders": []} and third.timers == []

    def test_the_bridge_sees_the_contract_and_its_fields(self) -> None:
        w = two_pending_orders()
        d = run(w, PollPending(), T0 + 10)
        nq = d.body["orders"][0]  # type: ignore[index]
        assert set(nq) == {"id", "asset", "exchange", "side", "qty", "mode", "env", "kind", "source"}
        assert (nq["asset"], nq["exchange"], nq["side"], nq["qty"], nq["mode"], nq["env"], nq["kind"],
                nq["source"]) == ("MNQH6", "CME", "BUY", 5, "A", "DEMO", "ENTRY", "UI")

    def test_limit_zero_claims_nothing(self) -> None:
        w = two_pending_orders()
        d = run(w, PollPending(limit=0), T0 + 10)
        assert d.body["orders"] == [] and all(o.status == "PENDING" for o in d.world.orders.values())

    def test_lease_end_makes_it_stale_and_it_is_never_handed_out_again(self) -> None:
        w = two_pending_orders()
        w = run(w, PollPending(), T0 + 10).world
        order_id = next(iter(w.orders))
        assert effective_status(w.orders[order_id], T0 + 209.999) == "CLAIMED"
        assert effective_status(w.orders[order_id], T0 + 210) == "STALE"
        fired = run(w, TimerFired(kind="lease_end", key=order_id, at=T0 + 210), T0 + 210)
        assert fired.world.orders[order_id].status == "STALE"
        later = run(fired.world, PollPending(), T0 + 500)
        assert later.body["orders"] == []

    def test_a_report_for_a_claimed_or_stale_order_is_still_accepted(self) -> None:
        w = run(two_pending_orders(), PollPending(), T0 + 10).world
        order_id = next(o.id for o in w.orders.values() if o.asset == "ES")
        stale = run(w, TimerFired(kind="lease_end", key=order_id, at=T0 + 210), T0 + 300).world
        d = run(stale, ExecutionReport(order_id=order_id, status="FILLED", fill_price=5000.0), T0 + 301)
        assert d.status == 200 and es(d).position == 5
        assert d.world.orders[order_id].lease_owner is None and d.world.orders[order_id].lease_until is None


class TestBrokerSymbolsOfOtherInstruments:
    """The bridge lists every symbol it has ever seen, flat ones included (§9.2)."""

    def _snapshot(self, symbols):
        from shared.domain.inputs import PnlSnapshot, SymbolPosition

        return PnlSnapshot(symbols=tuple(SymbolPosition(symbol=s, position=p, open_pnl=o) for s, p, o in symbols))

    @pytest.mark.parametrize("order", [0, 1])
    def test_a_flat_full_size_contract_does_not_change_the_micro_point_value(self, order):
        world = in_long_trade(fresh_world())
        listed = [("MESM6", 5, 375.0), ("ESM6", 0, 0.0)]
        if order:
            listed.reverse()
        a = run(world, self._snapshot(listed), T0).world.assets["ES"]
        assert a.rithmic_point_value == 5.0 and a.rithmic_open_points == 15.0  # 375 / (5 × $5)

    def test_a_full_size_position_is_not_added_to_the_micro_position(self):
        world = in_long_trade(fresh_world())
        a = run(world, self._snapshot([("MESM6", 5, 0.0), ("ESM6", 1, 0.0)]), T0).world.assets["ES"]
        assert a.broker_position == 5 and a.mismatch_streak == 0

    def test_two_months_of_the_micro_during_the_roll_add_up(self):
        world = in_long_trade(fresh_world())
        a = run(world, self._snapshot([("MESM6", 3, 0.0), ("MESU6", 2, 0.0)]), T0).world.assets["ES"]
        assert a.broker_position == 5
