"""The OpenAPI 3.1 description: valid (openapi-spec-validator), served by the orders function, and naming exactly
the routes the functions register (a route added without its description fails here)."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import functions_framework
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from devstack import dev_routes
from devstack.router import DEV_ROUTES_TARGET, FUNCTION_TARGETS
from shared.web.openapi import openapi

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
SOURCE = str(FUNCTIONS / "main.py")
# A function's own path as the local stack reaches it directly (the timers function has no Hosting rewrite).
DIRECT = {"timers": "/__fn/timers"}


def _registered() -> set[tuple[str, str]]:
    """Every route the local stack serves: the four functions' and the dev routes it adds (devstack/dev_routes.py;
    described as local-only)."""
    sys.path.insert(0, str(FUNCTIONS))
    try:
        routers = [(target, importlib.import_module(target).router) for target in FUNCTION_TARGETS]
        routes = set()
        for target, router in [*routers, (DEV_ROUTES_TARGET, dev_routes.router)]:
            for method, pattern in router.routes:
                path = DIRECT.get(target, "") + pattern if target in DIRECT else pattern
                routes.add((method.lower(), re.sub(r"<([^>]+)>", r"{\1}", path).rstrip("/") or "/"))
        return routes
    finally:
        sys.path.remove(str(FUNCTIONS))


def test_the_description_is_valid_openapi_3_1() -> None:
    spec = openapi()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_a_broken_description_would_be_caught() -> None:
    spec = openapi()
    spec["paths"]["/api/state"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": "no-such-type"}
    with pytest.raises(OpenAPIValidationError):
        validate(spec)


def test_every_registered_route_is_described_and_nothing_else() -> None:
    described = {(method, path.rstrip("/") or "/") for path, methods in openapi()["paths"].items()
                 for method in methods}
    registered = _registered()
    assert not registered - described, f"routes without a description: add them to shared/web/openapi.py: " \
                                       f"{sorted(registered - described)}"
    assert not described - registered, f"described but not registered: {sorted(described - registered)}"


def test_the_local_only_operations_are_exactly_the_local_stacks_dev_routes() -> None:
    """What the description marks local-only is what devstack adds and no deployed function registers."""
    local_only = {(method, path) for path, methods in openapi()["paths"].items() for method, op in methods.items()
                  if op.get("x-local-only")}
    assert local_only == {(method.lower(), path) for method, path in dev_routes.router.routes}


def test_every_operation_answers_503_with_retry_after_and_names_its_errors() -> None:
    for path, methods in openapi()["paths"].items():
        for method, op in methods.items():
            unavailable = op["responses"]["503"]
            assert unavailable["headers"]["Retry-After"], (method, path)
            assert op["operationId"], (method, path)


def test_served_by_the_orders_function_without_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "a long enough passphrase")
    monkeypatch.setenv("SESSION_SECRET", "session-test-key")
    monkeypatch.delenv("ALLOW_OPEN_DASHBOARD", raising=False)
    client = functions_framework.create_app(target="orders", source=SOURCE).test_client()
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == openapi()
    assert client.get("/api/state").status_code == 401  # the rest still needs the session


def test_a_path_the_framework_cannot_route_is_answered_in_json_as_described() -> None:
    """A newline in a path parameter never reaches an entry point: Flask's URL map answers 404 itself."""
    client = functions_framework.create_app(target="bridge", source=SOURCE).test_client()
    response = client.post("/api/orders/%0A%C2%97C/execution-report", json={})
    assert response.status_code == 404 and response.content_type == "application/json"
    assert response.get_json() == {"ok": False, "error": "not found"}
