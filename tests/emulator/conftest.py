"""The real Firestore emulator, one per test session (per xdist worker); a fresh project per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.emulators import Managed, free_port, start_firestore

ROOT = Path(__file__).resolve().parents[2]
_counter = itertools.count()


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Managed]:
    emulator = start_firestore(free_port(), tmp_path_factory.mktemp("firestore"), rules=ROOT / "firestore.rules")
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def fs_project(firestore_emulator: Managed, worker_id: str) -> str:
    """A project id of its own for this test: isolation without wipes. Sets the emulator variables."""
    project = f"demo-t{worker_id}-{next(_counter)}"
    os.environ["FIRESTORE_EMULATOR_HOST"] = firestore_emulator.address
    os.environ["GOOGLE_CLOUD_PROJECT"] = project
    return project


# ---- the whole local stack, as `make run` starts it, on free ports -------------------------------------------

STACK_PASSWORD = "live-test-password"


class Live:
    """A running LocalStack plus the helpers the live tests share."""

    def __init__(self, stack) -> None:
        import requests

        self.stack = stack
        self.url = stack.url
        self.secrets = stack.secrets
        self.http = requests.Session()
        self.project = stack.project
        self.firestore_address = f"127.0.0.1:{stack.firestore_port}"
        self.secret_hits: list[str] = []

    def reset(self) -> None:
        self.scan_secrets(logs=False)  # what the previous test stored, before it is wiped
        answer = self.http.post(f"{self.url}/_dev/reset", timeout=30)
        if answer.status_code == 401:  # a test signed out, which ends every session (issue 15): this one's too
            self.http.post(f"{self.url}/api/login", json={"password": STACK_PASSWORD}, timeout=30).raise_for_status()
            answer = self.http.post(f"{self.url}/_dev/reset", timeout=30)
        assert answer.status_code == 200, answer.text

    def scan_secrets(self, *, logs: bool) -> None:
        """Record where a configured secret appears in a stored document (and, with `logs`, in a log line)."""
        from tests.emulator.evidence import configured_secrets, secret_hits

        found = secret_hits(configured_secrets(self.stack), self.firestore_address, self.project,
                            self.stack.logs if logs else Path("/nonexistent"))
        self.secret_hits.extend(hit for hit in found if hit not in self.secret_hits)

    def tv(self, path: str, session=None, **body):
        return (session or self.http).post(f"{self.url}{path}",
                                           json={"secret": self.secrets["TV_WEBHOOK_SECRET"], **body}, timeout=30)

    def operator(self):
        import requests

        session = requests.Session()
        response = session.post(f"{self.url}/api/login", json={"password": STACK_PASSWORD}, timeout=30)
        assert response.status_code == 200, response.text
        return session

    def store(self):
        from shared.store.firestore import FirestoreStore

        os.environ["FIRESTORE_EMULATOR_HOST"] = self.firestore_address
        os.environ["GOOGLE_CLOUD_PROJECT"] = self.project
        return FirestoreStore(self.project)

    def docs(self, collection: str) -> dict[str, dict]:
        from shared.store.api import Query

        return {path: dict(data) for path, data in self.store().query(Query(collection))}

    def set_clock(self, now: float, *, tick: bool = False) -> None:
        """Freeze the stack's clock at `now` (or let it tick from there)."""
        body = {"now": now, "tick": tick}
        assert self.http.post(f"{self.url}/_dev/clock", json=body, timeout=30).status_code == 200


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from devstack.run import LocalStack

    base = {**os.environ, "DASHBOARD_PASSWORD": STACK_PASSWORD}
    for name in ("TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET", "TASKS_LOCAL_TOKEN"):
        base.pop(name, None)
    stack = LocalStack.on_free_ports(log_dir=tmp_path_factory.mktemp("stack"), base_env=base)
    stack.start()
    try:
        live = Live(stack)
        # the dev routes (reset, clock) need the operator session when a password is set
        live.http.post(f"{live.url}/api/login", json={"password": STACK_PASSWORD}, timeout=30).raise_for_status()
        yield live
        # what each test stored, scanned before the next one wiped it; the last test's documents and every log
        # line are scanned when the stack stops (tests/conftest.py), as for every other stack
        assert not live.secret_hits, live.secret_hits[:20]
    finally:
        stack.stop()


@pytest.fixture
def fresh(live: Live) -> Live:
    """The live stack with every document wiped and the real clock back."""
    live.reset()
    live.http.delete(f"{live.url}/_dev/clock", timeout=30)
    return live
