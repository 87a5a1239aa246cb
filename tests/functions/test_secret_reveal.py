"""Issue 15, item 7: revealing the TradingView secret needs a fresh sign-in (within 5 minutes) and is an audit
event naming the operator; without it: 403 SIGN_IN_AGAIN, no secret, nothing written."""

from __future__ import annotations

import time
from typing import Any

from shared.store.api import StorageUnavailable
from shared.web import auth
from tests.functions.conftest import SECRETS


def _events(app: Any, kind: str) -> list[dict[str, Any]]:
    return [e for path, e in app.store.dump().items() if path.startswith("events/") and e.get("type") == kind]


def _signed_in(app: Any, seconds_ago: float) -> Any:
    client = app.client("orders")
    cookie = auth._signer(time.time() - seconds_ago).sign(b"operator:0").decode("ascii")
    client.set_cookie("__session", cookie)
    return client


def test_a_fresh_sign_in_reveals_and_the_reveal_is_audited(app: Any) -> None:
    client = _signed_in(app, 240)
    body = client.get("/api/alert-templates?reveal=1").get_json()
    assert body["secret"] == SECRETS["TV_WEBHOOK_SECRET"] and body["revealed"] is True
    [event] = _events(app, "secret_revealed")
    assert event["actor"] == {"uid": "password", "email": None, "mode": "password"}
    assert event["detail"] == {"secret": "TV_WEBHOOK_SECRET"}  # its name, never its value
    assert SECRETS["TV_WEBHOOK_SECRET"] not in str(app.store.dump())
    logs = client.get("/api/logs").get_json()["events"]
    assert logs[0]["type"] == "secret_revealed"


def test_a_session_older_than_five_minutes_must_sign_in_again(app: Any) -> None:
    client = _signed_in(app, 301)
    refused = client.get("/api/alert-templates?reveal=1")
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "SIGN_IN_AGAIN" and "sign in again" in refused.get_json()["error"]
    assert "secret" not in refused.get_json() and SECRETS["TV_WEBHOOK_SECRET"] not in refused.get_data(True)
    assert app.store.dump() == {}
    masked = client.get("/api/alert-templates")  # the templates themselves need no fresh sign-in
    assert masked.status_code == 200 and "secret" not in masked.get_json()
    assert app.login().status_code == 200
    assert app.client("orders").get("/api/alert-templates?reveal=1").get_json()["revealed"] is True


def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(app: Any) -> None:
    client = _signed_in(app, 10)
    refused = client.get("/api/alert-templates?reveal=yes")
    assert refused.status_code == 400 and refused.get_json()["error"].startswith("reveal: ")
    assert app.store.dump() == {}


def test_no_audit_no_secret(app: Any, monkeypatch: Any) -> None:
    client = _signed_in(app, 10)

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise StorageUnavailable("down")

    monkeypatch.setattr(app.store, "transact", down)
    refused = client.get("/api/alert-templates?reveal=1")
    assert refused.status_code == 503 and SECRETS["TV_WEBHOOK_SECRET"] not in refused.get_data(True)


def test_the_open_local_dashboard_reveals_without_a_sign_in_and_still_audits(app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "")
    monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
    monkeypatch.setenv("LOCAL_DEV", "1")
    body = app.client("orders").get("/api/alert-templates?reveal=1").get_json()
    assert body["revealed"] is True
    assert _events(app, "secret_revealed")[0]["actor"]["mode"] == "open"
