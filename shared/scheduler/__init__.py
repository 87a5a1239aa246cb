"""Timers: the Cloud Tasks adapter (and its fake) plus the authentication of task callbacks.

Importing this package imports no google library: clients are built on first use.

    scheduler = build_scheduler()            # once per process, from the environment
    scheduler.schedule(decision.timers)      # after the commit; EnqueueError -> log and go on
    verify_task_request(request.headers)     # first thing in the timers function; TaskAuthError -> 401

Environment: GOOGLE_CLOUD_PROJECT, CLOUD_TASKS_LOCATION, CLOUD_TASKS_QUEUE, TIMERS_URL, and either
TASKS_SERVICE_ACCOUNT (cloud: OIDC) or CLOUD_TASKS_EMULATOR_HOST + TASKS_LOCAL_TOKEN (local stack).
FIRESTORE_EMULATOR_HOST is honoured by the Firestore client that records `task_keys`.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.scheduler.auth import verify_task_request
from shared.scheduler.bounded import BoundedScheduler
from shared.scheduler.config import LOCAL_TOKEN_HEADER, SchedulerConfig
from shared.scheduler.errors import EnqueueError, SchedulerConfigError, SchedulerError, TaskAuthError
from shared.scheduler.fake import FakeScheduler
from shared.scheduler.timer import (
    Scheduler,
    Timer,
    TimerLike,
    task_body,
    task_name,
    timer_from_body,
)

__all__ = [
    "LOCAL_TOKEN_HEADER",
    "BoundedScheduler",
    "EnqueueError",
    "FakeScheduler",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerConfigError",
    "SchedulerError",
    "TaskAuthError",
    "Timer",
    "TimerLike",
    "build_scheduler",
    "task_body",
    "task_name",
    "timer_from_body",
    "verify_task_request",
]


def build_scheduler(env: Mapping[str, str] | None = None) -> Scheduler:
    """The Cloud Tasks scheduler for this environment; SchedulerConfigError names whatever is missing.

    No client is created here: the first `schedule()` call creates them.
    """
    from shared.scheduler.cloud_tasks import CloudTasksScheduler, FirestoreTaskKeys

    config = SchedulerConfig.from_env(env)
    return CloudTasksScheduler(config, FirestoreTaskKeys(config.project))
