"""A tiny per-function router: method + path to handler, errors to JSON, one log line per request.

    router = Router()

    @router.route("POST", "/api/orders/<order_id>/execution-report")
    def execution_report(request, order_id):
        annotate(asset="ES", outcome="filled")
        return {"ok": True}

    def orders(request):            # the Cloud Function entry point
        return router.dispatch(request)

A handler returns a `flask.Response`, a JSON-able body (status 200) or `(body, status)`, or raises one of
`shared.errors` (or the store's StorageUnavailable / Contention). Anything else raised is a 500 whose
details go to the log only. The log line carries the route pattern and path, never the query string or body,
plus whatever the handler passed to `shared.logs.annotate` (redacted).
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response
from werkzeug.wrappers import Request

from shared.errors import WebError
from shared.logs import RequestLog, request_log
from shared.store.budget import close_budget, open_budget
from shared.web.errors import error_code, error_response
from shared.web.respond import json_response, log_request

Handler = Callable[..., Any]

_PARAM = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler


def _normalise(path: str) -> str:
    return path.rstrip("/") or "/"


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/"):
        raise ValueError(f"route path must start with '/', got {pattern!r}")
    parts, pos = [], 0
    for m in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[pos : m.start()]))
        parts.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("".join(parts))


class Router:
    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register `handler(request, **path_params)` for `method` on `path` (`<name>`: one segment)."""
        method = method.upper()
        pattern = _normalise(path)
        regex = _compile(pattern)
        if any(r.method == method and r.pattern == pattern for r in self._routes):
            raise ValueError(f"route {method} {pattern} registered twice")

        def register(handler: Handler) -> Handler:
            self._routes.append(_Route(method, pattern, regex, handler))
            return handler

        return register

    @property
    def routes(self) -> list[tuple[str, str]]:
        """(method, path pattern) of every registered route, e.g. to check them against firebase.json."""
        return [(r.method, r.pattern) for r in self._routes]

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], list[str]]:
        allowed: list[str] = []
        for r in self._routes:
            m = r.regex.fullmatch(path)
            if m is None:
                continue
            if r.method == method:
                return r, m.groupdict(), allowed
            allowed.append(r.method)
        return None, {}, allowed

    def dispatch(self, request: Request) -> Response:
        """Answer `request`: route it, convert errors to JSON, log one line."""
        with request_log() as ctx:
            return self._answer(request, ctx)

    def _answer(self, request: Request, ctx: RequestLog) -> Response:
        started = time.perf_counter()
        budget = open_budget()  # every storage call of this request ends within the budget from now
        path = _normalise(request.path)
        route_name = path
        failed = True
        try:
            route, params, allowed = self._match(request.method.upper(), path)
            if route is None and allowed:
                response = json_response(
                    {"ok": False, "error": "method not allowed"},
                    405,
                    {"Allow": ", ".join(sorted(set(allowed)))},
                )
                outcome, code = "method_not_allowed", "METHOD_NOT_ALLOWED"
            elif route is None:
                response = json_response({"ok": False, "error": "not found"}, 404)
                outcome, code = "not_found", "NOT_FOUND"
            else:
                route_name = route.pattern
                response = _as_response(route.handler(request, **params))
                outcome = "ok" if response.status_code < 400 else "rejected"
                code, failed = None, False
        except Exception as exc:
            body, status = error_response(exc)
            response = json_response(body, status, _error_headers(exc, status))
            outcome, code = _outcome(exc), error_code(exc)
            if 400 <= status < 500:  # the one line of a refused request says what was wrong (which field)
                ctx.fields["error"] = body.get("error")
            if 500 < status < 600:  # the log names the cause (storage, configuration); the body does not
                ctx.fields["cause"] = f"{type(exc).__name__}: {exc}"
            if status == 500:
                ctx.fields["error_type"] = type(exc).__name__
                ctx.fields["traceback"] = traceback.format_exc()
        finally:
            close_budget(budget)
        if not failed:  # an error's own outcome and code win over what the handler annotated before raising
            outcome, code = ctx.outcome or outcome, ctx.code or code
        log_request(
            route_name,
            ctx.asset,
            outcome,
            code,
            (time.perf_counter() - started) * 1000.0,
            response.status_code,
            **{**ctx.fields, "method": request.method, "path": path},
        )
        return response


def _error_headers(exc: BaseException, status: int) -> dict[str, str]:
    """`Retry-After` on every 429 and 503 (the error may say how long; storage trouble: 2 s)."""
    if status not in (429, 503):
        return {}
    seconds = getattr(exc, "retry_after_s", None)
    return {"Retry-After": str(max(1, int(seconds)) if isinstance(seconds, int | float) else 2)}


def _as_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], int):
        return json_response(result[0], result[1])
    return json_response(result)


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, WebError):
        return {
            400: "bad_input",
            401: "unauthorized",
            404: "not_found",
            503: "unavailable",
        }.get(exc.status, "refused")
    return "unavailable" if error_response(exc)[1] == 503 else "error"
