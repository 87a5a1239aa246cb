"""A notification's send has a deadline as a whole (shared.service.notify.within_deadline): the answer, or the
exception, of a send that finishes in time; NoAnswer once the deadline passes, with the send left to run; and no
new send once MAX_SENDS_IN_FLIGHT are still waiting."""

from __future__ import annotations

import threading
import time

import pytest

from shared.service import notify
from tests.waiting import until


@pytest.fixture
def short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "SEND_DEADLINE_S", 0.3)


def test_a_send_in_time_answers_as_itself(short: None) -> None:
    assert notify.within_deadline(lambda: "sent") == "sent"
    assert notify.within_deadline(lambda: None) is None


def test_a_send_that_raises_raises_in_the_caller(short: None) -> None:
    def broken() -> None:
        raise ValueError("bad URL")

    with pytest.raises(ValueError, match="bad URL"):
        notify.within_deadline(broken)


def test_past_the_deadline_no_answer_and_the_send_runs_on(short: None) -> None:
    release, finished = threading.Event(), threading.Event()

    def stuck() -> str:
        release.wait(5)
        finished.set()
        return "late"

    started = time.monotonic()
    with pytest.raises(notify.NoAnswer, match=r"did not answer within 0\.3 s"):
        notify.within_deadline(stuck)
    assert 0.3 <= time.monotonic() - started < 1.5
    release.set()
    assert finished.wait(2)


def test_no_new_send_while_too_many_still_wait(short: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "_in_flight", threading.BoundedSemaphore(2))
    monkeypatch.setattr(notify, "MAX_SENDS_IN_FLIGHT", 2)
    release = threading.Event()
    for _ in range(2):
        with pytest.raises(notify.NoAnswer):
            notify.within_deadline(lambda: release.wait(5))
    calls: list[int] = []
    with pytest.raises(notify.NoAnswer, match="2 earlier sends are still waiting"):
        notify.within_deadline(lambda: calls.append(1))
    assert calls == [], "not started"
    release.set()
    slots = notify._in_flight
    assert until(lambda: slots.acquire(blocking=False) and (slots.release() or True)), "freed when they finish"
    assert notify.within_deadline(lambda: "sent") == "sent"


def test_the_deadline_ends_before_cloud_tasks_gives_up_and_before_the_claim_ages() -> None:
    from shared.scheduler.cloud_tasks import DISPATCH_DEADLINE_S

    assert notify.SEND_DEADLINE_S + 5 <= DISPATCH_DEADLINE_S and notify.SEND_DEADLINE_S < notify.CLAIM_S
