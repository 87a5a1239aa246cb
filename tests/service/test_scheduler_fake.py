"""Timers without the network: task names and bodies, configuration, the Cloud Tasks scheduler's requests
(with fake clients), and the FakeScheduler the service tests use."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from shared.domain.catalog import TASK_KINDS
from shared.scheduler import (
    LOCAL_TOKEN_HEADER,
    EnqueueError,
    FakeScheduler,
    SchedulerConfigError,
    Timer,
    build_scheduler,
    task_body,
    task_name,
    timer_from_body,
)
from shared.scheduler.cloud_tasks import CloudTasksScheduler
from shared.scheduler.config import SchedulerConfig

ROOT = Path(__file__).resolve().parents[2]
CLOUD_ENV = {
    "GOOGLE_CLOUD_PROJECT": "prod-x", "CLOUD_TASKS_LOCATION": "europe-west1", "CLOUD_TASKS_QUEUE": "timers",
    "TIMERS_URL": "https://timers-abc.a.run.app/",
    "TASKS_SERVICE_ACCOUNT": "tasks@prod-x.iam.gserviceaccount.com",
}
LOCAL_ENV = {
    "GOOGLE_CLOUD_PROJECT": "demo-local", "CLOUD_TASKS_LOCATION": "us-central1",
    "CLOUD_TASKS_QUEUE": "timers",
    "TIMERS_URL": "http://127.0.0.1:5000/timers", "CLOUD_TASKS_EMULATOR_HOST": "127.0.0.1:9022",
    "TASKS_LOCAL_TOKEN": "s3cret",
}
AT = 1764057900.25


@dataclass(frozen=True)
class DomainTimer:
    """Any object with kind/key/at/payload is a timer (the domain may define its own)."""

    kind: str
    key: str
    at: float
    payload: dict[str, Any] = field(default_factory=dict)


class TestTaskName:
    def test_is_deterministic_and_a_valid_task_id(self) -> None:
        timer = Timer("candle_lock_end", "ES:1764057600", AT, {"a": 1})
        name = task_name(timer)
        assert name == task_name(Timer("candle_lock_end", "ES:1764057600", AT, {"other": "payload"}))
        assert name == task_name(DomainTimer("candle_lock_end", "ES:1764057600", AT))
        assert len(name) <= 500
        assert all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
        assert name.endswith("-candle_lock_end-ES_1764057600-1764057900250")

    def test_differs_by_kind_key_and_millisecond(self) -> None:
        base = Timer("cooldown_end", "ES", AT, {})
        variants = [Timer("intent_expiry", "ES", AT, {}), Timer("cooldown_end", "NQ", AT, {}),
                    Timer("cooldown_end", "ES", AT + 0.001, {})]
        assert len({task_name(t) for t in [base, *variants]}) == 4

    def test_name_at_stands_for_the_due_time(self) -> None:
        shifted = Timer("blackout_flatten", "b1:1764058200", AT - 1000.0, {}, name_at=AT)
        assert task_name(shifted) == task_name(Timer("blackout_flatten", "b1:1764058200", AT, {}))

    def test_keys_that_sanitize_alike_do_not_collide(self) -> None:
        assert task_name(Timer("lease_end", "a:b", AT, {})) != task_name(Timer("lease_end", "a_b", AT, {}))

    def test_float_noise_below_a_millisecond_keeps_the_name(self) -> None:
        noisy, exact = Timer("lease_end", "o", 0.1 + 0.2, {}), Timer("lease_end", "o", 0.3, {})
        assert task_name(noisy) == task_name(exact)

    def test_long_and_odd_keys_stay_valid(self) -> None:
        name = task_name(Timer("preorder_expiry", "ü/é " * 400, AT, {}))
        assert len(name) <= 500 and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)

    @pytest.mark.parametrize("at", [float("nan"), float("inf"), -1.0, "1764057900", True])
    def test_refuses_bad_times(self, at: Any) -> None:
        with pytest.raises(ValueError, match="epoch seconds"):
            task_name(Timer("lease_end", "o", at, {}))

    @pytest.mark.parametrize(("kind", "key"), [("", "k"), ("lease_end", ""), ("lease_end", None)])
    def test_refuses_empty_kind_or_key(self, kind: Any, key: Any) -> None:
        with pytest.raises(ValueError):
            task_name(Timer(kind, key, AT, {}))


class TestBody:
    def test_round_trips_through_the_callback_parser(self) -> None:
        timer = Timer("intent_expiry", "intent-7", AT, {"asset": "ES", "direction": "long"})
        assert timer_from_body(json.loads(task_body(timer)), TASK_KINDS) == timer

    def test_payload_must_be_plain_json(self) -> None:
        with pytest.raises(ValueError, match="not plain JSON"):
            task_body(Timer("lease_end", "o", AT, {"when": object()}))
        with pytest.raises(ValueError, match="not plain JSON"):
            task_body(Timer("lease_end", "o", AT, {"x": float("nan")}))

    @pytest.mark.parametrize(("body", "field_name"), [
        ([], "object"), ({"kind": "nope", "key": "k", "at": AT}, "kind"),
        ({"kind": "lease_end", "at": AT}, "key"),
        ({"kind": "lease_end", "key": "k", "at": "soon"}, "epoch"),
        ({"kind": "lease_end", "key": "k", "at": AT, "payload": [1]}, "payload"),
    ])
    def test_parser_names_the_bad_field(self, body: Any, field_name: str) -> None:
        with pytest.raises(ValueError, match=field_name):
            timer_from_body(body, TASK_KINDS)


class TestConfig:
    def test_cloud(self) -> None:
        config = SchedulerConfig.from_env(CLOUD_ENV)
        assert not config.local
        assert config.queue_path == "projects/prod-x/locations/europe-west1/queues/timers"
        assert config.service_account == CLOUD_ENV["TASKS_SERVICE_ACCOUNT"]

    def test_local(self) -> None:
        config = SchedulerConfig.from_env(LOCAL_ENV)
        assert config.local and config.local_token == "s3cret"

    @pytest.mark.parametrize("name", ["GOOGLE_CLOUD_PROJECT", "CLOUD_TASKS_LOCATION", "CLOUD_TASKS_QUEUE",
                                      "TIMERS_URL", "TASKS_SERVICE_ACCOUNT"])
    def test_cloud_refuses_incomplete_configuration(self, name: str) -> None:
        env = {k: v for k, v in CLOUD_ENV.items() if k != name}
        with pytest.raises(SchedulerConfigError, match=name):
            build_scheduler(env)
        with pytest.raises(SchedulerConfigError, match=name):
            build_scheduler({**env, name: "  "})

    def test_local_requires_the_shared_token(self) -> None:
        env = {k: v for k, v in LOCAL_ENV.items() if k != "TASKS_LOCAL_TOKEN"}
        with pytest.raises(SchedulerConfigError, match="TASKS_LOCAL_TOKEN"):
            build_scheduler(env)

    def test_cloud_requires_https(self) -> None:
        with pytest.raises(SchedulerConfigError, match="https"):
            build_scheduler({**CLOUD_ENV, "TIMERS_URL": "http://timers.example.com/"})
        with pytest.raises(SchedulerConfigError, match="absolute"):
            build_scheduler({**LOCAL_ENV, "TIMERS_URL": "/timers"})

    def test_reads_os_environ_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in LOCAL_ENV.items():
            monkeypatch.setenv(name, value)
        built = build_scheduler()
        assert isinstance(built, CloudTasksScheduler) and built.config.local


def test_importing_the_package_and_building_imports_no_google_client() -> None:
    code = (
        "import sys\n"
        "import shared.scheduler as s\n"
        f"s.build_scheduler({LOCAL_ENV!r})\n"
        "heavy = ('grpc', 'google.cloud.', 'google.auth', 'google.api')\n"
        "loaded = [m for m in sys.modules if m.startswith(heavy)]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


class FakeKeys:
    def __init__(self, fail: bool = False) -> None:
        self.claimed: set[str] = set()
        self.released: list[str] = []
        self.fail = fail

    def claim(self, name: str, timer: Any) -> bool:
        if self.fail:
            raise ConnectionError("firestore down")
        if name in self.claimed:
            return False
        self.claimed.add(name)
        return True

    def release(self, name: str) -> None:
        self.released.append(name)
        self.claimed.discard(name)


class FakeTasksClient:
    def __init__(self, error: Exception | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.kwargs: list[dict[str, Any]] = []
        self.error = error

    def create_task(self, request: dict[str, Any], **kwargs: Any) -> Any:
        self.requests.append(request)
        self.kwargs.append(kwargs)
        if self.error is not None:
            raise self.error
        return request["task"]


def _scheduler(env: dict[str, str], client: FakeTasksClient,
               keys: FakeKeys | None = None) -> CloudTasksScheduler:
    return CloudTasksScheduler(SchedulerConfig.from_env(env), keys or FakeKeys(),
                               client_factory=lambda: client)


class TestCloudTasksScheduler:
    def test_cloud_task_is_named_timed_bounded_and_oidc_signed(self) -> None:
        client = FakeTasksClient()
        timer = Timer("cooldown_end", "ES", AT, {"asset": "ES"})

        assert _scheduler(CLOUD_ENV, client).schedule([timer]) == [task_name(timer)]

        (request,) = client.requests
        task = request["task"]
        queue = "projects/prod-x/locations/europe-west1/queues/timers"
        assert request["parent"] == queue
        assert task.name == f"{queue}/tasks/{task_name(timer)}"
        assert task.schedule_time.timestamp() == AT
        assert task.dispatch_deadline.total_seconds() == 30
        http = task.http_request
        assert http.url == CLOUD_ENV["TIMERS_URL"]
        assert http.http_method.name == "POST"
        assert json.loads(http.body) == {"kind": "cooldown_end", "key": "ES", "at": AT,
                                         "payload": {"asset": "ES"}}
        assert http.headers["Content-Type"] == "application/json"
        assert LOCAL_TOKEN_HEADER not in http.headers
        assert http.oidc_token.service_account_email == CLOUD_ENV["TASKS_SERVICE_ACCOUNT"]
        assert http.oidc_token.audience == CLOUD_ENV["TIMERS_URL"]
        assert client.kwargs[0]["timeout"] > 0 and client.kwargs[0]["retry"] is not None

    def test_the_oidc_audience_is_timers_audience_when_set(self) -> None:
        # Issue 22: the token names the timers service's run.app URL; the task still goes to TIMERS_URL.
        client = FakeTasksClient()
        audience = "https://timers-123456789012.europe-west1.run.app"
        _scheduler({**CLOUD_ENV, "TIMERS_AUDIENCE": audience}, client).schedule([Timer("lease_end", "o1", AT, {})])
        http = client.requests[0]["task"].http_request
        assert http.url == CLOUD_ENV["TIMERS_URL"] and http.oidc_token.audience == audience

    def test_an_audience_that_is_not_https_is_refused(self) -> None:
        with pytest.raises(SchedulerConfigError, match="TIMERS_AUDIENCE"):
            SchedulerConfig.from_env({**CLOUD_ENV, "TIMERS_AUDIENCE": "http://timers.example"})

    def test_local_task_carries_the_shared_token_instead_of_oidc(self) -> None:
        client = FakeTasksClient()
        _scheduler(LOCAL_ENV, client).schedule([Timer("lease_end", "o1", AT, {})])
        http = client.requests[0]["task"].http_request
        assert http.headers[LOCAL_TOKEN_HEADER] == "s3cret"
        assert not http.oidc_token.service_account_email

    def test_already_queued_timers_are_skipped(self) -> None:
        client, keys = FakeTasksClient(), FakeKeys()
        scheduler = _scheduler(CLOUD_ENV, client, keys)
        timer = Timer("lease_end", "o1", AT, {})
        assert scheduler.schedule([timer, timer]) == [task_name(timer)]
        assert scheduler.schedule([timer]) == []
        assert len(client.requests) == 1

    def test_cloud_tasks_already_exists_means_queued(self) -> None:
        from google.api_core.exceptions import AlreadyExists

        exists = AlreadyExists("task exists")  # type: ignore[no-untyped-call]
        client, keys = FakeTasksClient(exists), FakeKeys()
        timer = Timer("lease_end", "o1", AT, {})
        assert _scheduler(CLOUD_ENV, client, keys).schedule([timer]) == []
        assert keys.released == []

    def test_create_failure_raises_after_trying_all_and_frees_the_key(self) -> None:
        from google.api_core.exceptions import PermissionDenied

        denied = PermissionDenied("no tasks.enqueuer role")  # type: ignore[no-untyped-call]
        client, keys = FakeTasksClient(denied), FakeKeys()
        timers = [Timer("lease_end", "o1", AT, {}), Timer("lease_end", "o2", AT, {})]
        with pytest.raises(EnqueueError, match=r"2 of 2 timers not enqueued.*no tasks\.enqueuer") as caught:
            _scheduler(CLOUD_ENV, client, keys).schedule(timers)
        assert len(client.requests) == 2
        assert keys.released == [task_name(t) for t in timers]
        assert caught.value.enqueued == []

    def test_key_store_failure_is_an_enqueue_error_and_frees_the_key(self) -> None:
        client, keys = FakeTasksClient(), FakeKeys(fail=True)
        timer = Timer("lease_end", "o1", AT, {})
        with pytest.raises(EnqueueError, match=r"could not record task key task_keys/.*firestore down"):
            _scheduler(CLOUD_ENV, client, keys).schedule([timer])
        assert client.requests == []
        assert keys.released == [task_name(timer)], "a timed-out create may land later: it must not block"

    def test_invalid_timer_fails_alone(self) -> None:
        client = FakeTasksClient()
        good = Timer("lease_end", "o1", AT, {})
        with pytest.raises(EnqueueError, match="invalid timer") as caught:
            _scheduler(CLOUD_ENV, client).schedule([Timer("lease_end", "o0", float("nan"), {}), good])
        assert caught.value.enqueued == [task_name(good)]

    def test_oversized_payload_is_refused(self) -> None:
        with pytest.raises(EnqueueError, match="keep payloads small"):
            big = Timer("lease_end", "o", AT, {"x": "y" * 200_000})
            _scheduler(CLOUD_ENV, FakeTasksClient()).schedule([big])

    def test_client_is_created_once_and_lazily(self) -> None:
        created: list[FakeTasksClient] = []

        def factory() -> FakeTasksClient:
            created.append(FakeTasksClient())
            return created[-1]

        config = SchedulerConfig.from_env(CLOUD_ENV)
        scheduler = CloudTasksScheduler(config, FakeKeys(), client_factory=factory)
        assert created == []
        scheduler.schedule([Timer("lease_end", "o1", AT, {})])
        scheduler.schedule([Timer("lease_end", "o2", AT, {})])
        assert len(created) == 1


def _unreachable(kind: str) -> Exception:
    """What a call to a server that cannot be reached raises: ServiceUnavailable, or RetryError once the retry is
    spent; and a failure that says nothing about the connection."""
    from google.api_core import exceptions

    refused = exceptions.ServiceUnavailable("failed to connect to all addresses")  # type: ignore[no-untyped-call]
    if kind == "retry spent":
        return exceptions.RetryError("Timeout of 2.5s exceeded", cause=refused)
    if kind == "denied":
        return exceptions.PermissionDenied("no tasks.enqueuer role")  # type: ignore[no-untyped-call]
    return refused


F = TypeVar("F")


def _first_one_fails(make: Callable[[Exception | None], F], kind: str) -> tuple[Callable[[], F], list[F]]:
    """A client factory whose first client fails every call with `_unreachable(kind)`, the later ones never; and
    the list of the clients it made."""
    created: list[F] = []

    def factory() -> F:
        created.append(make(_unreachable(kind) if not created else None))
        return created[-1]

    return factory, created


@pytest.mark.parametrize("kind, reconnects", [("unavailable", True), ("retry spent", True), ("denied", False)])
def test_an_unreachable_cloud_tasks_gets_a_new_client_on_the_next_call(kind: str, reconnects: bool) -> None:
    """The old client's channel would stay in reconnect backoff and fail every enqueue for up to 120 s."""
    factory, created = _first_one_fails(FakeTasksClient, kind)
    scheduler = CloudTasksScheduler(SchedulerConfig.from_env(CLOUD_ENV), FakeKeys(), client_factory=factory)
    with pytest.raises(EnqueueError):
        scheduler.schedule([Timer("lease_end", "o1", AT, {})])
    if reconnects:
        assert scheduler.schedule([Timer("lease_end", "o2", AT, {})]) == [task_name(Timer("lease_end", "o2", AT, {}))]
        assert [len(c.requests) for c in created] == [1, 1]
    else:
        with pytest.raises(EnqueueError):
            scheduler.schedule([Timer("lease_end", "o2", AT, {})])
        assert [len(c.requests) for c in created] == [2]


class FakeFirestore:
    """Just the path FirestoreTaskKeys takes: collection(...).document(...).create / delete."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.calls: list[str] = []

    def collection(self, name: str) -> FakeFirestore:
        return self

    def document(self, name: str) -> FakeFirestore:
        return self

    def create(self, data: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append("create")
        if self.error is not None:
            raise self.error

    def delete(self, **kwargs: Any) -> None:
        self.calls.append("delete")
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize("kind, reconnects", [("unavailable", True), ("retry spent", True), ("denied", False)])
def test_an_unreachable_task_key_store_gets_a_new_client_on_the_next_call(kind: str, reconnects: bool) -> None:
    from shared.scheduler.cloud_tasks import FirestoreTaskKeys

    factory, created = _first_one_fails(FakeFirestore, kind)
    keys = FirestoreTaskKeys("prod-x", client_factory=factory)  # type: ignore[arg-type]
    timer = Timer("lease_end", "o1", AT, {})
    with pytest.raises(type(_unreachable(kind))):
        keys.claim("n1", timer)
    if reconnects:
        keys.release("n1")
        assert keys.claim("n2", timer) is True
        assert [c.calls for c in created] == [["create"], ["delete", "create"]]
    else:
        with pytest.raises(type(_unreachable(kind))):
            keys.release("n1")
        assert [c.calls for c in created] == [["create", "delete"]]


def test_a_timer_further_ahead_than_cloud_tasks_holds_is_left_for_later_not_an_error() -> None:
    """Cloud Tasks refuses a schedule time more than 720 h ahead (INVALID_ARGUMENT). The only timer that far is
    D22's flatten-before of a window added (or imported) weeks ahead, which the watchdog asks for again within the
    hour before it is due: it is not enqueued, claims no key, and is no EnqueueError (an ERROR line, an alert)."""
    client, keys = FakeTasksClient(), FakeKeys()
    now = 1_800_000_000.0
    scheduler = CloudTasksScheduler(SchedulerConfig.from_env(CLOUD_ENV), keys, client_factory=lambda: client,
                                    clock=lambda: now)
    far = Timer("blackout_flatten", "b1:1803000000", now + 720 * 3600 + 1)
    near = Timer("blackout_flatten", "b2:1802000000", now + 719 * 3600)
    assert scheduler.schedule([far, near]) == [task_name(near)]
    assert [r["task"].name.rsplit("/", 1)[1] for r in client.requests] == [task_name(near)]
    assert keys.claimed == {task_name(near)}


class TestFakeScheduler:
    def test_records_new_timers_once(self) -> None:
        fake = FakeScheduler()
        lock = Timer("candle_lock_end", "ES:1", AT, {})
        cooldown = DomainTimer("cooldown_end", "ES", AT + 180)
        assert fake.schedule([lock, cooldown]) == [task_name(lock), task_name(cooldown)]
        assert fake.schedule([lock]) == []
        assert fake.timers == [lock, cooldown]
        assert fake.calls == 2
        assert fake.of_kind("cooldown_end") == [cooldown]
        assert fake.due(AT) == [lock]
        assert fake.due(AT + 180) == [lock, cooldown]

    def test_can_fail_like_the_real_one(self) -> None:
        fake = FakeScheduler()
        fake.fail_with = EnqueueError("queue down")
        with pytest.raises(EnqueueError, match="queue down"):
            fake.schedule([Timer("lease_end", "o", AT, {})])
        assert fake.timers == []

    def test_validates_like_the_real_one(self) -> None:
        with pytest.raises(ValueError):
            FakeScheduler().schedule([Timer("lease_end", "o", AT, {"x": {1, 2}})])
