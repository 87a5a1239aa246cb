"""First imports of a function's code, one at a time in the whole process.

Two threads that import, at the same moment, modules whose imports form a cycle (`shared.domain`'s package and its
submodules, `google.cloud.firestore` and `firestore_v1`) can meet a partially initialised module: Python breaks
the import-lock cycle with an ImportError, and the request answers 500. A function's first concurrent requests
(a cold instance with concurrency above one; the local stack, which serves all four targets from one process)
did exactly that. So the entry points import their group and the storage client library here, under one lock,
before any request reaches code that imports lazily.

The lock lives in this module, imported once per process: functions-framework loads `functions/main.py` afresh
for every target, so a lock defined there would be one per target.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

# imported with every group: the first request of any function needs it, and its lazy import raced the long
# poll's listener thread (ImportError: cannot import name 'firestore_v1' from 'google.cloud')
STORAGE_LIBRARY = "google.cloud.firestore"

_lock = threading.Lock()


def import_group(name: str) -> ModuleType:
    """`importlib.import_module(name)` and the storage client library, one caller at a time in the process."""
    with _lock:
        module = importlib.import_module(name)
        importlib.import_module(STORAGE_LIBRARY)
        return module
