"""Issue 12 without an emulator: choosing the sign-in mode fails closed, the Firebase mode is never open and
refuses the emulator outside the local stack, the password modes name their operator, and the audit record
carries the actor the shell passes to execute. (The Firebase mode against the real Auth emulator:
tests/emulator/test_operator_accounts.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Request
from werkzeug.test import EnvironBuilder

from shared.domain import default_config
from shared.domain.inputs import SetEnv
from shared.scheduler import FakeScheduler
from shared.service import Services, execute
from shared.store.documents import event_path
from shared.store.fake import FakeStore
from shared.web import auth
from shared.web.errors import BadInput, Unauthorized, Unavailable, error_response


def request(body: dict[str, Any] | None = None, cookie: str | None = None) -> Request:
    builder = EnvironBuilder(path="/api/login", method="POST", base_url="https://ops.example.com",
                             data=json.dumps(body or {}), content_type="application/json",
                             headers=[("Cookie", f"__session={cookie}")] if cookie else [])
    return Request(builder.get_environ())


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPERATOR_AUTH", "DASHBOARD_PASSWORD", "ALLOW_OPEN_DASHBOARD", "LOCAL_DEV",
                 "FIREBASE_AUTH_EMULATOR_HOST", "FIREBASE_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
                 "FIREBASE_API_KEY"):
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
        auth.login(request({"email": "a@b.test", "password": "pw"}))
    assert "FIREBASE_AUTH_EMULATOR_HOST" in capsys.readouterr().out


def test_firebase_mode_refuses_the_shared_password_with_400_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    with pytest.raises(BadInput) as info:
        auth.login(request({"password": "whatever"}))
    assert info.value.error.startswith("email:")


def test_firebase_mode_refuses_missing_credentials_without_calling_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    for body in ({"email": "", "password": "pw"}, {"email": "a@b.test"}, {"email": 5, "password": "pw"},
                 {"email": "a" * 300 + "@b.test", "password": "pw"}):
        with pytest.raises(Unauthorized, match="Invalid email or password"):
            auth.login(request(body))


def test_firebase_mode_without_an_api_key_in_the_cloud_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_AUTH", "firebase")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-x")
    with pytest.raises(Unavailable, match="FIREBASE_API_KEY"):
        auth.login(request({"email": "a@b.test", "password": "pw"}))


def test_password_modes_name_their_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "")
    monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
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
    with_actor = execute(svc, SetEnv(env="DEMO"), assets=["ES", "NQ"], actor=actor)
    without = execute(svc, SetEnv(env="DEMO"), assets=["ES", "NQ"])
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
