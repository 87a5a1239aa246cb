"""The VPS bridge (§6, §7, §9, D9–D11): claims pending orders, reports executions, heartbeats and PnL snapshots.

Every field is checked before anything is decided: an explicit invalid value is a 400 naming the field (never
silently replaced); only a missing one takes its documented default. Heartbeats and snapshots keep their known
fields only, and nothing that names or equals a secret is stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from shared.domain import stops
from shared.domain.bridge import BRIDGE_FIELDS
from shared.domain.core import order_asset
from shared.domain.inputs import BridgeHeartbeat, ExecutionReport, PnlSnapshot, PollPending, SymbolPosition
from shared.errors import BadInput
from shared.logs import annotate, log_json_once, mask_secrets
from shared.service import Outcome, execute
from shared.service.http import answer
from shared.service.long_poll import client_gone, max_held, max_hold_s, parse_wait, watch_for
from shared.service.wiring import services
from shared.web.auth import check_shared_secret
from shared.web.request import (
    bounded_number,
    bounded_str,
    id_text,
    json_body,
    opt_bool,
    order_id_param,
    price,
    query_int,
    query_param,
    whole_number,
)
from shared.web.routing import Router

router = Router()
SECRET = "BRIDGE_HEARTBEAT_SECRET"  # noqa: S105 - the variable's name
SECRET_HEADER = "X-Bridge-Secret"  # noqa: S105 - a header name
REPORT_STATUSES = ("WORKING", "FILLED", "PARTIALLY_FILLED", "REJECTED", "CANCELLED")
MAX_POLL = 100
CLIENT_GONE = 499  # nginx's "client closed request": only the access log ever sees it
# Broker-plausible bounds: no account of this desk holds 1000 contracts or a billion dollars (prices: request.price).
# Anything outside is a broken or hostile bridge.
MAX_CONTRACTS = 1000
MAX_USD = 1e9
MAX_SYMBOLS = 64
BOOL_FIELDS = frozenset({"tsConnected", "mdConnected", "repoOk"})
TEXT_LIMITS = {"note": 500}  # the other text fields are ids and ISO-8601 times
TEXT_LIMIT = 100
MAX_CAPABILITIES = 16
KNOWN_CAPABILITIES = frozenset({stops.CAPABILITY})   # what a bridge may declare (D21); others are dropped


# `?secret=` (the original bridge contract) puts the secret in every request URL, and Cloud Run's request logs keep
# full URLs for 30 days (issue 22). Refused in production unless a legacy bridge needs it for a while
# (ALLOW_SECRET_IN_QUERY=1, Terraform's legacy_bridge_query_auth); the local stack (LOCAL_DEV=1) accepts it.
QUERY_SECRET_ENV = "ALLOW_SECRET_IN_QUERY"  # noqa: S105 - the variable's name


class SecretInQuery(BadInput):
    code = "SECRET_IN_QUERY"

    def body(self) -> dict[str, Any]:
        return {**super().body(), "code": self.code}  # a bridge can tell this 400 from a malformed request


def _query_secret_allowed() -> bool:
    return os.environ.get(QUERY_SECRET_ENV, "") == "1" or os.environ.get("LOCAL_DEV", "") == "1"


def _secret(request: Any, body: Mapping[str, Any] | None = None) -> None:
    """The bridge's secret from the X-Bridge-Secret header (kept out of URLs and access logs), else the body, else
    the query string (the original's poll) where that is still allowed; a URL carrying it is refused otherwise,
    whatever the header says (the secret is in the logs either way: the bridge must stop sending it there)."""
    in_query = query_param(request, "secret")
    if in_query and not _query_secret_allowed():
        raise SecretInQuery(f"the bridge secret is refused in the URL (request logs keep URLs): send it in the "
                            f"{SECRET_HEADER} header ({QUERY_SECRET_ENV} allows a legacy bridge)")
    given = request.headers.get(SECRET_HEADER)
    if not given and body is not None:
        given = body.get("secret")
    if not given:
        given = in_query
        if given and os.environ.get("LOCAL_DEV", "") != "1":
            log_json_once(QUERY_SECRET_ENV, "WARNING", f"a bridge sends its secret as ?secret= ({QUERY_SECRET_ENV}=1): "
                          f"request logs keep it; move the bridge to the {SECRET_HEADER} header")
    check_shared_secret(given, SECRET)


@router.route("GET", "/api/orders/pending")
def pending(request: Any) -> tuple[dict[str, Any], int]:
    _secret(request)
    limit = query_int(request, "limit", 20, low=1, high=MAX_POLL)
    owner = mask_secrets(bounded_str({"owner": query_param(request, "owner")}, "owner", 200) or "bridge")
    try:
        wait = parse_wait(query_param(request, "wait"))
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    wired = services()

    def claim() -> Outcome:
        return execute(wired, PollPending(owner=owner, limit=limit))

    if not wait:
        return answer(claim())
    # The long poll (issue 11): held until an order is pending, the wait ends or the client hangs up.
    # At most max_held() per process (429 with Retry-After beyond): held requests never take every thread.
    outcome = watch_for(wired.store).hold(claim, min(wait, max_hold_s()), client_gone(request.environ),
                                          max_held())
    if outcome is None:  # hung up before the first claim: nothing claimed, an answer nobody reads
        annotate(outcome="client_gone")
        return {"ok": False, "error": "the client closed the connection; nothing was claimed"}, CLIENT_GONE
    return answer(outcome)


def _fill_price(body: Mapping[str, Any], extra: Mapping[str, Any]) -> float | None:
    """The first of fill_price / avg_price / price that is given; an explicit invalid one is a 400 (it used to fall
    back to the last price silently). The band around the last known price is the domain's check."""
    for name in ("fill_price", "avg_price", "price"):
        source = body if body.get(name) is not None else extra
        if source.get(name) is not None:
            return price(source, name)
    return None


@router.route("POST", "/api/orders/<order_id>/execution-report")
def execution_report(request: Any, order_id: str) -> tuple[dict[str, Any], int]:
    body = json_body(request)
    _secret(request, body)
    order_id = order_id_param(order_id, services().config.assets)
    status = body.get("status")
    if not isinstance(status, str) or status not in REPORT_STATUSES:
        raise BadInput("invalid status")  # the original's text (§7.1)
    raw_extra = body.get("extra")
    if raw_extra is not None and not isinstance(raw_extra, dict):
        raise BadInput("extra: expected an object")
    extra: dict[str, Any] = raw_extra or {}

    def source(name: str) -> Mapping[str, Any]:
        return body if body.get(name) is not None else extra

    def text(name: str, limit: int) -> str | None:
        return mask_secrets(id_text(source(name), name, limit))  # type: ignore[no-any-return]

    inp = ExecutionReport(
        order_id=order_id, status=status,  # type: ignore[arg-type]
        qty=whole_number(source("qty"), "qty", low=1, high=MAX_CONTRACTS),
        cum_qty=whole_number(source("cum_qty"), "cum_qty", low=1, high=MAX_CONTRACTS),
        fill_price=_fill_price(body, extra),
        fill_id=text("fill_id", 200),
        reason=text("reason", 500),
    )
    asset = order_asset(order_id)
    annotate(asset=asset)
    return answer(execute(services(), inp), asset)


def heartbeat_info(body: Mapping[str, Any]) -> dict[str, Any]:
    """The known heartbeat fields only (§9.1), each of its type and size; unknown keys (`bridge`, `version`, or a
    caller's `password`) are dropped, and any configured secret value is masked."""
    info: dict[str, Any] = {}
    for name in BRIDGE_FIELDS:
        if name in BOOL_FIELDS:
            info[name] = opt_bool(body, name)
        else:
            info[name] = bounded_str(body, name, TEXT_LIMITS.get(name, TEXT_LIMIT))
    caps = body.get("capabilities")
    if caps is not None:
        if not (isinstance(caps, list) and len(caps) <= MAX_CAPABILITIES
                and all(isinstance(c, str) and 0 < len(c) <= TEXT_LIMIT for c in caps)):
            raise BadInput(f"capabilities: expected a list of at most {MAX_CAPABILITIES} names, e.g. "
                           '["protective_stop"]')
        info["capabilities"] = [c for c in caps if c in KNOWN_CAPABILITIES]
    return mask_secrets({k: v for k, v in info.items() if v is not None})  # type: ignore[no-any-return]


@router.route("POST", "/api/bridge/heartbeat")
def bridge_heartbeat(request: Any) -> tuple[dict[str, Any], int]:
    body = json_body(request)
    _secret(request, body)
    return answer(execute(services(), BridgeHeartbeat(info=heartbeat_info(body))))


def _symbol(i: int, entry: Any) -> SymbolPosition:
    where = f"symbols[{i}]"
    if not isinstance(entry, dict):
        raise BadInput(f"{where}: expected an object with a string symbol")
    symbol = bounded_str(entry, "symbol", 32, where=where)
    if not symbol:
        raise BadInput(f"{where}.symbol: a non-empty string is required")
    position = whole_number(entry, "position", low=-MAX_CONTRACTS, high=MAX_CONTRACTS, where=where)
    open_pnl = bounded_number(entry, "openPnl", low=-MAX_USD, high=MAX_USD, where=where)
    avg = price(entry, "avgOpenFill", where=where)
    return SymbolPosition(symbol=mask_secrets(symbol), position=position or 0,
                          open_pnl=open_pnl or 0.0, avg_open_fill=avg)


@router.route("POST", "/api/rithmic/pnl-snapshot")
def pnl_snapshot(request: Any) -> tuple[dict[str, Any], int]:
    body = json_body(request)
    _secret(request, body)
    given = body.get("symbols")
    if given is not None and not isinstance(given, list):
        raise BadInput("symbols: expected a list")
    raw_symbols: list[Any] = given or []
    if len(raw_symbols) > MAX_SYMBOLS:
        raise BadInput(f"symbols: more than {MAX_SYMBOLS} entries")
    symbols = tuple(_symbol(i, entry) for i, entry in enumerate(raw_symbols))
    inp = PnlSnapshot(realized=bounded_number(body, "realized", low=-MAX_USD, high=MAX_USD) or 0.0,
                      unrealized=bounded_number(body, "unrealized", low=-MAX_USD, high=MAX_USD) or 0.0,
                      account_balance=bounded_number(body, "accountBalance", low=-MAX_USD, high=MAX_USD),
                      symbols=symbols)
    return answer(execute(services(), inp))
