"""A notification's send has a deadline as a whole (shared.service.notify.within_deadline): the answer, or the
exception, of a send that finishes in time; NoAnswer once the deadline passes, with the send left to run and its
claim kept until it ages; sends still waiting counted per destination and in all, so one destination that holds on
to its sends stops only its own; what apprise logs is read from the sending thread alone. The review's findings
(a reviewer's failing tests, kept): a send whose thread cannot start, another destination's secret in an error, a
second attempt during an abandoned send, one stuck destination silencing the others."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.receiver import Receiver
from shared.domain import default_config
from shared.scheduler.cloud_tasks import DISPATCH_DEADLINE_S
from shared.service import Services, notify
from shared.service.notify_secrets import MemorySecrets
from shared.store.fake import FakeStore
from tests.waiting import until


@pytest.fixture
def short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "SEND_DEADLINE_S", 0.3)


def nothing_waiting() -> bool:
    return not notify._in_flight


def test_the_deadline_ends_before_cloud_tasks_gives_up_and_before_the_claim_ages() -> None:
    assert notify.SEND_DEADLINE_S + 5 <= DISPATCH_DEADLINE_S and notify.SEND_DEADLINE_S < notify.CLAIM_S


def test_a_send_in_time_answers_as_itself(short: None) -> None:
    assert notify.within_deadline("d", lambda: "sent") == "sent"
    assert notify.within_deadline("d", lambda: None) is None
    assert nothing_waiting()


def test_a_send_that_raises_raises_in_the_caller(short: None) -> None:
    def broken() -> None:
        raise ValueError("bad URL")

    with pytest.raises(ValueError, match="bad URL"):
        notify.within_deadline("d", broken)
    assert until(nothing_waiting)


def test_past_the_deadline_no_answer_and_the_send_runs_on(short: None) -> None:
    release, finished = threading.Event(), threading.Event()

    def stuck() -> str:
        release.wait(5)
        finished.set()
        return "late"

    started = time.monotonic()
    with pytest.raises(notify.NoAnswer, match=r"did not answer within 0\.3 s"):
        notify.within_deadline("d", stuck)
    assert 0.3 <= time.monotonic() - started < 1.5
    assert notify._in_flight == {"d": 1}, "still counted while it runs"
    release.set()
    assert finished.wait(2) and until(nothing_waiting)


def test_a_destination_with_its_sends_still_waiting_gets_no_new_one_and_the_others_do(short: None) -> None:
    release = threading.Event()
    for _ in range(notify.MAX_SENDS_PER_DESTINATION):
        with pytest.raises(notify.NoAnswer):
            notify.within_deadline("stuck", lambda: release.wait(5))
    calls: list[int] = []
    with pytest.raises(notify.NoAnswer, match="2 earlier sends to this destination are still waiting on it"):
        notify.within_deadline("stuck", lambda: calls.append(1))
    assert calls == [], "not started"
    assert notify.within_deadline("healthy", lambda: "sent") == "sent"
    release.set()
    assert until(nothing_waiting), "their places come back when they finish"
    assert notify.within_deadline("stuck", lambda: "sent") == "sent"


def test_no_new_send_at_all_past_the_process_bound(short: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "MAX_SENDS_IN_FLIGHT", 2)
    release = threading.Event()
    for name in ("a", "b"):
        with pytest.raises(notify.NoAnswer):
            notify.within_deadline(name, lambda: release.wait(5))
    with pytest.raises(notify.NoAnswer, match="2 earlier sends are still waiting on their destinations"):
        notify.within_deadline("c", lambda: "sent")
    release.set()
    assert until(nothing_waiting)


def test_a_send_whose_thread_cannot_start_gives_its_place_back(monkeypatch: pytest.MonkeyPatch) -> None:
    real_start = threading.Thread.start

    def no_thread(self: threading.Thread) -> None:
        if self.name == "notify-send":
            raise RuntimeError("can't start new thread")
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    for _ in range(notify.MAX_SENDS_PER_DESTINATION + 1):
        with pytest.raises(RuntimeError):
            notify.within_deadline("d", lambda: "sent")
    monkeypatch.setattr(threading.Thread, "start", real_start)
    assert nothing_waiting(), "places kept by sends that never started"
    assert notify.within_deadline("d", lambda: "sent") == "sent"


# ---- against real servers --------------------------------------------------------------------------------------

class HeldServer:
    """An HTTP server that keeps each request until `release` is set, then answers 500 (a destination that is slow,
    then refuses)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.arrived = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
            except OSError:
                return
            self.requests += 1
            self.arrived.set()
            self.release.wait(10)
            with contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> None:
        self.release.set()
        self.sock.close()


@pytest.fixture
def held() -> Iterator[tuple[HeldServer, HeldServer]]:
    a, b = HeldServer(), HeldServer()
    yield a, b
    a.close()
    b.close()
    assert until(nothing_waiting)


def services(store: FakeStore, now: list[float]) -> Any:
    return Services(store=store, config=default_config(), clock=lambda: now[0])  # type: ignore[arg-type]


def notification(n: int) -> tuple[str, dict[str, Any]]:
    return notify.notification_path(f"r{n}-0"), {"id": f"r{n}-0", "title": "Daily stop hit", "text": "x",
                                                 "level": "critical", "delivered": {}, "sending": {}}


def test_a_send_past_its_deadline_does_not_leak_its_secret_into_another_destinations_error(
        held: tuple[HeldServer, HeldServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """B (an ntfy topic: the topic is the credential) answers after its deadline, while A's send is listening to
    apprise's one logger: B's late warning must not become A's error."""
    a_server, b_server = held
    monkeypatch.setattr(notify, "SEND_DEADLINE_S", 1.0)
    secret_topic = "b0bsTopic"   # shorter than any piece the log scrubber keeps: only the thread filter stops it
    url_b = f"ntfy://127.0.0.1:{b_server.port}/{secret_topic}?rto=4&cto=4"
    url_a = f"ntfy://127.0.0.1:{a_server.port}/alicetopic?rto=4&cto=4"
    with pytest.raises(notify.NoAnswer, match="did not answer within 1 s"):
        notify.apprise_sender(url_b, "t", "x", "critical")
    errors: list[str | None] = []
    a_send = threading.Thread(target=lambda: errors.append(notify.apprise_sender(url_a, "t", "x", "critical")))
    a_send.start()
    assert a_server.arrived.wait(5)
    b_server.release.set()
    time.sleep(0.3)            # B's abandoned send logs its failure meanwhile
    a_server.release.set()
    a_send.join(5)
    (error,) = errors
    assert error is not None and "alicetopic" not in error, error
    assert secret_topic not in error, f"B's secret in A's error: {error!r}"


def test_no_second_attempt_sends_while_one_past_its_deadline_may_still_be_sending(
        held: tuple[HeldServer, HeldServer], monkeypatch: pytest.MonkeyPatch) -> None:
    server, _ = held
    monkeypatch.setattr(notify, "SEND_DEADLINE_S", 0.5)
    path, doc = notification(1)
    store = FakeStore({notify.SETTINGS_PATH: {"destinations": [{"id": "hook", "level": "all", "scheme": "json"}]},
                       path: doc})
    now = [1_764_000_000.0]
    secrets = MemorySecrets({"hook": f"json://127.0.0.1:{server.port}/hook?rto=4&cto=4"})
    first = notify.deliver(services(store, now), secrets, notify.apprise_sender, "r1-0:hook")
    assert (first.status, first.error) == (503, "the destination did not answer within 0.5 s")
    status = store.dump()[notify.status_path("hook")]
    assert status["last_error"] == "the destination did not answer within 0.5 s"
    now[0] += 10.0                      # Cloud Tasks' first retry, inside CLAIM_S of the first attempt
    second = notify.deliver(services(store, now), secrets, notify.apprise_sender, "r1-0:hook")
    assert (second.status, second.outcome) == (503, "busy")
    assert server.requests == 1
    server.release.set()
    assert until(nothing_waiting)
    now[0] += notify.CLAIM_S           # the claim has aged: the next attempt sends (the server now refuses)
    third = notify.deliver(services(store, now), secrets, notify.apprise_sender, "r1-0:hook")
    assert (third.status, third.outcome) == (503, "failed") and server.requests == 2


def test_one_stuck_destination_does_not_silence_the_others(held: tuple[HeldServer, HeldServer],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    stuck, _ = held
    phone = Receiver(on_message=lambda message: None).start()
    monkeypatch.setattr(notify, "SEND_DEADLINE_S", 0.2)
    try:
        docs: dict[str, Any] = {notify.SETTINGS_PATH: {"destinations": [
            {"id": "hook", "level": "all", "scheme": "json"}, {"id": "phone", "level": "critical", "scheme": "json"}]}}
        tries = notify.MAX_SENDS_PER_DESTINATION + 3
        docs.update(notification(n) for n in range(tries + 1))
        now = [1_764_000_000.0]
        store = FakeStore(docs)
        secrets = MemorySecrets({"hook": f"json://127.0.0.1:{stuck.port}/hook?rto=4&cto=4",
                                 "phone": f"json://127.0.0.1:{phone.port}/phone?rto=4&cto=4"})
        outcomes = [notify.deliver(services(store, now), secrets, notify.apprise_sender, f"r{n}-0:hook").error
                    for n in range(tries)]
        assert outcomes[-1] == "not sent: 2 earlier sends to this destination are still waiting on it"
        to_phone = notify.deliver(services(store, now), secrets, notify.apprise_sender, f"r{tries}-0:phone")
        assert (to_phone.status, to_phone.outcome) == (200, "delivered"), to_phone
        assert phone.wait_for(1, 5)
    finally:
        stuck.release.set()
        phone.stop()
