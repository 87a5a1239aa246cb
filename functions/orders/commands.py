"""The operator's commands: entries and intents, exits and the exit toggles, protect and take-profit, the trade
limit, the environment, and the smoke test's timer probe. Each runs through the unit of work (D19: with its
Idempotency-Key when the request has one)."""

from __future__ import annotations

from typing import Any, Literal

from shared.domain.core import order_asset
from shared.domain.inputs import (
    CancelIntent,
    CancelOrder,
    CancelPreorder,
    ConsumeTradeLimit,
    CreateIntent,
    ExitAll,
    Input,
    ManualExit,
    PlaceOrder,
    ScaleIn,
    SetEnv,
    SetPointsTakeProfit,
    SetProtect,
    SetTakeProfit,
    ToggleExit,
)
from shared.errors import BadInput, Unavailable
from shared.logs import annotate, mask_secrets
from shared.service import clock, execute
from shared.service.http import answer
from shared.service.idempotency import parse_key
from shared.service.wiring import services
from shared.web import auth
from shared.web.request import json_body, opt_bool, order_id_param
from shared.web.respond import json_response

from . import router
from .fields import asset_key, first, raw_number, short_text, truthy


def run(request: Any, make: Any) -> tuple[dict[str, Any], int]:
    """The session's command: `make(body)` builds the input from the (masked) body."""
    operator = auth.require_session(request)
    body = mask_secrets(json_body(request))  # a secret typed into a field is never stored in the audit record
    inp: Input = make(body)
    asset = getattr(inp, "asset", None)
    annotate(asset=asset)
    return command(request, operator, inp, asset)


def command(request: Any, operator: Any, inp: Input, asset: str | None = None) -> tuple[dict[str, Any], int]:
    """An operator command through the unit of work, with its Idempotency-Key (D19) when the request has one."""
    try:
        key = parse_key(request.headers.get("Idempotency-Key"), f"{request.method} {request.path}")
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return answer(execute(services(), inp, actor=operator.record(), idempotency=key), asset)

# ---- entries and intents ------------------------------------------------------------------------------------------


@router.route("POST", "/api/orders")
def place_order(request: Any) -> tuple[dict[str, Any], int]:
    def make(body: dict[str, Any]) -> Input:
        if "asset" not in body:
            raise BadInput("asset: required (the raw order branch without asset is not supported)")
        return PlaceOrder(
            asset=asset_key(body),
            order_type=short_text(body.get("order_type") or "market", "order_type") or "market",
            trade_mode=short_text(body.get("trade_mode"), "trade_mode"),
            direction=short_text(*reversed(first(body, "direction", "side", "direction_override"))),
            entry_override=truthy(body, "entry_override", "override", "override_entry", "manual_entry_override"),
            entry_size_mode=short_text(body.get("entry_size_mode"), "entry_size_mode"),
        )

    return run(request, make)


@router.route("POST", "/api/intent")
def create_intent(request: Any) -> tuple[dict[str, Any], int]:
    return run(request, lambda b: CreateIntent(asset=asset_key(b),
                                               direction=short_text(b.get("direction"), "direction")))


@router.route("POST", "/api/intent/cancel")
def cancel_intent(request: Any) -> tuple[dict[str, Any], int]:
    return run(request, lambda b: CancelIntent(asset=asset_key(b)))


@router.route("POST", "/api/preorder/cancel")
def cancel_preorder(request: Any) -> tuple[dict[str, Any], int]:
    return run(request, lambda b: CancelPreorder(asset=asset_key(b)))


@router.route("POST", "/api/orders/<order_id>/cancel")
def cancel_order(request: Any, order_id: str) -> tuple[dict[str, Any], int]:
    operator = auth.require_session(request)
    key = order_asset(order_id_param(order_id, services().config.assets))
    return command(request, operator, CancelOrder(order_id=order_id), key)


# ---- exits and controls ---------------------------------------------------------------------------------------------


@router.route("POST", "/api/exit")
def manual_exit(request: Any) -> tuple[dict[str, Any], int]:
    return run(request, lambda b: ManualExit(asset=asset_key(b), force=truthy(b, "force", "override",
                                                                             "manual_override")))


@router.route("POST", "/api/exit-all")
def exit_all(request: Any) -> tuple[dict[str, Any], int]:
    return run(request, lambda b: ExitAll(force=opt_bool(b, "force", True) is not False))


@router.route("POST", "/api/scale-in")
def scale_in(request: Any) -> tuple[dict[str, Any], int]:
    return run(request, lambda b: ScaleIn(asset=asset_key(b)))


@router.route("POST", "/api/protect")
def protect(request: Any) -> tuple[dict[str, Any], int]:
    def make(b: dict[str, Any]) -> Input:
        threshold = raw_number(b, "threshold", "protect_threshold_points", expected="-2.0 or 0.5 points")
        return SetProtect(asset=asset_key(b), enabled=opt_bool(b, "enabled"), threshold=threshold)

    return run(request, make)


@router.route("POST", "/api/points-take-profit")
def points_take_profit(request: Any) -> tuple[dict[str, Any], int]:
    def make(b: dict[str, Any]) -> Input:
        target = raw_number(b, "target", "points_tp_target", expected="a number between 0 and 200 points")
        return SetPointsTakeProfit(asset=asset_key(b), enabled=opt_bool(b, "enabled"), target=target)

    return run(request, make)


@router.route("POST", "/api/take-profit")
def take_profit(request: Any) -> tuple[dict[str, Any], int]:
    def make(b: dict[str, Any]) -> Input:
        target = raw_number(b, "tp_target", "value", expected="a whole number between 1 and 50")
        return SetTakeProfit(asset=asset_key(b), tp_arm=short_text(b.get("tp_arm"), "tp_arm"), tp_target=target,
                             reset=bool(opt_bool(b, "reset")))

    return run(request, make)


def _toggle(name: Literal["high_next_bar", "main_flip", "four_pt", "auto_exit"]) -> Any:
    def handler(request: Any) -> tuple[dict[str, Any], int]:
        return run(request, lambda b: ToggleExit(asset=asset_key(b), toggle=name))

    return handler


router.route("POST", "/api/high-next-bar-exit")(_toggle("high_next_bar"))
router.route("POST", "/api/main-flip-exit")(_toggle("main_flip"))
router.route("POST", "/api/four-pt-invalidation")(_toggle("four_pt"))
router.route("POST", "/api/auto-exit")(_toggle("auto_exit"))


@router.route("POST", "/api/two-half-tp-lock")
def two_half_tp_lock(request: Any) -> Any:
    auth.require_session(request)
    return json_response({"ok": False, "error": "Manual 2.5 lock is disabled. 2.5 lock is automatic only.",
                          "code": "TWO_HALF_LOCK_AUTOMATIC"}, 423)


@router.route("POST", "/api/trade-limit/consume")
def consume_trade_limit(request: Any) -> tuple[dict[str, Any], int]:
    return run(request, lambda b: ConsumeTradeLimit())


@router.route("POST", "/api/env")
def set_env(request: Any) -> tuple[dict[str, Any], int]:
    operator = auth.require_session(request)
    body = json_body(request, strict=True)
    return command(request, operator, SetEnv(env=short_text(body.get("env"), "env") or ""))


PROBE_DELAY_S = 5.0


@router.route("POST", "/api/timer-probe")
def timer_probe(request: Any) -> tuple[dict[str, Any], int]:
    """The smoke test's timer (scripts/smoke.py, issue 22): schedules a `probe` timer due in a few seconds under a
    key of its own; when Cloud Tasks delivers it, the timers function writes a timer/PROBE audit event with that key
    (GET /api/logs). It names no asset, order or environment: no trading state changes."""
    auth.require_session(request)
    from secrets import token_hex

    from shared.scheduler import Timer

    scheduler = services().scheduler
    if scheduler is None:
        raise Unavailable("timers are not configured on this deployment")
    key = f"probe:{token_hex(8)}"
    due = clock.now() + PROBE_DELAY_S
    scheduler.schedule([Timer("probe", key, due, {})])
    return {"ok": True, "key": key, "due": due}, 201


