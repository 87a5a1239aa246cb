"""A local stand-in for Identity Platform's TOTP second factor, for the browser tests (issue 22 item 9).

The Firebase Authentication emulator (firebase-tools 15.34.2, as pinned in package.json) implements multi-factor
sign-in for SMS only: `v2/accounts/mfaEnrollment:start` with `totpEnrollmentInfo` answers 400 "Missing
phoneEnrollmentInfo", `mfaEnrollment:finalize` and `mfaSignIn:finalize` with `totpVerificationInfo` 400 "Missing
phoneVerificationInfo" / "MFA provider not supported", and its admin API cannot store a TOTP factor ("INVALID_MFA_
PHONE_NUMBER"); it does accept and store the project's TOTP provider config. So this server sits between the login
page and the emulator (the page is pointed at it by FIREBASE_AUTH_PAGE_HOST, shared/web/firebase_auth.py) and
implements exactly the calls the page makes, with the request and answer shapes of Identity Platform's REST
reference:

- `POST /identitytoolkit.googleapis.com/v1/accounts:signInWithPassword`: passed to the emulator (the password is
  checked there); for an account enrolled here the ID token is held back and the answer is
  `{mfaPendingCredential, mfaInfo: [{mfaEnrollmentId, displayName, enrolledAt, totpInfo: {}}]}`;
- `POST .../v2/accounts/mfaSignIn:finalize` `{mfaPendingCredential, mfaEnrollmentId, totpVerificationInfo:
  {verificationCode}}` → `{idToken, refreshToken}`;
- `POST .../v2/accounts/mfaEnrollment:start` `{idToken, totpEnrollmentInfo: {}}` → `{totpSessionInfo:
  {sharedSecretKey, verificationCodeLength, hashingAlgorithm, periodSec, sessionInfo, finalizeEnrollmentTime}}`;
- `POST .../v2/accounts/mfaEnrollment:finalize` `{idToken, displayName, totpVerificationInfo: {sessionInfo,
  verificationCode}}` → `{idToken, refreshToken}`.

Codes are checked for real (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits, one step either side like Terraform's
`adjacent_intervals = 1`). The ID tokens it answers are the emulator's own (unsigned, like every emulator token),
re-issued with `firebase.sign_in_second_factor: "totp"` and `second_factor_identifier`, so the emulator and
firebase-admin accept them as theirs (the emulator's session cookie copies the claims). Refusals use Identity
Platform's error codes: INVALID_CODE (wrong code), INVALID_MFA_PENDING_CREDENTIAL (unknown or expired pending
credential), INVALID_SESSION_INFO, UNVERIFIED_EMAIL, SECOND_FACTOR_EXISTS, INVALID_ID_TOKEN.

Nothing is logged: no request line, no body, no shared secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

PREFIX = "/identitytoolkit.googleapis.com"
PERIOD_S = 30
DIGITS = 6
ADJACENT_INTERVALS = 1
PENDING_TTL_S = 300  # Identity Platform's pending credential lives a few minutes
ENROLMENT_TTL_S = 600


def totp(secret_b32: str, at: float | None = None, step_offset: int = 0) -> str:
    """The RFC 6238 code of a base32 secret at `at` (default now), `step_offset` steps away."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // PERIOD_S) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def _code_ok(secret_b32: str, code: object) -> bool:
    if not isinstance(code, str) or len(code) != DIGITS or not code.isdigit():
        return False
    now = time.time()
    return any(hmac.compare_digest(totp(secret_b32, now, step), code)
               for step in range(-ADJACENT_INTERVALS, ADJACENT_INTERVALS + 1))


def _b64(part: bytes) -> str:
    return base64.urlsafe_b64encode(part).rstrip(b"=").decode()


def _claims(token: object) -> dict[str, Any] | None:
    """The payload of an (unsigned) emulator token, or None."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _with_second_factor(claims: dict[str, Any], enrolment_id: str) -> str:
    """The emulator's token re-issued as Identity Platform issues it after a TOTP step."""
    now = int(time.time())
    body = {**claims, "iat": now, "exp": now + 3600,
            "firebase": {**claims.get("firebase", {}), "sign_in_second_factor": "totp",
                         "second_factor_identifier": enrolment_id}}
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(body).encode())}."


@dataclass
class Enrolment:
    enrolment_id: str
    secret: str = field(repr=False)
    display_name: str
    enrolled_at: str


@dataclass
class Pending:
    claims: dict[str, Any] = field(repr=False)
    expires: float


@dataclass
class Started:
    uid: str
    secret: str = field(repr=False)
    expires: float


class Refusal(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class MfaStandIn:
    """`with MfaStandIn(emulator_address, project) as standin:` serves on `standin.address` (host:port)."""

    def __init__(self, emulator: str, project: str, host: str = "127.0.0.1") -> None:
        self.emulator = emulator
        self.project = project
        self.enrolments: dict[str, Enrolment] = {}  # uid → its TOTP factor
        self.pending: dict[str, Pending] = {}
        self.started: dict[str, Started] = {}
        self.calls: list[str] = []  # the paths called, in order (no bodies)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> MfaStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expire_pending(self) -> None:
        """Every pending second-factor sign-in runs out (what waiting several minutes does)."""
        with self._lock:
            for pending in self.pending.values():
                pending.expires = 0.0

    def remove_factor(self, uid: str) -> None:
        with self._lock:
            self.enrolments.pop(uid, None)

    # ---- the endpoints ------------------------------------------------------------------------------

    def sign_in_with_password(self, body: dict[str, Any], query: str) -> tuple[int, dict[str, Any]]:
        answer = requests.post(f"http://{self.emulator}{PREFIX}/v1/accounts:signInWithPassword?{query}", json=body,
                               timeout=30)
        data: dict[str, Any] = answer.json()
        claims = _claims(data.get("idToken")) if answer.status_code == 200 else None
        enrolment = self.enrolments.get(str(data.get("localId"))) if claims else None
        if claims is None or enrolment is None:
            return answer.status_code, data
        credential = secrets.token_urlsafe(32)
        with self._lock:
            self.pending[credential] = Pending(claims, time.time() + PENDING_TTL_S)
        return 200, {"kind": "identitytoolkit#VerifyPasswordResponse", "localId": data["localId"],
                     "email": data.get("email"), "mfaPendingCredential": credential,
                     "mfaInfo": [{"mfaEnrollmentId": enrolment.enrolment_id, "displayName": enrolment.display_name,
                                  "enrolledAt": enrolment.enrolled_at, "totpInfo": {}}]}

    def mfa_sign_in_finalize(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            pending = self.pending.get(str(body.get("mfaPendingCredential")))
            if pending is None or pending.expires < time.time():
                raise Refusal("INVALID_MFA_PENDING_CREDENTIAL")
            enrolment = self.enrolments.get(str(pending.claims.get("user_id")))
            if enrolment is None or body.get("mfaEnrollmentId") != enrolment.enrolment_id:
                raise Refusal("MFA_ENROLLMENT_NOT_FOUND")
            info = body.get("totpVerificationInfo")
            if not isinstance(info, dict) or not _code_ok(enrolment.secret, info.get("verificationCode")):
                raise Refusal("INVALID_CODE")
            del self.pending[str(body.get("mfaPendingCredential"))]
        return {"idToken": _with_second_factor(pending.claims, enrolment.enrolment_id), "refreshToken": "stand-in"}

    def _signed_in(self, token: object) -> dict[str, Any]:
        """The claims of a valid ID token of an existing account (checked at the emulator)."""
        claims = _claims(token)
        looked_up = requests.post(f"http://{self.emulator}{PREFIX}/v1/accounts:lookup?key=stand-in",
                                  json={"idToken": token}, timeout=30)
        if claims is None or looked_up.status_code != 200 or float(claims.get("exp", 0)) < time.time():
            raise Refusal("INVALID_ID_TOKEN")
        return claims

    def mfa_enrollment_start(self, body: dict[str, Any]) -> dict[str, Any]:
        claims = self._signed_in(body.get("idToken"))
        if not isinstance(body.get("totpEnrollmentInfo"), dict):
            raise Refusal("INVALID_ARGUMENT")
        if claims.get("email_verified") is not True:
            raise Refusal("UNVERIFIED_EMAIL")
        uid = str(claims.get("user_id"))
        if uid in self.enrolments:
            raise Refusal("SECOND_FACTOR_EXISTS")
        secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
        session = secrets.token_urlsafe(32)
        expires = time.time() + ENROLMENT_TTL_S
        with self._lock:
            self.started[session] = Started(uid, secret, expires)
        return {"totpSessionInfo": {
            "sharedSecretKey": secret, "verificationCodeLength": DIGITS, "hashingAlgorithm": "SHA1",
            "periodSec": PERIOD_S, "sessionInfo": session,
            "finalizeEnrollmentTime": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")}}

    def mfa_enrollment_finalize(self, body: dict[str, Any]) -> dict[str, Any]:
        claims = self._signed_in(body.get("idToken"))
        info = body.get("totpVerificationInfo")
        if not isinstance(info, dict):
            raise Refusal("INVALID_ARGUMENT")
        with self._lock:
            started = self.started.get(str(info.get("sessionInfo")))
            if started is None or started.expires < time.time() or started.uid != claims.get("user_id"):
                raise Refusal("INVALID_SESSION_INFO")
            if not _code_ok(started.secret, info.get("verificationCode")):
                raise Refusal("INVALID_CODE")
            del self.started[str(info.get("sessionInfo"))]
            enrolment = Enrolment(secrets.token_urlsafe(21), started.secret, str(body.get("displayName") or ""),
                                  datetime.now(UTC).isoformat().replace("+00:00", "Z"))
            self.enrolments[started.uid] = enrolment
        return {"idToken": _with_second_factor(claims, enrolment.enrolment_id), "refreshToken": "stand-in"}

    # ---- HTTP -----------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return  # nothing logged: bodies carry passwords, codes and secrets

            def _send(self, status: int, body: dict[str, Any] | None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "content-type")
                self.send_header("Access-Control-Allow-Methods", "POST")
                self.send_header("Cache-Control", "no-store")
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:
                self._send(204, None)

            def do_POST(self) -> None:
                path, _, query = self.path.partition("?")
                standin.calls.append(path)
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                    if not isinstance(body, dict):
                        raise Refusal("INVALID_ARGUMENT")
                    if path == f"{PREFIX}/v1/accounts:signInWithPassword":
                        self._send(*standin.sign_in_with_password(body, query))
                        return
                    routes = {"/v2/accounts/mfaSignIn:finalize": standin.mfa_sign_in_finalize,
                              "/v2/accounts/mfaEnrollment:start": standin.mfa_enrollment_start,
                              "/v2/accounts/mfaEnrollment:finalize": standin.mfa_enrollment_finalize}
                    route = routes.get(path.removeprefix(PREFIX))
                    if route is None:
                        self._send(404, {"error": {"code": 404, "message": "NOT_FOUND : not in the stand-in"}})
                        return
                    self._send(200, route(body))
                except Refusal as refusal:
                    self._send(400, {"error": {"code": 400, "message": refusal.code, "status": "INVALID_ARGUMENT"}})
                except (ValueError, requests.RequestException):
                    self._send(400, {"error": {"code": 400, "message": "INVALID_ARGUMENT"}})

        return Handler
