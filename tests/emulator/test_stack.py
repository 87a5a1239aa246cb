"""The whole local stack (devstack.run.LocalStack) as `make run` starts it, on free ports: it serves, wires
the functions to both emulators, and stops without leaving a process or a port behind."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import requests

from devstack.emulators import port_open
from devstack.run import ROOT, LocalStack

pytestmark = pytest.mark.emulator

# A stand-in for functions/main.py: `orders` writes to Firestore and enqueues a Cloud Task to the timers
# function through the emulator, `timers` records that the callback arrived.
FUNCTIONS = '''
import os

import flask


def _db():
    from google.cloud import firestore
    return firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])


def orders(request):
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    _db().collection("stack").document("ping").set({"path": request.path})
    channel = grpc.insecure_channel(os.environ["CLOUD_TASKS_EMULATOR_HOST"])
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    env = os.environ
    parent = client.queue_path(env["GOOGLE_CLOUD_PROJECT"], env["CLOUD_TASKS_LOCATION"], env["CLOUD_TASKS_QUEUE"])
    client.create_task(parent=parent, task={"http_request": {
        "http_method": tasks_v2.HttpMethod.POST,
        "url": os.environ["TIMERS_URL"] + "/ping-expired",
        "headers": {"X-Local-Token": os.environ["TASKS_LOCAL_TOKEN"]},
    }})
    channel.close()
    return flask.jsonify(ok=True, path=request.path, local=os.environ.get("LOCAL_DEV"))


def timers(request):
    _db().collection("stack").document("timer").set({
        "path": request.path,
        "token_ok": request.headers.get("X-Local-Token") == os.environ["TASKS_LOCAL_TOKEN"],
    })
    return "", 204


def webhooks(request):
    return "webhooks"


def bridge(request):
    return "bridge"
'''


def make_repo(root: Path) -> Path:
    (root / "hosting" / "public").mkdir(parents=True)
    (root / "hosting" / "public" / "index.html").write_text("<title>OperatorLock</title>")
    (root / "functions").mkdir()
    (root / "functions" / "main.py").write_text(FUNCTIONS)
    (root / "firestore.rules").write_text((ROOT / "firestore.rules").read_text())
    config = json.loads((ROOT / "firebase.json").read_text())
    config["hosting"]["public"] = "hosting/public"
    (root / "firebase.json").write_text(json.dumps(config))
    return root


def process_groups_alive(pgids: set[int]) -> list[str]:
    """Every live process whose process group is one the stack created (the gunicorn worker included)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp in pgids and state != "Z":
            alive.append(stat.parent.name)
    return alive


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_doc(stack: LocalStack, doc: str, timeout: float = 10.0) -> dict:
    from google.cloud import firestore

    os.environ["FIRESTORE_EMULATOR_HOST"] = stack.env["FIRESTORE_EMULATOR_HOST"]
    client = firestore.Client(project=stack.project)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = client.collection("stack").document(doc).get()
        if snapshot.exists:
            return snapshot.to_dict() or {}
        time.sleep(0.1)
    raise AssertionError(f"stack/{doc} never appeared in Firestore")


def stop_and_check(stack: LocalStack) -> None:
    pgids = {managed.proc.pid for managed in stack.processes}
    assert len(pgids) == 3
    began = time.monotonic()
    stack.stop()
    assert time.monotonic() - began < 10
    assert process_groups_alive(pgids) == []
    for port in stack.ports:
        assert not port_open("127.0.0.1", port)
        assert bindable(port)


def test_stack_serves_routes_and_wires_the_emulators(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    stack = LocalStack.on_free_ports(root=root, log_dir=tmp_path / "logs", base_env={**os.environ})
    with stack:
        assert stack.url == f"http://127.0.0.1:{stack.port}"
        assert set(stack.secrets) == {"TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET",
                                      "TASKS_LOCAL_TOKEN"}
        assert all(len(value) >= 24 for value in stack.secrets.values())

        page = requests.get(stack.url + "/", timeout=10)
        assert page.status_code == 200
        assert "OperatorLock" in page.text
        assert page.headers["X-Frame-Options"] == "DENY"  # firebase.json headers

        answer = requests.post(stack.url + "/api/ping", timeout=30)  # /api/** -> orders
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"ok": True, "path": "/api/ping", "local": "1"}
        assert wait_for_doc(stack, "ping") == {"path": "/api/ping"}
        # the Cloud Tasks emulator called the timers function back through /__fn/timers/
        assert wait_for_doc(stack, "timer") == {"path": "/ping-expired", "token_ok": True}

        assert requests.get(stack.url + "/no/such/page", timeout=10).status_code == 404
        stop_and_check(stack)


def test_stack_restarts_on_the_same_ports(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    first = LocalStack.on_free_ports(root=root, log_dir=tmp_path / "logs1")
    first.start()
    try:
        assert requests.get(first.url + "/", timeout=10).status_code == 200
        assert first.started_in < 30
    finally:
        stop_and_check(first)
    again = LocalStack(root, first.port, first.firestore_port, first.tasks_port, log_dir=tmp_path / "logs2")
    with again:
        assert requests.get(again.url + "/index.html", timeout=10).status_code == 200
        stop_and_check(again)


def test_environment_honours_given_secrets(tmp_path: Path) -> None:
    base = {"PATH": os.environ["PATH"], "TV_WEBHOOK_SECRET": "mine", "DASHBOARD_PASSWORD": "pw"}
    stack = LocalStack.on_free_ports(root=make_repo(tmp_path / "repo"), log_dir=tmp_path, base_env=base)
    env = stack._environment()
    assert env["TV_WEBHOOK_SECRET"] == stack.secrets["TV_WEBHOOK_SECRET"] == "mine"
    assert env["DASHBOARD_PASSWORD"] == "pw"
    assert env["BRIDGE_HEARTBEAT_SECRET"] != env["SESSION_SECRET"]
    assert env["LOCAL_DEV"] == env["ALLOW_OPEN_DASHBOARD"] == "1"
    assert env["GOOGLE_CLOUD_PROJECT"] == "demo-operatorlock"
    assert env["TIMERS_URL"] == f"http://127.0.0.1:{stack.port}/__fn/timers"
    assert env["CLOUD_TASKS_EMULATOR_HOST"] == f"127.0.0.1:{stack.tasks_port}"


def test_real_repository_stack_starts_and_stops(tmp_path: Path) -> None:
    with LocalStack.on_free_ports(log_dir=tmp_path) as stack:
        response = requests.get(stack.url + "/", timeout=10)
        assert response.status_code in (200, 404)  # 404 until hosting/public/index.html exists
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        stop_and_check(stack)
