"""Tunable numbers from the environment, with their bounds."""

from __future__ import annotations

import os
from collections.abc import Callable


def env_number(name: str, default: float, valid: Callable[[float], bool]) -> float:
    """The number in `name` when it is one and `valid(value)` holds, else `default`: a typo or an absurd value
    must not lift the bound the setting exists for."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if valid(value) else default
