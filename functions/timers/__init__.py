"""Cloud Tasks callbacks: authenticated (OIDC in the cloud, a shared header locally), idempotent, tidy-up only."""

from __future__ import annotations

import re
from typing import Any

from shared.domain.catalog import NOTIFY, TASK_KINDS
from shared.domain.core import order_asset
from shared.domain.inputs import TimerFired
from shared.errors import BadInput, Unauthorized
from shared.logs import annotate
from shared.scheduler import TaskAuthError, verify_task_request
from shared.service import execute
from shared.service.http import answer
from shared.service.wiring import services
from shared.web.request import field_label, is_order_id, json_body
from shared.web.routing import Router

router = Router()
MAX_EPOCH = 1e11
# What the domain's timers use as keys ("ES:5880123", an order id, ...): nothing that could leave a document path.
TIMER_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
BLACKOUT_KEY = re.compile(r"b[0-9]{1,9}:[0-9]{1,12}")   # the window and the occurrence's start (D22)


def _fire(request: Any) -> tuple[dict[str, Any], int]:
    try:
        verify_task_request(request.headers)
    except TaskAuthError:
        raise Unauthorized("unauthorized") from None
    body = json_body(request, strict=True)
    kind, key, at = body.get("kind"), body.get("key"), body.get("at")
    if kind not in TASK_KINDS or not isinstance(key, str) or not isinstance(at, int | float) or isinstance(at, bool):
        raise BadInput("expected {kind, key, at} of a known timer")
    if not TIMER_KEY.fullmatch(key):
        raise BadInput("key: expected a timer key (letters, digits, '-', '_', ':', '.'; 1 to 200)")
    if not 0 <= at <= MAX_EPOCH:
        raise BadInput("at: expected epoch seconds")
    if kind == NOTIFY:   # D23: one notification to one destination; 503 on failure, so Cloud Tasks retries
        from shared.service import notify, notify_secrets

        delivery = notify.deliver(services(), notify_secrets.secrets(), notify.SENDER, key)
        annotate(outcome=delivery.outcome)
        return delivery.body(), delivery.status
    config = services().config
    asset: str | None = None
    if kind == "lease_end":
        if not is_order_id(key) or order_asset(key) not in config.assets:
            raise BadInput(f"key: expected an order id, got {field_label(key)!r}")
        asset = order_asset(key)
    elif kind == "blackout_flatten" and not BLACKOUT_KEY.fullmatch(key):
        raise BadInput(f"key: expected <window id>:<start>, got {field_label(key)!r}")
    elif kind in ("intent_expiry", "preorder_expiry"):
        asset = key.split(":", 1)[0]
        if asset not in config.assets:
            raise BadInput(f"unknown asset in timer key {key!r}")
    # the clock's lead over the real one (the local stack's dev clock; 0 in production): timers travel in real
    # seconds, and the watchdog judges its canary in them
    offset = services().clock_offset()
    return answer(execute(services(), TimerFired(kind=kind, key=key, at=float(at), offset=offset)), asset)


router.route("POST", "/")(_fire)
