"""The answers of the operations whose 200 the OpenAPI description used to call just "an object": each real answer
matches its described top level (the fuzz run checks the same against the local stack), and each description
requires the fields the dashboard and the tools read, so an answer that lost one would fail here and in the fuzz."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from devstack.router import create_function_app
from shared.web.openapi import openapi
from tests.functions.conftest import SECRETS, SOURCE

TASK_TOKEN = "local-task-token-for-tests"

# (method, path as described, the fields its 200 must carry)
DESCRIBED = [
    ("post", "/api/logout", {"ok"}),
    ("get", "/api/openapi.json", {"openapi", "info", "paths"}),
    ("get", "/api/session-window", {"open", "seconds_until_close", "seconds_until_open", "calendar_known"}),
    ("get", "/api/bars", {"ok", "asset", "stream", "bars"}),
    ("get", "/api/alert-templates", {"ok", "assets", "streams", "heartbeat_path", "revealed"}),
    ("get", "/api/risk", {"ok", "max_trades_per_day", "daily_stop_enabled", "daily_stop_limit_pct", "pending",
                          "pending_effective_trading_day", "trades_remaining_today"}),
    ("post", "/__fn/timers/", {"ok"}),
    ("get", "/_dev/clock", {"ok", "now", "frozen"}),
    ("post", "/_dev/clock", {"ok", "now", "frozen"}),
    ("delete", "/_dev/clock", {"ok", "now", "frozen"}),
    ("post", "/_dev/reset", {"ok"}),
]


def schema_of(method: str, path: str) -> dict[str, Any]:
    schema: dict[str, Any] = (openapi()["paths"][path][method]["responses"]["200"]["content"]["application/json"]
                              ["schema"])
    return schema


def assert_matches(method: str, path: str, response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    errors = [error.message for error in Draft202012Validator(schema_of(method, path)).iter_errors(body)]
    assert not errors, (path, errors, body)
    return body


@pytest.mark.parametrize(("method", "path", "required"), DESCRIBED)
def test_each_answer_is_described_beyond_an_object(method: str, path: str, required: set[str]) -> None:
    schema = schema_of(method, path)
    assert schema["type"] == "object" and set(schema["required"]) == required
    assert required <= set(schema["properties"])


@pytest.fixture
def operator(app, monkeypatch, tmp_path) -> Any:
    monkeypatch.setenv("LOCAL_DEV", "1")
    monkeypatch.setenv("DEV_CLOCK_FILE", str(tmp_path / "clock.json"))
    monkeypatch.setenv("TASKS_LOCAL_TOKEN", TASK_TOKEN)
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:1")
    assert app.login().status_code == 200
    return app.client("orders")


def test_the_reads_match_their_description(app, operator) -> None:
    assert app.tv("/tv_renko_main", asset="ES", color="green", bar_id="b1").status_code == 200
    assert_matches("get", "/api/openapi.json", operator.get("/api/openapi.json"))
    assert_matches("get", "/api/session-window", operator.get("/api/session-window"))
    bars = assert_matches("get", "/api/bars", operator.get("/api/bars?asset=ES&stream=6pt"))
    assert bars["bars"] and bars["bars"][-1]["color"] == "green"
    hidden = assert_matches("get", "/api/alert-templates", operator.get("/api/alert-templates"))
    shown = assert_matches("get", "/api/alert-templates", operator.get("/api/alert-templates?reveal=1"))
    assert "secret" not in hidden and shown["secret"] == SECRETS["TV_WEBHOOK_SECRET"]
    assert_matches("get", "/api/risk", operator.get("/api/risk"))
    assert operator.post("/api/risk", json={"max_trades_per_day": 8}).status_code == 200  # a pending loosening
    risk = assert_matches("get", "/api/risk", operator.get("/api/risk"))
    assert risk["pending"] and risk["pending_effective_trading_day"] == "next"


def test_the_dev_routes_timers_and_logout_match_their_description(app, operator) -> None:
    local = create_function_app("orders", SOURCE).test_client()  # the dev routes: the local stack's orders only
    assert local.post("/api/login", json={"password": SECRETS["DASHBOARD_PASSWORD"]}).status_code == 200
    assert_matches("get", "/_dev/clock", local.get("/_dev/clock"))
    frozen = assert_matches("post", "/_dev/clock", local.post("/_dev/clock", json={"now": 1_764_000_000}))
    assert frozen["frozen"] is True
    assert_matches("delete", "/_dev/clock", local.delete("/_dev/clock"))
    fired = app.client("timers").post("/", json={"kind": "lease_end", "key": "ES-abc-1", "at": 1},
                                      headers={"X-Local-Tasks-Token": TASK_TOKEN})
    assert_matches("post", "/__fn/timers/", fired)
    assert_matches("post", "/api/logout", operator.post("/api/logout"))
