"""The long poll of the pending orders (issue 11): `GET /api/orders/pending?wait=<seconds>`.

A held request first claims exactly as the plain poll does. When that claimed nothing it waits, without reading,
on the process's ONE listener on `orders where status == PENDING` (shared by every held request of the instance,
started on first use, closed after `IDLE_CLOSE_S` without a waiter) and claims again only when the listener
reports pending orders. Claims stay exactly-once because the commit protocol decides them: of several waiting
bridges one commits, the others re-read, find nothing and wait again until their own deadline.

What an idle bridge costs: the claim each held request starts with (one billed read for an empty query; with
wait=25 about two a minute) plus the listener's first snapshot; no read while it waits. If the listener cannot
run (no listener on this store, the stream failed), a held request falls back to claiming every `FALLBACK_S`,
which is the plain poll's rate, and tries to restart the listener each time.

A client that is gone: where the server exposes the connection (`gunicorn.socket`: gunicorn, as functions-framework
serves in the cloud and the local stack does), a held request asks right before every claim, the first included,
and every `GONE_CHECK_S` while it waits; a request whose client has hung up ends without claiming (499, which
nobody reads). The first check matters most: a request that waited for a free thread may find its client gone and
an order pending. What the check can see is the TCP connection to this server: an orderly close or a reset. It
cannot see a client that vanished without either (a dead link looks connected until TCP gives up), nor past a
proxy that keeps its own connection to the server open: whether Cloud Run's front end closes the connection to
the instance when the caller goes is the platform's behaviour, untested here. Without `gunicorn.socket` (a test
client, another WSGI server) the check always says "connected". An order claimed for a client gone unseen, or in
the instant between the last check and the answer, is an unreported claim like any other: its lease runs out and
it turns STALE after 200 s (D9), where the operator sees it and may cancel it.
"""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from shared.env import env_count, env_number
from shared.errors import WebError
from shared.service import Outcome
from shared.store.api import Query
from shared.store.budget import request_budget

MAX_WAIT_S = 50.0           # the contract's bound of `wait`
CAP_ENV = "LONG_POLL_MAX_S"  # the deployment's bound of a hold: below the function's timeout, minus a margin
IDLE_CLOSE_S = 60.0
FALLBACK_S = 1.0
GONE_CHECK_S = 2.0
HELD_ENV = "LONG_POLL_MAX_HELD"  # held requests per process at most: the rest of its threads stay free
DEFAULT_MAX_HELD = 8

PENDING = Query("orders", where=(("status", "==", "PENDING"),))

log = logging.getLogger(__name__)


class Listener(Protocol):
    @property
    def active(self) -> bool: ...

    def close(self) -> None: ...


def max_hold_s() -> float:
    """How long this deployment holds a request at most: LONG_POLL_MAX_S when it is a number in (0, 50], else 50.
    The Terraform sets it below the function's timeout, so a hold always answers before the platform cuts it."""
    return env_number(CAP_ENV, MAX_WAIT_S, lambda value: 0 < value <= MAX_WAIT_S)


def max_held() -> int:
    """How many requests one process holds at once: LONG_POLL_MAX_HELD when a whole number >= 1, else 8. A
    thread that holds a poll serves nothing else, so the bound keeps the others for webhooks and reports."""
    return env_count(HELD_ENV, DEFAULT_MAX_HELD)


class HoldsFull(WebError):
    """This process already holds its bound of polls: 429 with Retry-After at once, nothing read or claimed."""

    status = 429
    code = "TOO_MANY_HELD"
    retry_after_s = 1

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, "code": self.code, "retry_after_s": self.retry_after_s}


def parse_wait(raw: str | None) -> float | None:
    """`wait` of the query string: None when absent, else seconds in [0, 50]; anything else raises ValueError
    with the message the 400 carries."""
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"wait: expected seconds between 0 and {MAX_WAIT_S:g}, got {raw[:40]!r}") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_WAIT_S:
        raise ValueError(f"wait: expected seconds between 0 and {MAX_WAIT_S:g}, got {raw[:40]!r}")
    return value


class PendingWatch:
    """One listener on the pending orders and the condition the held requests of this process wait on."""

    def __init__(self, store: Any, *, idle_close_s: float = IDLE_CLOSE_S) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._idle_close_s = idle_close_s
        self._listener: Listener | None = None
        self._generation = 0
        self._idle_timer: threading.Timer | None = None
        self.version = 0      # bumped by every snapshot of the current listener
        self.pending = 0      # matching documents in its last snapshot
        self.live = False     # the current listener has delivered a snapshot
        self.waiters = 0
        self.started = 0      # listeners started so far (what an idle stretch costs, and the tests)

    # --- the listener ------------------------------------------------------------------------------------------
    def _changed(self, generation: int, count: int) -> None:
        with self._cond:
            if generation != self._generation:
                return  # a late snapshot of a listener that was replaced
            self.version += 1
            self.pending = count
            self.live = True
            self._cond.notify_all()

    def healthy(self) -> bool:
        return self._listener is not None and self._listener.active

    def ensure_listening(self) -> None:
        """Start the listener unless one is running (called under no lock: FakeStore reports synchronously)."""
        with self._cond:
            if self.healthy():
                return
            old, self._listener = self._listener, None
            self._generation += 1
            generation = self._generation
            self.live = False
        if old is not None:
            _close_quietly(old)
        watch = getattr(self._store, "watch", None)
        if watch is None:
            return
        try:
            listener: Listener = watch(PENDING, lambda count: self._changed(generation, count))
        except Exception as exc:  # the held request falls back to claiming every FALLBACK_S
            log.warning("pending-orders listener did not start: %s: %s", type(exc).__name__, exc)
            return
        with self._cond:
            if generation == self._generation and self._listener is None:
                self._listener = listener
                self.started += 1
                self._cond.notify_all()
                return
        _close_quietly(listener)

    def close(self) -> None:
        with self._cond:
            listener, self._listener = self._listener, None
            self._generation += 1
            self.live = False
            self._cond.notify_all()
        if listener is not None:
            _close_quietly(listener)

    def _close_if_idle(self) -> None:
        with self._cond:
            if self.waiters:
                return
        self.close()

    @contextmanager
    def waiting(self, limit: int | None = None) -> Iterator[None]:
        """Registers one held request: the listener runs while any request waits and a while after. With `limit`,
        HoldsFull when that many are held already."""
        with self._cond:
            if limit is not None and self.waiters >= limit:
                raise HoldsFull(f"wait: this server already holds {limit} polls; poll again after "
                                f"{HoldsFull.retry_after_s} s (or without wait)")
            self.waiters += 1
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
        self.ensure_listening()
        try:
            yield
        finally:
            with self._cond:
                self.waiters -= 1
                if self.waiters == 0:
                    self._idle_timer = threading.Timer(self._idle_close_s, self._close_if_idle)
                    self._idle_timer.daemon = True
                    self._idle_timer.start()

    def _moved(self, seen: int) -> Callable[[], bool]:
        return lambda: self.version != seen or not self.healthy()

    # --- one held request --------------------------------------------------------------------------------------
    def hold(self, claim: Callable[[], Outcome], wait_s: float,
             gone: Callable[[], bool] = lambda: False, max_held: int | None = None) -> Outcome | None:
        """Claim now; if nothing was claimed, wait up to `wait_s` for the listener to report pending orders and
        claim again, until something is claimed, the time is up or the client is gone. `gone` is asked right
        before every claim, the first included: None when the client was gone before anything was claimed.
        HoldsFull, before anything is read, when `max_held` requests are held already."""
        deadline = time.monotonic() + wait_s
        with self.waiting(max_held):
            if gone():
                return None
            seen = self.version
            outcome = claim()
            while outcome.decision.ok and not outcome.decision.body.get("orders"):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                with self._cond:
                    healthy = self.healthy()
                    if healthy:
                        woke = self._cond.wait_for(self._moved(seen), min(left, GONE_CHECK_S))
                    else:
                        self._cond.wait(min(left, FALLBACK_S))
                        woke = True
                    version, pending, live = self.version, self.pending, self.live
                if gone():
                    break
                if not woke:
                    continue
                if not healthy:
                    self.ensure_listening()
                elif live and version != seen and pending == 0:
                    seen = version  # a change that left nothing pending (another bridge's claim): no read
                    continue
                seen = version
                if gone():  # restarting the listener took a while: ask again right before the claim
                    break
                with request_budget():  # the storage budget counts from this claim, not from the arrival
                    outcome = claim()
        return outcome


def _close_quietly(listener: Listener) -> None:
    try:
        listener.close()
    except Exception as exc:  # a broken stream may fail to close; it is dropped either way
        log.warning("pending-orders listener did not close cleanly: %s", exc)


_watches: weakref.WeakKeyDictionary[Any, PendingWatch] = weakref.WeakKeyDictionary()
_watches_lock = threading.Lock()


def watch_for(store: Any) -> PendingWatch:
    """The process's PendingWatch of `store` (one per store object: the wiring builds one store per process)."""
    with _watches_lock:
        found = _watches.get(store)
        if found is None:
            found = _watches[store] = PendingWatch(store)
        return found


def client_gone(environ: Mapping[str, Any]) -> Callable[[], bool]:
    """Whether the client hung up, where the server exposes the connection (gunicorn's `gunicorn.socket`):
    readable with nothing to read is an orderly close. Elsewhere (a test client) it never says gone."""
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return lambda: False

    def gone() -> bool:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    return gone
