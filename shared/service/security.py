"""Security facts kept in the store (issue 15): the password mode's session generation and the audit events of
security actions (sign-out everywhere, a secret revealed).

`console/session` holds `{generation, revoked_at}`. A password-mode session cookie names the generation it was
issued under; logout (with a valid session) moves the generation on, which ends every copy of every cookie
issued before, on every instance. Missing document: generation 0.

The events are audit records in `events` like every other (D13: `type`, `ts`, `actor`, the TTL field), with no
`input`: they are not inputs of the trading domain, and replay passes over them.
"""

from __future__ import annotations

from collections.abc import Mapping
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
