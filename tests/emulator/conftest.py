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
