"""`make demo` (issue 8, item 7): it prints the dashboard URL, replays the session with the sample day's blackout
window on the calendar (issue 19), and one Ctrl-C during the replay stops everything it started (the stack's ports
are free again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devstack.emulators import free_port, port_open
from tests.waiting import until

pytestmark = pytest.mark.emulator
ROOT = Path(__file__).resolve().parents[2]


def _state(port: int) -> dict:
    return requests.get(f"http://127.0.0.1:{port}/api/state", timeout=30).json()


def _has_a_price(port: int) -> bool:
    """The replay is under way once the stack has seen a price."""
    return _state(port)["assets"]["ES"]["last_heartbeat_ts"] is not None


def test_the_demo_serves_the_dashboard_and_one_ctrl_c_stops_it_all():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASHBOARD_PASSWORD": ""}
    with subprocess.Popen([sys.executable, "-m", "sim.demo", "--speed", "max", "--port", str(port)], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as proc:
        try:
            lines = []
            deadline = time.monotonic() + 120
            assert proc.stdout is not None
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                lines.append(line)
                if "Blackout (D22)" in line:   # printed after "Demo: open" (issue 19)
                    break
            assert any(f"http://127.0.0.1:{port}/" in line for line in lines), "".join(lines)
            assert lines[-1].startswith("Blackout (D22): Fed speech 2026-11-17T09:00:00-05:00 to "
                                        "2026-11-17T09:15:00-05:00, open positions flattened 120 s before"), lines[-1]
            assert until(lambda: _has_a_price(port), timeout=60, every=0.5), "no price reached the stack in 60 s"
            # issue 19: the sample day's blackout is on the dashboard's calendar (the header counts down to it)
            calendar = _state(port)["global"]["calendar"]
            assert [(w["label"], w["start"], w["flatten_before_s"]) for w in calendar["windows"]] == [
                ("Fed speech", "2026-11-17T09:00:00-05:00", 120)]
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=60)
            assert proc.returncode == 0, output
            assert "stopped by SIGINT" in output and "demo stopped" in output
            assert not port_open("127.0.0.1", port)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)  # reaped, so no process or pipe outlives the test
