"""Authentication of timer callbacks. Fails closed: a missing setting refuses every request.

- Local stack (CLOUD_TASKS_EMULATOR_HOST set): the emulator cannot mint OIDC tokens, so the scheduler adds the
  header `X-Local-Tasks-Token: <TASKS_LOCAL_TOKEN>` and this checks it in constant time. Without
  TASKS_LOCAL_TOKEN nothing is accepted.
- Cloud (CLOUD_TASKS_EMULATOR_HOST unset): `Authorization: Bearer <Google-signed ID token>` whose audience is
  TIMERS_AUDIENCE (else TIMERS_URL) and whose verified email is TASKS_SERVICE_ACCOUNT. The local header is ignored
  there.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.scheduler.config import (
    EMULATOR_HOST,
    LOCAL_TOKEN,
    LOCAL_TOKEN_HEADER,
    SERVICE_ACCOUNT,
    TIMERS_AUDIENCE,
    TIMERS_URL,
)
from shared.scheduler.errors import TaskAuthError

_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_MAX_TOKEN_CHARS = 8192
CLOCK_SKEW_S = 10
CERTS_TIMEOUT_S = 2.0
CERTS_CACHE_S = 300.0  # Google publishes new signing keys well before using them


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts as well as Werkzeug's headers."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, found in headers.items():
        if key.lower() == wanted:
            return found
    return None


def _same(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())


class _CachingRequest:
    """A google.auth transport request that caches successful GETs (the certificate list) for a while.

    Without it every callback would fetch Google's certificates again.
    """

    def __init__(self, inner: Callable[..., Any], ttl_s: float = CERTS_CACHE_S) -> None:
        self._inner = inner
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: float | None = None, **kwargs: Any) -> Any:
        if method != "GET" or body is not None:
            return self._inner(url, method=method, body=body, headers=headers,
                               timeout=timeout or CERTS_TIMEOUT_S, **kwargs)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(url)
        if hit is not None and hit[0] > now:
            return hit[1]
        response = self._inner(url, method="GET", headers=headers, timeout=timeout or CERTS_TIMEOUT_S,
                               **kwargs)
        if response.status == 200:
            with self._lock:
                self._cache[url] = (now + self._ttl_s, response)
        return response


_request: _CachingRequest | None = None
_request_lock = threading.Lock()


def _default_transport() -> Callable[..., Any]:
    import google.auth.transport.requests

    return google.auth.transport.requests.Request()


def _http_request() -> _CachingRequest:
    global _request
    with _request_lock:
        if _request is None:
            _request = _CachingRequest(_default_transport())
        return _request


def verify_task_request(headers: Mapping[str, str], env: Mapping[str, str] | None = None) -> None:
    """Return if the request comes from our Cloud Tasks queue (or the local emulator); else TaskAuthError."""
    env = os.environ if env is None else env
    if env.get(EMULATOR_HOST, "").strip():
        _verify_local(headers, env)
    else:
        _verify_oidc(headers, env)


def _verify_local(headers: Mapping[str, str], env: Mapping[str, str]) -> None:
    expected = env.get(LOCAL_TOKEN, "").strip()
    if not expected:
        raise TaskAuthError(f"{LOCAL_TOKEN} is not set: local timer callbacks cannot be authenticated")
    given = _header(headers, LOCAL_TOKEN_HEADER)
    if not given:
        raise TaskAuthError(f"missing {LOCAL_TOKEN_HEADER} header")
    if not _same(given, expected):
        raise TaskAuthError(f"wrong {LOCAL_TOKEN_HEADER} header")


def _verify_oidc(headers: Mapping[str, str], env: Mapping[str, str]) -> None:
    audience = env.get(TIMERS_AUDIENCE, "").strip() or env.get(TIMERS_URL, "").strip()
    account = env.get(SERVICE_ACCOUNT, "").strip()
    if not audience or not account:
        missing = [name for name, value in ((TIMERS_URL, audience), (SERVICE_ACCOUNT, account)) if not value]
        raise TaskAuthError(f"{' and '.join(missing)} not set: timer callbacks cannot be authenticated")
    authorization = _header(headers, "Authorization")
    if not authorization:
        raise TaskAuthError("missing Authorization header (expected the Cloud Tasks OIDC token)")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TaskAuthError("Authorization header is not 'Bearer <token>'")
    if len(token) > _MAX_TOKEN_CHARS or not _JWT_SHAPE.fullmatch(token):
        raise TaskAuthError("Authorization bearer token is not a JWT")

    from google.auth import exceptions as auth_exceptions
    from google.oauth2 import id_token

    try:
        claims = id_token.verify_oauth2_token(  # type: ignore[no-untyped-call]
            token, _http_request(), audience=audience, clock_skew_in_seconds=CLOCK_SKEW_S,
        )
    except auth_exceptions.TransportError as exc:
        raise TaskAuthError(f"could not fetch Google's token certificates: {exc}") from exc
    except (ValueError, auth_exceptions.GoogleAuthError) as exc:
        raise TaskAuthError(f"OIDC token rejected: {exc}") from exc
    email = claims.get("email")
    if not isinstance(email, str) or not _same(email, account):
        raise TaskAuthError(f"OIDC token is for {email!r}, not the tasks service account")
    if claims.get("email_verified") is not True:
        raise TaskAuthError("OIDC token email is not verified")
