"""The soak's proofs, on hand-made logs: the commit order of audit records, and each invariant catching its break."""

from __future__ import annotations

import copy

import pytest

from sim.paper import Market, PaperBridge
from sim.soak import NotSerializable, check_invariants, commit_order
from sim.venue import InProcess
from tests.sim.test_paper import enter, ready


def rec(rid, ts, reads, writes):
    return {"request_id": rid, "ts": ts, "read_revs": reads, "revs": writes}


class TestCommitOrder:
    def test_readers_of_a_revision_come_after_its_writer_and_before_the_next(self):
        records = [
            rec("w2", 5.0, {"a": 1}, {"a": 2}),
            rec("r1", 9.0, {"a": 1, "b": 1}, {"b": 2}),   # read a@1: before w2 although its time is later
            rec("w1", 1.0, {}, {"a": 1}),
            rec("r2", 0.0, {"a": 2}, {}),
        ]
        assert [r["request_id"] for r in commit_order(records)] == ["w1", "r1", "w2", "r2"]

    def test_write_skew_has_no_serial_order(self):
        records = [rec("x", 1.0, {"a": 1, "b": 1}, {"a": 2}), rec("y", 1.0, {"a": 1, "b": 1}, {"b": 2})]
        with pytest.raises(NotSerializable, match="no serial order"):
            commit_order(records)


def a_day():
    """A filled entry through the domain, stored as the service layer would store it."""
    venue, market = InProcess(), Market()
    ready(venue, market)
    enter(venue)
    bridge = PaperBridge(venue, market)
    bridge.step()
    from shared.domain.state import to_doc

    docs = {
        "console": {"console/global": to_doc(venue.world.glob)},
        "assets": {f"assets/{k}": to_doc(a) for k, a in venue.world.assets.items()},
        "orders": {f"orders/{o.id}": to_doc(o) for o in venue.orders.values()},
        "events": {},
    }
    broker = {symbol: held for symbol, (held, _) in bridge.book.positions.items()}
    return docs, broker, bridge.stats.claims


def by_name(checks):
    return {c.name: c for c in checks}


class TestInvariants:
    def test_positions_must_equal_net_fills_and_the_broker(self):
        docs, broker, claims = a_day()
        checks = by_name(check_invariants(docs, broker, claims))
        assert checks["positions == net fills == the broker's"].ok
        wrong = copy.deepcopy(docs)
        wrong["assets"]["assets/ES"]["position"] = 3
        assert not by_name(check_invariants(wrong, broker, claims))["positions == net fills == the broker's"].ok
        assert not by_name(check_invariants(docs, {**broker, "MESZ6": 0}, claims))[
            "positions == net fills == the broker's"].ok

    def test_an_order_handed_out_twice_is_caught(self):
        docs, broker, claims = a_day()
        twice = {oid: 2 for oid in claims}
        assert not by_name(check_invariants(docs, broker, twice))["each order handed out once"].ok

    def test_overlapping_exits_are_caught(self):
        docs, broker, claims = a_day()
        for n in (1, 2):
            docs["orders"][f"orders/ES-x-{n}"] = {"id": f"ES-x-{n}", "asset": "ES", "kind": "EXIT", "side": "SELL",
                                                 "status": "PENDING", "created_at": float(n), "filled_qty": 0}
        assert not by_name(check_invariants(docs, broker, claims))["never two exits in flight for one asset"].ok

    def test_stored_state_that_the_audit_log_does_not_explain_is_caught(self):
        docs, broker, claims = a_day()   # state written, but no audit record of how it came about
        check = by_name(check_invariants(docs, broker, claims))["stored state == serial replay of the audit log"]
        assert not check.ok and "ES.avg_price" in check.detail
