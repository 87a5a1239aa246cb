"""Cloud Functions entry points: one per route group, all deployed from this one source (see firebase.json).

Each group module is imported on its first request only, so a cold start of one function never pays for the
others (TradingView's 3 s budget includes the webhook function's cold start). In the cloud the webhook function
also warms itself when an instance starts (`_warm_at_start`): its always-warm instance would otherwise pay the
imports and the Firestore connection on the first alert it serves.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from shared.imports import import_group

# Functions whose instances warm up as they start, in the cloud only (Cloud Run sets K_SERVICE).
WARM_AT_START = frozenset({"webhooks"})


_modules: dict[str, Any] = {}


def _dispatch(group: str, request: Any) -> Any:
    module = _modules.get(group)
    if module is None:
        # one first import at a time in the process (shared.imports says why the lock cannot live in this file)
        module = _modules[group] = import_group(group)
    return module.router.dispatch(request)


def webhooks(request: Any) -> Any:
    """TradingView: /tv_heartbeat, /tv_renko*, /tv_level_exit."""
    return _dispatch("webhooks", request)


def orders(request: Any) -> Any:
    """The operator API: login/logout/state/gates/risk, /api/orders and every control endpoint."""
    return _dispatch("orders", request)


def bridge(request: Any) -> Any:
    """The VPS bridge: pending poll, execution reports, heartbeat, PnL snapshot."""
    return _dispatch("bridge", request)


def timers(request: Any) -> Any:
    """Cloud Tasks callbacks: candle-lock, cooldown, intent, pre-order and lease expiries."""
    return _dispatch("timers", request)


def warm_imports(group: str) -> None:
    """Import the group's module and the Firestore client library: pure imports, safe before a fork."""
    import_group(group)


def connect(group: str) -> None:
    """Build the wiring (Firestore client, scheduler) and make one read, so the gRPC channel and its credentials
    exist before the first request. Failures are logged, never raised: the first request then does the same work
    itself and reports real errors (the wiring's lock serialises the two)."""
    started = time.perf_counter()
    try:
        from shared.service.wiring import services
        from shared.store.documents import GLOBAL_PATH

        services().store.get([GLOBAL_PATH])
    except Exception as exc:  # best effort: the first request does the same work and reports real errors
        _log("WARNING", f"warm-up of {group} failed: {type(exc).__name__}", warm_up=group)
        return
    _log("INFO", f"warmed {group}", warm_up=group, warm_up_ms=round((time.perf_counter() - started) * 1000, 1))


def _connect_in_background(group: str) -> threading.Thread:
    thread = threading.Thread(target=connect, args=(group,), name=f"warm-{group}", daemon=True)
    thread.start()
    return thread


def _log(severity: str, message: str, **fields: Any) -> None:
    from shared.logs import log_json

    log_json(severity, message, **fields)


def _warm_at_start(environ: Mapping[str, str] = os.environ) -> str | None:
    """Warm the instance when it serves a warm-at-start function in the cloud; return that function's name.

    functions-framework imports this module in gunicorn's master and then forks the worker that serves. So the
    imports are paid here, synchronously (a thread still importing at the fork would leave the worker a
    half-initialised module), and the connection is opened in the worker, after the fork (a gRPC channel does
    not survive one). Off the cloud (tests, the local stack) nothing happens: `import main` stays cheap. The
    function is FUNCTION_TARGET (set by the Cloud Functions runtime), else the Cloud Run service name.
    """
    if not environ.get("K_SERVICE"):
        return None
    group = environ.get("FUNCTION_TARGET") or environ.get("K_SERVICE", "")
    if group not in WARM_AT_START:
        return None
    try:
        warm_imports(group)
    except Exception as exc:  # the first request imports again and reports the error properly
        _log("WARNING", f"warm-up imports of {group} failed: {type(exc).__name__}", warm_up=group)
        return None
    os.register_at_fork(after_in_child=lambda: _connect_in_background(group))
    return group


def _framework_error(error: Any) -> Any:
    from shared.web.respond import json_response

    code = int(getattr(error, "code", None) or 400)
    return json_response({"ok": False, "error": str(getattr(error, "name", "bad request")).lower()}, code)


def _json_framework_errors() -> None:
    """What the framework answers before any entry point runs (a path its URL map cannot match, such as one
    holding a newline) is JSON like every other answer, not Flask's HTML page. Outside `create_app` (a plain
    import) functions_framework's errorhandler does nothing."""
    import functions_framework
    from werkzeug.exceptions import HTTPException

    functions_framework.errorhandler(HTTPException)(_framework_error)


_json_framework_errors()
_warm_at_start()
