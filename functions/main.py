"""Cloud Functions entry points: one per route group, all deployed from this one source (see firebase.json).

Each group module is imported on its first request only, so a cold start of one function never pays for the
others (TradingView's 3 s budget includes the webhook function's cold start).
"""

from __future__ import annotations

import importlib
from typing import Any


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
