"""JSON responses and the one log line of a request (the logging itself and secret masking: `shared.logs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response

from shared.logs import log_json, to_json


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response that no cache keeps (state changes every second)."""
    response = Response(to_json(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def severity_for(status: int) -> str:
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARNING"
    return "INFO"


def log_request(
    route: str,
    asset: str | None,
    outcome: str,
    code: str | None,
    latency_ms: float,
    status: int,
    /,
    **fields: Any,
) -> None:
    """The one line logged per request: what was asked, for which asset, how it ended and how long it took."""
    message = f"{route} {status} {outcome}" + (f" {code}" if code else "")
    entry: dict[str, Any] = {
        **fields,
        "route": route,
        "asset": asset,
        "outcome": outcome,
        "code": code,
        "latency_ms": round(latency_ms, 3),
        "status": status,
        "logging.googleapis.com/labels": {"route": route, "outcome": outcome},
    }
    log_json(severity_for(status), message, **entry)
