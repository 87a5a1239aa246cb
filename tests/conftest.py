"""Fixtures shared by every tier."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """Every test gets back the environment it started with (secrets, flags, emulator hosts)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


# ---- the secret scan of every local stack (issue 7, item 8) ---------------------------------------------------
# Every devstack.run.LocalStack a test starts, in this process or in a child (`python -m sim.demo`), is scanned just
# before it stops: every stored document of its project and every line of its logs, for each secret it runs with.
# A hit fails the stop (the stack still stops first); each scan is recorded and the run's summary says what was
# scanned, what it cost and which databases could not be read (a frozen or stopped Firestore: logs only).
STOP_CHECK = "tests.emulator.evidence:check_stack_before_stop"


def pytest_configure(config: pytest.Config) -> None:
    from tests.emulator.evidence import SCAN_RECORD_ENV

    os.environ["DEVSTACK_STOP_CHECK"] = STOP_CHECK  # devstack.run.STOP_CHECK_ENV (not imported: unit tiers stay light)
    if not hasattr(config, "workerinput"):  # the controller names the record; xdist workers inherit it
        records = Path(config.rootpath) / ".local" / "secret-scan" / f"run-{os.getpid()}.jsonl"
        records.parent.mkdir(parents=True, exist_ok=True)
        records.unlink(missing_ok=True)
        os.environ[SCAN_RECORD_ENV] = str(records)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    from tests.emulator.evidence import SCAN_RECORD_ENV

    path = Path(os.environ.get(SCAN_RECORD_ENV, "")) if not hasattr(config, "workerinput") else None
    if path is None or not path.is_file():
        return
    scans = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    path.unlink(missing_ok=True)
    if not scans:
        return
    costs = sorted(scan["seconds"] for scan in scans)
    write = terminalreporter.write_line
    write(f"secret scan: {len(scans)} local stack(s), {sum(scan['documents'] or 0 for scan in scans)} documents, "
          f"{sum(scan['log_lines'] for scan in scans)} log lines, {sum(len(scan['hits']) for scan in scans)} "
          f"secret(s) found; per stack {costs[len(costs) // 2] * 1000:.0f} ms median, {costs[-1] * 1000:.0f} ms max")
    for scan in scans:
        if config.option.verbose > 0:
            write(f"  {scan['seconds'] * 1000:.0f} ms: {scan['documents']} documents, {scan['log_lines']} log lines "
                  f"in {scan['log_files']} files, {len(scan['secrets'])} secrets: {scan['test']}")
        if scan["documents_skipped"]:
            write(f"  documents not scanned ({scan['documents_skipped']}), logs only: {scan['test']}")
        if scan["hits"]:
            write(f"  {len(scan['hits'])} found, so that stack's stop failed: {scan['test']}")
