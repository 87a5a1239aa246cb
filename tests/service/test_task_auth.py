"""Authentication of timer callbacks: the local shared header, and the cloud's OIDC token (verified offline
against a key of our own served as "Google's certificates"). Every refusal path; never accept by default."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.scheduler import LOCAL_TOKEN_HEADER, TaskAuthError, auth, verify_task_request

URL = "https://timers-abc.a.run.app/"
ACCOUNT = "tasks@prod-x.iam.gserviceaccount.com"
CLOUD = {"TIMERS_URL": URL, "TASKS_SERVICE_ACCOUNT": ACCOUNT}
LOCAL = {"CLOUD_TASKS_EMULATOR_HOST": "127.0.0.1:9022", "TASKS_LOCAL_TOKEN": "s3cret", "TIMERS_URL": URL}


class TestLocal:
    def test_accepts_the_shared_token_in_any_header_case(self) -> None:
        verify_task_request({LOCAL_TOKEN_HEADER: "s3cret"}, LOCAL)
        verify_task_request({"x-local-tasks-token": "s3cret"}, LOCAL)

    def test_reads_os_environ_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in LOCAL.items():
            monkeypatch.setenv(name, value)
        verify_task_request({LOCAL_TOKEN_HEADER: "s3cret"})
        with pytest.raises(TaskAuthError):
            verify_task_request({})

    @pytest.mark.parametrize("headers", [{}, {LOCAL_TOKEN_HEADER: ""}, {LOCAL_TOKEN_HEADER: "s3cre"},
                                         {LOCAL_TOKEN_HEADER: "s3cret "}, {LOCAL_TOKEN_HEADER: "sécret"},
                                         {"Authorization": "Bearer s3cret"}])
    def test_refuses_a_missing_or_wrong_token(self, headers: dict[str, str]) -> None:
        with pytest.raises(TaskAuthError, match=LOCAL_TOKEN_HEADER):
            verify_task_request(headers, LOCAL)

    @pytest.mark.parametrize("token", [None, "", "   "])
    def test_refuses_everything_without_a_configured_token(self, token: str | None) -> None:
        env = {k: v for k, v in LOCAL.items() if k != "TASKS_LOCAL_TOKEN"}
        if token is not None:
            env["TASKS_LOCAL_TOKEN"] = token
        with pytest.raises(TaskAuthError, match="TASKS_LOCAL_TOKEN is not set"):
            verify_task_request({LOCAL_TOKEN_HEADER: token or ""}, env)

    def test_the_local_header_means_nothing_in_the_cloud(self) -> None:
        with pytest.raises(TaskAuthError, match="missing Authorization"):
            verify_task_request({LOCAL_TOKEN_HEADER: "s3cret"}, {**CLOUD, "TASKS_LOCAL_TOKEN": "s3cret"})


class TestCloudRefusals:
    """None of these reach the network: they fail before any certificate is fetched."""

    @pytest.fixture(autouse=True)
    def _no_network(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("no certificate fetch expected")

        monkeypatch.setattr(auth, "_request", auth._CachingRequest(refuse))

    @pytest.mark.parametrize("env", [{}, {"TIMERS_URL": URL}, {"TASKS_SERVICE_ACCOUNT": ACCOUNT},
                                     {"TIMERS_URL": " ", "TASKS_SERVICE_ACCOUNT": ACCOUNT},
                                     {"CLOUD_TASKS_EMULATOR_HOST": "", **CLOUD, "TIMERS_URL": ""}])
    def test_missing_configuration_refuses(self, env: dict[str, str]) -> None:
        with pytest.raises(TaskAuthError, match="not set"):
            verify_task_request({"Authorization": "Bearer a.b.c"}, env)

    @pytest.mark.parametrize(("headers", "reason"), [
        ({}, "missing Authorization"),
        ({"Authorization": ""}, "missing Authorization"),
        ({"Authorization": "Bearer"}, "not 'Bearer <token>'"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "not 'Bearer <token>'"),
        ({"Authorization": "Bearer not-a-jwt"}, "not a JWT"),
        ({"Authorization": "Bearer a.b"}, "not a JWT"),
        ({"Authorization": "Bearer a.b.c.d"}, "not a JWT"),
        ({"Authorization": "Bearer a.b!.c"}, "not a JWT"),
        ({"Authorization": "Bearer " + "a" * 9000 + ".b.c"}, "not a JWT"),
    ])
    def test_malformed_authorization_refuses(self, headers: dict[str, str], reason: str) -> None:
        with pytest.raises(TaskAuthError, match=reason):
            verify_task_request(headers, CLOUD)


@dataclass
class FakeGoogle:
    """Plays Google: signs ID tokens with its own key and serves the matching certificate list."""

    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                    key_size=2048))
    kid: str = "test-kid"
    fetches: int = 0
    down: bool = False

    def certs(self) -> dict[str, str]:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-google")])
        now = dt.datetime.now(dt.UTC)
        day = dt.timedelta(days=1)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(1)
                .not_valid_before(now - day).not_valid_after(now + day).sign(self.key, hashes.SHA256()))
        return {self.kid: cert.public_bytes(serialization.Encoding.PEM).decode()}

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        self.fetches += 1
        if self.down:
            from google.auth.exceptions import TransportError

            raise TransportError("network unreachable")  # type: ignore[no-untyped-call]
        return _Response(200, json.dumps(self.certs()).encode())

    def token(self, **overrides: Any) -> str:
        from google.auth import crypt, jwt

        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": URL, "email": ACCOUNT, "email_verified": True,
                  "sub": "1234", "iat": now, "exp": now + 600, **overrides}
        claims = {k: v for k, v in claims.items() if v is not None}
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        signer = crypt.RSASigner.from_string(pem, self.kid)  # type: ignore[no-untyped-call]
        signed = jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
        return signed.decode() if isinstance(signed, bytes) else signed


@dataclass
class _Response:
    status: int
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    monkeypatch.setattr(auth, "_request", auth._CachingRequest(fake))
    yield fake


class TestCloudOidc:
    def test_accepts_a_token_for_the_service_account_and_audience(self, google: FakeGoogle) -> None:
        verify_task_request({"Authorization": f"Bearer {google.token()}"}, CLOUD)
        verify_task_request({"authorization": f"bearer {google.token()}"}, CLOUD)
        assert google.fetches == 1, "certificates are cached"

    @pytest.mark.parametrize(("claims", "reason"), [
        ({"aud": "https://other.example.com/"}, "rejected"),
        ({"iss": "https://evil.example.com"}, "rejected"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "rejected"),
        ({"email": "someone@prod-x.iam.gserviceaccount.com"}, "not the tasks service account"),
        ({"email": None}, "not the tasks service account"),
        ({"email_verified": False}, "not verified"),
    ])
    def test_refuses_wrong_claims(self, google: FakeGoogle, claims: dict[str, Any], reason: str) -> None:
        with pytest.raises(TaskAuthError, match=reason):
            verify_task_request({"Authorization": f"Bearer {google.token(**claims)}"}, CLOUD)

    def test_the_audience_is_timers_audience_when_set(self, google: FakeGoogle) -> None:
        # Issue 22: tasks go to the cloudfunctions.net TIMERS_URL, their token names the run.app TIMERS_AUDIENCE
        # (the audience Cloud Run's IAM accepts); a token for TIMERS_URL is then refused.
        run_app = "https://timers-123456789012.europe-west1.run.app"
        env = {**CLOUD, "TIMERS_URL": "https://europe-west1-prod-x.cloudfunctions.net/timers",
               "TIMERS_AUDIENCE": run_app}
        verify_task_request({"Authorization": f"Bearer {google.token(aud=run_app)}"}, env)
        with pytest.raises(TaskAuthError, match="rejected"):
            verify_task_request({"Authorization": f"Bearer {google.token(aud=env['TIMERS_URL'])}"}, env)

    def test_refuses_a_token_signed_by_another_key(self, google: FakeGoogle) -> None:
        forged = FakeGoogle(kid=google.kid).token()
        with pytest.raises(TaskAuthError, match="rejected"):
            verify_task_request({"Authorization": f"Bearer {forged}"}, CLOUD)

    def test_refuses_a_tampered_token(self, google: FakeGoogle) -> None:
        header, _, signature = google.token().split(".")
        other_claims = google.token(email="attacker@example.com").split(".")[1]
        with pytest.raises(TaskAuthError, match="rejected"):
            verify_task_request({"Authorization": f"Bearer {header}.{other_claims}.{signature}"}, CLOUD)

    def test_refuses_when_certificates_cannot_be_fetched(self, google: FakeGoogle) -> None:
        google.down = True
        with pytest.raises(TaskAuthError, match="could not fetch"):
            verify_task_request({"Authorization": f"Bearer {google.token()}"}, CLOUD)
