"""gRPC clients whose channels keep their own connections, so that a client built after an outage connects afresh.

gRPC shares subchannels (a connection and its reconnect backoff) between every channel of a process that has the
same target and arguments. When a server could not be reached, the store and the scheduler drop their client and
build a new one (shared.store.reconnect). While any channel of an old client lives on (a traceback being logged,
a running listener, the garbage collector not yet run), the new client's channel attaches to the same subchannel,
whose backoff (1 s, growing to 120 s over a long outage) fails every call at once: the server that came back is
answered 503. `grpc.use_local_subchannel_pool` gives each channel its own.
Measured on the emulator (tests/emulator/test_store.py): with the shared pool the first call after the server was
back failed; with a pool of its own it was answered.

Imported when the first client is built (it imports the Google client libraries), never at module import.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.cloud import firestore
from google.cloud.firestore_v1.services.firestore import client as firestore_gapic
from google.cloud.firestore_v1.services.firestore.transports.grpc import FirestoreGrpcTransport

OWN_SUBCHANNELS = ("grpc.use_local_subchannel_pool", 1)


def with_own_subchannels(transport: type[Any]) -> type[Any]:
    """A subclass of a generated gRPC transport whose channels carry OWN_SUBCHANNELS besides the library's options.
    The generated transports build their channel with `type(self).create_channel(..., options=[...])`."""

    class OwnSubchannels(transport):  # type: ignore[misc]
        @classmethod
        def create_channel(cls, *args: Any, **kwargs: Any) -> grpc.Channel:
            kwargs["options"] = [*kwargs.get("options", ()), OWN_SUBCHANNELS]
            return super().create_channel(*args, **kwargs)

    OwnSubchannels.__name__ = OwnSubchannels.__qualname__ = f"{transport.__name__}OwnSubchannels"
    return OwnSubchannels


_FirestoreTransport = with_own_subchannels(FirestoreGrpcTransport)


class OwnChannelClient(firestore.Client):
    """`google.cloud.firestore.Client` whose channel (to Firestore or to the emulator) has its own subchannels.
    It overrides the two places where the pinned library (google-cloud-firestore 2.34) builds its channel."""

    @property
    def _firestore_api(self) -> Any:
        return self._firestore_api_helper(_FirestoreTransport, firestore_gapic.FirestoreClient, firestore_gapic)

    def _emulator_channel(self, transport: Any) -> grpc.Channel:
        # the library's own emulator channel (an insecure channel, the emulator's "owner" bearer token, no message
        # size limits: base_client._emulator_channel), with OWN_SUBCHANNELS added
        token = getattr(self._credentials, "id_token", None) or "owner"
        options = [("Authorization", f"Bearer {token}"), ("grpc.max_send_message_length", -1),
                   ("grpc.max_receive_message_length", -1), OWN_SUBCHANNELS]
        return grpc.insecure_channel(self._emulator_host, options=options)


def firestore_client(project: str | None) -> firestore.Client:
    return OwnChannelClient(project=project)
