"""Issue 19 (D22) through the whole local stack, under the frozen dev clock: the flatten-before timer of a blackout
window on the real Cloud Tasks emulator and Firestore.

- adding a window with `flatten_before_s` queues a `blackout_flatten` task named from the window, the occurrence and
  the flatten moment (the clock's time: the dev clock only shifts when it is delivered);
- delivered at its due time it gives the open position an exit order for the bridge, once, however often the task
  is delivered and whatever other timer of the same window arrives;
- entries are refused inside the window with `BLACKOUT` and pass after it; a deleted window's timer does nothing
  once the deletion is in force (the next trading day, D5);
- the watchdog's tick keeps the timers derived from the stored windows: a task dropped from the queue comes back,
  and a flatten whose task never came is done by the tick, the weekly chain going on.

The emulator's RunTask delivers a task now (under a frozen clock its real due time is minutes away), CreateTask takes
the same name twice (no de-duplication: a second delivery) and PurgeQueue drops what is queued (the stack's queue is
shared by the tests of a session, which run one after the other; what earlier tests left queued finds nothing to
do anyway).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.domain.clock import NEW_YORK
from shared.scheduler import Timer, task_name
from tests.emulator.test_endpoints import BASE, Api, T
from tests.waiting import until

pytestmark = pytest.mark.emulator

LOCATION, QUEUE = "us-central1", "timers"
START = BASE + 1200.0          # Wednesday 2026-04-15 10:20:10 New York
LEAD = 300


class Queue:
    """The stack's `timers` queue on the Cloud Tasks emulator, read and driven through its gRPC API."""

    def __init__(self, live: Any) -> None:
        import grpc
        from google.cloud import tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

        stack = live.stack
        self.path = f"projects/{stack.project}/locations/{LOCATION}/queues/{QUEUE}"
        channel = grpc.insecure_channel(f"127.0.0.1:{stack.tasks_port}")
        self.client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))

    def tasks(self, name: str) -> list[Any]:
        """The queued tasks with this name (their full path ends with it)."""
        return [t for t in self.client.list_tasks(parent=self.path, timeout=T) if t.name.endswith(f"/tasks/{name}")]

    def flatten_tasks(self) -> list[Any]:
        return [t for t in self.client.list_tasks(parent=self.path, timeout=T) if "-blackout_flatten-" in t.name]

    def run(self, task: Any) -> None:
        """Deliver the task now (RunTask answers once the timers function has)."""
        self.client.run_task(name=task.name, timeout=T)

    def again(self, task: Any) -> None:
        """Queue the same task again, name and all, and deliver it: Cloud Tasks' at-least-once second delivery."""
        self.client.create_task(parent=self.path, task=task, timeout=T)
        self.run(task)

    def purge(self) -> None:
        self.client.purge_queue(name=self.path, timeout=T)

    def close(self) -> None:
        self.client.transport.close()


@pytest.fixture
def api(fresh: Any) -> Api:
    fresh.set_clock(BASE)   # frozen: every decision at exactly the time the test sets
    return Api(fresh)


@pytest.fixture
def queue(fresh: Any) -> Iterator[Queue]:
    q = Queue(fresh)
    try:
        yield q
    finally:
        q.close()


def freeze(api: Api, now: float) -> None:
    api.live.set_clock(now)


def flatten_name(window_id: str, start: float, lead: int = LEAD) -> str:
    return task_name(Timer("blackout_flatten", f"{window_id}:{int(start)}", start - lead))


def exits(api: Api) -> list[dict[str, Any]]:
    return [o for o in api.collection("orders").values() if o["kind"] == "EXIT"]


def timer_outcomes(api: Api, kind: str) -> list[str]:
    fired = sorted((e for e in api.collection("events").values()
                    if e["type"] == "timer_fired" and e["input"]["kind"] == kind), key=lambda e: e["seq"])
    return [d["detail"]["outcome"] for e in fired for d in e["decisions"] if d["kind"] == "timer"]


def iso(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts, NEW_YORK).isoformat()


def add_window(api: Api, **window: Any) -> dict[str, Any]:
    response = api.post("/api/calendar", window)
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()["added"][0]
    return added


def test_the_flatten_timer_queued_delivered_twice_refusing_and_releasing_entries(api: Api, queue: Queue) -> None:
    api.ready()
    api.open_long()
    before = time.time()
    window = add_window(api, label="CPI", start=iso(START), end=iso(START + 600), flatten_before_s=LEAD)
    after = time.time()
    assert window["id"] == "b1"

    # queued under the derived name, due (in real time) as many seconds ahead as the flatten moment is
    name = flatten_name("b1", START)
    assert until(lambda: len(queue.tasks(name)) == 1, timeout=10), [t.name for t in queue.flatten_tasks()]
    (task,) = queue.tasks(name)
    body = json.loads(task.http_request.body)
    assert (body["kind"], body["key"], body["payload"]) == ("blackout_flatten", f"b1:{int(START)}",
                                                            {"window_id": "b1"})
    due_real = task.schedule_time.timestamp()
    assert before + (START - LEAD - BASE) - 1 <= due_real <= after + (START - LEAD - BASE) + 1
    key = api.doc(f"task_keys/{name}")
    assert (key["kind"], key["key"]) == ("blackout_flatten", f"b1:{int(START)}")
    assert exits(api) == [] and api.asset()["position"] == 5          # nothing before its time

    # at the flatten moment: one exit for the bridge
    freeze(api, START - LEAD)
    queue.run(task)
    (flatten,) = exits(api)
    assert (flatten["source"], flatten["reason"], flatten["side"], flatten["qty"], flatten["status"]) == (
        "BLACKOUT_FLATTEN", "blackout_flatten", "SELL", 5, "PENDING")
    # delivered again, and a second timer of the same window (another moment): the exit is in flight, no second one
    queue.again(task)
    other = Timer("blackout_flatten", f"b1:{int(START)}", START - 60)
    queue.client.create_task(parent=queue.path, task={
        "name": f"{queue.path}/tasks/{task_name(other)}", "http_request": {
            "http_method": "POST", "url": task.http_request.url, "headers": dict(task.http_request.headers),
            "body": json.dumps({"kind": other.kind, "key": other.key, "at": other.at, "payload": {}}).encode()}},
        timeout=T)
    freeze(api, START - 60)
    queue.run(queue.tasks(task_name(other))[0])
    assert [o["id"] for o in exits(api)] == [flatten["id"]]
    assert timer_outcomes(api, "blackout_flatten") == ["flattened"] * 3   # a one-off: no next timer

    handed = api.poll().json()["orders"]
    assert [(o["id"], o["kind"], o["side"], o["qty"]) for o in handed] == [(flatten["id"], "EXIT", "SELL", 5)]
    api.fill(flatten["id"], 5001.0)
    assert api.asset()["position"] == 0
    assert [t["reason"] for t in api.history()] == ["blackout_flatten"]

    # inside the window entries are refused with the blackout's code and label; after it they pass again
    freeze(api, START + 300)                                  # the cooldown after the flatten is over by then
    api.ready()
    refused = api.enter()
    assert refused.status_code == 403 and refused.json()["code"] == "BLACKOUT", refused.text
    assert (refused.json()["label"], refused.json()["remaining_s"]) == ("CPI", 300)
    assert refused.json()["error"] == "BLACKOUT: CPI (05:00 remaining)"
    freeze(api, START + 600)
    api.ready()
    assert api.enter().status_code == 201


def test_a_deleted_windows_timer_does_nothing_once_the_deletion_is_in_force(api: Api, queue: Queue) -> None:
    api.ready()
    api.open_long()
    tomorrow = BASE + 86400.0                                  # Thursday 10:00:10, after the 18:00 rollover
    add_window(api, label="NFP", start=iso(tomorrow), end=iso(tomorrow + 600), flatten_before_s=LEAD)
    name = flatten_name("b1", tomorrow)
    assert until(lambda: len(queue.tasks(name)) == 1, timeout=10)
    deleted = api.op.delete(f"{api.url}/api/calendar/b1", timeout=T)
    assert deleted.status_code == 200 and deleted.json()["effective_trading_day"] == "next"

    freeze(api, tomorrow - LEAD)
    queue.run(queue.tasks(name)[0])
    assert timer_outcomes(api, "blackout_flatten") == ["nothing_to_do"]
    assert exits(api) == [] and api.asset()["position"] == 5
    assert api.glob()["blackouts"] == []                       # the rollover took the deleted window away


def test_the_watchdog_brings_a_dropped_task_back_and_flattens_when_it_never_came(api: Api, queue: Queue) -> None:
    """A weekly window (Wednesdays 10:30-11:00, a 10-minute lead): its chain of timers lives in the stored window."""
    api.ready()
    api.open_long()
    add_window(api, label="open drive", days=["WED"], start="10:30", end="11:00", flatten_before_s=600)
    start = START + 590.0                                      # 10:30:00
    name = flatten_name("b1", start, 600)
    assert until(lambda: len(queue.tasks(name)) == 1, timeout=10)

    # lost on its way (the queue dropped it and the enqueue left no key): the next tick queues it again
    queue.purge()
    api.store.transact([f"task_keys/{name}"], lambda reads: _delete(f"task_keys/{name}"))
    assert queue.tasks(name) == []
    assert api.live.stack.tick_watchdog() == 200
    assert until(lambda: len(queue.tasks(name)) == 1, timeout=10)
    assert api.live.stack.tick_watchdog() == 200              # asked for again: still the one task
    assert len(queue.tasks(name)) == 1

    # dropped after it was queued (its name stays taken) and never delivered: the tick after the flatten moment
    # gives the exit itself and queues next Wednesday's timer
    queue.purge()
    freeze(api, start - 600 + 30)
    assert api.live.stack.tick_watchdog() == 200
    (flatten,) = exits(api)
    assert (flatten["source"], flatten["qty"]) == ("BLACKOUT_FLATTEN", 5)
    following = flatten_name("b1", start + 7 * 86400, 600)
    assert until(lambda: len(queue.tasks(following)) == 1, timeout=10), [t.name for t in queue.flatten_tasks()]
    freeze(api, start - 600 + 90)
    assert api.live.stack.tick_watchdog() == 200              # the exit is in flight: no second one
    assert len(exits(api)) == 1 and len(queue.tasks(following)) == 1


def _delete(path: str) -> Any:
    from shared.store.api import Plan, Write

    return Plan([Write(path, "delete", None)])
