"""Structured logs (one JSON object per line on stdout, the shape Cloud Logging parses) and secret masking: below
the service and the web layers, which both log and mask.

Nothing reaches a log line without going through `redact` (keys that name a secret are dropped) and the
value scrubber (the current value of every secret-like environment variable is replaced, also inside any text
that percent-decodes to it, encoded up to three times), so a secret sent in a body, a query string (under any
parameter name) or an exception message never gets logged. `mask_secrets` is the same scrubbing for what is
stored (D12).

A request's one log line (written by `shared.web.routing`) carries what the code that served it `annotate`d.
"""

from __future__ import annotations

import contextvars
import json
import math
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus

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


def json_safe(value: Any) -> Any:
    """A copy of `value` that JSON can always encode: non-finite numbers become null (as the original answered),
    text that is not valid Unicode has its bad code points escaped, and any other type (a Firestore timestamp, a
    reference, bytes) becomes its text. Stored data written before the input checks, or by hand, may hold any of
    these: a read must still answer."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Mapping):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return json_safe(str(value))


def to_json(body: Any) -> str:
    """Compact JSON text that never raises: the fast path first, `json_safe` only when it is needed."""
    try:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError):
        text = json.dumps(json_safe(body), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text


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


_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Scrub `value` from every later log line of this process, like a secret environment variable's (a
    notification destination's URL once it is read: issue 20). Its credential-looking pieces too: a URL's
    password or token may be logged on its own."""
    if len(value) < _MIN_SCRUB_LEN:
        return
    _registered.add(value)
    rest = value.split("://", 1)[-1]
    _registered.update(p for p in re.split(r"[/:@?&=#]+", rest) if len(p) >= 12)


def _secret_values() -> list[str]:
    """Current values of secret-like environment variables, longest first (read per line: env may change), and
    for a value holding `+` also its form-decoded text (`+` read as a space: what a framework makes of the secret
    sent raw in a query string, e.g. in a 400's "got '...'")."""
    values = {
        v
        for name, v in os.environ.items()
        if name.upper().endswith(_SECRET_ENV_SUFFIXES) and len(v) >= _MIN_SCRUB_LEN
    }
    values |= _registered
    values |= {v.replace("+", " ") for v in values if "+" in v}
    return sorted(values, key=len, reverse=True)


# One piece of a query string or request line: what lies between the separators a URL or a log line uses.
_URL_PIECE = re.compile(r"[^&;?\s\"'<>]+")
_DECODE_ROUNDS = 3  # a value encoded twice or thrice (%252B) is still found


def _decoded_forms(piece: str) -> set[str]:
    """`piece` and what percent-decoding it gives, with `+` kept and read as a space, up to three rounds."""
    forms = {piece}
    for _ in range(_DECODE_ROUNDS):
        more = {decode(form) for form in forms for decode in (unquote, unquote_plus)} - forms
        if not more:
            break
        forms |= more
    return forms


def _holds_secret(piece: str, secrets: list[str]) -> bool:
    return any(s in form for form in _decoded_forms(piece) for s in secrets)


def _mask_encoded(value: str, secrets: list[str]) -> str:
    """Every URL piece (`name=value`, a path, a bare value) that decodes to text holding a secret: its value
    replaced by [REDACTED] (the name kept when the name itself holds none), whatever the parameter's name."""

    def piece(match: re.Match[str]) -> str:
        text = match.group(0)
        if not _holds_secret(text, secrets):
            return text
        name, equals, _ = text.partition("=")
        return f"{name}={REDACTED}" if equals and not _holds_secret(name, secrets) else REDACTED

    return _URL_PIECE.sub(piece, value)


def _scrub_text(value: str, secrets: list[str]) -> str:
    for s in secrets:
        if s in value:
            value = value.replace(s, REDACTED)
    if "%" in value or "+" in value:  # maybe a secret URL-encoded, or sent raw and form-decoded (+ read as space)
        value = _mask_encoded(value, secrets)
    return value


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, Mapping):
        return {str(k): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


def log_json(severity: str, message: str, /, **fields: Any) -> None:
    """Write one structured log line: `{"severity", "message", ...fields}` (redacted and scrubbed)."""
    entry = {**redact(fields), "severity": severity, "message": message}
    entry = _scrub(entry, _secret_values())
    sys.stdout.write(to_json(entry) + "\n")
    sys.stdout.flush()


_logged_once: set[str] = set()


def log_json_once(key: str, severity: str, message: str, /, **fields: Any) -> None:
    """`log_json`, the first time `key` is logged in this process: a setting that stays wrong would otherwise
    write the same line at every request (an unauthenticated route included)."""
    if key in _logged_once:
        return
    _logged_once.add(key)
    log_json(severity, message, **fields)


def mask_secrets(value: Any) -> Any:
    """`value` as it may be stored or logged: keys that name a secret dropped, and every configured secret value
    (any secret-like environment variable) replaced by [REDACTED] wherever it appears in a string (D12: a caller
    that puts a secret in `bar_id`, `owner` or `account` must not get it written to Firestore)."""
    return _scrub(redact(value), _secret_values())


# `name=value` in a query string or request line whose name says secret, password or token (also X-Bridge-Secret)
_SECRET_PARAM = re.compile(r"(?i)((?:^|[?&;\s])[^=&;\s]*(?:secret|password|passwd|token|api_?key)[^=&;\s]*=)[^&;\s\"]*")


def mask_url_secrets(text: str) -> str:
    """A request line or query string fit for an access log: the value of every secret-named parameter and every
    configured secret value replaced by [REDACTED] (the bridge polls with `?secret=` for compatibility)."""
    masked = _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    return str(_scrub(masked, _secret_values()))


# ---- the current request's log line --------------------------------------------------------------------------


@dataclass
class RequestLog:
    """What the request's one log line adds to its route, status and latency (`annotate`)."""

    asset: str | None = None
    outcome: str | None = None
    code: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


_current: contextvars.ContextVar[RequestLog | None] = contextvars.ContextVar("web_log_context", default=None)


@contextmanager
def request_log() -> Iterator[RequestLog]:
    """The annotations of the request served inside this block (the router writes the line from them)."""
    log = RequestLog()
    token = _current.set(log)
    try:
        yield log
    finally:
        _current.reset(token)


def annotate(
    *, asset: str | None = None, outcome: str | None = None, code: str | None = None, **fields: Any
) -> None:
    """Add to the current request's log line (asset, outcome such as "duplicate", reason code, extra fields).

    Outside a dispatched request it does nothing. Fields are redacted before logging.
    """
    log = _current.get()
    if log is None:
        return
    if asset is not None:
        log.asset = asset
    if outcome is not None:
        log.outcome = outcome
    if code is not None:
        log.code = code
    log.fields.update(fields)
