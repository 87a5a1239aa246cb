"""Issue 20 on the local stack (Firestore and Cloud Tasks emulators, the functions behind the router): the watchdog
ticks like Cloud Scheduler, its decision's notifications reach the local receiver through real Cloud Tasks tasks and
apprise (the `local` destination of `--receiver`), a second tick announces nothing new, and the receiver's URL is in
no stored notification."""

from __future__ import annotations

import json
import os
import time

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


SATURDAY = 1_764_400_000.0   # 2025-11-29 (no CME session: PRICE_SILENCE does not hold)


def _global_doc(local: LocalStack) -> dict:
    answer = requests.get(
        f"http://{local.env['FIRESTORE_EMULATOR_HOST']}/v1/projects/{local.project}/databases/(default)/"
        "documents/console/global", headers={"Authorization": "Bearer owner"}, timeout=10)
    return answer.json().get("fields", {}) if answer.status_code == 200 else {}


def _canary_fired(local: LocalStack) -> bool:
    canary = _global_doc(local).get("timer_canary", {}).get("mapValue", {}).get("fields", {})
    return "doubleValue" in canary.get("fired", {}) or "integerValue" in canary.get("fired", {})


def test_timers_failing_under_the_frozen_dev_clock(tmp_path) -> None:
    """TIMERS_FAILING through the real Cloud Tasks emulator: the watchdog's canary fires (quiet); the frozen clock
    moves a minute past a canary still on its way (55 s past its due time in the system's time): the condition
    starts and reaches the receiver once; the replacement canary fires and the next tick clears it, once."""
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_PASSWORD"}
    local = LocalStack.on_free_ports(log_dir=tmp_path, base_env=env)
    local.receiver = True
    with local:
        receiver = local.notify_receiver
        http = requests.Session()

        def clock(**body: float) -> None:
            assert http.post(f"{local.url}/_dev/clock", json=body, timeout=10).status_code == 200

        def tick() -> None:   # the bridge speaks first: only the canary may be silent
            beat = http.post(f"{local.url}/api/bridge/heartbeat", timeout=10, json={
                "secret": local.secrets["BRIDGE_HEARTBEAT_SECRET"], "tsConnected": True})
            assert beat.status_code == 200 and local.tick_watchdog() == 200

        def titles() -> list[str]:
            return [m["title"] for m in receiver.got if m.get("title", "").startswith("TIMERS_FAILING")]

        clock(now=SATURDAY)
        tick()
        deadline = time.monotonic() + 20
        while not _canary_fired(local) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _canary_fired(local), "the canary came back through the Cloud Tasks emulator"
        clock(advance=60)
        tick()                      # fired: a new canary, due 5 s on
        clock(advance=60)           # … and a minute passes in the system's time before it can fire
        tick()
        assert receiver.wait_for(1, timeout=20) and titles() == ["TIMERS_FAILING started"]
        deadline = time.monotonic() + 20
        while not _canary_fired(local) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _canary_fired(local), "the replacement canary fired"
        clock(advance=60)
        tick()
        deadline = time.monotonic() + 20
        while len(titles()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert titles() == ["TIMERS_FAILING started", "TIMERS_FAILING cleared"]
        tick()
        time.sleep(2)
        assert titles() == ["TIMERS_FAILING started", "TIMERS_FAILING cleared"], "each announced once"
