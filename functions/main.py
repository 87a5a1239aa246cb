"""Cloud Functions entry points: one per route group, all deployed from this one source (see firebase.json).

Each group module is imported on its first request only, so a cold start of one function never pays for the
others (TradingView's 3 s budget includes the webhook function's cold start). In the cloud the webhook function
also warms itself when an instance starts (`_warm_at_start`): its always-warm instance would otherwise pay the
imports and the Firestore connection on the first alert it serves.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from typing import Any

# Functions whose instances warm up as they start, in the cloud only (Cloud Run sets K_SERVICE).
WARM_AT_START = frozenset({"webhooks"})


def _dispatch(group: str, request: Any) -> Any:
    module = importlib.import_module(group)
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


def warm(group: str) -> None:
    """Import the group's module, build the wiring (Firestore client, scheduler) and make one read, so the gRPC
    channel and its credentials exist before the first request. Failures are logged, never raised: a request
    arriving meanwhile simply does the same work itself (the import lock and the wiring's lock serialise it)."""
    started = time.perf_counter()
    try:
        importlib.import_module(group)
        from shared.service.wiring import services
        from shared.store.documents import GLOBAL_PATH

        services().store.get([GLOBAL_PATH])
    except Exception as exc:  # best effort: the first request does the same work and reports real errors
        _log("WARNING", f"warm-up of {group} failed: {type(exc).__name__}", warm_up=group)
        return
    _log("INFO", f"warmed {group}", warm_up=group, warm_up_ms=round((time.perf_counter() - started) * 1000, 1))


def _log(severity: str, message: str, **fields: Any) -> None:
    from shared.web.respond import log_json

    log_json(severity, message, **fields)


def _warm_at_start(environ: os._Environ[str] | dict[str, str] = os.environ) -> threading.Thread | None:
    """Start warming in a background thread when this instance serves a warm-at-start function in the cloud.
    Off the cloud (tests, the local stack) `import main` stays cheap. The function is FUNCTION_TARGET (set by
    the Cloud Functions runtime), else the Cloud Run service name."""
    if not environ.get("K_SERVICE"):
        return None
    group = environ.get("FUNCTION_TARGET") or environ.get("K_SERVICE", "")
    if group not in WARM_AT_START:
        return None
    thread = threading.Thread(target=warm, args=(group,), name=f"warm-{group}", daemon=True)
    thread.start()
    return thread


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
