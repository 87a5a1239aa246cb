"""Scheduler configuration read from the environment, with no defaults that could hide a missing setting."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.scheduler.errors import SchedulerConfigError

# Every variable this package reads.
PROJECT = "GOOGLE_CLOUD_PROJECT"
LOCATION = "CLOUD_TASKS_LOCATION"
QUEUE = "CLOUD_TASKS_QUEUE"
TIMERS_URL = "TIMERS_URL"
# The OIDC token's audience, when it is not TIMERS_URL itself. In the cloud it is the timers service's run.app URL
# (deploy/terraform/main.tf, timers_audience): Cloud Run's IAM check accepts a *.run.app audience, while TIMERS_URL
# is the cloudfunctions.net address the tasks are sent to.
TIMERS_AUDIENCE = "TIMERS_AUDIENCE"
EMULATOR_HOST = "CLOUD_TASKS_EMULATOR_HOST"
LOCAL_TOKEN = "TASKS_LOCAL_TOKEN"  # noqa: S105 - the variable's name, not a secret
SERVICE_ACCOUNT = "TASKS_SERVICE_ACCOUNT"

LOCAL_TOKEN_HEADER = "X-Local-Tasks-Token"  # noqa: S105 - a header name


@dataclass(frozen=True)
class SchedulerConfig:
    project: str
    location: str
    queue: str
    timers_url: str
    emulator_host: str | None = None  # set: local stack (emulator, shared token); unset: the cloud (OIDC)
    local_token: str | None = None
    service_account: str | None = None
    audience: str | None = None  # the OIDC token's audience; None: timers_url

    @property
    def oidc_audience(self) -> str:
        return self.audience or self.timers_url

    @property
    def local(self) -> bool:
        return self.emulator_host is not None

    @property
    def queue_path(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/queues/{self.queue}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SchedulerConfig:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        missing = [name for name in (PROJECT, LOCATION, QUEUE, TIMERS_URL) if get(name) is None]
        emulator_host = get(EMULATOR_HOST)
        if emulator_host is not None and get(LOCAL_TOKEN) is None:
            missing.append(f"{LOCAL_TOKEN} (required with {EMULATOR_HOST})")
        if emulator_host is None and get(SERVICE_ACCOUNT) is None:
            missing.append(f"{SERVICE_ACCOUNT} (required without {EMULATOR_HOST}, for the OIDC token)")
        if missing:
            raise SchedulerConfigError(f"timer scheduling is not configured; missing: {', '.join(missing)}")

        config = cls(
            project=get(PROJECT) or "", location=get(LOCATION) or "", queue=get(QUEUE) or "",
            timers_url=get(TIMERS_URL) or "", emulator_host=emulator_host,
            local_token=get(LOCAL_TOKEN) if emulator_host else None,
            service_account=None if emulator_host else get(SERVICE_ACCOUNT),
            audience=None if emulator_host else get(TIMERS_AUDIENCE),
        )
        url = urlsplit(config.timers_url)
        allowed = ("http", "https") if config.local else ("https",)
        if url.scheme not in allowed or not url.netloc:
            raise SchedulerConfigError(
                f"{TIMERS_URL} must be an absolute {' or '.join(allowed)} URL"
                f"{'' if config.local else ' (Cloud Tasks sends OIDC tokens only over https)'}, "
                f"got {config.timers_url!r}"
            )
        if config.audience is not None and urlsplit(config.audience).scheme != "https":
            raise SchedulerConfigError(f"{TIMERS_AUDIENCE} must be an https URL, got {config.audience!r}")
        return config
