"""The gRPC channels to Firestore and Cloud Tasks, in the cloud, have connections of their own (see
shared.store.channels); on the emulators, tests/emulator/test_store.py shows what that is for."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import grpc_helpers
from google.auth.credentials import AnonymousCredentials

from shared.store.channels import OWN_SUBCHANNELS


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every channel the client libraries build (nothing connects: channels are lazy)."""
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    seen: list[dict[str, Any]] = []
    original = grpc_helpers.create_channel

    def create_channel(target: str, **kwargs: Any) -> Any:
        seen.append({"target": target, **kwargs})
        return original(target, **kwargs)

    monkeypatch.setattr(grpc_helpers, "create_channel", create_channel)
    return seen


def test_the_firestore_channel_keeps_the_librarys_options_and_has_its_own_subchannels(
        built: list[dict[str, Any]]) -> None:
    from shared.store.channels import OwnChannelClient

    client = OwnChannelClient(project="demo-channels", credentials=AnonymousCredentials())
    assert client._firestore_api is not None
    (channel,) = built
    assert channel["target"].startswith("firestore.googleapis.com")
    options = dict(channel["options"])
    assert options["grpc.use_local_subchannel_pool"] == OWN_SUBCHANNELS[1]
    assert options["grpc.keepalive_time_ms"] == 30000  # the library's own keepalive stays
    client.close()


def test_the_cloud_tasks_channel_has_its_own_subchannels(built: list[dict[str, Any]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth

    from shared.scheduler.cloud_tasks import CloudTasksScheduler
    from shared.scheduler.config import SchedulerConfig

    monkeypatch.setattr(google.auth, "default", lambda **_: (AnonymousCredentials(), "prod-x"))
    config = SchedulerConfig.from_env({
        "GOOGLE_CLOUD_PROJECT": "prod-x", "CLOUD_TASKS_LOCATION": "europe-west1", "CLOUD_TASKS_QUEUE": "timers",
        "TIMERS_URL": "https://timers-abc.a.run.app/", "TASKS_SERVICE_ACCOUNT": "tasks@prod-x.iam.gserviceaccount.com",
    })
    client = CloudTasksScheduler(config, task_keys=None)._default_client()  # type: ignore[arg-type]
    (channel,) = built
    assert channel["target"].startswith("cloudtasks.googleapis.com")
    assert OWN_SUBCHANNELS in channel["options"]
    assert ("grpc.max_receive_message_length", -1) in channel["options"]  # the library's options stay
    client.transport.close()
