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
