"""Firestore unreachable: every function answers 503 with a clear error, fast, and nothing is half-written."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import requests

from devstack.emulators import start_firestore
from devstack.run import ROOT, LocalStack
from tests.waiting import until

pytestmark = pytest.mark.emulator


def test_outage_answers_503_and_leaves_state_whole(tmp_path):
    base = {**os.environ, "DASHBOARD_PASSWORD": ""}
    with LocalStack.on_free_ports(log_dir=tmp_path / "logs", base_env=base) as stack:
        secret = stack.secrets["TV_WEBHOOK_SECRET"]
        url = stack.url
        first = requests.post(f"{url}/tv_renko_main", json={"secret": secret, "asset": "ES", "color": "green"},
                              timeout=30)
        assert first.status_code == 200
        export = tmp_path / "export"
        export.mkdir()
        address = f"127.0.0.1:{stack.firestore_port}"
        saved = requests.post(f"http://{address}/emulator/v1/projects/{stack.project}:export",
                              json={"database": f"projects/{stack.project}/databases/(default)",
                                    "export_directory": str(export)}, timeout=30)
        assert saved.status_code == 200, saved.text
        firestore = next(p for p in stack.processes if p.name == "firestore")
        firestore.stop()

        started = time.monotonic()
        down = requests.post(f"{url}/tv_renko_main", json={"secret": secret, "asset": "ES", "color": "red"},
                             timeout=30)
        elapsed = time.monotonic() - started
        assert down.status_code == 503 and elapsed < 10.0  # answers, never hangs for minutes
        assert down.json()["ok"] is False and "retry" in down.json()["error"]
        state = requests.get(f"{url}/api/state", timeout=30)
        assert state.status_code == 503

        metadata = next(export.rglob("*.overall_export_metadata"))
        restarted = start_firestore(stack.firestore_port, tmp_path / "logs2", rules=ROOT / "firestore.rules",
                                    import_data=metadata)
        stack.processes[stack.processes.index(firestore)] = restarted
        back = requests.get(f"{url}/api/state", timeout=30)
        assert back.status_code == 200, back.text
        es = back.json()["assets"]["ES"]
        assert es["main_renko_color"] == "green"  # the refused red bar left no trace
        again = requests.post(f"{url}/tv_renko_main", json={"secret": secret, "asset": "ES", "color": "red"},
                              timeout=30)
        assert again.status_code == 200
        assert requests.get(f"{url}/api/state", timeout=30).json()["assets"]["ES"]["main_renko_color"] == "red"


def _frozen(process):
    """SIGSTOP a child (its port keeps accepting connections, nothing answers), SIGCONT on exit."""
    import contextlib
    import signal

    def state() -> str:
        status = Path(f"/proc/{process.proc.pid}/status").read_text()
        return next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("State:"))

    @contextlib.contextmanager
    def frozen():
        os.kill(process.proc.pid, signal.SIGSTOP)
        assert until(lambda: state().startswith("T"), timeout=5), state()
        try:
            yield
        finally:
            os.kill(process.proc.pid, signal.SIGCONT)

    return frozen()


def test_a_frozen_database_answers_503_within_2_s_with_retry_after(tmp_path):
    """A stopped (not dead) Firestore: the old client waited 5 s per RPC, past TradingView's 3 s timeout."""
    base = {**os.environ, "DASHBOARD_PASSWORD": ""}
    with LocalStack.on_free_ports(log_dir=tmp_path / "logs", base_env=base) as stack:
        secret = stack.secrets["TV_WEBHOOK_SECRET"]
        bar = {"secret": secret, "asset": "ES", "color": "green"}
        assert requests.post(f"{stack.url}/tv_renko_main", json=bar, timeout=30).status_code == 200
        firestore = next(p for p in stack.processes if p.name == "firestore")
        timings = {}
        with _frozen(firestore):
            for name, call in (
                ("webhook", lambda: requests.post(f"{stack.url}/tv_renko_main", json={**bar, "color": "red"},
                                                  timeout=30)),
                ("state", lambda: requests.get(f"{stack.url}/api/state?include=history,logs", timeout=30)),
                ("order", lambda: requests.post(f"{stack.url}/api/orders", json={"asset": "ES"}, timeout=30)),
            ):
                started = time.monotonic()
                response = call()
                timings[name] = time.monotonic() - started
                assert response.status_code == 503, (name, response.text)
                assert int(response.headers["Retry-After"]) >= 1
                assert "retry" in response.json()["error"]
        log = (tmp_path / "logs" / "web.log").read_text() if (tmp_path / "logs" / "web.log").exists() else ""
        causes = [line for line in log.splitlines() if '"cause"' in line and "Firestore" in line]
        assert causes, "the 503's log line names the storage failure"
        # within 2 s of the request's arrival (issue 7), as the function measured it; seen from the client, before
        # TradingView's 3 s (the client's side also holds this machine's scheduling delays)
        served = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"latency_ms"' in line]
        refused = [entry["latency_ms"] for entry in served if entry.get("status") == 503]
        assert len(refused) == len(timings) and max(refused) < 2000, refused
        assert max(timings.values()) < 3.0, timings
        # thawed: the refused red bar left no trace and the stack answers again
        es = requests.get(f"{stack.url}/api/state", timeout=30).json()["assets"]["ES"]
        assert es["main_renko_color"] == "green"
        print(f"frozen Firestore: 503 after {timings}")


def test_with_the_tasks_emulator_gone_an_answer_waits_at_most_the_enqueue_bound(tmp_path):
    """Enqueueing used to hold the answer for the client's whole timeout (an entry took 2.4 s)."""
    base = {**os.environ, "DASHBOARD_PASSWORD": ""}
    with LocalStack.on_free_ports(log_dir=tmp_path / "logs", base_env=base) as stack:
        tasks = next(p for p in stack.processes if p.name == "tasks")
        tasks.stop()
        timings = []
        for asset in ("ES", "NQ"):
            beat = {"secret": stack.secrets["TV_WEBHOOK_SECRET"], "symbol": f"{asset}1!", "price": 5250.25}
            assert requests.post(f"{stack.url}/tv_heartbeat", json=beat, timeout=30).status_code == 200
            started = time.monotonic()
            response = requests.post(f"{stack.url}/api/intent", json={"asset": asset, "direction": "BUY"},
                                     timeout=30)
            timings.append(time.monotonic() - started)
            assert response.status_code == 201, response.text  # committed: state never depends on a timer
        assert max(timings) < 0.3 + 0.5, timings
        print(f"Cloud Tasks emulator gone: intents answered in {timings}")
        # the failure off the answer path is logged
        assert until(lambda: "timer enqueue failed" in (tmp_path / "logs" / "web.log").read_text(), every=0.2)
