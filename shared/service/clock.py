"""The time every function sees: the real clock, or on the local stack (LOCAL_DEV=1) a movable one.

The dev clock is an offset from the real clock kept in a small file (DEV_CLOCK_FILE) so every process and thread of
the local stack sees the same time; it keeps ticking. Outside LOCAL_DEV=1 it is never consulted.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path


def local_dev() -> bool:
    return os.environ.get("LOCAL_DEV") == "1"


def _clock_file() -> Path:
    configured = os.environ.get("DEV_CLOCK_FILE")
    if configured:
        return Path(configured)
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "local")
    return Path(tempfile.gettempdir()) / f"operatorlock-dev-clock-{project}.json"


def offset() -> float:
    if not local_dev():
        return 0.0
    try:
        return float(json.loads(_clock_file().read_text())["offset"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def now() -> float:
    return time.time() + offset()


def _write_offset(value: float) -> None:
    path = _clock_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"offset": value}))
    tmp.replace(path)


def set_now(epoch: float) -> float:
    _write_offset(epoch - time.time())
    return now()


def advance(seconds: float) -> float:
    _write_offset(offset() + seconds)
    return now()


def reset() -> float:
    with contextlib.suppress(FileNotFoundError):
        _clock_file().unlink()
    return now()
