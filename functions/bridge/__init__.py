"""The VPS bridge (§6, §7, §9, D9–D11): claims pending orders, reports executions, heartbeats and PnL snapshots."""

from __future__ import annotations

from typing import Any

from shared.domain.core import order_asset
from shared.domain.inputs import BridgeHeartbeat, ExecutionReport, PnlSnapshot, PollPending, SymbolPosition
from shared.service import execute
from shared.service.http import answer
from shared.service.wiring import asset_keys, services
from shared.store.api import Query
from shared.web.auth import check_shared_secret
from shared.web.errors import BadInput, NotFound
from shared.web.request import json_body, query_int, query_param, to_float
from shared.web.routing import Router, annotate

router = Router()
SECRET = "BRIDGE_HEARTBEAT_SECRET"  # noqa: S105 - the variable's name
REPORT_STATUSES = ("WORKING", "FILLED", "PARTIALLY_FILLED", "REJECTED", "CANCELLED")
MAX_POLL = 100


@router.route("GET", "/api/orders/pending")
def pending(request: Any) -> tuple[dict[str, Any], int]:
    check_shared_secret(query_param(request, "secret"), SECRET)
    limit = query_int(request, "limit", 20, low=1, high=MAX_POLL)
    owner = (query_param(request, "owner") or "bridge")[:200]
    query = Query("orders", where=(("status", "==", "PENDING"),), order_by="created_at", limit=limit)
    return answer(execute(services(), PollPending(owner=owner, limit=limit), assets=[], queries=[query]))



def _whole(value: Any, name: str) -> int | None:
    if value is None:
        return None
    number = to_float(value)
    if number is None or number != int(number) or number <= 0:
        raise BadInput(f"{name}: expected a positive whole number, got {value!r}")
    return int(number)


@router.route("POST", "/api/orders/<order_id>/execution-report")
def execution_report(request: Any, order_id: str) -> tuple[dict[str, Any], int]:
    body = json_body(request)
    check_shared_secret(body.get("secret") or query_param(request, "secret"), SECRET)
    status = body.get("status")
    if status not in REPORT_STATUSES:
        raise BadInput("invalid status")
    raw_extra = body.get("extra")
    extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}

    def pick(name: str) -> Any:
        return body.get(name) if body.get(name) is not None else extra.get(name)

    inp = ExecutionReport(
        order_id=order_id, status=status,
        qty=_whole(pick("qty"), "qty"), cum_qty=_whole(pick("cum_qty"), "cum_qty"),
        fill_price=to_float(pick("fill_price")) or to_float(pick("avg_price")) or to_float(pick("price")),
        fill_id=None if pick("fill_id") is None else str(pick("fill_id"))[:200],
        reason=None if pick("reason") is None else str(pick("reason"))[:500],
    )
    asset = order_asset(order_id)
    if asset not in services().config.assets:
        raise NotFound("Unknown order")
    annotate(asset=asset)
    return answer(execute(services(), inp, assets=[asset], order_ids=[order_id]), asset)


@router.route("POST", "/api/bridge/heartbeat")
def bridge_heartbeat(request: Any) -> tuple[dict[str, Any], int]:
    body = json_body(request)
    check_shared_secret(body.get("secret"), SECRET)
    info = {k: v for k, v in body.items() if k != "secret" and isinstance(v, str | bool | int | float | None)}
    return answer(execute(services(), BridgeHeartbeat(info=info), assets=[]))


@router.route("POST", "/api/rithmic/pnl-snapshot")
def pnl_snapshot(request: Any) -> tuple[dict[str, Any], int]:
    body = json_body(request)
    check_shared_secret(body.get("secret"), SECRET)
    symbols = []
    given = body.get("symbols")
    raw_symbols: list[Any] = given if isinstance(given, list) else []
    for i, entry in enumerate(raw_symbols):
        if not isinstance(entry, dict) or not isinstance(entry.get("symbol"), str):
            raise BadInput(f"symbols[{i}]: expected an object with a string symbol")
        position = to_float(entry.get("position")) or 0.0
        if position != int(position):
            raise BadInput(f"symbols[{i}].position: expected a whole number, got {entry.get('position')!r}")
        symbols.append(SymbolPosition(symbol=entry["symbol"], position=int(position),
                                      open_pnl=to_float(entry.get("openPnl")) or 0.0,
                                      avg_open_fill=to_float(entry.get("avgOpenFill"))))
    inp = PnlSnapshot(realized=to_float(body.get("realized")) or 0.0,
                      unrealized=to_float(body.get("unrealized")) or 0.0,
                      account_balance=to_float(body.get("accountBalance")), symbols=tuple(symbols))
    return answer(execute(services(), inp, assets=asset_keys()))
