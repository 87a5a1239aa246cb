"""A scheduler for service tests: records timers, de-duplicates by task name, can be told to fail."""

from __future__ import annotations

from collections.abc import Sequence

from shared.scheduler.errors import EnqueueError
from shared.scheduler.timer import TimerLike, task_body, task_name


class FakeScheduler:
    def __init__(self) -> None:
        self.timers: list[TimerLike] = []  # newly scheduled, in order (duplicates are not repeated)
        self.names: list[str] = []
        self.calls = 0
        self.fail_with: EnqueueError | None = None  # set to make every schedule() call raise it

    def schedule(self, timers: Sequence[TimerLike]) -> list[str]:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        new: list[str] = []
        for timer in timers:
            name = task_name(timer)
            task_body(timer)  # the same validation as the real scheduler: payload must be plain JSON
            if name in self.names:
                continue
            self.names.append(name)
            self.timers.append(timer)
            new.append(name)
        return new

    def due(self, now: float) -> list[TimerLike]:
        """The recorded timers due at `now` (at <= now), earliest first: what Cloud Tasks delivers by then."""
        return sorted((t for t in self.timers if t.at <= now), key=lambda t: t.at)

    def of_kind(self, kind: str) -> list[TimerLike]:
        return [t for t in self.timers if t.kind == kind]
