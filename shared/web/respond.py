"""JSON responses and structured logs (one JSON object per line on stdout, the shape Cloud Logging parses).

Nothing reaches a log line without going through `redact` (keys that name a secret are dropped) and the
value scrubber (the current value of every secret-like environment variable is replaced), so a secret sent in
a body, a query string or an exception message never gets logged.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from flask import Response

SENSITIVE_KEYS = frozenset(
    {
        "secret",
        "password",
        "passwd",
        "token",
        "authorization",
        "cookie",
        "set-cookie",
        "__session",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "id_token",
        "x-tasks-secret",
    }
)
# "token" alone is not a suffix: the tempo token is trading state, not a credential.
_SENSITIVE_SUFFIXES = ("secret", "password")
_SECRET_ENV_SUFFIXES = ("SECRET", "PASSWORD", "_TOKEN")
_MIN_SCRUB_LEN = 4
REDACTED = "[REDACTED]"


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response that no cache keeps (state changes every second)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    response = Response(text, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def is_sensitive_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    k = key.strip().lower()
    return k in SENSITIVE_KEYS or k.endswith(_SENSITIVE_SUFFIXES)


def redact(value: Any) -> Any:
    """A copy of `value` without any mapping key that names a secret, at any depth (lists too).

    Use it before anything is logged or stored (D12: secrets never appear in logs or stored payloads).
    """
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items() if not is_sensitive_key(k)}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _secret_values() -> list[str]:
    """Current values of secret-like environment variables, longest first (read per line: env may change)."""
    values = {
        v
        for name, v in os.environ.items()
        if name.upper().endswith(_SECRET_ENV_SUFFIXES) and len(v) >= _MIN_SCRUB_LEN
    }
    return sorted(values, key=len, reverse=True)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {str(k): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


def log_json(severity: str, message: str, /, **fields: Any) -> None:
    """Write one structured log line: `{"severity", "message", ...fields}` (redacted and scrubbed)."""
    entry = {**redact(fields), "severity": severity, "message": message}
    entry = _scrub(entry, _secret_values())
    line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False, default=str)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def severity_for(status: int) -> str:
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARNING"
    return "INFO"


def log_request(
    route: str,
    asset: str | None,
    outcome: str,
    code: str | None,
    latency_ms: float,
    status: int,
    /,
    **fields: Any,
) -> None:
    """The one line logged per request: what was asked, for which asset, how it ended and how long it took."""
    message = f"{route} {status} {outcome}" + (f" {code}" if code else "")
    entry: dict[str, Any] = {
        **fields,
        "route": route,
        "asset": asset,
        "outcome": outcome,
        "code": code,
        "latency_ms": round(latency_ms, 3),
        "status": status,
        "logging.googleapis.com/labels": {"route": route, "outcome": outcome},
    }
    log_json(severity_for(status), message, **entry)
