"""HTTP through the real Cloud Function entry points (functions-framework test clients) over fake adapters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import functions_framework
import pytest

from shared.scheduler import FakeScheduler
from shared.service import Services
from shared.service.wiring import config_from_env, install
from shared.store.fake import FakeStore

SOURCE = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
SECRETS = {
    "TV_WEBHOOK_SECRET": "tv-test-secret",
    "BRIDGE_HEARTBEAT_SECRET": "bridge-test-secret",
    "SESSION_SECRET": "session-test-key",
    "DASHBOARD_PASSWORD": "operator-passphrase",  # 12+ characters: shorter ones are refused in the cloud
}


@dataclass
class Clock:
    now: float = 1_764_000_000.0  # 2025-11-24 16:00 UTC, a Monday

    def __call__(self) -> float:
        return self.now


@dataclass
class App:
    store: FakeStore
    scheduler: FakeScheduler
    clock: Clock
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, target: str) -> Any:
        if target not in self.clients:
            self.clients[target] = functions_framework.create_app(target=target, source=SOURCE).test_client()
        return self.clients[target]

    def tv(self, path: str, **body: Any) -> Any:
        return self.client("webhooks").post(path, json={"secret": SECRETS["TV_WEBHOOK_SECRET"], **body})

    def login(self) -> Any:
        return self.client("orders").post("/api/login", json={"password": SECRETS["DASHBOARD_PASSWORD"]})


@pytest.fixture
def app() -> Iterator[App]:
    os.environ.update(SECRETS)
    os.environ.pop("ALLOW_OPEN_DASHBOARD", None)
    os.environ.pop("LOCAL_DEV", None)
    os.environ.pop("ALLOW_SECRET_IN_QUERY", None)  # production's default: no secret in a URL (issue 22)
    store, scheduler, clock = FakeStore(), FakeScheduler(), Clock()
    install(Services(store=store, config=config_from_env(), clock=clock, scheduler=scheduler))
    try:
        yield App(store, scheduler, clock)
    finally:
        install(None)
