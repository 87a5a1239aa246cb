"""Secrets, shared-secret checks and the operator session (D12).

- Every secret comes from the environment with no default: unset or empty refuses the request with 503 and
  logs one line naming the variable (never a value).
- Shared secrets (TradingView, bridge, task callbacks) and the dashboard password are compared in constant
  time.
- The operator session is a signed, expiring cookie `__session` (the only cookie Firebase Hosting forwards):
  HttpOnly, SameSite=Strict, Path=/, Secure except on localhost. It is signed with SESSION_SECRET and bound to
  the current DASHBOARD_PASSWORD, so changing either logs every session out.
- An empty DASHBOARD_PASSWORD means "open" only when ALLOW_OPEN_DASHBOARD=1 (the local stack); otherwise login
  answers 503 telling the operator to configure the password, and no session is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from datetime import datetime
from typing import Any

from flask import Response
from itsdangerous import BadSignature, TimestampSigner
from werkzeug.wrappers import Request

from shared.web.errors import Unauthorized, Unavailable
from shared.web.request import json_body
from shared.web.respond import json_response, log_json

SESSION_COOKIE = "__session"
SESSION_SECRET_ENV = "SESSION_SECRET"  # noqa: S105 (a variable name)
SESSION_MAX_AGE_ENV = "SESSION_MAX_AGE_S"
DEFAULT_SESSION_MAX_AGE_S = 12 * 3600
PASSWORD_ENV = "DASHBOARD_PASSWORD"  # noqa: S105 (a variable name)
ALLOW_OPEN_ENV = "ALLOW_OPEN_DASHBOARD"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_SESSION_VALUE = b"operator"
# Secret rotation: the previous value of a secret and the end of the window in which it is still accepted.
# The prefix keeps the names ending in SECRET/PASSWORD, so the log and storage scrubbing (shared.web.respond)
# masks the previous value like the current one.
PREVIOUS_PREFIX = "PREVIOUS_"
UNTIL_SUFFIX = "_UNTIL"
_previous_logged: dict[str, float] = {}


def get_secret(name: str) -> str:
    """The secret in environment variable `name`. Unset or empty: log one line and raise Unavailable (503)."""
    value = os.environ.get(name, "")
    if not value:
        log_json(
            "ERROR",
            f"{name} is not set: requests that need it are refused with 503 until it is configured",
            config_missing=name,
        )
        raise Unavailable(f"server not configured: {name} is not set")
    return value


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def previous_secret(name: str, *, now: float | None = None) -> str | None:
    """The previous value of secret `name` while its rotation window is open, else None.

    Rotation (deploy/README.md): `PREVIOUS_<name>` holds the old value and `PREVIOUS_<name>_UNTIL` the end of
    the window (ISO 8601 with a zone, or epoch seconds). Callers switch to the new value within the window; after
    it the old value is refused even if still mounted. A previous value without a readable end is refused and
    logged: an open-ended window would keep a retired secret alive.
    """
    previous_name = PREVIOUS_PREFIX + name
    value = os.environ.get(previous_name, "")
    if not value:
        return None
    until = _window_end(os.environ.get(previous_name + UNTIL_SUFFIX, ""))
    if until is None:
        log_json(
            "ERROR",
            f"{previous_name} is set without a valid {previous_name}{UNTIL_SUFFIX}: the previous value is refused",
            config_invalid=previous_name + UNTIL_SUFFIX,
        )
        return None
    return value if (time.time() if now is None else now) < until else None


def _window_end(raw: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw) if raw.replace(".", "", 1).isdigit() else _aware(datetime.fromisoformat(raw)).timestamp()
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a rotation window end needs a time zone (e.g. 2026-12-07T12:00:00Z)")
    return moment


def _note_previous_used(name: str) -> None:
    """One log line a minute per secret while callers still send the previous value (the bridge polls each
    second): the operator watches these lines die out before closing the window."""
    now = time.monotonic()
    if now - _previous_logged.get(name, -3600.0) >= 60.0:
        _previous_logged[name] = now
        log_json("WARNING", f"a caller used the previous value of {name}; switch it to the new value",
                 previous_secret_used=name)


def check_shared_secret(given: object, env_name: str, *, now: float | None = None) -> None:
    """Raise Unauthorized("unauthorized") unless `given` equals the secret in `env_name` (constant time), or its
    previous value while the rotation window is open (`previous_secret`).

    A missing configured secret raises Unavailable (503) first: the caller is not at fault.
    """
    expected = get_secret(env_name)
    if not isinstance(given, str) or not given:
        raise Unauthorized("unauthorized")
    if _equal(given, expected):
        return
    previous = previous_secret(env_name, now=now)
    if previous is not None and _equal(given, previous):
        _note_previous_used(env_name)
        return
    raise Unauthorized("unauthorized")


# ---- operator password ----------------------------------------------------------------------


def open_dashboard() -> bool:
    """True when the dashboard needs no password: DASHBOARD_PASSWORD empty AND ALLOW_OPEN_DASHBOARD=1."""
    return not os.environ.get(PASSWORD_ENV, "") and os.environ.get(ALLOW_OPEN_ENV, "") == "1"


def password_required() -> bool:
    """What `/api/auth/status` reports: False only in open mode (an unconfigured password still needs one)."""
    return not open_dashboard()


def check_password(given: object) -> None:
    """Accept the operator's password or raise.

    Open mode accepts anything. No password configured (and not open): Unavailable (503) telling the operator
    to configure it. Wrong or missing password: Unauthorized("Invalid password").
    """
    if open_dashboard():
        return
    expected = os.environ.get(PASSWORD_ENV, "")
    if not expected:
        log_json(
            "ERROR",
            f"{PASSWORD_ENV} is not set: operator login is refused until it is configured",
            config_missing=PASSWORD_ENV,
        )
        raise Unavailable(
            f"Dashboard password not configured: set {PASSWORD_ENV} "
            f"(or {ALLOW_OPEN_ENV}=1 on a local stack only) to allow operator login"
        )
    if not isinstance(given, str) or not _equal(given, expected):
        raise Unauthorized("Invalid password")


# ---- session cookie -------------------------------------------------------------------------


class _ClockSigner(TimestampSigner):
    """A TimestampSigner whose clock can be injected (tests walk time across the expiry)."""

    def __init__(self, secret_key: str, salt: bytes, now: float | None) -> None:
        super().__init__(secret_key, salt=salt)
        self._now = now

    def get_timestamp(self) -> int:
        return int(time.time() if self._now is None else self._now)


def session_max_age_s() -> int:
    """SESSION_MAX_AGE_S (default 12 h). Not a positive integer: Unavailable (a typo is not a setting)."""
    raw = os.environ.get(SESSION_MAX_AGE_ENV, "").strip()
    if not raw:
        return DEFAULT_SESSION_MAX_AGE_S
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        problem = f"{SESSION_MAX_AGE_ENV} must be a positive number of seconds"
        log_json("ERROR", problem, config_invalid=SESSION_MAX_AGE_ENV)
        raise Unavailable(f"server misconfigured: {problem}")
    return value


def _signer(now: float | None, key: str | None = None) -> _ClockSigner:
    key = key or get_secret(SESSION_SECRET_ENV)
    # Binding the signature to the password logs every session out when the password changes; the password
    # only enters through an HMAC, so the cookie reveals nothing about it.
    password = os.environ.get(PASSWORD_ENV, "").encode("utf-8")
    binding = hmac.new(key.encode("utf-8"), b"password:" + password, hashlib.sha256).hexdigest()
    return _ClockSigner(key, salt=b"operatorlock.session." + binding.encode("ascii"), now=now)


def is_local_request(request: Request) -> bool:
    host = request.host
    if host.startswith("["):  # [::1]:8080
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.lower() in _LOCAL_HOSTS


def issue_session_cookie(response: Response, request: Request, *, now: float | None = None) -> None:
    """Set a fresh signed `__session` cookie on `response` (Unavailable if SESSION_SECRET is missing)."""
    max_age = session_max_age_s()
    value = _signer(now).sign(_SESSION_VALUE).decode("ascii")
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        path="/",
        secure=not is_local_request(request),
        httponly=True,
        samesite="Strict",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Expire the `__session` cookie in the browser (same attributes, so the browser matches it)."""
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=not is_local_request(request),
        httponly=True,
        samesite="Strict",
    )


def session_authenticated(request: Request, *, now: float | None = None) -> bool:
    """True in open mode or with a valid, unexpired session cookie.

    With no password configured (and not open) no session is accepted. A missing SESSION_SECRET raises
    Unavailable (503) rather than answering 'no'.
    """
    if open_dashboard():
        return True
    if not os.environ.get(PASSWORD_ENV, ""):
        return False
    cookie = request.cookies.get(SESSION_COOKIE)
    signer = _signer(now)  # before the cookie check: a missing key is a 503 for everyone, not a 401
    max_age = session_max_age_s()
    if not cookie:
        return False
    try:
        value = signer.unsign(cookie, max_age=max_age)
    except BadSignature:  # includes SignatureExpired
        # A cookie signed before a SESSION_SECRET rotation stays valid while the rotation window is open.
        previous = previous_secret(SESSION_SECRET_ENV, now=now)
        if previous is None:
            return False
        try:
            value = _signer(now, previous).unsign(cookie, max_age=max_age)
        except BadSignature:
            return False
    return hmac.compare_digest(value, _SESSION_VALUE)


def require_session(request: Request, *, now: float | None = None) -> None:
    """Raise Unauthorized("Authentication required") unless logged in (or the dashboard is open)."""
    if not session_authenticated(request, now=now):
        raise Unauthorized("Authentication required")


# ---- the three auth routes, ready to mount --------------------------------------------------


def auth_status(request: Request) -> dict[str, Any]:
    """`GET /api/auth/status` body: `{"authenticated": bool, "password_required": bool}`."""
    return {"authenticated": session_authenticated(request), "password_required": password_required()}


def login(request: Request, *, now: float | None = None) -> Response:
    """`POST /api/login {password}` → `{"ok": true}` with a session cookie (none needed in open mode)."""
    check_password(json_body(request).get("password"))
    response = json_response({"ok": True})
    if not open_dashboard():
        issue_session_cookie(response, request, now=now)
    return response


def logout(request: Request) -> Response:
    """`POST /api/logout` → `{"ok": true}`, session cookie cleared."""
    response = json_response({"ok": True})
    clear_session_cookie(response, request)
    return response
