"""Issue 12 without an emulator: choosing the sign-in mode fails closed, the Firebase mode is never open,
takes only an ID token (never a password) and refuses the emulator outside the local stack, the open dashboard
needs LOCAL_DEV=1, the password modes name their operator, and the audit record carries the actor the shell
passes to execute. (The Firebase mode against the real Auth emulator: tests/emulator/test_operator_accounts.py;
the login page in Chromium: tests/browser/test_operator_sign_in.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Request
from werkzeug.test import EnvironBuilder

from shared import logs
from shared.domain import default_config
from shared.domain.inputs import SetEnv
from shared.errors import BadInput, Unauthorized, Unavailable
from shared.scheduler import FakeScheduler
from shared.service import Services, execute
from shared.store.documents import event_path
from shared.store.fake import FakeStore
from shared.web import auth, firebase_auth
from shared.web.errors import error_response


def request(body: dict[str, Any] | None = None, cookie: str | None = None) -> Request:
    builder = EnvironBuilder(path="/api/login", method="POST", base_url="https://ops.example.com",
                             data=json.dumps(body or {}), content_type="application/json",
                             headers=[("Cookie", f"__session={cookie}")] if cookie else [])
    return Request(builder.get_environ())


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPERATOR_AUTH", "DASHBOARD_PASSWORD", "ALLOW_OPEN_DASHBOARD", "LOCAL_DEV",
                 "FIREBASE_AUTH_EMULATOR_HOST", "FIREBASE_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
                 "FIREBASE_API_KEY", "OPERATOR_MFA", "FIREBASE_AUTH_PAGE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SESSION_SECRET", "s" * 32)
    auth.LOGIN_THROTTLE.reset()


@pytest.mark.parametrize("value", ["firebase ", "FIREBASE", "Password", ""])
def test_mode_setting_is_case_and_space_tolerant(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", value)
    assert auth.auth_mode() == ("firebase" if "fire" in value.lower() else "password")


@pytest.mark.parametrize("value", ["firbase", "open", "none", "google"])
def test_an_unknown_mode_is_503_everywhere_never_a_guess(monkeypatch: pytest.MonkeyPatch, value: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", value)
    monkeypatch.setenv("DASHBOARD_PASSWORD", "a-long-enough-password")
    for call in (lambda: auth.login(request({"password": "a-long-enough-password"})),
                 lambda: auth.require_session(request()), lambda: auth.auth_status(request())):
        with pytest.raises(Unavailable, match="OPERATOR_AUTH must be"):
            call()
    assert '"config_invalid":"OPERATOR_AUTH"' in capsys.readouterr().out.replace(" ", "")


def test_nothing_configured_is_503_naming_both_modes() -> None:
    with pytest.raises(Unavailable) as info:
        auth.login(request({"password": "x"}))
    assert error_response(info.value)[1] == 503
    assert "DASHBOARD_PASSWORD" in info.value.error and "OPERATOR_AUTH=firebase" in info.value.error


def test_firebase_mode_is_never_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
    monkeypatch.setenv("LOCAL_DEV", "1")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    assert auth.open_dashboard() is False and auth.password_required() is True
    with pytest.raises(Unauthorized):
        auth.require_session(request())
    status = auth.auth_status(request())
    assert status["authenticated"] is False and status["mode"] == "firebase" and status["operator"] is None


def test_firebase_mode_without_a_project_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    with pytest.raises(Unavailable, match="FIREBASE_PROJECT_ID"):
        auth.auth_status(request())


def test_the_emulator_is_refused_outside_the_local_stack(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The emulator signs nothing: honouring it in a deployment would accept a forged operator."""
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:1")
    with pytest.raises(Unavailable, match="outside the local stack"):
        auth.require_session(request(cookie="eyJhbGciOiJub25lIn0.e30."))
    with pytest.raises(Unavailable):
        auth.auth_status(request())
    with pytest.raises(Unavailable):
        auth.login(request({"id_token": "eyJhbGciOiJub25lIn0.e30."}))
    assert "FIREBASE_AUTH_EMULATOR_HOST" in capsys.readouterr().out


@pytest.mark.parametrize("body", [{"password": "whatever"}, {"email": "a@b.test", "password": "pw"},
                                  {"email": "a@b.test"}, {"id_token": "t", "password": "pw"}])
def test_firebase_mode_takes_no_password_400_naming_what_to_send(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], body: dict[str, Any]) -> None:
    """The page signs in at Firebase itself: a password (or email) posted here is refused before anything is
    checked, never forwarded, logged or counted, and the answer says to send the ID token."""
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "1")

    def no_exchange(*_args: object) -> None:
        raise AssertionError("a body with a password reached the token exchange")

    monkeypatch.setattr(auth.firebase_auth, "exchange_id_token", no_exchange)
    for _ in range(3):  # not throttled: nothing was tried
        with pytest.raises(BadInput) as info:
            auth.login(request(body))
        assert info.value.error.startswith("id_token:") and '{"id_token": "..."}' in info.value.error
        assert error_response(info.value)[1] == 400
    assert "pw" not in capsys.readouterr().out and "whatever" not in info.value.error


def test_failed_id_token_exchanges_are_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 7's throttle holds for the token exchange: past the limit even a good token is refused (429)."""
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    exchanged: list[object] = []

    def exchange(token: object, _max_age: int) -> tuple[str, Any, int]:
        exchanged.append(token)
        if token != "good":
            raise Unauthorized("Sign-in failed or expired: sign in again")
        return "cookie", auth.Operator(uid="u1", email="a@b.test"), 3600

    monkeypatch.setattr(auth.firebase_auth, "exchange_id_token", exchange)
    assert auth.login(request({"id_token": "good"})).status_code == 200
    for _ in range(3):
        with pytest.raises(Unauthorized):
            auth.login(request({"id_token": "forged"}))
    with pytest.raises(auth.TooManyAttempts) as info:
        auth.login(request({"id_token": "good"}))
    assert error_response(info.value)[1] == 429
    assert exchanged == ["good", "forged", "forged", "forged"], "the throttled attempt was not even tried"


def test_firebase_mode_without_an_api_key_in_the_cloud_says_so_on_the_page(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setattr(logs, "_logged_once", set())
    for _ in range(3):  # the page asks on every load: it says so every time, the log once per process
        status = auth.auth_status(request())
        assert status["firebase"]["api_key"] is None and "FIREBASE_API_KEY" in status["error"]
    assert capsys.readouterr().out.replace(" ", "").count('"config_missing":"FIREBASE_API_KEY"') == 1
    monkeypatch.setenv("FIREBASE_API_KEY", "AIza-public-web-key")
    status = auth.auth_status(request())
    assert status["firebase"]["api_key"] == "AIza-public-web-key" and "error" not in status


def test_the_cloud_sign_in_url_is_the_origin_the_csp_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page posts to the published sign-in URL: firebase.json's connect-src must allow exactly its origin."""
    from pathlib import Path
    from urllib.parse import urlsplit

    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setenv("FIREBASE_API_KEY", "k")
    url = urlsplit(firebase_auth.public_config()["sign_in_url"])
    hosting = json.loads((Path(__file__).resolve().parents[2] / "firebase.json").read_text())["hosting"]
    policy = next(h["value"] for rule in hosting["headers"] for h in rule["headers"]
                  if h["key"] == "Content-Security-Policy")
    connect = next(d.split()[1:] for d in policy.split(";") if d.split()[:1] == ["connect-src"])
    assert connect == ["'self'", f"{url.scheme}://{url.netloc}"]


def test_the_local_router_lets_pages_reach_the_auth_emulator_and_nothing_else_changes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """devstack serves firebase.json's headers with the emulator's origin added to connect-src (local stack
    only); every other directive and header is firebase.json's own."""
    from werkzeug.test import Client

    from devstack import router

    def csp_of(app: router.HostingRouter) -> dict[str, list[str]]:
        value = Client(app).get("/login.html").headers["Content-Security-Policy"]
        return {part.split()[0]: part.split()[1:] for part in value.split(";") if part.strip()}

    for name in ("LOCAL_DEV", "FIREBASE_AUTH_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    production = csp_of(router.app_from_env())
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    assert csp_of(router.app_from_env()) == production, "the emulator is honoured on the local stack only"
    monkeypatch.setenv("LOCAL_DEV", "1")
    local = csp_of(router.app_from_env())
    assert local["connect-src"] == [*production["connect-src"], "http://127.0.0.1:9099"]
    assert {k: v for k, v in local.items() if k != "connect-src"} == \
        {k: v for k, v in production.items() if k != "connect-src"}
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099; script-src *")
    assert csp_of(router.app_from_env()) == production, "a hostile value adds nothing"


@pytest.mark.parametrize("local_dev", [None, "0", "true"])
def test_open_dashboard_needs_local_dev_else_login_is_required(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], local_dev: str | None) -> None:
    """Item 4, "never open in the cloud": ALLOW_OPEN_DASHBOARD=1 without LOCAL_DEV=1 fails closed (no open
    session, login still refused without a password) and says so in one ERROR line per process."""
    monkeypatch.setattr(logs, "_logged_once", set())
    monkeypatch.setenv("DASHBOARD_PASSWORD", "")
    monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
    if local_dev is not None:
        monkeypatch.setenv("LOCAL_DEV", local_dev)
    assert auth.open_dashboard() is False and auth.password_required() is True
    with pytest.raises(Unauthorized):
        auth.require_session(request())
    with pytest.raises(Unavailable):  # no password configured and not open: login impossible, 503
        auth.login(request({}))
    assert auth.auth_status(request()) == {"authenticated": False, "password_required": True}
    monkeypatch.setenv("DASHBOARD_PASSWORD", "a-long-enough-password")
    with pytest.raises(Unauthorized):
        auth.login(request({"password": "wrong"}))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    refusals = [line for line in lines if line.get("config_invalid") == "ALLOW_OPEN_DASHBOARD"]
    assert len(refusals) == 1, "logged once, not on every request"
    assert refusals[0]["severity"] == "ERROR" and "LOCAL_DEV=1" in refusals[0]["message"]
    monkeypatch.setenv("DASHBOARD_PASSWORD", "")
    monkeypatch.setenv("LOCAL_DEV", "1")  # the local stack: open, and nothing more is logged
    assert auth.open_dashboard() is True
    assert auth.require_session(request()).record()["mode"] == "open"
    assert not [line for line in capsys.readouterr().out.splitlines() if "ALLOW_OPEN_DASHBOARD" in line]


def test_password_modes_name_their_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "")
    monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
    monkeypatch.setenv("LOCAL_DEV", "1")
    assert auth.require_session(request()).record() == {"uid": "open", "email": None, "mode": "open"}
    monkeypatch.setenv("DASHBOARD_PASSWORD", "a-long-enough-password")
    login = auth.login(request({"password": "a-long-enough-password"}))
    cookie = login.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert auth.require_session(request(cookie=cookie)).record() == {"uid": "password", "email": None,
                                                                      "mode": "password"}
    assert auth.auth_status(request(cookie=cookie)) == {"authenticated": True, "password_required": True}


def test_the_audit_record_carries_the_actor_and_only_when_given() -> None:
    svc = Services(store=FakeStore(), config=default_config(), clock=lambda: 1_764_000_000.0,
                   scheduler=FakeScheduler())
    actor = {"uid": "u1", "email": "alice@example.com", "mode": "firebase"}
    with_actor = execute(svc, SetEnv(env="DEMO"), actor=actor)
    without = execute(svc, SetEnv(env="DEMO"))
    stored = svc.store.dump()
    assert stored[event_path(with_actor.request_id)]["actor"] == actor
    assert "actor" not in stored[event_path(without.request_id)]
    assert "actor" not in stored[event_path(with_actor.request_id)]["input"], "the domain's input stays pure"


def test_the_firebase_stack_points_the_functions_at_its_emulator_and_prints_the_operator(tmp_path: Any) -> None:
    from devstack.run import LocalStack, describe

    stack = LocalStack(port=1, firestore_port=2, tasks_port=3, log_dir=tmp_path, firebase_auth=True,
                       auth_ports=(4, 5, 6), base_env={"DASHBOARD_PASSWORD": "operator-passphrase"})
    stack.env = stack._environment()
    stack.operator = {"email": "operator@operatorlock.test", "password": "generated-pw", "uid": "u1"}
    assert stack.env["OPERATOR_AUTH"] == "firebase"
    assert stack.env["FIREBASE_AUTH_EMULATOR_HOST"] == "127.0.0.1:4"
    assert stack.env["FIREBASE_PROJECT_ID"] == stack.project
    assert {4, 5, 6} <= set(stack.ports), "the emulator's ports are checked free and waited on like the others"
    banner = describe(stack)
    assert "operator@operatorlock.test" in banner and "generated-pw" in banner
    assert "127.0.0.1:4" in banner and "operator-passphrase" not in banner
    plain = LocalStack(port=1, firestore_port=2, tasks_port=3, log_dir=tmp_path, base_env={})
    plain.env = plain._environment()
    assert "OPERATOR_AUTH" not in plain.env and "FIREBASE_AUTH_EMULATOR_HOST" not in plain.env


def test_a_short_unused_password_is_no_error_in_the_firebase_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "short")
    with pytest.raises(Unavailable, match="shorter than"):
        auth.check_password_strength()
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    auth.check_password_strength()


# ---- issue 15: a fresh sign-in for the secret's reveal, in either mode ------------------------------------------


@pytest.mark.parametrize(("mode", "age", "allowed"), [
    ("firebase", 10.0, True), ("firebase", 299.0, True), ("firebase", 301.0, False), ("firebase", None, False),
    ("password", 301.0, False), ("password", -60.0, False), ("open", None, True),
])
def test_revealing_needs_a_sign_in_of_the_last_five_minutes(mode: str, age: float | None, allowed: bool) -> None:
    now = 1_764_000_000.0
    operator = firebase_auth.Operator(uid="u1", email=None, mode=mode,
                                      signed_in_at=None if age is None else now - age)
    if allowed:
        auth.require_recent_sign_in(operator, "Revealing", now=now)
        return
    with pytest.raises(Exception) as refused:
        auth.require_recent_sign_in(operator, "Revealing", now=now)
    body, status = error_response(refused.value)
    assert status == 403 and body["code"] == "SIGN_IN_AGAIN" and body["error"].startswith("Revealing needs")


def test_a_firebase_session_carries_its_sign_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    class User:
        uid, email, disabled, custom_claims, tokens_valid_after_timestamp = "u1", "a@b.test", False, \
            {"operator": True}, 0

    class FakeAuth:
        ExpiredSessionCookieError = InvalidSessionCookieError = UserNotFoundError = type("E", (Exception,), {})

        @staticmethod
        def verify_session_cookie(cookie: str, **_: Any) -> dict[str, Any]:
            return {"uid": "u1", "iat": 1_764_000_100, "auth_time": 1_764_000_050}

        @staticmethod
        def get_user(uid: str, **_: Any) -> User:
            return User()

    monkeypatch.setattr(firebase_auth, "_auth", lambda: FakeAuth)
    operator = firebase_auth.verify_session("cookie")
    assert operator.signed_in_at == 1_764_000_050.0
    assert operator.record() == {"uid": "u1", "email": "a@b.test", "mode": "firebase"}  # not in the audit record


# ---- issue 22 item 9: the TOTP second factor -------------------------------------------------------------


def _fake_auth(claims: dict[str, Any]) -> Any:
    """firebase_admin.auth as far as exchange_id_token and verify_session use it, answering `claims`."""
    class User:
        uid, email, disabled, custom_claims, tokens_valid_after_timestamp = "u1", "a@b.test", False, \
            {"operator": True}, 0

    error = type("E", (Exception,), {})

    class FakeAuth:
        ExpiredSessionCookieError = InvalidSessionCookieError = UserNotFoundError = UserDisabledError = error
        RevokedIdTokenError = ExpiredIdTokenError = InvalidIdTokenError = CertificateFetchError = error

        @staticmethod
        def verify_id_token(token: str, **_: Any) -> dict[str, Any]:
            return claims

        @staticmethod
        def create_session_cookie(token: str, **_: Any) -> str:
            return "session-cookie"

        @staticmethod
        def verify_session_cookie(cookie: str, **_: Any) -> dict[str, Any]:
            return claims

        @staticmethod
        def get_user(uid: str, **_: Any) -> User:
            return User()

    return FakeAuth


@pytest.mark.parametrize(("state", "factor", "outcome"), [
    ("MANDATORY", None, "SECOND_FACTOR_REQUIRED"),
    ("MANDATORY", "phone", "SECOND_FACTOR_REQUIRED"),  # the page does TOTP only; Terraform offers no other
    ("MANDATORY", "totp", "ok"),
    ("ENABLED", None, "ok"),  # Identity Platform itself holds back an enrolled account's token
    ("DISABLED", None, "ok"),
    (None, None, "ok"),
])
def test_a_mandatory_second_factor_is_checked_at_login_and_on_every_session(
        monkeypatch: pytest.MonkeyPatch, state: str | None, factor: str | None, outcome: str) -> None:
    import time

    from shared.errors import Refused

    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    if state:
        monkeypatch.setenv("OPERATOR_MFA", state)
    claims: dict[str, Any] = {"uid": "u1", "operator": True, "email": "a@b.test", "auth_time": int(time.time()) - 5,
                              "iat": int(time.time()) - 5,
                              "firebase": {"sign_in_provider": "password", "sign_in_second_factor": factor}}
    monkeypatch.setattr(firebase_auth, "_auth", lambda: _fake_auth(claims))
    if outcome == "ok":
        assert firebase_auth.exchange_id_token("token", 3600)[0] == "session-cookie"
        assert firebase_auth.verify_session("cookie").uid == "u1"
        return
    with pytest.raises(Refused) as refused:
        firebase_auth.exchange_id_token("token", 3600)
    body, status = error_response(refused.value)
    assert status == 403 and body["code"] == "SECOND_FACTOR_REQUIRED" and "authenticator app" in body["error"]
    # a session cookie from before the factor was made mandatory: signed out, to sign in again with it
    with pytest.raises(Unauthorized):
        firebase_auth.verify_session("cookie")


@pytest.mark.parametrize("value", ["mandatory", " Enabled ", "DISABLED"])
def test_the_mfa_setting_is_published_for_the_login_page(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setenv("FIREBASE_API_KEY", "k")
    monkeypatch.setenv("OPERATOR_MFA", value)
    config = auth.auth_status(request())["firebase"]
    assert config["mfa"] == value.strip().upper()
    assert config["identity_toolkit_url"] == "https://identitytoolkit.googleapis.com"
    assert config["sign_in_url"] == f"{config['identity_toolkit_url']}/v1/accounts:signInWithPassword"


@pytest.mark.parametrize("value", ["TOTP", "on", "required"])
def test_an_unknown_mfa_setting_is_503_never_a_dropped_factor(monkeypatch: pytest.MonkeyPatch, value: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setenv("OPERATOR_MFA", value)
    with pytest.raises(Unavailable, match="OPERATOR_MFA must be"):
        auth.auth_status(request())
    with pytest.raises(Unavailable, match="OPERATOR_MFA must be"):
        firebase_auth.mfa_state()
    assert '"config_invalid":"OPERATOR_MFA"' in capsys.readouterr().out.replace(" ", "")


def test_the_page_host_is_honoured_on_the_local_stack_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """FIREBASE_AUTH_PAGE_HOST (the browser tests' TOTP stand-in) moves where the page signs in, only beside the
    emulator with LOCAL_DEV=1; the server keeps verifying at the emulator."""
    from werkzeug.test import Client

    from devstack import router

    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    monkeypatch.setenv("FIREBASE_AUTH_PAGE_HOST", "127.0.0.1:7001")
    assert firebase_auth.public_config()["identity_toolkit_url"] == "https://identitytoolkit.googleapis.com"
    monkeypatch.setenv("LOCAL_DEV", "1")
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    config = firebase_auth.public_config()
    assert config["identity_toolkit_url"] == "http://127.0.0.1:7001/identitytoolkit.googleapis.com"
    assert config["sign_in_url"].startswith("http://127.0.0.1:7001/")

    def connect_src() -> list[str]:
        value = Client(router.app_from_env()).get("/login.html").headers["Content-Security-Policy"]
        return next(part.split()[1:] for part in value.split(";") if part.split()[:1] == ["connect-src"])

    assert connect_src()[-1] == "http://127.0.0.1:7001"
    for hostile in ("127.0.0.1:7001; script-src *", "evil.test"):
        monkeypatch.setenv("FIREBASE_AUTH_PAGE_HOST", hostile)
        assert firebase_auth.public_config()["identity_toolkit_url"].startswith("http://127.0.0.1:9099/")
        assert connect_src()[-1] == "http://127.0.0.1:9099"
