"""Security facts kept in the store (issue 15): the password mode's session generation and the audit events of
security actions (sign-out everywhere, a secret revealed).

`console/session` holds `{generation, revoked_at}`. A password-mode session cookie names the generation it was
issued under; logout (with a valid session) moves the generation on, which ends every copy of every cookie
issued before, on every instance. Missing document: generation 0. Each instance remembers it briefly
(`SESSION_GENERATIONS`); `shared.web.auth` signs and checks the cookies with it.

The events are audit records in `events` like every other (D13: `type`, `ts`, `actor`, the TTL field), with no
`input`: they are not inputs of the trading domain, and replay passes over them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.service import Services, _expire_at, commit_sequence, new_request_id
from shared.store.api import Plan, Reads, Store, Write
from shared.store.documents import SESSION_PATH, event_path

SESSIONS_REVOKED = "sessions_revoked"
SECRET_REVEALED = "secret_revealed"  # noqa: S105 (an event type)


def generation(data: Mapping[str, Any] | None) -> int:
    """The generation a stored `console/session` holds; missing, or edited into anything but a whole number
    >= 0, reads as 0 (a read never fails; the next logout writes a good one)."""
    value = (data or {}).get("generation")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def stored_generation(store: Store) -> int:
    """The current session generation: one document read."""
    return generation(store.get([SESSION_PATH]).get(SESSION_PATH))


def keep_generation(store: Store, value: int) -> None:
    """Write `value` back as the generation (the local stack's wipe, `/_dev/reset`, keeps ended sessions ended)."""
    store.transact([SESSION_PATH], lambda _reads: Plan([Write(SESSION_PATH, "set", {"generation": value})], None))


def security_event(services: Services, kind: str, actor: Mapping[str, Any], now: float, request_id: str,
                   **detail: Any) -> dict[str, Any]:
    """An audit record of a security action, shaped like the domain's so the Log tab and `/api/logs` filters
    (`type`, `asset`, `actor.uid`/`actor.email`, newest commit first by `seq`) read it like any other."""
    return {"request_id": request_id, "ts": now, "type": kind, "asset": None, "assets": [], "status": 200,
            "code": None, "duplicate": False, "decisions": [], "detail": detail, "actor": dict(actor),
            "revs": {}, "read_revs": {}, "expire_at": _expire_at(now, services.config), "seq": commit_sequence()}


def revoke_sessions(services: Services, actor: Mapping[str, Any]) -> int:
    """Logout: the next generation, committed with its audit event in one batch (1 read, 2 writes). Returns the
    new generation; every cookie of an older one is refused from now on."""
    now, request_id = services.clock(), new_request_id()

    def plan(reads: Reads) -> Plan[int]:
        new = generation(reads.get(SESSION_PATH)) + 1
        record = security_event(services, SESSIONS_REVOKED, actor, now, request_id, generation=new)
        return Plan([Write(SESSION_PATH, "set", {"generation": new, "revoked_at": now}),
                     Write(event_path(request_id), "create", record)], new)

    return services.store.transact([SESSION_PATH], plan)


def record_security_event(services: Services, kind: str, actor: Mapping[str, Any], **detail: Any) -> None:
    """Append one security audit event (1 write, no read)."""
    now, request_id = services.clock(), new_request_id()
    record = security_event(services, kind, actor, now, request_id, **detail)
    services.store.transact([], lambda _reads: Plan([Write(event_path(request_id), "create", record)], None))


class SessionGenerations:
    """The stored session generation, with a short per-instance memory so the 1 s dashboard poll does not read
    it every time.

    - A state-changing request (anything but GET/HEAD), the secret's reveal, login and logout read it from the
      store every time (`fresh=True`): a cookie copied before a logout can never act again, on any instance.
    - A read (GET) trusts what this instance read within the last `ttl_s` (GENERATION_CACHE_S, 5 s): after a
      logout on another instance a copied cookie may still *read* the state there for at most that long.
    Cost per operator request: a GET 0 reads (one per `ttl_s` per instance), any other request 1 read.
    The instance that handled the logout knows the new generation at once."""

    def __init__(self, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 store: Callable[[], Store] | None = None) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._store = store
        self._lock = threading.Lock()
        self._known: tuple[int, float] | None = None  # (generation, when read)

    def _services(self) -> Services:
        from shared.service.wiring import services  # here: the store is wired on first use (cold starts)

        return services()

    def _read(self) -> int:
        return stored_generation(self._store() if self._store is not None else self._services().store)

    def current(self, *, fresh: bool) -> int:
        now = self._clock()
        with self._lock:
            known = self._known
        if not fresh and known is not None and now - known[1] < self._ttl_s:
            return known[0]
        generation = self._read()
        with self._lock:
            self._known = (generation, now)
        return generation

    def revoke(self, actor: Mapping[str, Any]) -> int:
        """Move the generation on (with its audit event naming `actor`): every cookie issued before is refused from
        now on."""
        generation = revoke_sessions(self._services(), actor)
        with self._lock:
            self._known = (generation, self._clock())
        return generation

    def forget(self) -> None:
        with self._lock:
            self._known = None


SESSION_GENERATIONS = SessionGenerations()
