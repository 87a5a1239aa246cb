"""The Cloud Tasks scheduler: one named HTTP task per timer, de-duplicated through Firestore `task_keys`.

Google libraries are imported on first use, never at import time (cold starts of the webhook function matter).

Before a task is created, the document `task_keys/{task name}` is `create()`d: if it already exists,
the timer is already queued and is skipped. The Cloud Tasks emulator has no named-task de-duplication,
so locally this is the only guard; in the cloud, Cloud Tasks' own ALREADY_EXISTS is treated the same way
(skipped). When creating the task fails, the key is deleted again so that a later call can retry.
Every remote call has a bounded timeout. A timer due further ahead than Cloud Tasks accepts (`MAX_AHEAD_S`) is
not enqueued and is no error: the only one that far is D22's flatten-before of a window weeks ahead, which the
watchdog asks for again within the hour before it is due (shared/domain/operator.py, `ensure_flatten`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.scheduler.config import LOCAL_TOKEN_HEADER, SchedulerConfig
from shared.scheduler.errors import EnqueueError
from shared.scheduler.timer import TimerLike, at_millis, task_body, task_name
from shared.store.reconnect import LazyClient, unreachable

if TYPE_CHECKING:
    from google.cloud import firestore, tasks_v2

TASK_KEYS_COLLECTION = "task_keys"
DISPATCH_DEADLINE_S = 30  # Cloud Tasks accepts 15 s .. 30 min for HTTP targets; timer handlers answer in ms
# Per remote call, retries included: scheduling runs inside requests that TradingView times out at 3 s.
CALL_TIMEOUT_S = 2.5
# task_keys.expire_at = at + this: give the collection a Firestore TTL policy on `expire_at`.
KEY_KEEP_S = 2 * 86400
MAX_BODY_BYTES = 100_000
MAX_AHEAD_S = 720 * 3600   # Cloud Tasks: "Schedule time must be no more than 720h in the future" (INVALID_ARGUMENT)


class TaskKeys(Protocol):
    def claim(self, name: str, timer: TimerLike) -> bool:
        """Record that `name` is being enqueued; False if it already was (skip it)."""
        ...

    def release(self, name: str) -> None:
        """Forget `name` after its enqueue failed, so that a later call retries it."""
        ...


def _retry(timeout_s: float) -> Any:
    from google.api_core import exceptions, retry

    return retry.Retry(
        predicate=retry.if_exception_type(exceptions.ServiceUnavailable, exceptions.InternalServerError),
        initial=0.1, maximum=0.5, multiplier=2.0, timeout=timeout_s,
    )


@contextmanager
def _forgotten_if_unreachable(client: LazyClient[Any]) -> Iterator[None]:
    """A call whose server could not be reached forgets its client: the next call connects afresh
    (shared.store.reconnect says why)."""
    try:
        yield
    except Exception as exc:
        if unreachable(exc):
            client.forget()
        raise


class FirestoreTaskKeys:
    """`task_keys/{name}` documents written with `create()` (exists=False): exactly one caller wins a name."""

    def __init__(self, project: str, client_factory: Callable[[], firestore.Client] | None = None,
                 timeout_s: float = CALL_TIMEOUT_S) -> None:
        self._project = project
        self._timeout_s = timeout_s
        self._client: LazyClient[firestore.Client] = LazyClient(client_factory or self._default_client)

    def _default_client(self) -> firestore.Client:
        from shared.store.channels import firestore_client

        return firestore_client(self._project)

    def _db(self) -> firestore.Client:
        return self._client.get()

    def claim(self, name: str, timer: TimerLike) -> bool:
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import firestore

        doc = self._db().collection(TASK_KEYS_COLLECTION).document(name)
        data = {
            "kind": timer.kind, "key": timer.key, "at": float(timer.at),
            "created_at": firestore.SERVER_TIMESTAMP,
            "expire_at": datetime.fromtimestamp(float(timer.at) + KEY_KEEP_S, tz=UTC),
        }
        try:
            with _forgotten_if_unreachable(self._client):
                doc.create(data, retry=_retry(self._timeout_s), timeout=self._timeout_s)
        except AlreadyExists:
            return False
        return True

    def release(self, name: str) -> None:
        doc = self._db().collection(TASK_KEYS_COLLECTION).document(name)
        with _forgotten_if_unreachable(self._client):
            doc.delete(retry=_retry(self._timeout_s), timeout=self._timeout_s)

    def close(self) -> None:
        client = self._client.forget()
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]


class CloudTasksScheduler:
    """Creates one HTTP POST task per timer on the configured queue, due at the timer's time.

    Cloud: the task carries an OIDC token of TASKS_SERVICE_ACCOUNT with audience TIMERS_AUDIENCE (else TIMERS_URL).
    Local stack (CLOUD_TASKS_EMULATOR_HOST set): an insecure gRPC channel to the emulator, and the shared
    `X-Local-Tasks-Token` header instead of OIDC (the emulator cannot mint tokens).
    """

    def __init__(self, config: SchedulerConfig, task_keys: TaskKeys,
                 client_factory: Callable[[], Any] | None = None,
                 dispatch_deadline_s: int = DISPATCH_DEADLINE_S, timeout_s: float = CALL_TIMEOUT_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._keys = task_keys
        self._dispatch_deadline_s = dispatch_deadline_s
        self._timeout_s = timeout_s
        self._client: LazyClient[tasks_v2.CloudTasksClient] = LazyClient(client_factory or self._default_client)

    def _tasks(self) -> tasks_v2.CloudTasksClient:
        return self._client.get()

    def close(self) -> None:
        """Close the clients this scheduler created (tests and the local stack; functions just exit)."""
        client = self._client.forget()
        if client is not None:
            client.transport.close()  # type: ignore[no-untyped-call]
        close_keys = getattr(self._keys, "close", None)
        if close_keys is not None:
            close_keys()

    def _default_client(self) -> tasks_v2.CloudTasksClient:
        from google.cloud import tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

        from shared.store.channels import OWN_SUBCHANNELS, with_own_subchannels

        if self.config.emulator_host is None:  # a channel of its own: see shared.store.channels
            return tasks_v2.CloudTasksClient(transport=with_own_subchannels(CloudTasksGrpcTransport))
        import grpc

        channel = grpc.insecure_channel(self.config.emulator_host, options=[OWN_SUBCHANNELS])
        return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))

    def build_task(self, name: str, timer: TimerLike, body: bytes) -> tasks_v2.Task:
        from google.cloud import tasks_v2
        from google.protobuf import duration_pb2, timestamp_pb2

        millis = at_millis(timer.at)
        headers = {"Content-Type": "application/json"}
        if self.config.local:
            headers[LOCAL_TOKEN_HEADER] = self.config.local_token or ""
        http_request = tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST, url=self.config.timers_url, headers=headers, body=body,
        )
        if not self.config.local:
            http_request.oidc_token = tasks_v2.OidcToken(
                service_account_email=self.config.service_account, audience=self.config.oidc_audience,
            )
        return tasks_v2.Task(
            name=f"{self.config.queue_path}/tasks/{name}",
            schedule_time=timestamp_pb2.Timestamp(seconds=millis // 1000, nanos=(millis % 1000) * 1_000_000),
            dispatch_deadline=duration_pb2.Duration(seconds=self._dispatch_deadline_s),
            http_request=http_request,
        )

    def _create(self, task: tasks_v2.Task) -> bool:
        from google.api_core.exceptions import AlreadyExists

        try:
            with _forgotten_if_unreachable(self._client):
                self._tasks().create_task(
                    request={"parent": self.config.queue_path, "task": task},
                    retry=_retry(self._timeout_s), timeout=self._timeout_s,
                )
        except AlreadyExists:
            return False  # production's named-task de-duplication: it is queued (or ran recently)
        return True

    def schedule(self, timers: Sequence[TimerLike]) -> list[str]:
        enqueued: list[str] = []
        failed: list[tuple[str, str]] = []
        horizon = self._clock() + MAX_AHEAD_S
        for timer in timers:
            label = f"{getattr(timer, 'kind', '?')}/{getattr(timer, 'key', '?')}"
            try:
                name = task_name(timer)
                body = task_body(timer)
            except ValueError as exc:
                failed.append((label, f"invalid timer: {exc}"))
                continue
            if len(body) > MAX_BODY_BYTES:
                failed.append((name, f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}: "
                                     "keep payloads small"))
                continue
            if timer.at > horizon:   # asked for again nearer its time (the module docstring)
                continue
            outcome = self._schedule_one(name, timer, body)
            if outcome is True:
                enqueued.append(name)
            elif isinstance(outcome, str):
                failed.append((name, outcome))
        if failed:
            details = "; ".join(f"{name}: {reason}" for name, reason in failed)
            raise EnqueueError(
                f"{len(failed)} of {len(timers)} timers not enqueued on {self.config.queue_path}: {details}",
                enqueued=enqueued, failed=failed,
            )
        return enqueued

    def _schedule_one(self, name: str, timer: TimerLike, body: bytes) -> bool | str:
        """True: enqueued now; False: already queued; str: why it failed."""
        try:
            if not self._keys.claim(name, timer):
                return False
        except Exception as exc:  # any storage failure means "not enqueued"; the caller gets one clear error
            # A timed-out create may still land: delete the key (idempotent) so that it cannot block the timer
            # for good. A duplicate task is harmless (handlers are idempotent); a lost one is not wanted.
            reason = f"could not record task key {TASK_KEYS_COLLECTION}/{name}: {type(exc).__name__}: {exc}"
            return reason + self._release(name)
        try:
            return self._create(self.build_task(name, timer, body))
        except Exception as exc:  # the task may not exist: free the key so that a later call can retry
            return f"create_task failed: {type(exc).__name__}: {exc}" + self._release(name)

    def _release(self, name: str) -> str:
        """Free a task key after a failure; returns what to add to the error message."""
        try:
            self._keys.release(name)
        except Exception as exc:
            return (f"; and the key {TASK_KEYS_COLLECTION}/{name} could not be released "
                    f"({type(exc).__name__}: {exc}), so this timer will not be re-enqueued")
        return ""
