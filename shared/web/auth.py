"""Secrets, shared-secret checks and the operator session (D12).

- Every secret comes from the environment with no default: unset or empty refuses the request with 503 and
  logs one line naming the variable (never a value).
- Shared secrets (TradingView, bridge, task callbacks) and the dashboard password are compared in constant
  time.
- The operator session is a signed, expiring cookie `__session` (the only cookie Firebase Hosting forwards):
  HttpOnly, SameSite=Strict, Path=/, Secure except on localhost. It is signed with SESSION_SECRET and bound to
  the current DASHBOARD_PASSWORD, so changing either logs every session out. It also names the session
  generation stored in `console/session` (issue 15): logout moves the generation on, so every copy of every
  cookie issued before is refused on every instance (`shared.service.security.SessionGenerations`).
- An empty DASHBOARD_PASSWORD means "open" only when ALLOW_OPEN_DASHBOARD=1 and LOCAL_DEV=1 (the local stack);
  otherwise login answers 503 telling the operator to configure the password, and no session is accepted.
  ALLOW_OPEN_DASHBOARD=1 without LOCAL_DEV=1 is a deployment misconfiguration: ignored (login required) and
  logged once.
- A deployment chooses one sign-in mode (issue 12): `OPERATOR_AUTH=password` (the default: the above) or
  `OPERATOR_AUTH=firebase` (operator accounts in Firebase Authentication, shared.web.firebase_auth; never open).
  Any other value answers 503. `require_session` returns the `Operator` every audit record names.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Response
from itsdangerous import BadSignature, TimestampSigner
from werkzeug.wrappers import Request

from shared.env import env_count
from shared.errors import BadInput, Refused, Unauthorized, Unavailable, WebError
from shared.logs import annotate, log_json, log_json_once
from shared.web import firebase_auth
from shared.web.firebase_auth import Operator
from shared.web.request import json_body
from shared.web.respond import json_response

if TYPE_CHECKING:
    from shared.service.security import SessionGenerations

SESSION_COOKIE = "__session"
SESSION_SECRET_ENV = "SESSION_SECRET"  # noqa: S105 (a variable name)
SESSION_MAX_AGE_ENV = "SESSION_MAX_AGE_S"
DEFAULT_SESSION_MAX_AGE_S = 12 * 3600
PASSWORD_ENV = "DASHBOARD_PASSWORD"  # noqa: S105 (a variable name)
ALLOW_OPEN_ENV = "ALLOW_OPEN_DASHBOARD"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_SESSION_PREFIX = b"operator:"  # then the session generation the cookie was issued under
# Secret rotation: the previous value of a secret and the end of the window in which it is still accepted.
# The prefix keeps the names ending in SECRET/PASSWORD, so the log and storage scrubbing (shared.logs)
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


# ---- the sign-in mode -----------------------------------------------------------------------

MODE_ENV = "OPERATOR_AUTH"
PASSWORD_MODE, FIREBASE_MODE = "password", "firebase"
# the audit records' operator in the password modes: one shared identity, so the record says which mode it was
PASSWORD_OPERATOR = Operator(uid="password", email=None, mode=PASSWORD_MODE)
OPEN_OPERATOR = Operator(uid="open", email=None, mode="open")


def _mode_setting() -> str:
    return os.environ.get(MODE_ENV, "").strip().lower()


def auth_mode() -> str:
    """`password` (OPERATOR_AUTH unset or `password`) or `firebase`; anything else is a typo that must not
    silently pick a mode: Unavailable (503) with one log line."""
    raw = _mode_setting()
    if raw in ("", PASSWORD_MODE):
        return PASSWORD_MODE
    if raw == FIREBASE_MODE:
        return FIREBASE_MODE
    problem = f"{MODE_ENV} must be '{FIREBASE_MODE}' or '{PASSWORD_MODE}'"
    log_json("ERROR", problem, config_invalid=MODE_ENV)
    raise Unavailable(f"server misconfigured: {problem}")


# ---- operator password ----------------------------------------------------------------------


def open_dashboard() -> bool:
    """True when the dashboard needs no password: DASHBOARD_PASSWORD empty AND ALLOW_OPEN_DASHBOARD=1 AND
    LOCAL_DEV=1, in the password mode only (Firebase accounts are never open). The flag without LOCAL_DEV is
    refused, not honoured: an open dashboard in the cloud would let anyone trade, so the server fails closed
    and says so once per process."""
    if os.environ.get(ALLOW_OPEN_ENV, "") != "1":
        return False
    if os.environ.get("LOCAL_DEV", "") != "1":
        log_json_once(ALLOW_OPEN_ENV, "ERROR", f"{ALLOW_OPEN_ENV}=1 is ignored without LOCAL_DEV=1 (the local stack "
                      f"only): the dashboard stays closed and operators must sign in; remove {ALLOW_OPEN_ENV} from "
                      "this deployment", config_invalid=ALLOW_OPEN_ENV)
        return False
    return _mode_setting() in ("", PASSWORD_MODE) and not os.environ.get(PASSWORD_ENV, "")


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
            f"Operator sign-in not configured: set {PASSWORD_ENV}, or {MODE_ENV}={FIREBASE_MODE} for operator "
            f"accounts (or {ALLOW_OPEN_ENV}=1 on a local stack only) to allow operator login"
        )
    check_password_strength()
    if not isinstance(given, str) or not _equal(given, expected):
        raise Unauthorized("Invalid password")


MIN_CLOUD_PASSWORD_CHARS = 12


def check_password_strength() -> None:
    """Outside the local stack (LOCAL_DEV unset) a DASHBOARD_PASSWORD shorter than 12 characters is refused:
    Unavailable (503) on the first login or session check, with one log line saying what to change. The
    orders function also calls this at start-up, so the log says it before anyone tries."""
    password = os.environ.get(PASSWORD_ENV, "")
    if not password or os.environ.get("LOCAL_DEV", "") == "1" or len(password) >= MIN_CLOUD_PASSWORD_CHARS:
        return
    if _mode_setting() == FIREBASE_MODE:  # the password is not used: nothing to refuse or warn about
        return
    problem = (f"{PASSWORD_ENV} is shorter than {MIN_CLOUD_PASSWORD_CHARS} characters: refused outside the "
               f"local stack; set a longer one (a passphrase)")
    log_json("ERROR", problem, config_invalid=PASSWORD_ENV)
    raise Unavailable(f"server misconfigured: {problem}")


# ---- login throttling -----------------------------------------------------------------------


class TooManyAttempts(WebError):
    """Too many wrong passwords lately from this address: HTTP 429 with Retry-After."""

    status = 429
    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, error: str, retry_after_s: float) -> None:
        super().__init__(error)
        self.retry_after_s = max(1, math.ceil(retry_after_s))

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, "code": self.code, "retry_after_s": self.retry_after_s}


class LoginThrottle:
    """Sliding windows of failed logins per client address, in this process's memory.

    At most `per_address` failures from one address within `window_s`; past that, every attempt from that
    address (the right password too) is refused until its oldest failure leaves the window. A success clears
    its address. There is deliberately no overall limit (issue 15): an address that has not failed is never
    refused, so strangers failing on purpose cannot lock the operator out; what they can spend is their own
    addresses' windows. The address is the one the platform vouches for (`client_address`: the hop Google's
    front end appends, not a client-set header), IPv6 grouped by /64 (one subscriber's block), so a guesser
    needs real addresses: at most `per_address` guesses per address (or /64) per window per instance, against a
    passphrase of 12+ characters (`check_password_strength`).

    In memory on purpose: a failed login writes nothing (a 4xx never does). Addresses kept are bounded (the
    oldest forgotten first), so many addresses cannot exhaust memory.

    Settings: LOGIN_MAX_FAILURES_PER_ADDRESS (5), LOGIN_THROTTLE_WINDOW_S (60).
    """

    MAX_ADDRESSES = 10_000

    def __init__(self, per_address: int | None = None, window_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._per_address = per_address
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._by_address: OrderedDict[str, deque[float]] = OrderedDict()

    def _limits(self) -> tuple[int, float]:
        return (self._per_address or env_count("LOGIN_MAX_FAILURES_PER_ADDRESS", 5),
                self._window_s or float(env_count("LOGIN_THROTTLE_WINDOW_S", 60)))

    def check(self, address: str) -> None:
        """Raise TooManyAttempts if `address` failed too often within the window."""
        per_address, window = self._limits()
        now = self._clock()
        with self._lock:
            recent = self._by_address.get(address)
            if recent is None:
                return
            while recent and recent[0] <= now - window:
                recent.popleft()
            if len(recent) >= per_address:
                wait = recent[-per_address] + window - now
                raise TooManyAttempts(f"too many failed logins from this address; retry in {math.ceil(wait)} s",
                                      wait)

    def failed(self, address: str) -> None:
        per_address, _ = self._limits()
        now = self._clock()
        with self._lock:
            times = self._by_address.pop(address, None) or deque()
            times.append(now)
            while len(times) > per_address:  # only the newest `per_address` failures decide anything
                times.popleft()
            self._by_address[address] = times  # most recent last: the oldest address is forgotten first
            while len(self._by_address) > self.MAX_ADDRESSES:
                self._by_address.popitem(last=False)
        annotate(client=address)  # on the request's own log line (one line per request)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._by_address.pop(address, None)

    def reset(self) -> None:
        with self._lock:
            self._by_address.clear()


LOGIN_THROTTLE = LoginThrottle()


def client_address(request: Request) -> str:
    """The address the platform vouches for: the LAST X-Forwarded-For entry, the one Google's front end appends
    for whoever opened the connection to it (every entry before it is whatever the client sent, so the first
    one would let a guesser pick a fresh address per request), else the socket's peer (the local stack). An
    IPv6 address counts as its /64: one subscriber usually holds a whole /64. Through Firebase Hosting the
    connecting hop is Hosting's edge, which many clients may share: see the throttle's notes in docs/api.md."""
    forwarded = (request.headers.get("X-Forwarded-For") or "").rsplit(",", 1)[-1].strip()
    return _address_key(forwarded or request.remote_addr or "unknown")


def _address_key(raw: str) -> str:
    try:
        address = ipaddress.ip_address(raw.strip("[]"))
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _generations() -> SessionGenerations:
    """This instance's memory of the stored session generation (`shared.service.security.SessionGenerations`);
    imported on first use, like the store it reads (cold starts)."""
    from shared.service import security

    return security.SESSION_GENERATIONS


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
    payload = _SESSION_PREFIX + str(_generations().current(fresh=True)).encode("ascii")
    value = _signer(now).sign(payload).decode("ascii")
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


def session_authenticated(request: Request, *, now: float | None = None, fresh: bool = False) -> bool:
    """True in open mode or with a valid, unexpired session cookie of the current session generation (in the
    Firebase mode: a session cookie not revoked, of an account that holds the operator grant). `fresh`: compare
    with the generation as stored now, not as this instance read it lately (`SessionGenerations`).

    With no password configured (and not open) no session is accepted. A missing SESSION_SECRET raises
    Unavailable (503) rather than answering 'no'.
    """
    if auth_mode() == FIREBASE_MODE:
        try:
            firebase_auth.verify_session(request.cookies.get(SESSION_COOKIE))
        except Unavailable:
            raise
        except WebError:  # 401, or 403 without the grant
            return False
        return True
    if open_dashboard():
        return True
    return _password_session(request, now=now, fresh=fresh) is not None


def _password_session(request: Request, *, now: float | None, fresh: bool) -> float | None:
    """The sign-in time of the request's valid password-mode session, or None."""
    if not os.environ.get(PASSWORD_ENV, ""):
        return None
    check_password_strength()
    cookie = request.cookies.get(SESSION_COOKIE)
    signer = _signer(now)  # before the cookie check: a missing key is a 503 for everyone, not a 401
    max_age = session_max_age_s()
    if not cookie:
        return None
    try:
        value, signed_at = signer.unsign(cookie, max_age=max_age, return_timestamp=True)
    except BadSignature:  # includes SignatureExpired
        # A cookie signed before a SESSION_SECRET rotation stays valid while the rotation window is open.
        previous = previous_secret(SESSION_SECRET_ENV, now=now)
        if previous is None:
            return None
        try:
            value, signed_at = _signer(now, previous).unsign(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return None
    # only a valid signature costs a read: a request without a good cookie never reaches the store
    generation = value[len(_SESSION_PREFIX):] if value.startswith(_SESSION_PREFIX) else b""
    if not generation.isdigit():  # e.g. a cookie from before generations: sign in again
        return None
    current = str(_generations().current(fresh=fresh)).encode("ascii")
    return signed_at.timestamp() if hmac.compare_digest(generation, current) else None


def require_session(request: Request, *, now: float | None = None, fresh: bool | None = None) -> Operator:
    """The operator of this request, or raise Unauthorized("Authentication required") unless logged in (or the
    dashboard is open). In the Firebase mode an account without the grant is Refused 403 NOT_AN_OPERATOR.

    `fresh` (default: any method but GET and HEAD) checks the password mode's session generation as stored now,
    so a cookie copied before a logout cannot change anything on any instance (`SessionGenerations`)."""
    if auth_mode() == FIREBASE_MODE:
        return firebase_auth.verify_session(request.cookies.get(SESSION_COOKIE))
    if open_dashboard():
        return OPEN_OPERATOR
    if fresh is None:
        fresh = request.method.upper() not in ("GET", "HEAD")
    signed_in_at = _password_session(request, now=now, fresh=fresh)
    if signed_in_at is None:
        raise Unauthorized("Authentication required")
    return replace(PASSWORD_OPERATOR, signed_in_at=signed_in_at)


REVEAL_MAX_SIGN_IN_AGE_S = 5 * 60


def require_recent_sign_in(operator: Operator, what: str, *, now: float | None = None) -> None:
    """Refuse (403 SIGN_IN_AGAIN) unless `operator` signed in within the last 5 minutes: what showing a secret
    needs (issue 15), so a session cookie that outlived its sign-in (copied, or a desk left signed in) is not
    enough. The open local dashboard has no sign-in to be fresh: allowed."""
    if operator.mode == "open":
        return
    age = (time.time() if now is None else now) - (operator.signed_in_at or 0.0)
    if operator.signed_in_at is None or not 0 <= age <= REVEAL_MAX_SIGN_IN_AGE_S:
        raise Refused(f"{what} needs a fresh sign-in: sign out, sign in again and retry within "
                      f"{REVEAL_MAX_SIGN_IN_AGE_S // 60} minutes", code="SIGN_IN_AGAIN", status=403)


# ---- the three auth routes, ready to mount --------------------------------------------------


def auth_status(request: Request) -> dict[str, Any]:
    """`GET /api/auth/status` body: `{"authenticated": bool, "password_required": bool}`; the Firebase mode adds
    `mode: "firebase"`, the public sign-in config (`firebase`) and the signed-in `operator` (or null), and
    `error` when the account lacks the grant. No `mode` means the password mode."""
    if auth_mode() != FIREBASE_MODE:
        return {"authenticated": session_authenticated(request), "password_required": password_required()}
    config = firebase_auth.public_config()
    body: dict[str, Any] = {"authenticated": False, "password_required": True, "mode": FIREBASE_MODE,
                            "firebase": config, "operator": None}
    if not config["api_key"]:  # the page signs in at Firebase with it: say why it cannot, on the page
        body["error"] = f"Operator sign-in is not configured: {firebase_auth.API_KEY_EMPTY}"
    try:
        operator = firebase_auth.verify_session(request.cookies.get(SESSION_COOKIE))
    except Unavailable:
        raise
    except WebError as exc:
        if exc.status == 403:
            body["error"] = exc.error
        return body
    body.update(authenticated=True, operator={"uid": operator.uid, "email": operator.email})
    return body


def login(request: Request, *, now: float | None = None) -> Response:
    """`POST /api/login {password}` → `{"ok": true}` with a session cookie (none needed in open mode).

    Throttled (`LOGIN_THROTTLE`): too many wrong passwords from one address answer 429 with Retry-After,
    before the password is even compared (the right one included) until the window has passed; another address
    is never refused for them.
    """
    if auth_mode() == FIREBASE_MODE:
        return _firebase_login(request)
    address = client_address(request)
    LOGIN_THROTTLE.check(address)
    try:
        check_password(json_body(request).get("password"))
    except Unauthorized:
        LOGIN_THROTTLE.failed(address)
        raise
    LOGIN_THROTTLE.succeeded(address)
    response = json_response({"ok": True})
    if not open_dashboard():
        issue_session_cookie(response, request, now=now)
    return response


def _firebase_login(request: Request) -> Response:
    """`POST /api/login {id_token}` in the Firebase mode: the Firebase session cookie as `__session`. The page
    signs in at Firebase itself and sends only the ID token; a body carrying a password or email is refused
    with 400 before anything is checked, so no password is ever used (or logged) here. Throttled like the
    password (a refused token counts as a failure)."""
    body = json_body(request)
    sent = [name for name in ("email", "password") if name in body]
    if sent:
        raise BadInput(f"id_token: this deployment signs operators in with their Firebase accounts ({MODE_ENV}="
                       f"{FIREBASE_MODE}): sign in at Firebase Authentication and send only "
                       f'{{"id_token": "..."}}; {" and ".join(sent)} {"are" if len(sent) > 1 else "is"} not '
                       f"accepted here")
    address = client_address(request)
    LOGIN_THROTTLE.check(address)
    try:
        cookie, operator, max_age = firebase_auth.exchange_id_token(body.get("id_token"), session_max_age_s())
    except Unauthorized:
        LOGIN_THROTTLE.failed(address)
        raise
    LOGIN_THROTTLE.succeeded(address)
    log_json("INFO", "operator signed in", operator_uid=operator.uid)
    response = json_response({"ok": True, "operator": {"uid": operator.uid, "email": operator.email}})
    response.set_cookie(SESSION_COOKIE, cookie, max_age=max_age, path="/", secure=not is_local_request(request),
                        httponly=True, samesite="Strict")
    return response


def end_session(request: Request) -> None:
    """Sign out everywhere: in the Firebase mode revoke the signed-in account's sessions; in the password mode
    move the session generation on (`SessionGenerations.revoke`, with an audit event). Either way every copy of
    the cookie, on every device, is refused from then on. Only a valid session can do it: a stranger's logout
    (no cookie, a stale or forged one) ends nothing but its own cookie."""
    if auth_mode() == FIREBASE_MODE:
        operator = firebase_auth.revoke_session(request.cookies.get(SESSION_COOKIE))
        if operator is not None:
            log_json("INFO", "operator signed out; sessions revoked", operator_uid=operator.uid)
        return
    if open_dashboard() or not os.environ.get(PASSWORD_ENV, ""):
        return
    signed_in_at = _password_session(request, now=None, fresh=True)
    if signed_in_at is not None:
        generation = _generations().revoke(PASSWORD_OPERATOR.record())
        log_json("INFO", "operator signed out; every password session ended", session_generation=generation)


def logout(request: Request) -> Response:
    """`POST /api/logout` → `{"ok": true}`, session cookie cleared (and, with Firebase accounts, revoked)."""
    end_session(request)
    response = json_response({"ok": True})
    clear_session_cookie(response, request)
    return response
