"""The paper bridge against the pure domain: the bridge contract (claims once, reports, heartbeats, snapshots),
fills at the market with slippage, partial fills and rejects, DEMO only, and the faults of a bad network."""

from __future__ import annotations

import pytest

from sim.paper import Book, Faults, Market, PaperBridge, PaperConfig
from sim.venue import InProcess

T0 = 1_794_922_200.0  # 2026-11-17 08:30 New York
ES = "ES"


def ready(venue: InProcess, market: Market, price: float = 6000.0) -> None:
    """Structure, tempo and a fresh heartbeat: a BUY entry passes every gate."""
    market.move(T0, price)
    venue.set_time(T0)
    venue.tv_heartbeat(ES, price)
    for stream in ("12pt", "8pt", "2.5pt"):
        venue.renko(ES, stream, "green", None)
    venue.renko(ES, "6pt", "green", "m1")


def enter(venue: InProcess) -> str:
    status, body = venue.place_order(ES, "SCALP", "BUY", "6pt")
    assert status == 201, body
    return body["order"]["id"]


def position(venue: InProcess) -> int:
    return int(venue.asset(ES)["position"])


class TestFills:
    def test_a_market_entry_fills_at_the_price_plus_slippage_and_the_position_follows(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        order_id = enter(venue)
        bridge = PaperBridge(venue, market, PaperConfig(slippage_ticks=2))
        assert bridge.step() == 1
        order = venue.orders[order_id]
        assert (order.status, order.filled_qty, order.avg_fill_price) == ("FILLED", 5, 6000.5)
        assert position(venue) == 5 and bridge.book.positions[order.symbol] == (5, 6000.5)
        assert bridge.stats.claims == {order_id: 1} and bridge.step() == 0   # handed out once

    def test_partial_fills_carry_fill_ids_and_cumulative_quantities(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        order_id = enter(venue)
        bridge = PaperBridge(venue, market, PaperConfig(partial_rate=1.0, seed=3))
        bridge.step()
        order = venue.orders[order_id]
        assert order.status == "FILLED" and order.filled_qty == 5 and len(order.fill_ids) == 2
        assert bridge.stats.fills == 2 and position(venue) == 5

    def test_rejects_carry_the_reason_and_leave_the_position_flat(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        order_id = enter(venue)
        bridge = PaperBridge(venue, market, PaperConfig(reject_rate=1.0))
        bridge.step()
        assert venue.orders[order_id].status == "REJECTED"
        assert "Insufficient margin" in (venue.orders[order_id].reason or "")
        assert position(venue) == 0 and bridge.book.is_flat()

    def test_live_orders_are_refused_unless_allowed(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        venue.bridge_heartbeat({"tsConnected": True})
        from shared.domain.inputs import SetEnv

        assert venue._decide(SetEnv(env="LIVE"))[0] == 200
        order_id = enter(venue)
        PaperBridge(venue, market).step()
        assert venue.orders[order_id].status == "REJECTED" and "DEMO orders only" in venue.orders[order_id].reason

    def test_without_a_market_price_it_says_so(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        enter(venue)
        market.move(T0, None)  # type: ignore[arg-type]
        with pytest.raises(Exception, match="no market price"):
            PaperBridge(venue, market).step()


class TestSnapshotsAndHeartbeats:
    def test_snapshots_report_positions_and_open_pnl_and_drive_points_take_profit(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        enter(venue)
        bridge = PaperBridge(venue, market, PaperConfig(slippage_ticks=0))
        bridge.step()
        # the 6pt bar after the entry releases the initial exit lock; then +15 points reaches the automatic TP
        market.move(T0 + 60, 6015.0)
        venue.set_time(T0 + 60)
        venue.renko(ES, "6pt", "green", "m2")
        venue.renko(ES, "2.5pt", "red", "h2")    # releases the 2.5pt management lock (opposite colour)
        bridge.step()
        shown = venue.asset(ES)
        assert shown["rithmic_open_points"] == pytest.approx(15.0)
        assert shown["pending_kind"] == "EXIT" or venue.trades(), shown
        bridge.step()
        assert position(venue) == 0 and [t["reason"] for t in venue.trades()] == ["points_take_profit"]
        assert bridge.book.realized == pytest.approx(15.0 * 5 * 5)

    def test_heartbeats_every_ten_market_seconds(self):
        venue, market = InProcess(), Market()
        bridge = PaperBridge(venue, market, PaperConfig(heartbeat_every=10.0))
        for second in range(0, 35, 5):
            market.move(T0 + second, 6000.0)
            bridge.step()
        assert bridge.stats.heartbeats == 4   # at 0, 10, 20, 30


class TestFaults:
    def test_dropped_reports_are_sent_again_later_and_nothing_is_lost(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        order_id = enter(venue)
        bridge = PaperBridge(venue, market, PaperConfig(faults=Faults(drop=1.0, resend_after=2)))
        bridge.step()
        assert venue.orders[order_id].status == "CLAIMED" and bridge.stats.dropped == 2
        bridge.step()
        bridge.step()
        assert venue.orders[order_id].status == "FILLED" and position(venue) == 5

    def test_duplicated_and_reordered_reports_change_nothing_twice(self):
        venue, market = InProcess(), Market()
        ready(venue, market)
        order_id = enter(venue)
        bridge = PaperBridge(venue, market, PaperConfig(faults=Faults(duplicate=1.0, reorder=1.0)))
        bridge.step()
        assert bridge.stats.duplicates_sent == 2 and bridge.stats.reordered == 1
        assert venue.orders[order_id].filled_qty == 5 and position(venue) == 5


class TestBook:
    def test_reversal_and_realized_pnl(self):
        book = Book()
        book.fill("MESZ6", "BUY", 5, 6000.0)
        book.fill("MESZ6", "SELL", 8, 6010.0)   # closes 5 at +10 points ($5/pt), opens 3 short at 6010
        assert book.realized == 250.0 and book.positions["MESZ6"] == (-3, 6010.0)
        balance, _, unrealized, rows = book.snapshot(6000.0)
        assert unrealized == 150.0 and balance == 50_000 + 250 and rows[0].position == -3   # cash: open P&L apart
