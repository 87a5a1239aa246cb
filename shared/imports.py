"""One first import of a function's route group at a time, in the whole process.

functions-framework loads `functions/main.py` afresh for every target it serves (a module object of its own per
`create_app`), and the local stack serves all four targets from one process: a lock defined in main.py would be
one lock per target. Two threads importing two groups that share modules (`shared.domain`) can meet a
partially initialised module, Python breaks that import-lock cycle with an ImportError, and the request answers
500. The lock lives here, in a module imported once per process.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

_lock = threading.Lock()


def import_group(name: str) -> ModuleType:
    """`importlib.import_module(name)`, one caller at a time across every copy of main.py."""
    with _lock:
        return importlib.import_module(name)
