"""Concurrent first requests to two functions of one process import their groups one at a time. The local stack
serves every target from one process and functions-framework loads main.py afresh per target, so the lock must
be one per process, not one per copy of main.py (a 500 seen in CI: two groups importing shared.domain at once
met a partially initialised module)."""

from __future__ import annotations

import importlib.util
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

import shared.imports

MAIN = Path(__file__).resolve().parents[2] / "functions" / "main.py"


def _load_main(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """main.py as functions-framework loads it for one target: a module object of its own. Its load registers
    an error handler on the framework's app, which an app of an earlier test in this process no longer takes."""
    import functions_framework

    monkeypatch.setattr(functions_framework, "errorhandler", lambda *_: (lambda handler: handler))
    spec = importlib.util.spec_from_file_location(name, MAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_copies_of_main_import_their_groups_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("K_SERVICE", raising=False)  # no warm-up at load
    orders_copy = _load_main("main_for_orders", monkeypatch)
    bridge_copy = _load_main("main_for_bridge", monkeypatch)
    guard = threading.Lock()
    inside = {"now": 0, "most": 0}
    imported: list[str] = []

    def slow_import(name: str) -> Any:
        with guard:
            imported.append(name)
            inside["now"] += 1
            inside["most"] = max(inside["most"], inside["now"])
        time.sleep(0.2)  # a real first import takes this long: long enough for the other thread to arrive
        with guard:
            inside["now"] -= 1
        return types.SimpleNamespace(router=types.SimpleNamespace(dispatch=lambda request: f"{name} answered"))

    monkeypatch.setattr(shared.imports, "importlib", types.SimpleNamespace(import_module=slow_import))
    answers: dict[str, Any] = {}
    start = threading.Barrier(2)

    def call(key: str, entry: Any) -> None:
        start.wait()
        answers[key] = entry(None)

    threads = [threading.Thread(target=call, args=("orders", orders_copy.orders)),
               threading.Thread(target=call, args=("bridge", bridge_copy.bridge))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == {"orders": "orders answered", "bridge": "bridge answered"}
    assert inside["most"] == 1, "two first imports ran at once"
    # each group with the storage client library, before any request reaches code that imports it lazily
    assert sorted(imported[0::2]) == ["bridge", "orders"] and imported[1::2] == [shared.imports.STORAGE_LIBRARY] * 2
