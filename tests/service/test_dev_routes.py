"""The local stack's dev routes (devstack/dev_routes.py, on the orders function as the local stack serves it):
behind the operator session when a password is set, 503 (not 500) while the emulator is not ready, and the clock
bounded to sane dates."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.router import create_function_app
from shared.web import auth
from shared.web.auth import LoginThrottle

SOURCE = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
PASSWORD = "a long enough passphrase"
DEV_ROUTES = (("GET", "/_dev/clock"), ("POST", "/_dev/clock"), ("DELETE", "/_dev/clock"), ("POST", "/_dev/reset"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: nothing listens there


@pytest.fixture
def orders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("LOCAL_DEV", "1")
    monkeypatch.setenv("DEV_CLOCK_FILE", str(tmp_path / "clock.json"))
    monkeypatch.setenv("DASHBOARD_PASSWORD", PASSWORD)
    monkeypatch.setenv("SESSION_SECRET", "session-test-key")
    monkeypatch.delenv("ALLOW_OPEN_DASHBOARD", raising=False)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{_closed_port()}")  # still starting
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-dev-routes")
    monkeypatch.setattr(auth, "LOGIN_THROTTLE", LoginThrottle())
    yield create_function_app("orders", SOURCE).test_client()


def test_dev_routes_need_the_session_when_a_password_is_set(orders: Any) -> None:
    for method, path in DEV_ROUTES:
        response = orders.open(path, method=method, json={"advance": 60})
        assert response.status_code == 401, (method, path, response.status_code)
    assert orders.post("/api/login", json={"password": PASSWORD}).status_code == 200
    assert orders.post("/_dev/clock", json={"advance": 60}).status_code == 200
    assert orders.delete("/_dev/clock").status_code == 200


def test_reset_answers_503_with_retry_after_while_the_emulator_starts(orders: Any) -> None:
    assert orders.post("/api/login", json={"password": PASSWORD}).status_code == 200
    response = orders.post("/_dev/reset")
    assert response.status_code == 503, response.get_data(as_text=True)
    assert "not ready" in response.get_json()["error"] and int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("body", [{"now": 1e308}, {"now": -1e308}, {"now": 4_200_000_000}, {"now": 0},
                                  {"advance": 1e308}, {"now": "soon"}, {"now": True}])
def test_the_clock_refuses_insane_dates(orders: Any, body: dict[str, Any]) -> None:
    assert orders.post("/api/login", json={"password": PASSWORD}).status_code == 200
    assert orders.post("/_dev/clock", json=body).status_code == 400
    assert orders.get("/_dev/clock").status_code == 200  # and every later request still answers
