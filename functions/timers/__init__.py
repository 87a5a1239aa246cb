"""Cloud Tasks callbacks: authenticated (OIDC in the cloud, a shared header locally), idempotent, tidy-up only."""

from __future__ import annotations

from typing import Any

from shared.domain.core import order_asset
from shared.domain.inputs import TimerFired
from shared.scheduler import TaskAuthError, verify_task_request
from shared.service import execute
from shared.service.http import answer
from shared.service.wiring import services
from shared.web.errors import BadInput, Unauthorized
from shared.web.request import json_body
from shared.web.routing import Router

router = Router()
KINDS = ("candle_lock_end", "cooldown_end", "intent_expiry", "preorder_expiry", "lease_end")


def _fire(request: Any) -> tuple[dict[str, Any], int]:
    try:
        verify_task_request(request.headers)
    except TaskAuthError:
        raise Unauthorized("unauthorized") from None
    body = json_body(request, strict=True)
    kind, key, at = body.get("kind"), body.get("key"), body.get("at")
    if kind not in KINDS or not isinstance(key, str) or not isinstance(at, int | float):
        raise BadInput("expected {kind, key, at} of a known timer")
    config = services().config
    assets: list[str] = []
    order_ids: list[str] = []
    if kind == "lease_end":
        order_ids = [key]
        assets = [order_asset(key)] if order_asset(key) in config.assets else []
    elif kind in ("intent_expiry", "preorder_expiry"):
        asset = key.split(":", 1)[0]
        if asset not in config.assets:
            raise BadInput(f"unknown asset in timer key {key!r}")
        assets = [asset]
    inp = TimerFired(kind=kind, key=key, at=float(at))
    return answer(execute(services(), inp, assets=assets, order_ids=order_ids), assets[0] if assets else None)


router.route("POST", "/")(_fire)
