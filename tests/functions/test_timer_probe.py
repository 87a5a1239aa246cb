"""Issue 22, item 5: the smoke test must see a timer fire. POST /api/timer-probe schedules a `probe` timer under a
key of its own; delivered to the timers function (its task authentication first), it writes a timer/PROBE audit
event with that key, visible in GET /api/logs, and changes no trading state."""

from __future__ import annotations

import json

import pytest

TASK_TOKEN = "probe-task-token"


@pytest.fixture(autouse=True)
def _local_tasks(monkeypatch) -> None:
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("TASKS_LOCAL_TOKEN", TASK_TOKEN)


def test_a_probe_timer_fires_into_the_audit_log_and_changes_nothing_else(app) -> None:
    orders = app.client("orders")
    assert orders.post("/api/timer-probe").status_code == 401, "operators only"
    assert app.login().status_code == 200
    before = {k: v for k, v in app.store.dump().items() if not k.startswith(("events/", "task_keys/"))}
    answer = orders.post("/api/timer-probe")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    key = answer.get_json()["key"]
    assert key.startswith("probe:") and answer.get_json()["due"] > app.clock.now
    (timer,) = app.scheduler.of_kind("probe")
    assert timer.key == key
    timers = app.client("timers")
    body = {"kind": "probe", "key": key, "at": timer.at}
    assert timers.post("/", json=body).status_code == 401, "the task's authentication still applies"
    fired = timers.post("/", json=body, headers={"X-Local-Tasks-Token": TASK_TOKEN})
    assert fired.status_code == 200 and fired.get_json()["outcome"] == "fired"
    events = orders.get("/api/logs?limit=20").get_json()["events"]
    probes = [e for e in events if key in json.dumps(e) and '"code": "PROBE"' in json.dumps(e)]
    assert probes, events
    after = {k: v for k, v in app.store.dump().items() if not k.startswith(("events/", "task_keys/"))}
    # a first commit of the day may stamp the trading day on the global document; nothing else may change
    if "console/global" in after and "console/global" not in before:
        assert set(after.pop("console/global")) <= {"_rev", "trading_day"}
    assert json.dumps(after, sort_keys=True, default=str) == json.dumps(before, sort_keys=True, default=str)
