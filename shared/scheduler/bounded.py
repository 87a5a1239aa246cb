"""A scheduler that never holds an answer for long: enqueueing runs on worker threads, the request waits a little.

Timers are enqueued after the commit, while the caller (TradingView gives 3 s, the operator's click) still waits
for the answer. A slow or absent Cloud Tasks (or Firestore, which records `task_keys`) used to hold that answer
for the whole of the client's timeout. Here `schedule()` hands the work to a small pool and waits at most
`wait_s` (SCHEDULE_WAIT_S, default 0.3 s): what finishes in time is returned as usual (and an EnqueueError
within the wait reaches the caller, who logs it); what does not finishes off the answer path, and its failure is
reported to `on_error` (logged). State never depends on a timer having run: every lock and expiry is derived from
stored times on read, so a late or lost timer only delays tidying up.

A pool that is still busy with `max_backlog` batches refuses new ones at once (EnqueueError) rather than
queueing without bound while the dependency is down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from shared.env import env_number
from shared.scheduler.errors import EnqueueError
from shared.scheduler.timer import Scheduler, TimerLike

WAIT_ENV = "SCHEDULE_WAIT_S"
DEFAULT_WAIT_S = 0.3
DEFAULT_BACKLOG = 32


def wait_seconds() -> float:
    return env_number(WAIT_ENV, DEFAULT_WAIT_S, lambda value: 0 <= value <= DEFAULT_WAIT_S)


class BoundedScheduler:
    """Wraps a Scheduler so that `schedule()` returns within `wait_s` whatever the wrapped one does."""

    def __init__(self, inner: Scheduler, *, wait_s: float | None = None,
                 on_error: Callable[[BaseException, Sequence[TimerLike]], None] | None = None,
                 workers: int = 2, max_backlog: int = DEFAULT_BACKLOG) -> None:
        self.inner = inner
        self._wait_s = wait_seconds() if wait_s is None else wait_s
        self._on_error = on_error
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="timers")
        self._max_backlog = max_backlog
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Batches handed to the pool and not finished yet."""
        with self._lock:
            return self._pending

    def schedule(self, timers: Sequence[TimerLike]) -> list[str]:
        batch = list(timers)
        if not batch:
            return []
        with self._lock:
            if self._pending >= self._max_backlog:
                raise EnqueueError(f"{self._pending} timer batches still being enqueued (the queue or its key "
                                   f"store is slow or down); {len(batch)} timers not enqueued",
                                   failed=[(f"{t.kind}/{t.key}", "backlog full") for t in batch])
            self._pending += 1
        future = self._pool.submit(self._run, batch)
        try:
            return future.result(timeout=self._wait_s)
        except FutureTimeout:
            future.add_done_callback(lambda done: self._late(done, batch))
            return []

    def _run(self, batch: list[TimerLike]) -> list[str]:
        try:
            return self.inner.schedule(batch)
        finally:
            with self._lock:
                self._pending -= 1

    def _late(self, done: Future[list[str]], batch: list[TimerLike]) -> None:
        """A batch that outlived the wait: nobody waits for it any more, so its failure is reported here."""
        exc = done.exception()
        if exc is not None and self._on_error is not None:
            self._on_error(exc, batch)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        close_inner = getattr(self.inner, "close", None)
        if close_inner is not None:
            close_inner()
