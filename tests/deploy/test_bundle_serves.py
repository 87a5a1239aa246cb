"""The deploy bundle works on its own (issue 10): built by scripts/build_bundle.py, installed in a clean virtualenv
from its requirements.txt alone (pip, from the package registry, as the Python buildpack does), and each of the four
targets served by the `functions-framework` command answers a request.

The requests are ones that need no Firestore (authentication refusals, the session status), so what is checked is
that the bundle imports, routes and authenticates with only what it ships. Slow (a fresh virtualenv): ~1 min.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.waiting import until

REPO = Path(__file__).resolve().parents[2]
SECRETS = {
    "TV_WEBHOOK_SECRET": "bundle-tv-secret",
    "BRIDGE_HEARTBEAT_SECRET": "bundle-bridge-secret",
    "DASHBOARD_PASSWORD": "bundle-password",
    "SESSION_SECRET": "bundle-session-key",
}


@dataclass(frozen=True)
class Installed:
    bundle: Path
    venv: Path

    @property
    def functions_framework(self) -> Path:
        return self.venv / "bin" / "functions-framework"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("bundle")
    bundle = root / "bundle"
    built = subprocess.run([sys.executable, str(REPO / "scripts" / "build_bundle.py"), str(bundle)],
                           capture_output=True, text=True, timeout=120, check=False)
    assert built.returncode == 0, built.stderr
    venv = root / "venv"
    # The base interpreter, not this test's virtualenv: nothing of the project's .venv leaks into the bundle's.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q",
         "-r", str(bundle / "requirements.txt")],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return Installed(bundle, venv)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    port: int
    process: subprocess.Popen[str]
    log: Path

    def logs(self) -> list[dict[str, object]]:
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def request(self, method: str, path: str, body: dict[str, object] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - a local http URL
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


@contextmanager
def _serve(installed: Installed, target: str, home: Path, extra: dict[str, str] | None = None) -> Iterator[Served]:
    port = _free_port()
    env = {
        "PATH": f"{installed.venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "NO_GCE_CHECK": "True",  # no metadata server here: credentials lookups fail at once instead of waiting
        "GOOGLE_CLOUD_PROJECT": "demo-bundle",
        **SECRETS,
        **(extra or {}),
    }
    log = home / f"{target}.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [str(installed.functions_framework), "--target", target, "--source", "main.py",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=installed.bundle, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"functions-framework --target {target} exited:\n{log.read_text(encoding='utf-8')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{target} never listened on {port}"
                time.sleep(0.2)
        yield Served(port, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_bundle_ships_no_test_or_dev_only_code(installed: Installed) -> None:
    shipped = {p.relative_to(installed.bundle).as_posix() for p in installed.bundle.rglob("*") if p.is_file()}
    assert {"main.py", "requirements.txt", "webhooks/__init__.py", "orders/__init__.py", "bridge/__init__.py",
            "timers/__init__.py", "shared/__init__.py"} <= shipped
    assert not [f for f in shipped if "/tests/" in f or f.rsplit("/", 1)[-1].startswith("test_")]
    # The clean venv holds what requirements.txt names and their dependencies, none of the dev tools.
    listed = subprocess.run([str(installed.venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, timeout=60, check=True)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "functions-framework" in names and "google-cloud-firestore" in names
    assert not names & {"pytest", "ruff", "mypy", "hypothesis", "python-hcl2"}, names


def test_webhooks_target_answers_and_refuses_a_wrong_secret(installed: Installed, tmp_path: Path) -> None:
    # K_SERVICE as on Cloud Run: the instance also warms itself at start (functions/main.py).
    with _serve(installed, "webhooks", tmp_path, {"K_SERVICE": "webhooks", "FUNCTION_TARGET": "webhooks"}) as served:
        status, body = served.request("POST", "/tv_heartbeat", {"secret": "wrong", "symbol": "ES1!", "price": 1})
        assert (status, body) == (401, {"ok": False, "error": "unauthorized"})
        status, body = served.request("POST", "/tv_renko_main", {"secret": SECRETS["TV_WEBHOOK_SECRET"], "asset": "XX"})
        assert status == 400 and "Unknown asset" in str(body.get("error")), body
        status, _ = served.request("GET", "/nowhere")
        assert status == 404
        # The warm-up ran as the instance started (here it cannot reach Firestore, so it says so, once).
        warmed = until(lambda: any(line.get("warm_up") == "webhooks" for line in served.logs()), timeout=30,
                       every=0.2)
        assert warmed, served.log.read_text(encoding="utf-8")


def test_orders_target_answers_the_session_status(installed: Installed, tmp_path: Path) -> None:
    with _serve(installed, "orders", tmp_path) as served:
        assert served.request("GET", "/api/auth/status") == (200, {"authenticated": False, "password_required": True})
        status, body = served.request("POST", "/api/login", {"password": "wrong"})
        assert status == 401, body
        status, _ = served.request("GET", "/_dev/clock")
        assert status == 404, "no dev route off the local stack"


def test_the_bundle_has_no_dev_route_even_where_the_local_stack_would_enable_it(installed: Installed,
                                                                                tmp_path: Path) -> None:
    """The dev routes are devstack's (devstack/dev_routes.py), never shipped: LOCAL_DEV=1 does not bring them."""
    with _serve(installed, "orders", tmp_path, {"LOCAL_DEV": "1"}) as served:
        for method, path in (("GET", "/_dev/clock"), ("POST", "/_dev/clock"), ("DELETE", "/_dev/clock"),
                             ("POST", "/_dev/reset")):
            assert served.request(method, path, {"now": 1}) == (404, {"ok": False, "error": "not found"}), path
        assert served.request("GET", "/api/auth/status")[0] == 200  # and the function itself answers


def test_bridge_target_refuses_a_poll_without_its_secret(installed: Installed, tmp_path: Path) -> None:
    with _serve(installed, "bridge", tmp_path) as served:
        status, body = served.request("GET", "/api/orders/pending?owner=bridge-1")
        assert (status, body) == (401, {"ok": False, "error": "unauthorized"})
        status, body = served.request("POST", "/api/bridge/heartbeat", {"secret": "wrong"})
        assert status == 401, body


def test_timers_target_refuses_a_call_without_a_task_token(installed: Installed, tmp_path: Path) -> None:
    env = {"TIMERS_URL": "https://us-central1-demo-bundle.cloudfunctions.net/timers",
           "TASKS_SERVICE_ACCOUNT": "operatorlock-tasks@demo-bundle.iam.gserviceaccount.com",
           "CLOUD_TASKS_LOCATION": "us-central1", "CLOUD_TASKS_QUEUE": "timers"}
    with _serve(installed, "timers", tmp_path, env) as served:
        status, body = served.request("POST", "/", {"kind": "cooldown_end", "key": "ES", "at": 1})
        assert status == 401, body
