"""Timers as data: what the pure domain asks to be woken up for, and the deterministic task name of each.

No google import here. The domain defines its own Timer (`shared.domain.decision.Timer`); every function of this
package accepts any object with `kind`, `key`, `at` and `payload` attributes. The kinds are the rules'
(`shared.domain.catalog.TASK_KINDS`): a caller that checks them passes them in (this layer imports no rules).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# Cloud Tasks task ids: letters, digits, hyphens and underscores, at most 500 characters.
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_READABLE_MAX = 120


class TimerLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def at(self) -> float: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Timer:
    """Something ends at `at` (epoch seconds); the callback receives kind, key, at and the JSON `payload`."""

    kind: str
    key: str
    at: float
    payload: Mapping[str, Any] = field(default_factory=dict)
    # the time the task's name is derived from when it differs from `at`: the local stack's dev clock shifts `at`
    # to real time by an offset that changes under a frozen clock, and the name must stay the clock's (one task
    # per timer, however often it is asked for)
    name_at: float | None = None


class Scheduler(Protocol):
    """The port the shell uses after a commit to ask for callbacks at the timers' due times."""

    def schedule(self, timers: Sequence[TimerLike]) -> list[str]:
        """Enqueue each timer once; returns the task names newly enqueued (already queued ones are skipped).

        Raises EnqueueError after trying every timer if any of them could not be enqueued.
        """
        ...


def at_millis(at: float) -> int:
    """`at` rounded to the millisecond: the precision of task names and schedule times."""
    if not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at) or at < 0:
        raise ValueError(f"timer time must be finite epoch seconds >= 0, got {at!r}")
    return round(at * 1000)


def task_name(timer: TimerLike) -> str:
    """The deterministic Cloud Tasks task id of a timer: same kind, key and due millisecond -> same name.

    `<hash16>-<kind>-<key>-<at_ms>`: the hash covers the exact kind, key and time, so two keys that sanitize
    to the same text never collide; it comes first because Cloud Tasks documents that sequential name
    prefixes (such as kinds or timestamps) slow down named-task creation. The readable rest is for logs.
    A timer's `name_at`, when it has one, stands for `at` here (see Timer).
    """
    if not isinstance(timer.kind, str) or not timer.kind:
        raise ValueError(f"timer kind must be a non-empty string, got {timer.kind!r}")
    if not isinstance(timer.key, str) or not timer.key:
        raise ValueError(f"timer key must be a non-empty string, got {timer.key!r}")
    name_at = getattr(timer, "name_at", None)
    millis = at_millis(timer.at if name_at is None else name_at)
    digest = hashlib.sha256(f"{timer.kind}\x00{timer.key}\x00{millis}".encode()).hexdigest()[:16]
    readable = _UNSAFE.sub("_", f"{timer.kind}-{timer.key}")[:_READABLE_MAX]
    return f"{digest}-{readable}-{millis}"


def task_body(timer: TimerLike) -> bytes:
    """The callback's JSON body {"kind", "key", "at", "payload"}; ValueError if payload is not plain JSON."""
    try:
        return json.dumps(
            {"kind": timer.kind, "key": timer.key, "at": timer.at, "payload": dict(timer.payload)},
            allow_nan=False, separators=(",", ":"), sort_keys=True,
        ).encode()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"timer {timer.kind}/{timer.key}: payload is not plain JSON: {exc}") from exc


def timer_from_body(data: Any, kinds: Collection[str]) -> Timer:
    """Parse a callback's decoded JSON body back into a Timer of one of `kinds`; raises ValueError naming the bad
    field."""
    if not isinstance(data, Mapping):
        raise ValueError(f"timer body must be a JSON object, got {type(data).__name__}")
    kind, key, at, payload = data.get("kind"), data.get("key"), data.get("at"), data.get("payload", {})
    if not isinstance(kind, str) or kind not in kinds:
        raise ValueError(f"kind must be one of {sorted(kinds)}, got {kind!r}")
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string, got {key!r}")
    if not isinstance(at, int | float):
        raise ValueError(f"at must be epoch seconds, got {at!r}")
    at_millis(at)
    if not isinstance(payload, Mapping):
        raise ValueError(f"payload must be a JSON object, got {type(payload).__name__}")
    return Timer(kind=kind, key=key, at=float(at), payload=dict(payload))
