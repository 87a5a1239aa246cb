"""Issue 20 on the local stack (Firestore and Cloud Tasks emulators, the functions behind the router): the watchdog
ticks like Cloud Scheduler, its decision's notifications reach the local receiver through real Cloud Tasks tasks and
apprise (the `local` destination of `--receiver`), a second tick announces nothing new, and the receiver's URL is in
no stored notification."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from devstack.run import LocalStack
from shared.domain.clock import session_window

pytestmark = pytest.mark.emulator


def test_the_watchdog_notifies_the_local_receiver_end_to_end(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_PASSWORD"}
    local = LocalStack.on_free_ports(log_dir=tmp_path, base_env=env)
    local.receiver = True
    with local:
        receiver = local.notify_receiver
        assert local.tick_watchdog() == 200
        expected = 2 if session_window(time.time())["open"] else 1   # PRICE_SILENCE holds in session only
        assert receiver.wait_for(expected, timeout=30), "no notification reached the receiver"
        assert "BRIDGE_SILENCE started" in {m["title"] for m in receiver.got}
        first = len(receiver.got)
        assert local.tick_watchdog() == 200
        assert not receiver.wait_for(first + 1, timeout=3), "a condition that holds is announced once"
        listed = requests.get(f"{local.url}/api/notifications/destinations", timeout=10).json()["destinations"]
        assert [(d["id"], d["url"]) for d in listed] == [("local", "json://…")]
        stored = requests.get(
            f"http://{local.env['FIRESTORE_EMULATOR_HOST']}/v1/projects/{local.project}/databases/(default)/"
            "documents/notifications", headers={"Authorization": "Bearer owner"}, timeout=10).json()
        assert stored.get("documents"), stored
        assert f"127.0.0.1:{receiver.port}" not in json.dumps(stored)
        assert all("delivered" in json.dumps(d["fields"]) for d in stored["documents"])


def test_web_push_reaches_the_push_service_and_a_gone_subscription_is_removed(tmp_path) -> None:
    """Issue 20 item 3 on the stack: the watchdog's notification goes through a real Cloud Tasks task to the local
    push service (devstack.push_service), which verifies the VAPID signature and decrypts it; after the browser
    unsubscribed (410), the next notification removes the destination and its secret."""
    from devstack.push_service import PushService
    from tests.waiting import until

    env = {k: v for k, v in os.environ.items() if k not in ("DASHBOARD_PASSWORD", "NOTIFY_SECRETS_FILE")}
    service = PushService().start()
    try:
        with LocalStack.on_free_ports(log_dir=tmp_path, base_env=env) as local:
            key = requests.get(f"{local.url}/api/push/key", timeout=10).json()["public_key"]
            subscription = service.subscribe(key)
            added = requests.post(f"{local.url}/api/push/subscribe", timeout=10,
                                  json={"subscription": subscription, "level": "important"})
            assert added.status_code == 201, added.text
            dest = added.json()["destination"]["id"]
            assert local.tick_watchdog() == 200
            assert until(lambda: any(m["payload"]["title"] == "BRIDGE_SILENCE started" for m in service.got),
                         timeout=30), service.refused
            message = next(m for m in service.got if m["payload"]["title"] == "BRIDGE_SILENCE started")
            assert message["payload"]["url"] == "/#feed-box" and message["claims"]["aud"] == service.origin
            assert service.refused == []

            service.gone(subscription)
            beat = requests.post(f"{local.url}/api/bridge/heartbeat", json={"tsConnected": True}, timeout=10,
                                 headers={"X-Bridge-Secret": local.secrets["BRIDGE_HEARTBEAT_SECRET"]})
            assert beat.status_code == 200 and local.tick_watchdog() == 200   # BRIDGE_SILENCE cleared: news

            def listed() -> list[str]:
                answer = requests.get(f"{local.url}/api/notifications/destinations", timeout=10).json()
                return [d["id"] for d in answer["destinations"]]

            assert until(lambda: dest not in listed(), timeout=30), "the gone subscription is still a destination"
            assert any(r["status"] == 410 for r in service.refused)
            stored = json.loads((tmp_path / "notify-secrets.json").read_text())
            assert dest not in stored and "_vapid" in stored
    finally:
        service.stop()


SATURDAY = 1_764_400_000.0   # 2025-11-29 (no CME session: PRICE_SILENCE does not hold)


def _global_doc(local: LocalStack) -> dict:
    answer = requests.get(
        f"http://{local.env['FIRESTORE_EMULATOR_HOST']}/v1/projects/{local.project}/databases/(default)/"
        "documents/console/global", headers={"Authorization": "Bearer owner"}, timeout=10)
    return answer.json().get("fields", {}) if answer.status_code == 200 else {}


def _canary_fired(local: LocalStack) -> bool:
    canary = _global_doc(local).get("timer_canary", {}).get("mapValue", {}).get("fields", {})
    return "doubleValue" in canary.get("fired", {}) or "integerValue" in canary.get("fired", {})


@contextmanager
def canary_stack(tmp_path: Path) -> Iterator[_CanaryStack]:
    """A local stack of its own with the receiver, its dev clock frozen on a Saturday (no price silence)."""
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_PASSWORD"}
    local = LocalStack.on_free_ports(log_dir=tmp_path, base_env=env)
    local.receiver = True
    with local:
        stack = _CanaryStack(local)
        stack.clock(now=SATURDAY)
        yield stack


class _CanaryStack:
    """The helpers of the TIMERS_FAILING tests: the dev clock, a watchdog tick after a bridge heartbeat (only the
    canary may be silent), the receiver's TIMERS_FAILING notices and the timers queue paused or resumed."""

    def __init__(self, local: LocalStack) -> None:
        self.local, self.http = local, requests.Session()

    def clock(self, **body: float) -> None:
        assert self.http.post(f"{self.local.url}/_dev/clock", json=body, timeout=10).status_code == 200

    def tick(self) -> str:
        beat = self.http.post(f"{self.local.url}/api/bridge/heartbeat", timeout=10, json={
            "secret": self.local.secrets["BRIDGE_HEARTBEAT_SECRET"], "tsConnected": True})
        assert beat.status_code == 200 and self.local.tick_watchdog() == 200
        return "TIMERS_FAILING" if "TIMERS_FAILING" in json.dumps(_global_doc(self.local).get("silences")) else "."

    def titles(self) -> list[str]:
        return [m["title"] for m in self.local.notify_receiver.got
                if m.get("title", "").startswith("TIMERS_FAILING")]

    def wait_fired(self, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while not _canary_fired(self.local) and time.monotonic() < deadline:
            time.sleep(0.2)
        return _canary_fired(self.local)

    def queue(self, action: str) -> None:
        import grpc
        from google.cloud import tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

        from devstack.run import LOCATION, QUEUE

        channel = grpc.insecure_channel(f"127.0.0.1:{self.local.tasks_port}")
        client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
        name = client.queue_path(self.local.project, LOCATION, QUEUE)
        (client.pause_queue if action == "pause" else client.resume_queue)(name=name)
        channel.close()


def test_a_dev_clock_moved_at_a_replays_pace_does_not_start_timers_failing(tmp_path) -> None:
    """The watchdog ticked once a minute of market time at `make demo`'s pace (30x: a tick every 2 real seconds) and
    at 12x (every 5): the canary's task travels in real seconds and is judged in them, so TIMERS_FAILING never
    starts while the canaries come back (judged in the dev clock's seconds it held from the second tick at 30x and
    started and cleared over and over at 12x)."""
    with canary_stack(tmp_path) as stack:
        local = stack.local
        held = []
        for pace in [2.0] * 8 + [5.0] * 4:
            held.append(stack.tick())
            stack.clock(advance=60)
            time.sleep(pace)
        held.append(stack.tick())
        assert stack.wait_fired(), "the canaries come back through the Cloud Tasks emulator"
        assert set(held) == {"."}, "".join(held)
        assert not local.notify_receiver.wait_for(1, timeout=2) and stack.titles() == []


def test_timers_failing_when_the_queue_holds_the_canary_under_a_moving_dev_clock(tmp_path) -> None:
    """TIMERS_FAILING through the real Cloud Tasks emulator: the canary fires (quiet); the timers queue is paused
    (its task is held: to the store, lost) while the dev clock moves a minute each tick: the condition starts only
    when the canary is `timer_late_s` past its due time in real seconds, and reaches the receiver once the queue
    runs again; the replacement canary fires and the next tick clears it, once."""
    with canary_stack(tmp_path) as stack:
        local = stack.local
        assert stack.tick() == "."
        assert stack.wait_fired(), "the canary came back through the Cloud Tasks emulator"
        stack.queue("pause")
        stack.clock(advance=60)
        armed = time.monotonic()
        held = [stack.tick()]                     # a new canary, due 5 s on: held by the paused queue
        while time.monotonic() - armed < 30:      # minutes of market time pass, but not 35 real seconds
            stack.clock(advance=60)
            held.append(stack.tick())
            time.sleep(4)
        assert set(held) == {"."}, "".join(held)
        time.sleep(max(0.0, armed + 36.5 - time.monotonic()))
        stack.clock(advance=60)
        assert stack.tick() == "TIMERS_FAILING"
        stack.queue("resume")                     # the notice (a Cloud Task too) and the canaries go out
        assert local.notify_receiver.wait_for(1, timeout=20) and stack.titles() == ["TIMERS_FAILING started"]
        assert stack.wait_fired(), "the replacement canary fired"
        stack.clock(advance=60)
        assert stack.tick() == "."
        deadline = time.monotonic() + 20
        while len(stack.titles()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stack.titles() == ["TIMERS_FAILING started", "TIMERS_FAILING cleared"]
        stack.tick()
        time.sleep(2)
        assert stack.titles() == ["TIMERS_FAILING started", "TIMERS_FAILING cleared"], "each announced once"
