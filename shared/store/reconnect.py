"""A Google API client built at first use and forgotten when its server could not be reached.

A refused connection leaves a client's gRPC channel in reconnect backoff (1 s, growing to 120 s over a long
outage), and every call during the backoff fails at once: a server that came back would be answered with errors
for up to two minutes. So the store and the scheduler forget such a client and build a new one at the next call,
whose channel has connections of its own (shared.store.channels). Light: nothing here imports a Google library
before a client is built or an error is looked at.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

C = TypeVar("C")


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the server could not be reached: ServiceUnavailable, also as the last error of a spent
    retry (RetryError). A server that does not answer in time (frozen) is not unreachable: its channel is fine."""
    from google.api_core import exceptions

    if isinstance(exc, exceptions.RetryError):
        exc = exc.cause
    return isinstance(exc, exceptions.ServiceUnavailable)


class LazyClient(Generic[C]):
    """`get()` builds the client with `build` at the first call and returns that one until `forget()`."""

    def __init__(self, build: Callable[[], C]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self.current: C | None = None

    def get(self) -> C:
        client = self.current
        if client is None:
            with self._lock:
                if self.current is None:
                    self.current = self._build()
                client = self.current
        return client

    def forget(self) -> C | None:
        """Drop the client (calls still holding it finish with it); returns it, for a caller that closes it."""
        with self._lock:
            client, self.current = self.current, None
        return client
