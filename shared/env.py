"""Tunable numbers from the environment, with their bounds."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

log = logging.getLogger(__name__)
_reported: set[tuple[str, str]] = set()


def env_number(name: str, default: float, valid: Callable[[float], bool]) -> float:
    """The number in `name` when it is one and `valid(value)` holds, else `default`: a typo or an absurd value
    must not lift the bound the setting exists for. An ignored setting is logged (once per value), never silent."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if valid(value):
        return value
    if (name, raw) not in _reported:
        _reported.add((name, raw))
        log.warning("setting %s=%.40r is not a valid value: using its default %g", name, raw, default)
    return default


def env_count(name: str, default: int) -> int:
    """A positive whole number from `name` (limits and counts), else `default`, as `env_number`."""
    return int(env_number(name, default, lambda value: value >= 1 and value.is_integer()))
