"""Operator commands sent twice (D19): an `Idempotency-Key` makes a repeat answer the first outcome.

The dashboard sends one key per click and the same key again when it re-sends that click (a lost answer, a 503
`OUTCOME_UNKNOWN`). The key's record is written in the same commit as the command's decision, a refusal included,
so a repeat of the same route and key within `KEEP_S` finds it and answers what the first request was answered,
changing nothing. Two requests racing with one key: the record is read by both, so only one commit can create it
and the other re-reads and answers the first outcome.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

KEEP_S = 24 * 3600.0
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str   # the route as requested: method and path ("POST /api/orders/ES-1/cancel")
    key: str

    @property
    def path(self) -> str:
        """The record's document: the scope and the key hashed (a key may hold any printable character)."""
        digest = hashlib.sha256(f"{self.scope}\n{self.key}".encode()).hexdigest()[:40]
        return f"idempotency/{digest}"


def parse_key(raw: str | None, scope: str) -> IdempotencyKey | None:
    """The header's value checked, or None without one; a bad value is a ValueError naming the header."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not raw.isprintable() or not raw.isascii() or raw != raw.strip():
        raise ValueError(f"Idempotency-Key: expected 1 to {MAX_KEY_LENGTH} printable ASCII characters "
                         f"without surrounding spaces")
    return IdempotencyKey(scope, raw)


def first_answer(record: Mapping[str, Any] | None, now: float) -> Mapping[str, Any] | None:
    """The stored first outcome, while it is kept; an older record (the TTL policy deletes it in its own time)
    counts as none."""
    if record is None or not now - float(record.get("at", 0.0)) < KEEP_S:
        return None
    return record


def record(key: IdempotencyKey, now: float, request_id: str, status: int, code: str | None,
           body: Mapping[str, Any], with_state: bool) -> dict[str, Any]:
    """What a repeat answers: the status, code and body (and whether the answer carried the state view, which a
    repeat computes afresh). The key itself is not kept, only its hash in the document's name. The body is kept as
    JSON text: an answer may hold an array in an array (D22's trading hours), which Firestore cannot store."""
    return {"scope": key.scope, "at": now, "request_id": request_id, "status": status, "code": code,
            "body_json": json.dumps(dict(body), separators=(",", ":")), "with_state": with_state,
            "expire_at": datetime.fromtimestamp(now + KEEP_S, UTC)}


def stored_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """The first answer's body: JSON text (`body_json`), or a record written before it as a map (`body`)."""
    raw = record.get("body_json")
    if isinstance(raw, str):
        loaded = json.loads(raw)
        return dict(loaded) if isinstance(loaded, dict) else {}
    return dict(record.get("body") or {})
