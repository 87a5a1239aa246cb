"""Secret rotation without downtime (issue 10): each function accepts the current value of its secret and, while
the stated window is open, the previous one (`PREVIOUS_<NAME>` + `PREVIOUS_<NAME>_UNTIL`, mounted by Terraform from
pinned Secret Manager versions). After the window the old value is refused even if still mounted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Request, Response
from werkzeug.test import EnvironBuilder

from shared.errors import Unauthorized, Unavailable
from shared.logs import log_json
from shared.web import auth

T0 = 1_780_000_000.0
UNTIL = T0 + 3600
UNTIL_ISO = datetime.fromtimestamp(UNTIL, UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(autouse=True)
def _fresh_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_previous_logged", {})
    for name in ("TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET"):
        for variable in (name, f"PREVIOUS_{name}", f"PREVIOUS_{name}_UNTIL"):
            monkeypatch.delenv(variable, raising=False)


def _rotating(monkeypatch: pytest.MonkeyPatch, name: str, until: str) -> None:
    monkeypatch.setenv(name, "new-value")
    monkeypatch.setenv(f"PREVIOUS_{name}", "old-value")
    monkeypatch.setenv(f"PREVIOUS_{name}_UNTIL", until)


def _logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("name", ["TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET"])
@pytest.mark.parametrize("until", [UNTIL_ISO, str(int(UNTIL))])
def test_the_previous_value_is_accepted_inside_the_window_only(monkeypatch: pytest.MonkeyPatch, name: str,
                                                                until: str) -> None:
    _rotating(monkeypatch, name, until)
    auth.check_shared_secret("new-value", name, now=T0)
    auth.check_shared_secret("old-value", name, now=T0)
    auth.check_shared_secret("old-value", name, now=UNTIL - 1)
    for now in (UNTIL, UNTIL + 1):
        with pytest.raises(Unauthorized):
            auth.check_shared_secret("old-value", name, now=now)
        auth.check_shared_secret("new-value", name, now=now)
    with pytest.raises(Unauthorized):
        auth.check_shared_secret("some-other-value", name, now=T0)


def test_without_a_rotation_only_the_current_value_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TV_WEBHOOK_SECRET", "new-value")
    auth.check_shared_secret("new-value", "TV_WEBHOOK_SECRET")
    for given in ("old-value", "", None, 42):
        with pytest.raises(Unauthorized):
            auth.check_shared_secret(given, "TV_WEBHOOK_SECRET")


@pytest.mark.parametrize("until", ["", "next week", "2026-12-07T12:00:00", "-5"])
def test_a_previous_value_without_a_valid_end_is_refused_and_logged(monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str],
                                                                     until: str) -> None:
    _rotating(monkeypatch, "BRIDGE_HEARTBEAT_SECRET", until)
    with pytest.raises(Unauthorized):
        auth.check_shared_secret("old-value", "BRIDGE_HEARTBEAT_SECRET", now=T0)
    logs = _logs(capsys)
    assert [line.get("config_invalid") for line in logs] == ["PREVIOUS_BRIDGE_HEARTBEAT_SECRET_UNTIL"]
    assert "old-value" not in json.dumps(logs) and "new-value" not in json.dumps(logs)


def test_the_previous_value_never_stands_in_for_a_missing_current_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREVIOUS_TV_WEBHOOK_SECRET", "old-value")
    monkeypatch.setenv("PREVIOUS_TV_WEBHOOK_SECRET_UNTIL", str(int(UNTIL)))
    with pytest.raises(Unavailable):
        auth.check_shared_secret("old-value", "TV_WEBHOOK_SECRET", now=T0)


def test_use_of_the_previous_value_is_logged_once_a_minute_without_the_value(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _rotating(monkeypatch, "BRIDGE_HEARTBEAT_SECRET", UNTIL_ISO)
    for _ in range(5):
        auth.check_shared_secret("old-value", "BRIDGE_HEARTBEAT_SECRET", now=T0)
    auth.check_shared_secret("new-value", "BRIDGE_HEARTBEAT_SECRET", now=T0)
    logs = _logs(capsys)
    assert [line.get("previous_secret_used") for line in logs] == ["BRIDGE_HEARTBEAT_SECRET"]
    assert "old-value" not in json.dumps(logs)


def test_the_previous_value_is_scrubbed_from_logs_like_the_current_one(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _rotating(monkeypatch, "TV_WEBHOOK_SECRET", UNTIL_ISO)
    log_json("INFO", "caller sent old-value in a bar id", bar_id="x-old-value-y")
    assert "old-value" not in capsys.readouterr().out


# ---- SESSION_SECRET: sessions signed with the previous key survive the rotation window -----------------------

def _request(cookie: str | None = None) -> Request:
    headers = [("Cookie", f"__session={cookie}")] if cookie else []
    builder = EnvironBuilder(path="/api/state", method="GET", base_url="https://ops.example.com", headers=headers)
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


def _cookie(now: float) -> str:
    response = Response()
    auth.issue_session_cookie(response, _request(), now=now)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("__session="))
    return header.split(";", 1)[0].split("=", 1)[1]


def test_a_session_signed_with_the_previous_key_lives_until_the_window_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "correct horse")
    monkeypatch.setenv("SESSION_SECRET", "old-value")
    old_cookie = _cookie(T0)
    _rotating(monkeypatch, "SESSION_SECRET", str(int(UNTIL)))
    assert auth.session_authenticated(_request(old_cookie), now=T0 + 10)
    assert auth.session_authenticated(_request(_cookie(T0 + 10)), now=T0 + 20)
    assert not auth.session_authenticated(_request(old_cookie), now=UNTIL + 1)
    # No rotation configured: the old key's cookie is refused at once.
    monkeypatch.delenv("PREVIOUS_SESSION_SECRET")
    assert not auth.session_authenticated(_request(old_cookie), now=T0 + 10)
