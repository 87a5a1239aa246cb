"""Fixtures shared by every tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """Every test gets back the environment it started with (secrets, flags, emulator hosts)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
