"""Waiting for a state instead of sleeping a fixed time: a loaded CI machine may take longer to get there."""

from __future__ import annotations

import time
from collections.abc import Callable


def until(condition: Callable[[], bool], timeout: float = 10.0, every: float = 0.01) -> bool:
    """True as soon as `condition()` holds, False if it still does not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True
