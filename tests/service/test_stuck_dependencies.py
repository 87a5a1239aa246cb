"""Stuck dependencies answer fast: enqueueing a timer holds an answer at most 0.3 s, its failure is logged and
never fatal; missing scheduler settings turn timers off only (every write works, one ERROR line, GET /api/state
says `timers.on: false` and why)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import functions_framework
import pytest

from shared.scheduler import BoundedScheduler, EnqueueError, FakeScheduler, Timer
from shared.scheduler.timer import TimerLike
from shared.service import wiring
from shared.store.fake import FakeStore
from tests.waiting import until

SOURCE = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
TIMER = Timer("cooldown_end", "ES", 1_764_000_100.0)


class SlowScheduler:
    """Blocks until released (a Cloud Tasks emulator that is gone, a frozen key store), then maybe fails."""

    def __init__(self, fail: bool = False) -> None:
        self.release = threading.Event()
        self.fail = fail
        self.done = threading.Event()

    def schedule(self, timers: Sequence[TimerLike]) -> list[str]:
        self.release.wait(10)
        self.done.set()
        if self.fail:
            raise EnqueueError("create_task failed: ServiceUnavailable: connection refused")
        return ["late"]


class TestBoundedScheduler:
    def test_a_stuck_enqueue_holds_the_answer_at_most_the_wait(self) -> None:
        inner = SlowScheduler()
        bounded = BoundedScheduler(inner, wait_s=0.3)
        started = time.monotonic()
        assert bounded.schedule([TIMER]) == []
        assert time.monotonic() - started < 5  # the wait (0.3 s), not the stuck call (10 s)
        assert bounded.pending == 1  # still running, off the answer path
        inner.release.set()
        assert inner.done.wait(5)
        bounded.close()

    def test_a_late_failure_is_reported_not_raised(self) -> None:
        reported: list[tuple[BaseException, list[Any]]] = []
        inner = SlowScheduler(fail=True)
        bounded = BoundedScheduler(inner, wait_s=0.05,
                                   on_error=lambda exc, timers: reported.append((exc, list(timers))))
        assert bounded.schedule([TIMER]) == []
        inner.release.set()
        assert until(lambda: bool(reported), timeout=5)
        assert isinstance(reported[0][0], EnqueueError) and reported[0][1] == [TIMER]
        bounded.close()

    def test_a_fast_answer_and_a_fast_failure_reach_the_caller(self) -> None:
        fake = FakeScheduler()
        bounded = BoundedScheduler(fake, wait_s=0.3)
        names = bounded.schedule([TIMER])
        assert names == fake.names and len(names) == 1
        fake.fail_with = EnqueueError("queue full")
        with pytest.raises(EnqueueError, match="queue full"):
            bounded.schedule([TIMER])
        bounded.close()

    def test_a_full_backlog_refuses_at_once(self) -> None:
        inner = SlowScheduler()
        bounded = BoundedScheduler(inner, wait_s=0.01, workers=1, max_backlog=2)
        bounded.schedule([TIMER])
        bounded.schedule([TIMER])
        started = time.monotonic()
        with pytest.raises(EnqueueError, match="still being enqueued"):
            bounded.schedule([TIMER])
        assert time.monotonic() - started < 5  # at once, not after the stuck call (10 s)
        inner.release.set()
        bounded.close()


# ---- the wiring: missing scheduler settings ------------------------------------------------------------------

SCHEDULER_VARS = ("CLOUD_TASKS_LOCATION", "CLOUD_TASKS_QUEUE", "TIMERS_URL", "CLOUD_TASKS_EMULATOR_HOST",
                  "TASKS_LOCAL_TOKEN", "TASKS_SERVICE_ACCOUNT")


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStore]:
    """The real wiring (as a cold start builds it) with no scheduler settings and a fake Firestore."""
    for name in SCHEDULER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-unconfigured")
    monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
    monkeypatch.setenv("LOCAL_DEV", "1")  # the open dashboard exists on the local stack only (issue 12)
    monkeypatch.setenv("DASHBOARD_PASSWORD", "")
    monkeypatch.setenv("TV_WEBHOOK_SECRET", "tv-test-secret")
    store = FakeStore()
    import shared.store.firestore as firestore_module

    monkeypatch.setattr(firestore_module, "FirestoreStore", lambda: store)
    wiring.install(None)
    try:
        yield store
    finally:
        wiring.install(None)


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_missing_scheduler_settings_turn_timers_off_and_every_write_still_works(
        unconfigured: FakeStore, capsys: pytest.CaptureFixture[str]) -> None:
    orders = functions_framework.create_app(target="orders", source=SOURCE).test_client()
    webhooks = functions_framework.create_app(target="webhooks", source=SOURCE).test_client()
    state = orders.get("/api/state")
    assert state.status_code == 200
    timers = state.get_json()["timers"]
    assert timers["on"] is False
    assert "CLOUD_TASKS_QUEUE" in timers["reason"] and "TIMERS_URL" in timers["reason"]
    assert "tv-test-secret" not in state.get_data(as_text=True)
    tv = {"secret": "tv-test-secret", "asset": "ES"}
    assert webhooks.post("/tv_heartbeat", json={**tv, "symbol": "ES", "price": 5000.0}).status_code == 200
    for path in ("/tv_renko_high", "/tv_renko_macro", "/tv_renko_two_half", "/tv_renko_main"):
        bar = webhooks.post(path, json={**tv, "color": "green"})
        assert bar.status_code == 200, bar.get_json()  # bars are written (they used to answer 503)
    entry = orders.post("/api/orders", json={"asset": "ES", "trade_mode": "SCALP"})
    assert entry.status_code == 201, entry.get_json()  # an order too, though its timers are not enqueued
    order_id = entry.get_json()["order"]["id"]
    assert unconfigured.dump()[f"orders/{order_id}"]["status"] == "PENDING"
    lines = _json_lines(capsys.readouterr().out)
    missing = [line for line in lines if "CLOUD_TASKS_QUEUE" in str(line.get("config_missing", ""))]
    assert len(missing) == 1 and missing[0]["severity"] == "ERROR"  # one line for the process, not one a write
    assert "tv-test-secret" not in json.dumps(lines)


def test_the_wiring_bounds_enqueueing(unconfigured: FakeStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_TASKS_LOCATION", "us-central1")
    monkeypatch.setenv("CLOUD_TASKS_QUEUE", "timers")
    monkeypatch.setenv("TIMERS_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("TASKS_LOCAL_TOKEN", "local-token")
    wiring.install(None)
    scheduler = wiring.services().scheduler
    assert isinstance(scheduler, BoundedScheduler)
    assert wiring.services().store is unconfigured
    assert wiring.timers_status(wiring.services()) == {"on": True, "reason": None}
