"""The secret scan: it finds a planted secret (so a clean scan means something), and after the places where
the issue found secrets (a bridge poll's ?secret=, secret-named keys and secret values in a heartbeat, a secret
in a bar id) no stored document and no log line of the stack holds one. Every local stack a test starts (the
`live` one, the browser tests', the Firebase-mode one, the outage, soak and demo stacks...) is scanned again just
before it stops (tests/conftest.py); a stack of its own shows that this catches a planted secret, and that a
frozen database is skipped with its reason while the logs are still read."""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import pytest
import requests

from devstack.receiver import Receiver
from devstack.run import LocalStack, StopCheckFailed
from tests.emulator.evidence import (
    SECRET_NAMES,
    configured_secrets,
    database_gone,
    document_hits,
    scan_stack,
    secret_hits,
)
from tests.waiting import until

pytestmark = pytest.mark.emulator
T = 30


def _configured(live) -> dict[str, str]:
    return {name: live.stack.env.get(name, "") for name in SECRET_NAMES}


def test_the_scan_finds_a_planted_secret(fresh, tmp_path):
    secret = fresh.secrets["BRIDGE_HEARTBEAT_SECRET"]
    (tmp_path / "planted.log").write_text(f"line one\npoll ?secret={secret}\n")
    db = fresh.store()._ready_client()
    db.document("planted/doc").set({"note": f"x{secret}x"})
    try:
        hits = secret_hits(_configured(fresh), fresh.firestore_address, fresh.project, tmp_path)
    finally:
        db.document("planted/doc").delete()
    assert "BRIDGE_HEARTBEAT_SECRET in planted.log:2" in hits
    assert any(hit.startswith("BRIDGE_HEARTBEAT_SECRET in ") and "planted/doc" in hit for hit in hits)


def test_no_secret_is_stored_or_logged_where_the_issue_found_them(fresh):
    url, tv, bridge = fresh.url, fresh.secrets["TV_WEBHOOK_SECRET"], fresh.secrets["BRIDGE_HEARTBEAT_SECRET"]
    poll = requests.get(f"{url}/api/orders/pending", params={"secret": bridge, "owner": "bridge-1"}, timeout=T)
    assert poll.status_code == 200
    beat = requests.post(f"{url}/api/bridge/heartbeat", timeout=T, json={
        "secret": bridge, "tsConnected": True, "account": bridge, "password": "hunter2-hunter2",
        "token": tv, "apiKey": tv, "SECRET": tv})
    assert beat.status_code < 500
    assert fresh.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
    bar = fresh.tv("/tv_renko_main", asset="ES", color="green", bar_id=tv)
    assert bar.status_code < 500
    logs = fresh.http.get(f"{url}/api/logs", timeout=T)
    assert logs.status_code == 200 and tv not in logs.text and bridge not in logs.text
    hits = secret_hits(_configured(fresh), fresh.firestore_address, fresh.project, fresh.stack.logs)
    assert not hits, hits[:20]


def test_destination_urls_are_scanned_for_after_they_were_used(fresh):
    """Issue 20: a destination added during the scanned run (its URL carrying a token), sent a test, failing, and
    delivered a watchdog notification through Cloud Tasks: its URL (whole, and its token alone) is one of the
    scan's secrets, in no stored document and no log line; planted, the scan finds it."""
    token = "scan-hook-token-" + os.urandom(8).hex()
    quiet = lambda message: None  # noqa: E731
    good, broken = Receiver(on_message=quiet).start(), Receiver(on_message=quiet).start()
    broken.fail = 10_000
    try:
        for dest_id, receiver in (("scan-hook", good), ("scan-broken", broken)):
            added = fresh.http.post(f"{fresh.url}/api/notifications/destinations", timeout=T, json={
                "id": dest_id, "level": "all", "url": f"json://127.0.0.1:{receiver.port}/n/{token}?rto=3&cto=3"})
            assert added.status_code == 201, added.text
        assert fresh.http.post(f"{fresh.url}/api/notifications/destinations/scan-hook/test", timeout=T).ok
        assert fresh.http.post(f"{fresh.url}/api/notifications/destinations/scan-broken/test",
                               timeout=T).status_code == 502
        assert fresh.stack.tick_watchdog() == 200
        assert good.wait_for(2, timeout=30), "the watchdog's notification delivered through Cloud Tasks"
        until(lambda: broken.fail < 10_000 - 2, timeout=30)   # a delivery to the failing one tried (and retried)
        listed = fresh.http.get(f"{fresh.url}/api/notifications/destinations", timeout=T)
        assert token not in listed.text and "scan-broken" in listed.text
        secrets = configured_secrets(fresh.stack)
        assert {"notify destination scan-hook", "notify destination scan-broken"} <= set(secrets)
        assert any(value == f"{token}?rto=3&cto=3" or value == token for value in secrets.values()), secrets.keys()
        hits = secret_hits(secrets, fresh.firestore_address, fresh.project, fresh.stack.logs)
        assert not hits, hits[:20]
        db = fresh.store()._ready_client()
        db.document("planted/doc").set({"note": f"x{token}x"})
        try:
            planted = secret_hits(secrets, fresh.firestore_address, fresh.project, fresh.stack.logs)
        finally:
            db.document("planted/doc").delete()
        assert any(hit.startswith("notify destination scan-hook") and "planted/doc" in hit for hit in planted)
    finally:
        for dest_id in ("scan-hook", "scan-broken"):
            fresh.http.delete(f"{fresh.url}/api/notifications/destinations/{dest_id}", timeout=T)
        good.stop()
        broken.stop()


def _plant_document(stack: LocalStack, path: str, text: str) -> None:
    collection, doc_id = path.split("/")
    url = (f"http://127.0.0.1:{stack.firestore_port}/v1/projects/{stack.project}/databases/(default)/documents/"
           f"{collection}?documentId={doc_id}")
    response = requests.post(url, json={"fields": {"note": {"stringValue": text}}}, timeout=T,
                             headers={"Authorization": "Bearer owner"})
    response.raise_for_status()


def test_a_secret_in_any_stack_fails_its_stop_and_a_frozen_database_is_skipped(tmp_path) -> None:
    """Not the live stack: one of its own, as test_outage or the browser tests start them."""
    assert os.environ["DEVSTACK_STOP_CHECK"] == "tests.emulator.evidence:check_stack_before_stop"
    stack = LocalStack.on_free_ports(log_dir=tmp_path / "logs", base_env={**os.environ, "DASHBOARD_PASSWORD": ""})
    stack.start()
    try:
        clean = scan_stack(stack)
        assert clean["hits"] == [] and clean["documents_skipped"] is None and clean["log_lines"] > 0
        assert set(clean["secrets"]) == {"TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET",
                                         "TASKS_LOCAL_TOKEN"}  # an open stack: no dashboard password
        _plant_document(stack, "planted/doc", f"x{stack.secrets['TV_WEBHOOK_SECRET']}x")
        (stack.logs / "planted.log").write_text(f"one\nGET /?secret={stack.secrets['BRIDGE_HEARTBEAT_SECRET']}\n")

        firestore = next(p for p in stack.processes if p.name == "firestore")
        os.kill(firestore.proc.pid, signal.SIGSTOP)
        try:
            until(lambda: database_gone(stack) is not None, timeout=5)
            started = time.monotonic()
            frozen = scan_stack(stack)
            elapsed = time.monotonic() - started
        finally:
            os.kill(firestore.proc.pid, signal.SIGCONT)
        # bounded: the frozen database is skipped with its reason, not waited for; the logs are still read
        assert elapsed < 2.0, elapsed
        assert frozen["documents_skipped"] == "the Firestore process is stopped (SIGSTOP)"
        assert frozen["documents"] is None
        assert frozen["hits"] == ["BRIDGE_HEARTBEAT_SECRET in planted.log:2"]

        thawed = scan_stack(stack)
        assert "TV_WEBHOOK_SECRET in " in " ".join(thawed["hits"]) and "planted/doc" in " ".join(thawed["hits"])
        (in_document,) = document_hits(stack)  # what the browser tests check before each wipe
        assert in_document.startswith("TV_WEBHOOK_SECRET in ") and in_document.endswith("/planted/doc")
    finally:
        with pytest.raises(StopCheckFailed) as failed:
            stack.stop()
    # the stop failed with both places named, and the stack stopped all the same
    message = str(failed.value)
    assert "configured secrets found in the stack at " + stack.url in message
    assert "BRIDGE_HEARTBEAT_SECRET in planted.log:2" in message and "planted/doc" in message
    assert not stack.processes
    stack.stop()  # nothing running: no check, no error


def test_every_secret_a_stack_runs_with_is_scanned_for() -> None:
    """The Firebase-mode stack's local operator password, a rotation's previous values and the dashboard
    password count as secrets too; values too short to mean anything (or empty) do not."""
    env = {"TV_WEBHOOK_SECRET": "tv-value-1", "PREVIOUS_TV_WEBHOOK_SECRET": "tv-value-0",
           "BRIDGE_HEARTBEAT_SECRET": "bridge-value", "SESSION_SECRET": "session-value", "TASKS_LOCAL_TOKEN": "",
           "DASHBOARD_PASSWORD": "abc", "FIREBASE_API_KEY": "public-configuration"}
    stack = SimpleNamespace(env=env, operator={"email": "operator@operatorlock.test", "password": "op-pass-123"})
    assert configured_secrets(stack) == {
        "TV_WEBHOOK_SECRET": "tv-value-1", "PREVIOUS_TV_WEBHOOK_SECRET": "tv-value-0",
        "BRIDGE_HEARTBEAT_SECRET": "bridge-value", "SESSION_SECRET": "session-value",
        "local operator password": "op-pass-123"}
    assert configured_secrets(SimpleNamespace(env={}, operator={})) == {}
