"""Operator accounts in Firebase Authentication (issue 12), the second way to sign in beside the password.

The login page signs in at Firebase itself: it posts email and password to the Identity Toolkit REST sign-in
(`accounts:signInWithPassword`, Google's or the local emulator's; `public_config` is what `GET /api/auth/status`
publishes for it) and sends only the Firebase ID token to `POST /api/login {"id_token"}`, so an operator's
password never reaches our functions. The token must carry the custom claim `operator: true` (set by
`python -m scripts.operators grant EMAIL`); the answer is a Firebase session cookie
(`auth.create_session_cookie`) as `__session`, the pattern Firebase documents for Hosting. Every operator request
verifies that cookie with revocation checked (one Auth lookup), so `POST /api/logout` (`revoke_refresh_tokens`)
and `scripts.operators revoke` take effect on the operator's next request.

Second factor (issue 22): `OPERATOR_MFA` mirrors Terraform's `operator_mfa` (Identity Platform's MFA state:
DISABLED, ENABLED, MANDATORY; TOTP is the one factor offered). With ENABLED, Identity Platform itself holds back
the ID token of an enrolled account until the login page finishes the TOTP step (`mfaSignIn:finalize`); nothing
more is checked here. With MANDATORY this server also requires it: an ID token (and a session cookie) whose
`firebase.sign_in_second_factor` is not "totp" is refused, 403 SECOND_FACTOR_REQUIRED at login (the page then
offers the enrolment with the ID token it holds) and 401 on a session from before MFA was made mandatory.

Settings: `FIREBASE_PROJECT_ID` (default GOOGLE_CLOUD_PROJECT / GCLOUD_PROJECT), `FIREBASE_API_KEY` (public
browser config the page signs in with, not a secret), `FIREBASE_AUTH_EMULATOR_HOST` (local stack only: the
emulator signs nothing, so a deployment with it set would accept forged tokens; it is refused without LOCAL_DEV=1),
`FIREBASE_AUTH_PAGE_HOST` (local stack only, with the emulator: host:port where the login page calls the Identity
Toolkit instead of the emulator itself; the browser tests put a stand-in for the TOTP endpoints there, which the
emulator does not implement), `OPERATOR_MFA` (above; default DISABLED).

firebase-admin is imported on first use: the password mode and the other functions never pay for it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from shared.errors import Refused, Unauthorized, Unavailable
from shared.logs import log_json, log_json_once

EMULATOR_ENV = "FIREBASE_AUTH_EMULATOR_HOST"
API_KEY_ENV = "FIREBASE_API_KEY"
PROJECT_ENV = "FIREBASE_PROJECT_ID"
PAGE_HOST_ENV = "FIREBASE_AUTH_PAGE_HOST"
MFA_ENV = "OPERATOR_MFA"
MFA_STATES = ("DISABLED", "ENABLED", "MANDATORY")
# the second factors this desk accepts where it requires one: the login page does TOTP only
SECOND_FACTORS = frozenset({"totp"})
SECOND_FACTOR_NEEDED = ("This desk requires a second factor: add an authenticator app (TOTP) when you sign in, "
                        "then sign in with its code")
OPERATOR_CLAIM = "operator"
# Firebase's advice for minting session cookies: only from a fresh sign-in, so a leaked old ID token cannot
# be turned into a 12 h session.
MAX_SIGN_IN_AGE_S = 5 * 60
# Firebase bounds a session cookie's life to 5 min .. 14 days.
MIN_COOKIE_S, MAX_COOKIE_S = 5 * 60, 14 * 24 * 3600
API_KEY_EMPTY = f"Firebase sign-in needs the project's web API key: set {API_KEY_ENV}"
NOT_OPERATOR = ("This account is not an operator of this desk: an administrator must grant it "
                "(python -m scripts.operators grant EMAIL), then sign in again")

_lock = threading.Lock()
_app: Any = None


@dataclass(frozen=True)
class Operator:
    """Who made a request: what every audit record of an operator action names."""

    uid: str
    email: str | None
    mode: str = "firebase"
    # when this session's sign-in happened (epoch s; None: unknown or no sign-in): not part of the audit record
    signed_in_at: float | None = field(default=None, compare=False)

    def record(self) -> dict[str, Any]:
        return {"uid": self.uid, "email": self.email, "mode": self.mode}


def project_id() -> str:
    for name in (PROJECT_ENV, "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    problem = f"Firebase sign-in needs a project: set {PROJECT_ENV} (or GOOGLE_CLOUD_PROJECT)"
    log_json("ERROR", problem, config_missing=PROJECT_ENV)
    raise Unavailable(f"server not configured: {problem}")


def emulator_host() -> str | None:
    """The Auth emulator's host:port, or None in the cloud. Set without LOCAL_DEV=1: Unavailable (the emulator
    accepts unsigned tokens, so honouring it in a deployment would let anyone forge an operator)."""
    host = os.environ.get(EMULATOR_ENV, "").strip()
    if not host:
        return None
    if os.environ.get("LOCAL_DEV", "") != "1":
        problem = f"{EMULATOR_ENV} is set outside the local stack: Firebase sign-in is refused"
        log_json("ERROR", problem, config_invalid=EMULATOR_ENV)
        raise Unavailable(f"server misconfigured: {problem}")
    return host


def mfa_state() -> str:
    """OPERATOR_MFA: DISABLED (default), ENABLED or MANDATORY. Anything else is Unavailable (fail closed: a typo
    must not quietly drop a required second factor)."""
    value = os.environ.get(MFA_ENV, "").strip().upper() or "DISABLED"
    if value not in MFA_STATES:
        problem = f"{MFA_ENV} must be one of {', '.join(MFA_STATES)}"
        log_json("ERROR", problem, config_invalid=MFA_ENV)
        raise Unavailable(f"server misconfigured: {problem}")
    return value


def page_host() -> str | None:
    """Where the login page reaches the Identity Toolkit on the local stack: FIREBASE_AUTH_PAGE_HOST when set
    with the emulator and LOCAL_DEV=1 (host:port only), else the emulator itself; None in the cloud."""
    host = emulator_host()
    override = os.environ.get(PAGE_HOST_ENV, "").strip()
    if host and override and re.fullmatch(r"[\w.\-\[\]]+:\d+", override):
        return override
    return host


def second_factor(claims: dict[str, Any]) -> str | None:
    """The second factor a token's sign-in used (`firebase.sign_in_second_factor`), or None."""
    firebase = claims.get("firebase")
    factor = firebase.get("sign_in_second_factor") if isinstance(firebase, dict) else None
    return factor if isinstance(factor, str) and factor else None


def public_config() -> dict[str, Any]:
    """What the login page needs to sign in (all public: a Firebase API key identifies the project, it grants
    nothing by itself): the Identity Toolkit's base URL (the page adds `/v1/accounts:signInWithPassword` and the
    `/v2/accounts/mfa…` paths), the sign-in URL itself, and the MFA state."""
    host = emulator_host()
    shown = page_host()
    base = f"http://{shown}/identitytoolkit.googleapis.com" if shown else "https://identitytoolkit.googleapis.com"
    # the emulator takes any key; a deployment must name its own
    key = os.environ.get(API_KEY_ENV, "").strip() or ("emulator" if host else "")
    if not key:  # logged once: the login page asks on every load, unauthenticated (and shows it every time)
        log_json_once(API_KEY_ENV, "ERROR", f"{API_KEY_EMPTY}: the login page cannot sign operators in",
                      config_missing=API_KEY_ENV)
    return {"project_id": project_id(), "api_key": key or None, "sign_in_url": f"{base}/v1/accounts:signInWithPassword",
            "identity_toolkit_url": base, "emulator": host is not None, "mfa": mfa_state()}


def _auth() -> Any:
    """firebase_admin.auth bound to this project's app (initialised once per process)."""
    global _app
    host = emulator_host()
    project = project_id()
    with _lock:
        import firebase_admin  # here, not at the top: only the Firebase mode pays for the import
        from firebase_admin import auth

        if _app is None:
            if host is not None:
                os.environ[EMULATOR_ENV] = host  # firebase-admin reads it itself
            try:
                _app = firebase_admin.get_app("operatorlock")
            except ValueError:
                _app = firebase_admin.initialize_app(options={"projectId": project}, name="operatorlock")
        return auth


def reset_for_tests() -> None:
    """Forget the app (a test points the process at another emulator)."""
    global _app
    import firebase_admin

    with _lock:
        if _app is not None:
            firebase_admin.delete_app(_app)
            _app = None


def _cookie_lifetime(max_age_s: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(max(max_age_s, MIN_COOKIE_S), MAX_COOKIE_S))


def _operator(claims: dict[str, Any]) -> Operator:
    if claims.get(OPERATOR_CLAIM) is not True:
        raise Refused(NOT_OPERATOR, code="NOT_AN_OPERATOR", status=403)
    email = claims.get("email")
    return Operator(uid=str(claims.get("uid") or claims.get("sub")), email=email if isinstance(email, str) else None)


def _unavailable(exc: BaseException) -> Unavailable:
    log_json("ERROR", f"Firebase Authentication unreachable: {type(exc).__name__}", auth_backend_error=True)
    return Unavailable("Firebase Authentication is unreachable right now; retry")


def exchange_id_token(id_token: object, max_age_s: int) -> tuple[str, Operator, int]:
    """A fresh operator's ID token → (session cookie, operator, cookie lifetime in s).

    Raises Unauthorized for a missing, invalid, expired, revoked or stale token (the text says only what the
    operator can do about it), Refused 403 NOT_AN_OPERATOR without the grant, Unavailable when Auth is down.
    """
    if not isinstance(id_token, str) or not id_token or len(id_token) > 8192:
        raise Unauthorized("id_token: a Firebase ID token from signing in is required")
    auth = _auth()
    from firebase_admin import exceptions

    try:
        claims = auth.verify_id_token(id_token, app=_app, check_revoked=True)
    except (auth.UserDisabledError, auth.RevokedIdTokenError, auth.ExpiredIdTokenError,
            auth.InvalidIdTokenError, ValueError) as exc:
        raise Unauthorized("Sign-in failed or expired: sign in again") from exc
    except auth.CertificateFetchError as exc:
        raise _unavailable(exc) from exc
    except exceptions.FirebaseError as exc:
        raise _unavailable(exc) from exc
    operator = _operator(claims)
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or time.time() - float(auth_time) > MAX_SIGN_IN_AGE_S:
        raise Unauthorized("Sign-in is too old to start a session: sign in again")
    if mfa_state() == "MANDATORY" and second_factor(claims) not in SECOND_FACTORS:
        raise Refused(SECOND_FACTOR_NEEDED, code="SECOND_FACTOR_REQUIRED", status=403)
    lifetime = _cookie_lifetime(max_age_s)
    try:
        cookie = auth.create_session_cookie(id_token, expires_in=lifetime, app=_app)
    except (auth.InvalidIdTokenError, ValueError) as exc:
        raise Unauthorized("Sign-in failed or expired: sign in again") from exc
    except exceptions.FirebaseError as exc:
        raise _unavailable(exc) from exc
    return cookie, operator, int(lifetime.total_seconds())


def verify_session(cookie: str | None) -> Operator:
    """The operator of a session cookie, checked against the account as it is now: Unauthorized if the cookie
    is invalid or expired, its sessions were revoked, or the account is disabled or deleted; Refused 403 if the
    account no longer holds the grant (removed in the console without revoking: the cookie's own copy of the
    claims is as old as the sign-in, so the account record decides)."""
    if not cookie:
        raise Unauthorized("Authentication required")
    auth = _auth()
    from firebase_admin import exceptions

    try:
        # the revocation check is done below on the same account lookup that reads the current grant
        claims = auth.verify_session_cookie(cookie, check_revoked=False, app=_app)
        uid = str(claims.get("uid") or claims.get("sub") or "")
        user = auth.get_user(uid, app=_app)
    except (auth.ExpiredSessionCookieError, auth.InvalidSessionCookieError, auth.UserNotFoundError,
            ValueError) as exc:
        raise Unauthorized("Authentication required") from exc
    except exceptions.FirebaseError as exc:
        raise _unavailable(exc) from exc
    issued = claims.get("iat")
    valid_after_ms = user.tokens_valid_after_timestamp or 0
    if user.disabled or not isinstance(issued, int | float) or float(issued) * 1000 < valid_after_ms:
        raise Unauthorized("Authentication required")
    if mfa_state() == "MANDATORY" and second_factor(claims) not in SECOND_FACTORS:
        # a session from before the second factor was made mandatory: sign in again (and enrol)
        raise Unauthorized("Authentication required")
    operator = _operator({**(user.custom_claims or {}), "uid": user.uid, "email": user.email})
    auth_time = claims.get("auth_time")
    return replace(operator, signed_in_at=float(auth_time)) if isinstance(auth_time, int | float) else operator


def revoke_session(cookie: str | None) -> Operator | None:
    """Logout: revoke every refresh token and session of the cookie's user (a copied cookie dies too). An
    invalid cookie revokes nothing. Returns the operator signed out, if any."""
    if not cookie:
        return None
    auth = _auth()
    from firebase_admin import exceptions

    try:
        claims = auth.verify_session_cookie(cookie, check_revoked=False, app=_app)
    except (ValueError, exceptions.FirebaseError):
        return None
    # Revocation is stored in whole seconds and a cookie minted in that same second would survive it: wait
    # for the next second (at most once per logout, only right after a sign-in).
    issued = claims.get("iat")
    if isinstance(issued, int | float):
        wait = float(issued) + 1.05 - time.time()
        if 0 < wait <= 1.05:
            time.sleep(wait)
    try:
        auth.revoke_refresh_tokens(str(claims.get("uid") or claims.get("sub")), app=_app)
    except auth.UserNotFoundError:
        return None
    except exceptions.FirebaseError as exc:
        raise _unavailable(exc) from exc
    email = claims.get("email")
    return Operator(uid=str(claims.get("uid") or claims.get("sub")), email=email if isinstance(email, str) else None)
