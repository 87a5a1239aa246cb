"""The operator API (§5, §8, D2–D5, D8, D12, D14): session auth, entries through the gate chain, the controls.

One router for the whole function (`main.orders` dispatches to it); each module of this package registers the
routes of one topic on it:

- `session`: login, logout, the session's status, the OpenAPI description
- `reads`: the state, the gates, history, logs, orders, bars, the alert templates
- `commands`: entries, intents, exits, the exit toggles, protect and take-profit, the environment, the timer probe
- `risk`: the risk settings and presets, the account's re-baseline, the blackout calendar and its import
- `notifications`: the notification destinations (D23)

A new topic is a module that does `from . import router` and registers its routes, plus one name in the import
below. The local stack's dev routes (`/_dev/...`) are not here: `devstack/dev_routes.py` adds them when it serves
this function locally, so the deployed bundle never has them.
"""

from __future__ import annotations

from shared.web.routing import Router

router = Router()

# imported after `router` exists: each module registers its routes on it
from . import commands, notifications, reads, risk, session  # noqa: E402

__all__ = ["commands", "notifications", "reads", "risk", "router", "session"]
