"""The service layer over fakes: what one input reads, writes, logs and schedules."""

from __future__ import annotations

import pytest

from shared.domain import default_config
from shared.domain.inputs import (
    AddBlackouts,
    BlackoutSpec,
    ExecutionReport,
    PlaceOrder,
    PnlSnapshot,
    PollPending,
    RenkoBar,
    TimerFired,
    TvHeartbeat,
)
from shared.scheduler import EnqueueError, FakeScheduler, Timer, task_name
from shared.service import Services, execute
from shared.store.documents import GLOBAL_PATH, asset_path, event_path, order_path
from shared.store.fake import FakeStore

NOW = 1_764_000_000.0
ASSETS = ["ES", "NQ"]


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(scheduler=None, store=None):
    clock = Clock()
    svc = Services(store=store or FakeStore(), config=default_config(), clock=clock,
                   scheduler=scheduler or FakeScheduler())
    return svc, clock


def ready_for_entry(svc, clock):
    for inp in (TvHeartbeat(asset="ES", price=5000.0), RenkoBar(stream="8pt", asset="ES", color="green"),
                RenkoBar(stream="12pt", asset="ES", color="green"), RenkoBar(stream="2.5pt", asset="ES", color="green"),
                RenkoBar(stream="6pt", asset="ES", color="green")):
        execute(svc, inp)
        clock.now += 1


class TestWebhookBudget:
    def test_a_bar_reads_two_documents_and_writes_the_asset_and_one_event(self):
        svc, _ = make()
        execute(svc, TvHeartbeat(asset="ES"))  # the day's first input also dates the global doc
        with svc.store.counting() as stats:
            out = execute(svc, RenkoBar(stream="6pt", asset="ES", color="green", bar_id="b1"))
        assert out.decision.status == 200
        assert stats.reads == 2 and stats.commits == 1
        assert sorted(out.writes) == sorted([asset_path("ES"), event_path(out.request_id)])
        doc = svc.store.dump()[asset_path("ES")]
        assert doc["main_renko_color"] == "green" and doc["_rev"] == 2

    def test_the_audit_record_names_the_input_and_the_revision_it_wrote(self):
        svc, _ = make()
        out = execute(svc, RenkoBar(stream="6pt", asset="ES", color="red"))
        event = svc.store.dump()[event_path(out.request_id)]
        assert event["input"] == {"type": "renko_bar", "stream": "6pt", "asset": "ES", "color": "red", "bar_id": None}
        assert event["revs"] == {asset_path("ES"): 1, GLOBAL_PATH: 1} and event["ts"] == NOW and event["status"] == 200
        assert event["expire_at"].timestamp() == NOW + 30 * 86400

    def test_a_duplicate_bar_writes_only_its_audit_line(self):
        svc, _ = make()
        execute(svc, RenkoBar(stream="6pt", asset="ES", color="green", bar_id="b1"))
        before = svc.store.dump()[asset_path("ES")]
        out = execute(svc, RenkoBar(stream="6pt", asset="ES", color="red", bar_id="b1"))
        assert out.decision.duplicate and out.body() == {"ok": True, "duplicate": True}
        assert out.writes == [event_path(out.request_id)]
        assert svc.store.dump()[asset_path("ES")] == before


class TestEntry:
    def test_an_entry_creates_the_order_writes_global_and_schedules_the_candle_end(self):
        svc, clock = make()
        ready_for_entry(svc, clock)
        out = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
        assert out.decision.status == 201
        order_id = out.decision.body["order"]["id"]
        docs = svc.store.dump()
        assert docs[order_path(order_id)]["status"] == "PENDING"
        assert docs[GLOBAL_PATH]["five_min_trade_bucket"] == int(clock.now // 300)
        assert out.state is not None and set(out.state["assets"]) == {"ES", "NQ"}
        assert [t.kind for t in svc.scheduler.timers] == ["candle_lock_end"]
        assert svc.scheduler.timers[0].at == (int(clock.now // 300) + 1) * 300

    def test_a_refused_entry_writes_only_the_audit_line_with_its_code(self):
        svc, _clock = make()
        out = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
        assert out.decision.status == 403 and out.decision.code == "HEARTBEAT_STALE"
        assert list(svc.store.dump()) == [event_path(out.request_id)]
        assert svc.store.dump()[event_path(out.request_id)]["code"] == "HEARTBEAT_STALE"

    def test_bad_input_writes_nothing(self):
        svc, _ = make()
        out = execute(svc, PlaceOrder(asset="ES", order_type="limit", trade_mode="SCALP"))
        assert out.decision.status == 400 and svc.store.dump() == {}

    def test_a_concurrent_change_between_read_and_commit_is_re_decided(self):
        svc, clock = make()
        ready_for_entry(svc, clock)
        store = svc.store
        decided = []

        class RacingStore:
            """Someone else opens an order on ES after our first read and before our commit."""

            def transact(self, paths, decide, **kwargs):
                def racing(reads):
                    decided.append(reads.get(asset_path("ES")).get("pending_order_id"))
                    if len(decided) == 1:
                        doc = store.dump()[asset_path("ES")]
                        store.put(asset_path("ES"), {**doc, "pending_order_id": "ES-other-1"})
                    return decide(reads)

                return store.transact(paths, racing, **kwargs)

            def __getattr__(self, name):
                return getattr(store, name)

        svc.store = RacingStore()
        out = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
        assert decided == [None, "ES-other-1"]
        assert out.decision.status == 403 and out.decision.code == "PENDING_ORDER"
        assert [p for p in store.dump() if p.startswith("orders/")] == []


class TestTimers:
    def test_an_enqueue_failure_is_reported_not_raised_and_the_commit_stands(self):
        scheduler = FakeScheduler()
        scheduler.fail_with = EnqueueError("queue down")
        seen = []
        svc, clock = make(scheduler=scheduler)
        svc.on_schedule_error = lambda exc, timers: seen.append((str(exc), [t.kind for t in timers]))
        ready_for_entry(svc, clock)
        out = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
        assert out.decision.status == 201 and order_path(out.decision.body["order"]["id"]) in svc.store.dump()
        assert seen == [("queue down", ["candle_lock_end"])]

    def test_the_dev_clock_offset_moves_timers_back_to_real_time(self):
        svc, clock = make()
        svc.clock_offset = lambda: 1000.0
        ready_for_entry(svc, clock)
        execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
        assert svc.scheduler.timers[0].at == (int(clock.now // 300) + 1) * 300 - 1000.0

    def test_a_timer_asked_for_again_under_a_frozen_dev_clock_keeps_its_name(self):
        """A frozen clock's offset grows with real time: the task is named by the clock's time, so the watchdog's
        second request for the same flatten timer (issue 19) is the same task, not a second one."""
        svc, clock = make()
        start = clock.now + 1200
        window = BlackoutSpec(kind="once", label="CPI", start=start, end=start + 600, flatten_before_s=300)
        svc.clock_offset = lambda: 1000.0
        execute(svc, AddBlackouts(windows=(window,)))
        svc.clock_offset = lambda: 1030.0                  # thirty real seconds later, the clock still frozen
        execute(svc, TimerFired(kind="watchdog", key="tick", at=0))
        (timer,) = svc.scheduler.of_kind("blackout_flatten")
        assert (timer.key, timer.at) == (f"b1:{int(start)}", start - 300 - 1000.0)
        assert task_name(Timer("blackout_flatten", f"b1:{int(start)}", start - 300)) in svc.scheduler.names


class TestBridge:
    def test_poll_claims_through_the_query_and_report_fills(self):
        svc, clock = make()
        ready_for_entry(svc, clock)
        order_id = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP")).decision.body["order"]["id"]
        polled = execute(svc, PollPending(owner="b1"))
        assert [o["id"] for o in polled.decision.body["orders"]] == [order_id]
        assert svc.store.dump()[order_path(order_id)]["status"] == "CLAIMED"
        assert execute(svc, PollPending(owner="b2")).decision.body["orders"] == []
        filled = execute(svc, ExecutionReport(order_id=order_id, status="FILLED", fill_price=5001.0))
        assert filled.decision.status == 200
        assert svc.store.dump()[asset_path("ES")]["position"] == 5

    def test_a_snapshot_loads_the_pending_order_it_may_cancel(self):
        svc, clock = make()
        ready_for_entry(svc, clock)
        execute(svc, PnlSnapshot(account_balance=50000.0))
        order_id = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP")).decision.body["order"]["id"]
        out = execute(svc, PnlSnapshot(account_balance=30000.0))  # -40 %: daily stop
        docs = svc.store.dump()
        assert docs[GLOBAL_PATH]["daily_stop_triggered"] is True
        assert docs[order_path(order_id)]["status"] == "CANCELLED"
        assert "pending_order_id" not in docs[asset_path("ES")]  # back at its default: not stored
        assert out.decision.status == 200


def test_unknown_order_report_is_404_and_writes_nothing():
    svc, _ = make()
    out = execute(svc, ExecutionReport(order_id="ES-nope-1", status="FILLED"))
    assert out.decision.status == 404 and svc.store.dump() == {}


@pytest.mark.parametrize("status", ["REJECTED", "CANCELLED"])
def test_entry_not_filled_re_arms_tempo(status):
    svc, clock = make()
    ready_for_entry(svc, clock)
    order_id = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP")).decision.body["order"]["id"]
    execute(svc, ExecutionReport(order_id=order_id, status=status))
    doc = svc.store.dump()[asset_path("ES")]
    assert doc.get("tempo_spent_ts") is None and doc.get("pending_order_id") is None
    assert doc["main_renko_color"] == "green"  # stored because it differs from the default
