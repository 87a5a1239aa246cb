"""Issue 20 (D23) through the real entry points over the fake store, with real local receivers and apprise: a
notifiable decision writes its notifications in its own commit and one named `notify` task per destination
listening at its level; the timers function delivers each (apprise to a JSON webhook and to an ntfy-compatible
server on 127.0.0.1), a failing destination is retried until it recovers and never fails the decision, a task
delivered twice sends once, the watchdog announces a silence once when it starts and once when it clears, and no
destination URL is in any stored document, answer or log line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.receiver import Receiver
from shared.service import notify, notify_secrets
from tests.functions.test_hostile_input import BRIDGE, TASK_TOKEN, open_entry, report
from tests.waiting import until

TOKEN_IN_URL = "s3cr3t-webhook-token-0123456789"


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    quiet = lambda message: None  # noqa: E731 - keep what arrives, print nothing
    hook, ntfy = Receiver(on_message=quiet).start(), Receiver(on_message=quiet).start()
    yield hook, ntfy
    hook.stop()
    ntfy.stop()


@pytest.fixture(autouse=True)
def _wiring(app, monkeypatch) -> Iterator[notify_secrets.MemorySecrets]:
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("TASKS_LOCAL_TOKEN", TASK_TOKEN)
    secrets = notify_secrets.MemorySecrets()
    notify_secrets.install(secrets)
    assert app.login().status_code == 200
    yield secrets
    notify_secrets.install(None)


def add(app: Any, dest_id: str, url: str, level: str) -> Any:
    return app.client("orders").post("/api/notifications/destinations", json={"id": dest_id, "url": url,
                                                                                "level": level})


def configure(app: Any, hook: Receiver, ntfy: Receiver) -> None:
    assert add(app, "hook", f"json://127.0.0.1:{hook.port}/hook/{TOKEN_IN_URL}?rto=2&cto=2", "all").status_code == 201
    assert add(app, "phone", f"ntfy://127.0.0.1:{ntfy.port}/alerts", "critical").status_code == 201


def run_tasks(app: Any, prefix: str = "", kind: str = "notify") -> list[Any]:
    """Deliver every `kind` task recorded so far (whose key starts with `prefix`), like Cloud Tasks."""
    timers = app.client("timers")
    return [timers.post("/", json={"kind": t.kind, "key": t.key, "at": t.at},
                        headers={"X-Local-Tasks-Token": TASK_TOKEN}) for t in app.scheduler.of_kind(kind)
            if t.key.startswith(prefix)]


def notifications(app: Any) -> dict[str, dict[str, Any]]:
    return {p: d for p, d in app.store.dump().items() if p.startswith("notifications/")}


def watchdog(app: Any) -> Any:
    return app.client("timers").post("/", json={"kind": "watchdog", "key": "tick", "at": app.clock.now},
                                     headers={"X-Local-Tasks-Token": TASK_TOKEN})


def test_destinations_are_listed_masked_and_can_be_removed(app, receivers, _wiring) -> None:
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    listed = app.client("orders").get("/api/notifications/destinations")
    assert listed.status_code == 200
    assert TOKEN_IN_URL not in listed.get_data(as_text=True)
    assert [(d["id"], d["level"], d["url"]) for d in listed.get_json()["destinations"]] == [
        ("hook", "all", "json://…"), ("phone", "critical", "ntfy://…")]
    assert TOKEN_IN_URL in _wiring.urls["hook"]
    assert add(app, "bad", "nonsense", "all").status_code == 400
    assert add(app, "x", "json://127.0.0.1:1/x", "loud").status_code == 400
    assert app.client("orders").delete("/api/notifications/destinations/phone").get_json()["removed"] == "phone"
    assert "phone" not in _wiring.urls
    assert app.client("orders").delete("/api/notifications/destinations/phone").status_code == 404


def test_a_level_changes_without_the_url_and_a_new_destination_needs_one(app, receivers, _wiring) -> None:
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    url = _wiring.urls["hook"]
    orders = app.client("orders")
    changed = orders.post("/api/notifications/destinations", json={"id": "hook", "level": "critical",
                                                                   "label": "Desk"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert (changed.get_json()["destination"]["level"], changed.get_json()["destination"]["url"]) == (
        "critical", "json://…")
    assert _wiring.urls["hook"] == url, "the URL stays in the secrets store"
    new = orders.post("/api/notifications/destinations", json={"id": "fresh", "level": "all"})
    assert new.status_code == 400 and "url" in new.get_json()["error"]


def test_send_a_test_reaches_the_destination_and_records_the_last_error(app, receivers) -> None:
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    orders = app.client("orders")
    assert orders.post("/api/notifications/destinations/phone/test").status_code == 200
    assert ntfy.got and ntfy.got[-1]["title"] == "OperatorLock test"
    ntfy.fail = 1
    failed = orders.post("/api/notifications/destinations/phone/test")
    assert failed.status_code == 502 and failed.get_json()["code"] == "DESTINATION_FAILED"
    phone = next(d for d in orders.get("/api/notifications/destinations").get_json()["destinations"]
                 if d["id"] == "phone")
    assert phone["last_error"] and phone["last_error_ts"] and phone["last_ok_ts"]


def test_the_watchdog_notifies_once_at_the_start_and_once_at_the_clear(app, receivers, capsys) -> None:
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    first = watchdog(app)
    assert first.status_code == 200, first.get_data(as_text=True)
    started = notifications(app)
    assert {d["code"] for d in started.values()} == {"PRICE_SILENCE", "BRIDGE_SILENCE"}   # Monday 11:00 New York
    event = app.store.dump()[f"events/{next(iter(started.values()))['request_id']}"]
    assert {d["code"] for d in event["decisions"] if d["kind"] == "silence_started"} == {"PRICE_SILENCE",
                                                                                          "BRIDGE_SILENCE"}
    assert [r.get_json()["outcome"] for r in run_tasks(app, kind="timer_canary")] == ["fired"]
    app.clock.now += 60
    assert watchdog(app).status_code == 200 and len(notifications(app)) == 2, "still silent: nothing new"
    assert all(r.status_code == 200 for r in run_tasks(app))
    assert sorted(b["title"] for b in hook.got) == ["BRIDGE_SILENCE started", "PRICE_SILENCE started"]
    assert ntfy.got == [], "important only: the critical-only phone hears nothing"
    # the bridge and TradingView speak again: each condition clears once
    assert app.client("bridge").post("/api/bridge/heartbeat", headers={"X-Bridge-Secret": BRIDGE},
                                     json={"tsConnected": True}).status_code == 200
    assert app.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
    app.clock.now += 1
    run_tasks(app, kind="timer_canary")
    watchdog(app)
    watchdog(app)
    codes = sorted((d["kind"], d["code"]) for d in notifications(app).values())
    assert codes == [("silence_cleared", "BRIDGE_SILENCE"), ("silence_cleared", "PRICE_SILENCE"),
                     ("silence_started", "BRIDGE_SILENCE"), ("silence_started", "PRICE_SILENCE")]
    run_tasks(app)
    assert len(hook.got) == 4
    assert TOKEN_IN_URL not in capsys.readouterr().out


def test_a_fill_notifies_and_a_failing_destination_is_retried_then_delivered_once(app, receivers, capsys) -> None:
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    oid = open_entry(app)
    assert app.client("bridge").get("/api/orders/pending", headers={"X-Bridge-Secret": BRIDGE}).status_code == 200
    hook.fail = 2
    filled = report(app, oid, status="FILLED", fill_price=5001.0, fill_id="F1")
    assert filled.status_code == 200, "the destination's failure is never the decision's"
    docs = notifications(app)
    fill = [d for d in docs.values() if d["kind"] == "fill"]
    assert len(fill) == 1 and fill[0]["level"] == "important" and fill[0]["asset"] == "ES"
    request_id = fill[0]["request_id"]
    assert f"events/{request_id}" in app.store.dump(), "written in the commit its audit record witnesses"
    tasks = [t for t in app.scheduler.of_kind("notify") if t.key.startswith(request_id)]
    assert {t.key.split(":")[1] for t in tasks} == {"hook"}, "the phone listens to critical only"
    fill_task = f"{fill[0]['id']}:hook"
    first = run_tasks(app, fill_task)[0]
    assert first.status_code == 503 and first.get_json()["outcome"] == "failed"
    second = run_tasks(app, fill_task)[0]
    assert second.status_code == 503
    third = run_tasks(app, fill_task)[0]
    assert third.status_code == 200 and third.get_json()["outcome"] == "delivered"
    again = run_tasks(app, fill_task)[0]
    assert again.get_json()["outcome"] == "already_delivered", "a task delivered twice sends once"
    fills = [b for b in hook.got if "fill" in b["title"]]
    assert len(fills) == 1 and fills[0]["title"] == "ES: ENTRY fill"
    stored = json.dumps(app.store.dump(), default=str)
    out = capsys.readouterr().out
    assert TOKEN_IN_URL not in stored and TOKEN_IN_URL not in out
    assert f"127.0.0.1:{hook.port}/hook" not in stored


def test_a_claimed_destination_is_not_sent_twice_by_a_concurrent_attempt(app, receivers) -> None:
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    watchdog(app)
    task = app.scheduler.of_kind("notify")[0]
    path = notify.notification_path(task.key.split(":")[0])
    doc = dict(app.store.dump()[path])
    doc["sending"] = {"hook": app.clock.now - 5}
    app.store.put(path, doc)
    (busy,) = run_tasks(app, task.key)
    assert busy.status_code == 503 and busy.get_json()["outcome"] == "busy" and hook.got == []
    app.clock.now += notify.CLAIM_S
    assert run_tasks(app, task.key)[0].get_json()["outcome"] == "delivered"


def test_timers_failing_is_announced_when_the_canary_is_lost_and_cleared_when_one_fires(app, receivers) -> None:
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    assert app.client("bridge").post("/api/bridge/heartbeat", headers={"X-Bridge-Secret": BRIDGE},
                                     json={"tsConnected": True}).status_code == 200
    assert app.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
    assert watchdog(app).get_json()["outcome"] == "quiet"
    (lost,) = app.scheduler.of_kind("timer_canary")     # Cloud Tasks never delivers it
    app.clock.now = lost.at + 31
    beat = app.client("bridge").post("/api/bridge/heartbeat", headers={"X-Bridge-Secret": BRIDGE},
                                     json={"tsConnected": True})
    assert beat.status_code == 200 and app.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
    assert watchdog(app).get_json()["outcome"] == "TIMERS_FAILING"
    started = [d for d in notifications(app).values() if d["code"] == "TIMERS_FAILING"]
    assert [(d["kind"], d["level"]) for d in started] == [("silence_started", "important")]
    retry = app.scheduler.of_kind("timer_canary")[-1]
    assert retry.key != lost.key
    assert [r.get_json()["outcome"] for r in run_tasks(app, prefix=retry.key, kind="timer_canary")] == ["fired"]
    assert watchdog(app).get_json()["outcome"] == "quiet"
    codes = sorted(d["kind"] for d in notifications(app).values() if d["code"] == "TIMERS_FAILING")
    assert codes == ["silence_cleared", "silence_started"]
    run_tasks(app)
    assert {"TIMERS_FAILING started", "TIMERS_FAILING cleared"} <= {m["title"] for m in hook.got}



def test_the_watchdog_judges_its_canary_by_the_shells_clock_offset(app, receivers) -> None:
    """The timers function hands the domain the shell's clock offset (the local stack's dev clock): the dev clock a
    minute on at each tick while the real clock stands still, the canary on its way is not late; the task is
    enqueued at its real due time and the stored canary keeps the offset it was armed under."""
    from shared.service import Services
    from shared.service.wiring import config_from_env, install
    from shared.store.documents import GLOBAL_PATH

    hook, ntfy = receivers
    configure(app, hook, ntfy)
    lead = [3600.0]
    install(Services(store=app.store, config=config_from_env(), clock=app.clock, scheduler=app.scheduler,
                     clock_offset=lambda: lead[0]))
    assert app.client("bridge").post("/api/bridge/heartbeat", headers={"X-Bridge-Secret": BRIDGE},
                                     json={"tsConnected": True}).status_code == 200
    assert app.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
    assert watchdog(app).get_json()["outcome"] == "quiet"
    (canary,) = app.scheduler.of_kind("timer_canary")
    armed_at = app.clock.now
    assert canary.at == armed_at + 5 - 3600, "enqueued for the real time it is due at"
    assert app.store.dump()[GLOBAL_PATH]["timer_canary"]["offset"] == 3600.0
    for _ in range(3):                  # a replay's pace: a minute of the dev clock, no real time
        app.clock.now += 60
        lead[0] += 60
        assert app.client("bridge").post("/api/bridge/heartbeat", headers={"X-Bridge-Secret": BRIDGE},
                                         json={"tsConnected": True}).status_code == 200
        assert app.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
        assert watchdog(app).get_json()["outcome"] == "quiet"
    assert app.scheduler.of_kind("timer_canary") == [canary], "still on its way: not replaced"
    assert not [d for d in notifications(app).values() if d["code"] == "TIMERS_FAILING"]

def test_a_destination_refused_at_the_cap_leaves_no_url_in_the_secrets_store(app, _wiring) -> None:
    for n in range(notify.MAX_DESTINATIONS):
        assert add(app, f"d{n}", f"json://127.0.0.1:1/d{n}", "all").status_code == 201
    before = dict(_wiring.urls)
    refused = add(app, "one-too-many", "json://127.0.0.1:1/secret-token-of-the-eleventh", "all")
    assert refused.status_code == 400 and "at most" in refused.get_json()["error"]
    assert _wiring.urls == before, "a 400 writes nothing, not to the secrets store either"


def test_a_replacement_that_fails_keeps_the_destinations_url(app, _wiring, monkeypatch) -> None:
    assert add(app, "hook", "json://127.0.0.1:1/old", "all").status_code == 201

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is unreachable")

    monkeypatch.setattr(app.store, "transact", broken)
    assert add(app, "hook", "json://127.0.0.1:1/new", "all").status_code >= 500
    assert _wiring.urls["hook"] == "json://127.0.0.1:1/old", "the list still says hook: its URL stays"



@pytest.mark.parametrize("url", ["json://127.0.0.1:1/a, json://127.0.0.1:2/b",
                                 "json://127.0.0.1:1/a json://127.0.0.1:2/b json://127.0.0.1:3/c",
                                 "json://127.0.0.1:1/a?rto=86400", "json://127.0.0.1:1/a?cto=600"])
def test_one_destination_is_one_service_with_bounded_timeouts(app, _wiring, url) -> None:
    """Several URLs in one would slip past the cap of destinations; an hour's read timeout would hold the test
    button's request and outlive a delivery's claim (a second attempt would send again)."""
    answer = add(app, "hook", url, "all")
    assert answer.status_code == 400 and answer.get_json()["error"].startswith("url:"), answer.get_json()
    assert "hook" not in _wiring.urls


def test_a_broken_local_secrets_file_answers_503_naming_it_and_is_left_as_it_was(app, tmp_path) -> None:
    """A stored value must not produce a 500: a hand edit that broke the local file (not JSON) is a dependency
    the stack cannot use right now — 503 naming the file, nothing overwritten — until it is mended."""
    path = tmp_path / "notify-secrets.json"
    broken = '{"hook": "json://127.0.0.1:1/token-kept", '
    path.write_text(broken)
    notify_secrets.install(notify_secrets.FileSecrets(path))
    answer = add(app, "phone", "ntfy://127.0.0.1:1/alerts", "all")
    assert answer.status_code == 503 and "notify-secrets.json" in answer.get_json()["error"]
    assert "token-kept" not in answer.get_data(as_text=True)
    assert path.read_text() == broken
    assert app.client("orders").get("/api/notifications/destinations").status_code == 200


@pytest.mark.parametrize("nid", [".", "..", "-x", "_x"])
def test_a_notify_task_naming_no_notification_document_is_a_400(app, nid) -> None:
    """A notification id must be a document id: "." and ".." would name a path, not a notification."""
    before = app.store.dump()
    answer = app.client("timers").post("/", json={"kind": "notify", "key": f"{nid}:hook", "at": app.clock.now},
                                       headers={"X-Local-Tasks-Token": TASK_TOKEN})
    assert answer.status_code == 400 and app.store.dump() == before


def test_a_destination_that_trickles_its_answer_fails_at_the_deadline_and_is_retried(app, receivers,
                                                                                      monkeypatch) -> None:
    """A server that answers a byte at a time stays inside every socket timeout: the send's whole deadline ends the
    attempt (503, the error recorded for the operator), the test button answers too, and the retry delivers once
    the destination answers again."""
    import time

    monkeypatch.setattr(notify, "SEND_DEADLINE_S", 1.0)
    hook, ntfy = receivers
    configure(app, hook, ntfy)
    hook.trickle = 0.3          # a byte every 0.3 s: well inside the URL's 2 s read timeout
    watchdog(app)
    (task,) = [t for t in app.scheduler.of_kind("notify") if t.key.endswith(":hook")][:1]
    started = time.monotonic()
    (silent,) = run_tasks(app, task.key)
    waited = time.monotonic() - started
    assert silent.status_code == 503 and silent.get_json()["outcome"] == "failed", silent.get_json()
    assert 1.0 <= waited < 2.5, waited
    assert silent.get_json()["error"] == "the destination did not answer within 1 s"
    orders = app.client("orders")
    hook_row = next(d for d in orders.get("/api/notifications/destinations").get_json()["destinations"]
                    if d["id"] == "hook")
    assert hook_row["last_error"] == "the destination did not answer within 1 s"
    started = time.monotonic()
    tried = orders.post("/api/notifications/destinations/hook/test")
    assert tried.status_code == 502 and tried.get_json()["code"] == "DESTINATION_FAILED"
    assert time.monotonic() - started < 2.5
    assert run_tasks(app, task.key)[0].get_json()["outcome"] == "busy", "the claim stays while the send may go on"
    hook.trickle = 0.0          # the destination lets go (the sends still waiting end) and answers again
    assert until(lambda: not notify._in_flight)
    app.clock.now += notify.CLAIM_S
    assert run_tasks(app, task.key)[0].get_json()["outcome"] == "delivered"
