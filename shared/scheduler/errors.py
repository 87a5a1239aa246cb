"""What can go wrong around timers, grouped by what someone must do about it."""

from __future__ import annotations


class SchedulerError(Exception):
    """Base of scheduler failures."""


class SchedulerConfigError(SchedulerError):
    """The environment does not say where or how to enqueue timers: fix the deployment or local env."""


class EnqueueError(SchedulerError):
    """Some timers could not be enqueued. Log it and go on: state never depends on a task having run.

    `enqueued` lists the task names the same call did enqueue; `failed` the (task name, reason) pairs.
    """

    def __init__(self, message: str, enqueued: list[str] | None = None,
                 failed: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.enqueued = list(enqueued or [])
        self.failed = list(failed or [])


class TaskAuthError(Exception):
    """A timer callback is not authentic, or cannot be checked (not configured): answer 401, do nothing."""
