"""The time every function sees: the real clock, or on the local stack (LOCAL_DEV=1) a dev clock.

The dev clock lives in a small file (DEV_CLOCK_FILE) so every process and thread of the local stack sees the same
time. It has two modes:
- frozen (`{"frozen": t}`): time stands at `t` until the next change — what replays and tests want, since every
  function then decides at exactly the market time the caller set;
- ticking (`{"offset": s}`): the real clock shifted by `s` seconds.
Outside LOCAL_DEV=1 it is never consulted.

Timers under a dev clock: a timer due at clock time `at` is enqueued for real time `at - offset()` (the service
layer shifts it). Under a frozen clock `offset()` is `frozen - real now` at the moment of the enqueue, so a timer
fires after the same number of *real* seconds it was meant to wait, whatever the frozen clock says by then. That is
harmless because every lock and expiry is derived from stored times: a timer only tidies up and logs. The one
timer whose punctuality is itself judged, the watchdog's canary (TIMERS_FAILING), is judged in real seconds: the
timers function hands the domain this offset with each timer (`TimerFired.offset`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

# The dev clock refuses dates a trading day cannot have: before 2000 or after 2100 (epoch seconds).
EARLIEST = 946_684_800.0
LATEST = 4_102_444_800.0


def local_dev() -> bool:
    return os.environ.get("LOCAL_DEV") == "1"


def _clock_file() -> Path:
    configured = os.environ.get("DEV_CLOCK_FILE")
    if configured:
        return Path(configured)
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "local")
    return Path(tempfile.gettempdir()) / f"operatorlock-dev-clock-{project}.json"


def _read() -> dict[str, Any]:
    if not local_dev():
        return {}
    try:
        data = json.loads(_clock_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def frozen() -> float | None:
    """The frozen time, or None while the clock ticks."""
    return _number(_read(), "frozen")


def offset() -> float:
    """Seconds between the dev clock and the real clock right now (0 outside the local stack)."""
    data = _read()
    stopped = _number(data, "frozen")
    if stopped is not None:
        return stopped - time.time()
    return _number(data, "offset") or 0.0


def now() -> float:
    stopped = frozen()
    return stopped if stopped is not None else time.time() + offset()


def state() -> dict[str, Any]:
    """What `GET /_dev/clock` answers: the time and whether it stands still."""
    stopped = frozen()
    return {"now": stopped if stopped is not None else now(), "frozen": stopped is not None}


def check_date(epoch: float) -> float:
    """A dev clock date must be a sane one (the domain's calendar breaks far outside it)."""
    if not (math.isfinite(epoch) and EARLIEST <= epoch <= LATEST):
        raise ValueError(f"expected epoch seconds between {EARLIEST:.0f} (2000) and {LATEST:.0f} (2100)")
    return epoch


def _write(data: dict[str, float]) -> None:
    path = _clock_file()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def set_now(epoch: float, *, tick: bool = False) -> float:
    """Freeze the clock at `epoch` (or let it tick from there with `tick=True`)."""
    check_date(epoch)
    _write({"offset": epoch - time.time()} if tick else {"frozen": epoch})
    return now()


def advance(seconds: float) -> float:
    """Move the clock by `seconds`, keeping its mode (a frozen clock stays frozen at the new time)."""
    target = check_date(now() + seconds)
    stopped = frozen()
    _write({"frozen": target} if stopped is not None else {"offset": offset() + seconds})
    return now()


def reset() -> float:
    with contextlib.suppress(FileNotFoundError):
        _clock_file().unlink()
    return now()
