"""The service tier's default wiring: a FakeStore, so what reads the store without a test installing its own
(the password session's generation, shared.service.security.SessionGenerations) never reaches for a real Firestore."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.domain import default_config
from shared.scheduler import FakeScheduler
from shared.service import Services
from shared.service.wiring import install
from shared.store.fake import FakeStore


@pytest.fixture(autouse=True)
def fake_wiring() -> Iterator[FakeStore]:
    store = FakeStore()
    install(Services(store=store, config=default_config(), clock=lambda: 1_764_000_000.0,
                     scheduler=FakeScheduler()))
    yield store
    install(None)
