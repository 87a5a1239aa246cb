"""The webhook function warms its imports and its Firestore connection when a cloud instance starts (issue 10),
while `import main` stays cheap everywhere else (tests, the local stack). The served-by-functions-framework case
(gunicorn forks the worker after importing main) is in tests/deploy/test_bundle_serves.py."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import main
import pytest

from shared.domain import default_config
from shared.service import Services
from shared.service.wiring import install
from shared.store.fake import FakeStore

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
REPO = FUNCTIONS.parent


def _logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The at-fork hooks _warm_at_start registers (recorded, not installed in the test process)."""
    registered: list[Any] = []
    monkeypatch.setattr(main.os, "register_at_fork", lambda **kw: registered.append(kw["after_in_child"]))
    return registered


@pytest.mark.parametrize("environ", [
    {},                                                      # tests, the local stack
    {"FUNCTION_TARGET": "webhooks"},                         # not on Cloud Run
    {"K_SERVICE": "orders", "FUNCTION_TARGET": "orders"},    # the other functions start cold on their first request
    {"K_SERVICE": "bridge"},
])
def test_no_warm_up_outside_the_cloud_webhook_function(monkeypatch: pytest.MonkeyPatch, hooks: list[Any],
                                                       environ: dict[str, str]) -> None:
    calls: list[str] = []
    monkeypatch.setattr(main, "warm_imports", calls.append)
    assert main._warm_at_start(environ) is None
    assert calls == [] and hooks == []


@pytest.mark.parametrize("environ", [{"K_SERVICE": "webhooks", "FUNCTION_TARGET": "webhooks"},
                                     {"K_SERVICE": "webhooks"}])
def test_the_cloud_webhook_instance_imports_now_and_connects_after_the_fork(
        monkeypatch: pytest.MonkeyPatch, hooks: list[Any], environ: dict[str, str]) -> None:
    imported: list[str] = []
    connected: list[str] = []
    monkeypatch.setattr(main, "warm_imports", imported.append)
    monkeypatch.setattr(main, "connect", connected.append)
    assert main._warm_at_start(environ) == "webhooks"
    assert imported == ["webhooks"] and connected == [] and len(hooks) == 1
    thread = hooks[0]()  # what the forked worker runs: the connection opens in the background, in the worker
    assert isinstance(thread, threading.Thread) and thread.daemon and thread.name == "warm-webhooks"
    thread.join(5)
    assert connected == ["webhooks"]


def test_failed_warm_imports_are_logged_and_register_nothing(monkeypatch: pytest.MonkeyPatch, hooks: list[Any],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    def broken(group: str) -> None:
        raise ImportError("no module named google")

    monkeypatch.setattr(main, "warm_imports", broken)
    assert main._warm_at_start({"K_SERVICE": "webhooks"}) is None
    assert hooks == []
    assert [(line["severity"], line["warm_up"]) for line in _logs(capsys)] == [("WARNING", "webhooks")]


def test_connect_builds_the_wiring_and_reads_once(capsys: pytest.CaptureFixture[str]) -> None:
    store = FakeStore()
    install(Services(store=store, config=default_config(), clock=lambda: 1_764_000_000.0))
    try:
        with store.counting() as stats:
            main.connect("webhooks")
    finally:
        install(None)
    assert stats.reads == 1 and stats.writes == 0
    logs = _logs(capsys)
    assert [(line["severity"], line["warm_up"]) for line in logs] == [("INFO", "webhooks")]
    assert logs[0]["warm_up_ms"] >= 0


def test_a_failed_connect_is_logged_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken(FakeStore):
        def get(self, paths: Any) -> Any:
            raise ConnectionError("no route to Firestore")

    install(Services(store=Broken(), config=default_config(), clock=lambda: 1_764_000_000.0))
    try:
        main.connect("webhooks")
    finally:
        install(None)
    assert [(line["severity"], line["warm_up"]) for line in _logs(capsys)] == [("WARNING", "webhooks")]


def _fresh_import(environ: dict[str, str], home: Path) -> dict[str, bool]:
    """What a fresh `import main` has loaded once it returns (the imports are synchronous; the connection waits
    for a fork, which a plain import never does)."""
    script = textwrap.dedent("""
        import json, sys
        import main
        print(json.dumps({"webhooks": "webhooks" in sys.modules,
                          "firestore": "google.cloud.firestore" in sys.modules}))
    """)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{FUNCTIONS}:{REPO}", "HOME": str(home), "NO_GCE_CHECK": "True",
           "GOOGLE_CLOUD_PROJECT": "demo-warm", **environ}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            check=False, env=env, cwd=FUNCTIONS)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_import_main_stays_cheap_off_the_cloud_and_warms_in_it(tmp_path: Path) -> None:
    assert _fresh_import({}, tmp_path) == {"webhooks": False, "firestore": False}
    warmed = _fresh_import({"K_SERVICE": "webhooks", "FUNCTION_TARGET": "webhooks"}, tmp_path)
    assert warmed == {"webhooks": True, "firestore": True}
