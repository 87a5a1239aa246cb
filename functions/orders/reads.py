"""What the dashboard reads: the state, the gates, history, logs, orders, bars and the TradingView alert templates.
Nothing here writes, except the audit event of a revealed secret (D12)."""

from __future__ import annotations

from typing import Any

from shared.domain import catalog
from shared.domain.clock import session_window
from shared.domain.config import normalise_asset
from shared.domain.core import parse_direction
from shared.domain.orders import effective_status, order_public
from shared.domain.state import Order, from_doc
from shared.domain.view import gates_view, state_view
from shared.errors import BadInput
from shared.service import clock, read_world
from shared.service.security import SECRET_REVEALED, record_security_event
from shared.service.wiring import asset_keys, services, timers_status
from shared.store.api import Query
from shared.web import auth
from shared.web.request import field_label, query_int, query_param

from . import router
from .fields import asset_key

TV_TYPES = frozenset({"renko_bar", "tv_heartbeat", "level_exit"})
STATE_EXTRAS = frozenset({"history", "logs"})


@router.route("GET", "/api/state")
def get_state(request: Any) -> dict[str, Any]:
    """{global, assets} — a handful of reads for the 1 s poll. `?include=history,logs` adds the original's full
    shape (§3.6: history newest first; logs split TradingView / Rithmic, 100 each) at the cost of those reads."""
    auth.require_session(request)
    extras = {x.strip() for x in (query_param(request, "include") or "").split(",") if x.strip()}
    if extras - STATE_EXTRAS:
        raise BadInput(f"include: expected any of history,logs, got {sorted(extras - STATE_EXTRAS)}")
    world, now = read_world(services(), asset_keys())
    state = state_view(world, now, services().config)
    state["timers"] = timers_status(services())  # off when their settings are missing (writes still work)
    if clock.local_dev():  # the page's "simulated clock" banner (issue 21): frozen, or moved off the real time
        state["dev_clock"] = {"frozen": clock.frozen() is not None, "offset_s": round(clock.offset(), 3)}
    if "history" in extras:
        state["history"] = _history(100)
    if "logs" in extras:
        events = _events(200)
        tv = [str(e.get("type")) in TV_TYPES for e in events]  # str(): a stored type may be anything
        state["logs"] = {"tradingview": [e for e, is_tv in zip(events, tv, strict=True) if is_tv][:100],
                         "rithmic": [e for e, is_tv in zip(events, tv, strict=True) if not is_tv][:100]}
    return state


@router.route("GET", "/api/gates")
def get_gates(request: Any) -> dict[str, Any]:
    """D2: the whole entry checklist for one asset, every gate evaluated (no short cut)."""
    auth.require_session(request)
    key = asset_key({"asset": query_param(request, "asset") or "ES"})
    if key not in services().config.assets:
        raise BadInput("Unknown asset")
    world, now = read_world(services(), asset_keys())
    return gates_view(world, key, now, services().config, parse_direction(query_param(request, "direction")))


@router.route("GET", "/api/session-window")
def get_session_window(request: Any) -> dict[str, Any]:
    auth.require_session(request)
    return session_window(services().clock())


@router.route("GET", "/api/history")
def get_history(request: Any) -> dict[str, Any]:
    auth.require_session(request)
    return {"ok": True, "history": _history(query_int(request, "limit", 50, low=1, high=MAX_LIST))}


@router.route("GET", "/api/logs")
def get_logs(request: Any) -> dict[str, Any]:
    """D13: the audit trail, newest first, bounded; optionally one asset's, one operator's (`operator=`: an
    email, or a uid, or `password` for the shared-password sessions), or both."""
    auth.require_session(request)
    limit = query_int(request, "limit", 100, low=1, high=MAX_LIST)
    raw = query_param(request, "asset")
    asset = asset_key({"asset": raw}) if raw else None
    if asset is not None and asset not in services().config.assets:
        raise BadInput(f"asset: unknown asset {field_label(asset)!r}")  # bad input, never a retryable 503
    who = (query_param(request, "operator") or "").strip()
    if len(who) > MAX_OPERATOR_CHARS:
        raise BadInput(f"operator: at most {MAX_OPERATOR_CHARS} characters (an email or a uid)")
    return {"ok": True, "events": _events(limit, asset, who or None)}


MAX_OPERATOR_CHARS = 254  # the longest email address


@router.route("GET", "/api/orders")
def list_orders(request: Any) -> dict[str, Any]:
    auth.require_session(request)
    limit = query_int(request, "limit", 20, low=1, high=MAX_LIST)
    rows = services().store.query(Query("orders", order_by="created_at", descending=True, limit=limit))
    now = services().clock()
    out = []
    for _, data in rows:
        # a document with a field missing or of the wrong type (edited by hand) still lists, with the defaults
        order = from_doc(Order, dict(data), **ORDER_READ_DEFAULTS)
        view = order_public(order)
        view["status"] = effective_status(order, now)
        view["reason"] = order.reason  # the bridge's words for a reject or cancel: the dashboard announces them
        out.append(view)
    return {"ok": True, "orders": out}


MAX_LIST = 500
ORDER_READ_DEFAULTS: dict[str, Any] = {"symbol": "", "side": "", "qty": 0, "kind": "", "source": "", "env": ""}


def _history(limit: int) -> list[dict[str, Any]]:
    rows = services().store.query(Query("trades", order_by="exit_ts", descending=True, limit=limit))
    return [dict(data) for _, data in rows]


def _asset_labels(asset: str) -> list[str]:
    """Every value an audit record's `asset` takes when it touched `asset`: the key alone, or the sorted keys of
    several assets joined by commas (engine.audit_record), so one indexed `in` filter finds them all."""
    others = sorted(k for k in services().config.assets if k != asset)
    labels = []
    for mask in range(1 << len(others)):
        chosen = [k for i, k in enumerate(others) if mask >> i & 1]
        labels.append(",".join(sorted([asset, *chosen])))
    return labels[:30]  # Firestore's bound on `in`; with two assets there are two labels


def _events(limit: int, asset: str | None = None, operator: str | None = None) -> list[dict[str, Any]]:
    where: tuple[tuple[str, str, Any], ...] = (("asset", "in", _asset_labels(asset)),) if asset else ()
    if operator:
        # an email names the operator to a person; a uid stays the same when the email changes
        where += (("actor.email" if "@" in operator else "actor.uid", "==", operator),)
    # by commit (`seq`), not by `ts`: a frozen clock gives many events one `ts`
    store = services().store
    rows = list(store.query(Query("events", where=where, order_by="seq", descending=True, limit=limit)))
    if len(rows) < limit:
        # records written before events carried `seq` (older than every one that does), by their time
        older = store.query(Query("events", where=where, order_by="ts", descending=True, limit=limit))
        rows += [row for row in older if "seq" not in row[1]][: limit - len(rows)]
    return [{k: v for k, v in data.items() if k not in ("expire_at", "revs", "seq")} for _, data in rows]


BAR_STREAMS = catalog.STREAM_ROUTES   # the renko streams by webhook route
MAX_BARS = 1000


@router.route("GET", "/api/bars")
def get_bars(request: Any) -> dict[str, Any]:
    """The recent bars of one asset's stream, read back from the audit events (a bar is one `renko_bar` input):
    bounded, oldest first, for the dashboard's chart. Replays the webhook deduplicated are left out."""
    auth.require_session(request)
    raw_asset = query_param(request, "asset")
    key = normalise_asset(raw_asset, services().config)
    if key is None:
        raise BadInput(f"asset: expected one of {asset_keys()}, got {raw_asset!r}")
    stream = query_param(request, "stream")
    if stream not in BAR_STREAMS:
        raise BadInput(f"stream: expected one of {sorted(BAR_STREAMS)}, got {stream!r}")
    limit = query_int(request, "limit", 200, low=1, high=MAX_BARS)
    where = (("type", "==", "renko_bar"), ("asset", "==", key), ("input.stream", "==", stream),
             ("duplicate", "==", False))
    rows = services().store.query(Query("events", where=where, order_by="ts", descending=True, limit=limit))
    bars = [{"ts": data.get("ts"), "color": (data.get("input") or {}).get("color"),
             "bar_id": (data.get("input") or {}).get("bar_id")} for _, data in rows]
    bars.reverse()
    return {"ok": True, "asset": key, "stream": stream, "bars": bars}


@router.route("GET", "/api/alert-templates")
def alert_templates(request: Any) -> dict[str, Any]:
    """What to paste into TradingView: every webhook route and its message. The webhook secret is sent only when
    the operator asks for it (`?reveal=1`), within 5 minutes of signing in (else 403 SIGN_IN_AGAIN), and only
    once the audit event `secret_revealed` naming the operator is stored; otherwise the messages carry a
    placeholder."""
    reveal = query_param(request, "reveal")
    operator = auth.require_session(request, fresh=reveal == "1")
    if reveal not in (None, "", "0", "1"):
        raise BadInput(f"reveal: expected 0 or 1, got {reveal!r}")
    body: dict[str, Any] = {
        "ok": True,
        "assets": asset_keys(),
        "streams": [{"stream": s.name, "path": s.route, "box": s.box, "label": s.label} for s in catalog.STREAMS],
        "heartbeat_path": "/tv_heartbeat",
        "revealed": reveal == "1",
    }
    if reveal == "1":
        auth.require_recent_sign_in(operator, "Revealing the TradingView secret")
        secret = auth.get_secret("TV_WEBHOOK_SECRET")
        record_security_event(services(), SECRET_REVEALED, operator.record(),
                              secret="TV_WEBHOOK_SECRET")  # noqa: S106 (its name, never its value)
        body["secret"] = secret
    return body


