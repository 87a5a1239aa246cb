"""The operator API (§5, §8, D2–D5, D8, D12, D14): session auth, entries through the gate chain, the controls."""

from __future__ import annotations

import contextlib
import os
import re
import urllib.request
from datetime import datetime
from typing import Any, Literal

from flask import redirect

from shared.domain import catalog
from shared.domain.clock import session_window
from shared.domain.config import normalise_asset
from shared.domain.core import Ctx, order_asset, parse_direction
from shared.domain.inputs import (
    RISK_SETTINGS,
    AddBlackouts,
    BlackoutSpec,
    CancelIntent,
    CancelOrder,
    CancelPreorder,
    ConsumeTradeLimit,
    CreateIntent,
    ExitAll,
    Input,
    ManualExit,
    PlaceOrder,
    RebaselineAccount,
    RemoveBlackout,
    ScaleIn,
    SetEnv,
    SetPointsTakeProfit,
    SetProtect,
    SetRisk,
    SetTakeProfit,
    ToggleExit,
)
from shared.domain.operator import risk_view
from shared.domain.orders import effective_status, order_public
from shared.domain.state import Order, from_doc
from shared.domain.view import gates_view, normalise_world, state_view
from shared.domain.windows import DAYS, calendar_view
from shared.service import clock, execute, ical, read_world
from shared.service.http import answer
from shared.service.idempotency import parse_key
from shared.service.presets import presets
from shared.service.security import SECRET_REVEALED, keep_generation, record_security_event, stored_generation
from shared.service.wiring import asset_keys, services, timers_status
from shared.store.api import Query
from shared.web import auth
from shared.web.errors import BadInput, NotFound, Unavailable
from shared.web.openapi import openapi
from shared.web.request import (
    bounded_str,
    field_label,
    json_body,
    opt_bool,
    opt_float,
    opt_int,
    order_id_param,
    query_int,
    query_param,
)
from shared.web.respond import json_response, mask_secrets
from shared.web.routing import Router, annotate

router = Router()
WINDOW_ID = re.compile(r"b[0-9]{1,9}")

with contextlib.suppress(Unavailable):  # logged now, at start-up; refused again on the first login
    auth.check_password_strength()

# ---- session ---------------------------------------------------------------------------------------------------


@router.route("POST", "/api/login")
def login(request: Any) -> Any:
    return auth.login(request)


@router.route("POST", "/api/logout")
def logout(request: Any) -> Any:
    return auth.logout(request)


@router.route("GET", "/logout")
def logout_page(request: Any) -> Any:
    auth.end_session(request)  # Firebase accounts: the sessions are revoked, not only the cookie dropped
    response = redirect("/login.html", code=302)
    auth.clear_session_cookie(response, request)  # type: ignore[arg-type]
    return response


@router.route("GET", "/api/openapi.json")
def openapi_description(request: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route (no session: it describes, it reveals no state)."""
    return openapi()


@router.route("GET", "/api/auth/status")
def auth_status(request: Any) -> dict[str, Any]:
    return auth.auth_status(request)


# ---- helpers -----------------------------------------------------------------------------------------------------


def _asset_key(body: dict[str, Any], default: str | None = None) -> str:
    raw = body.get("asset", default)
    if raw is not None:
        raw = bounded_str({"asset": raw}, "asset", MAX_TEXT)
    key = normalise_asset(raw, services().config)
    if key is not None:
        return key
    return str(raw or "").strip().upper()


def _run(request: Any, make: Any) -> tuple[dict[str, Any], int]:
    operator = auth.require_session(request)
    body = mask_secrets(json_body(request))  # a secret typed into a field is never stored in the audit record
    inp: Input = make(body)
    asset = getattr(inp, "asset", None)
    annotate(asset=asset)
    return _command(request, operator, inp, asset)


def _command(request: Any, operator: Any, inp: Input, asset: str | None = None) -> tuple[dict[str, Any], int]:
    """An operator command through the unit of work, with its Idempotency-Key (D19) when the request has one."""
    try:
        key = parse_key(request.headers.get("Idempotency-Key"), f"{request.method} {request.path}")
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return answer(execute(services(), inp, actor=operator.record(), idempotency=key), asset)


def _truthy(body: dict[str, Any], *names: str) -> bool:
    """Any of these flags set; each must be a boolean (or 1/0, "true"/"false"): bool("false") was True."""
    return any(opt_bool(body, name) for name in names)


def _first(body: dict[str, Any], *names: str) -> tuple[str, Any]:
    for name in names:
        if body.get(name):
            return name, body.get(name)
    return names[0], None


MAX_TEXT = 32  # an asset, a direction, a mode: short words
# A threshold or target arrives raw: its meaning (and the order of refusals) is the rule's. Here only what no rule
# can mean is refused: another type, a long text, or a number far outside every range the dashboard offers.
RAW_NUMBER_BOUND = 1e6


def _text(value: Any, name: str) -> str | None:
    """A short text field (a number or boolean is taken as its text, as before); anything else is a 400."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return str(value)
    return bounded_str({name: value}, name, MAX_TEXT)


def _raw_number(body: dict[str, Any], *names: str, expected: str) -> Any:
    name, value = next(((n, body[n]) for n in names if body.get(n) is not None), (names[0], None))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return bounded_str({name: value}, name, MAX_TEXT)
    if isinstance(value, int | float) and abs(value) <= RAW_NUMBER_BOUND:
        return value
    raise BadInput(f"{name}: expected {expected}")


# ---- reads -------------------------------------------------------------------------------------------------------


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
    key = _asset_key({"asset": query_param(request, "asset") or "ES"})
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
    asset = _asset_key({"asset": raw}) if raw else None
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


# ---- entries and intents ------------------------------------------------------------------------------------------


@router.route("POST", "/api/orders")
def place_order(request: Any) -> tuple[dict[str, Any], int]:
    def make(body: dict[str, Any]) -> Input:
        if "asset" not in body:
            raise BadInput("asset: required (the raw order branch without asset is not supported)")
        return PlaceOrder(
            asset=_asset_key(body),
            order_type=_text(body.get("order_type") or "market", "order_type") or "market",
            trade_mode=_text(body.get("trade_mode"), "trade_mode"),
            direction=_text(*reversed(_first(body, "direction", "side", "direction_override"))),
            entry_override=_truthy(body, "entry_override", "override", "override_entry", "manual_entry_override"),
            entry_size_mode=_text(body.get("entry_size_mode"), "entry_size_mode"),
        )

    return _run(request, make)


@router.route("POST", "/api/intent")
def create_intent(request: Any) -> tuple[dict[str, Any], int]:
    return _run(request, lambda b: CreateIntent(asset=_asset_key(b), direction=_text(b.get("direction"), "direction")))


@router.route("POST", "/api/intent/cancel")
def cancel_intent(request: Any) -> tuple[dict[str, Any], int]:
    return _run(request, lambda b: CancelIntent(asset=_asset_key(b)))


@router.route("POST", "/api/preorder/cancel")
def cancel_preorder(request: Any) -> tuple[dict[str, Any], int]:
    return _run(request, lambda b: CancelPreorder(asset=_asset_key(b)))


@router.route("POST", "/api/orders/<order_id>/cancel")
def cancel_order(request: Any, order_id: str) -> tuple[dict[str, Any], int]:
    operator = auth.require_session(request)
    key = order_asset(order_id_param(order_id, services().config.assets))
    return _command(request, operator, CancelOrder(order_id=order_id), key)


# ---- exits and controls ---------------------------------------------------------------------------------------------


@router.route("POST", "/api/exit")
def manual_exit(request: Any) -> tuple[dict[str, Any], int]:
    return _run(request, lambda b: ManualExit(asset=_asset_key(b), force=_truthy(b, "force", "override",
                                                                                  "manual_override")))


@router.route("POST", "/api/exit-all")
def exit_all(request: Any) -> tuple[dict[str, Any], int]:
    return _run(request, lambda b: ExitAll(force=opt_bool(b, "force", True) is not False))


@router.route("POST", "/api/scale-in")
def scale_in(request: Any) -> tuple[dict[str, Any], int]:
    return _run(request, lambda b: ScaleIn(asset=_asset_key(b)))


@router.route("POST", "/api/protect")
def protect(request: Any) -> tuple[dict[str, Any], int]:
    def make(b: dict[str, Any]) -> Input:
        threshold = _raw_number(b, "threshold", "protect_threshold_points", expected="-2.0 or 0.5 points")
        return SetProtect(asset=_asset_key(b), enabled=opt_bool(b, "enabled"), threshold=threshold)

    return _run(request, make)


@router.route("POST", "/api/points-take-profit")
def points_take_profit(request: Any) -> tuple[dict[str, Any], int]:
    def make(b: dict[str, Any]) -> Input:
        target = _raw_number(b, "target", "points_tp_target", expected="a number between 0 and 200 points")
        return SetPointsTakeProfit(asset=_asset_key(b), enabled=opt_bool(b, "enabled"), target=target)

    return _run(request, make)


@router.route("POST", "/api/take-profit")
def take_profit(request: Any) -> tuple[dict[str, Any], int]:
    def make(b: dict[str, Any]) -> Input:
        target = _raw_number(b, "tp_target", "value", expected="a whole number between 1 and 50")
        return SetTakeProfit(asset=_asset_key(b), tp_arm=_text(b.get("tp_arm"), "tp_arm"), tp_target=target,
                             reset=bool(opt_bool(b, "reset")))

    return _run(request, make)


def _toggle(name: Literal["high_next_bar", "main_flip", "four_pt", "auto_exit"]) -> Any:
    def handler(request: Any) -> tuple[dict[str, Any], int]:
        return _run(request, lambda b: ToggleExit(asset=_asset_key(b), toggle=name))

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
    return _run(request, lambda b: ConsumeTradeLimit())


@router.route("POST", "/api/env")
def set_env(request: Any) -> tuple[dict[str, Any], int]:
    operator = auth.require_session(request)
    body = json_body(request, strict=True)
    return _command(request, operator, SetEnv(env=_text(body.get("env"), "env") or ""))


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


@router.route("GET", "/api/risk")
def get_risk(request: Any) -> dict[str, Any]:
    auth.require_session(request)
    world, now = read_world(services(), [])
    normalise_world(world, now, services().config)
    return {"ok": True, **risk_view(Ctx(world, now, services().config, "read"))}


DOLLAR_SETTINGS = ("daily_loss_limit_usd", "trailing_drawdown_usd", "trailing_stops_at_usd", "max_loss_per_trade_usd")


@router.route("POST", "/api/risk")
def set_risk(request: Any) -> tuple[dict[str, Any], int]:
    """D5 and D20: every setting is checked before anything changes; an unknown name is a 400 (a typo must never
    leave the trader unprotected while answering 200); a dollar limit's `null` switches it off."""
    operator = auth.require_session(request)
    body = known_fields(json_body(request, strict=True), RISK_SETTINGS, "setting")
    stops = body.get("protective_stop_points")
    if stops is not None and not (isinstance(stops, dict) and all(isinstance(k, str) for k in stops)):
        raise BadInput("protective_stop_points: expected an object of points by asset, e.g. {\"ES\": 8}")
    inp = SetRisk(
        max_trades_per_day=opt_int(body, "max_trades_per_day"),
        daily_stop_enabled=opt_bool(body, "daily_stop_enabled"),
        daily_stop_limit_pct=opt_float(body, "daily_stop_limit_pct"),
        daily_loss_limit_usd=opt_float(body, "daily_loss_limit_usd"),
        trailing_drawdown_usd=opt_float(body, "trailing_drawdown_usd"),
        trailing_stops_at_usd=opt_float(body, "trailing_stops_at_usd"),
        max_loss_per_trade_usd=opt_float(body, "max_loss_per_trade_usd"),
        trailing_mode=_text(body.get("trailing_mode"), "trailing_mode"),
        warn_at_pct=opt_float(body, "warn_at_pct"),
        max_price_age_s=opt_float(body, "max_price_age_s"),
        protective_stop_points=None if stops is None else {
            field_label(k): _stop_points(stops, k) for k in stops},
        require_protective_stop=opt_bool(body, "require_protective_stop"),
        flatten_if_unprotected=opt_bool(body, "flatten_if_unprotected"),
        loss_streak_limit=opt_int(body, "loss_streak_limit"),
        loss_streak_lock_minutes=opt_int(body, "loss_streak_lock_minutes"),
        trading_hours=_trading_hours(body.get("trading_hours")),
        off=tuple(name for name in (*DOLLAR_SETTINGS, "loss_streak_limit", "trading_hours")
                  if name in body and body[name] is None),
    )
    return _command(request, operator, inp)


def _trading_hours(raw: Any) -> dict[str, tuple[tuple[int, int], ...]] | None:
    """{"MON": [["09:30", "16:00"], …], …} in New York time (D22) -> minutes of the day; null is handled as off."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) > 7:
        raise BadInput("trading_hours: expected an object of spans by day, e.g. {\"MON\": [[\"09:30\", \"16:00\"]]}")
    hours: dict[str, tuple[tuple[int, int], ...]] = {}
    for day, spans in raw.items():
        name = f"trading_hours.{field_label(day)}"
        if not isinstance(spans, list) or len(spans) > 8:
            raise BadInput(f"{name}: expected a list of [start, end] spans (at most 8)")
        parsed = []
        for i, span in enumerate(spans):
            if not (isinstance(span, list) and len(span) == 2):
                raise BadInput(f"{name}[{i}]: expected [\"HH:MM\", \"HH:MM\"]")
            parsed.append((_minutes(span[0], f"{name}[{i}][0]"), _minutes(span[1], f"{name}[{i}][1]")))
        hours[field_label(day).upper()] = tuple(parsed)
    return hours


def _minutes(raw: Any, name: str) -> int:
    """"HH:MM" (00:00 to 24:00) as minutes of the day."""
    if isinstance(raw, str) and len(raw) == 5 and raw[2] == ":" and raw[:2].isdigit() and raw[3:].isdigit():
        hours, minutes = int(raw[:2]), int(raw[3:])
        if (hours < 24 and minutes < 60) or (hours, minutes) == (24, 0):
            return hours * 60 + minutes
    raise BadInput(f"{name}: expected a New York time \"HH:MM\" from 00:00 to 24:00")


# ---- blackout windows (D22) ------------------------------------------------------------------------------------------

WINDOW_FIELDS = ("label", "start", "end", "days", "flatten_before_s")
MAX_WINDOWS_PER_REQUEST = 50


@router.route("GET", "/api/calendar")
def get_calendar(request: Any) -> dict[str, Any]:
    auth.require_session(request)
    world, now = read_world(services(), [])
    normalise_world(world, now, services().config)
    return {"ok": True, **calendar_view(world.glob, now)}


@router.route("POST", "/api/calendar")
def add_calendar(request: Any) -> tuple[dict[str, Any], int]:
    """One window (the body) or several (`{"windows": [...]}`); every field is checked before anything changes."""
    operator = auth.require_session(request)
    body = json_body(request, strict=True)
    if "windows" in body:
        items = body["windows"]
        if set(body) != {"windows"} or not isinstance(items, list) or not 1 <= len(items) <= MAX_WINDOWS_PER_REQUEST:
            raise BadInput(f"windows: expected a list of 1 to {MAX_WINDOWS_PER_REQUEST} windows (and nothing else)")
        specs = tuple(_window(item, f"windows[{i}]") for i, item in enumerate(items))
    else:
        specs = (_window(body, ""),)
    return _command(request, operator, AddBlackouts(windows=specs))


def _window(raw: Any, where: str) -> BlackoutSpec:
    """A one-off {label, start, end} (ISO 8601 with an offset) or weekly {label, days, start, end} ("HH:MM" New
    York); `flatten_before_s` optional."""
    prefix = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise BadInput(f"{where or 'body'}: expected a window object")
    unknown = sorted(set(raw) - set(WINDOW_FIELDS))
    if unknown:
        raise BadInput(f"{prefix}{field_label(unknown[0])}: unknown field (expected any of {', '.join(WINDOW_FIELDS)})")
    label = bounded_str(raw, "label", MAX_TEXT, where=where) or ""
    if not label:
        raise BadInput(f"{prefix}label: required (what the window is, e.g. \"FOMC\")")
    flatten = opt_int(raw, "flatten_before_s", error=f"{prefix}flatten_before_s: expected whole seconds")
    if "days" in raw:
        days = raw["days"]
        if not (isinstance(days, list) and days and all(isinstance(d, str) and d.upper() in DAYS for d in days)):
            raise BadInput(f"{prefix}days: expected one or more of {', '.join(DAYS)}")
        return BlackoutSpec(kind="weekly", label=label, days=tuple(sorted({DAYS.index(d.upper()) for d in days})),
                            start_min=_minutes(raw.get("start"), f"{prefix}start"),
                            end_min=_minutes(raw.get("end"), f"{prefix}end"), flatten_before_s=flatten)
    return BlackoutSpec(kind="once", label=label, start=_instant(raw.get("start"), f"{prefix}start"),
                        end=_instant(raw.get("end"), f"{prefix}end"), flatten_before_s=flatten)


def _instant(raw: Any, name: str) -> float:
    """ISO 8601 with an offset (2026-03-18T14:00:00-04:00); a time without one is ambiguous and refused."""
    parsed = None
    if isinstance(raw, str) and len(raw) <= 40:
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(raw)
    if parsed is None or parsed.tzinfo is None:
        raise BadInput(f"{name}: expected ISO 8601 with an offset, e.g. 2026-03-18T14:00:00-04:00")
    return parsed.timestamp()


@router.route("DELETE", "/api/calendar/<window_id>")
def remove_calendar(request: Any, window_id: str) -> tuple[dict[str, Any], int]:
    operator = auth.require_session(request)
    if not WINDOW_ID.fullmatch(window_id):
        raise BadInput("window_id: expected a window id such as b12")
    return _command(request, operator, RemoveBlackout(window_id=window_id))


IMPORT_FIELDS = ("ics", "pad_before_min", "pad_after_min", "horizon_days", "flatten_before_s")


@router.route("POST", "/api/calendar/import")
def import_calendar(request: Any) -> tuple[dict[str, Any], int]:
    """An iCalendar file's events as one-off windows (D22): recurring events expanded in their time zones from now
    to `horizon_days` (default 30) ahead, each padded by `pad_before_min` / `pad_after_min` (default 5)."""
    operator = auth.require_session(request)
    body = known_fields(json_body(request, strict=True), IMPORT_FIELDS, "field")
    text = body.get("ics")
    if not isinstance(text, str) or "BEGIN:VCALENDAR" not in text:
        raise BadInput("ics: expected the text of an iCalendar file (BEGIN:VCALENDAR …)")
    pads = {}
    for name in ("pad_before_min", "pad_after_min"):
        value = opt_int(body, name, 5)
        if value is None or not 0 <= value <= 240:
            raise BadInput(f"{name}: expected minutes from 0 to 240")
        pads[name] = value
    horizon = opt_int(body, "horizon_days", 30)
    if horizon is None or not 1 <= horizon <= ical.MAX_HORIZON_DAYS:
        raise BadInput(f"horizon_days: expected days from 1 to {ical.MAX_HORIZON_DAYS}")
    flatten = opt_int(body, "flatten_before_s")
    try:
        found = ical.events(text, services().clock(), horizon_days=horizon, pad_before_s=pads["pad_before_min"] * 60,
                            pad_after_s=pads["pad_after_min"] * 60)
    except ical.IcalError as exc:
        raise BadInput(str(exc)) from None
    if not found:
        raise BadInput(f"ics: no event between now and {horizon} days ahead")
    if len(found) > ical.MAX_EVENTS:
        raise BadInput(f"ics: {len(found)} events in the next {horizon} days, at most {ical.MAX_EVENTS} windows; "
                       "import a shorter horizon_days")
    specs = tuple(BlackoutSpec(kind="once", label=e.label, start=e.start, end=e.end, flatten_before_s=flatten,
                               source="ical") for e in found)
    return _command(request, operator, AddBlackouts(windows=specs))


def known_fields(body: dict[str, Any], allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    """The body, if it names only `allowed` fields: an unknown one (a typo) is a 400 naming it, never ignored."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadInput(f"{field_label(unknown[0])}: unknown {what} (expected any of {', '.join(allowed)})")
    return body


def _stop_points(stops: dict[str, Any], asset: str) -> float:
    value = opt_float(stops, asset, error=f"protective_stop_points.{field_label(asset)}: expected points")
    if value is None:
        raise BadInput(f"protective_stop_points.{field_label(asset)}: expected points, got null")
    return value


@router.route("GET", "/api/risk/presets")
def risk_presets(request: Any) -> dict[str, Any]:
    """Named starting points for the dollar limits, each with the source of its figures (D20)."""
    auth.require_session(request)
    return {"ok": True, **presets()}


RESET_WORD = "REBASELINE"


@router.route("POST", "/api/risk/account")
def rebaseline_account(request: Any) -> tuple[dict[str, Any], int]:
    """D20: the account starts afresh at `baseline_usd` (the high-water mark; a trailing-drawdown lock lifts). The
    operator types the word, so no stray click ends a lock that exists to stop trading."""
    operator = auth.require_session(request)
    body = json_body(request, strict=True)
    if body.get("confirm") != RESET_WORD:
        raise BadInput(f"confirm: type {RESET_WORD} to re-baseline the account")
    baseline = opt_float(body, "baseline_usd")
    if baseline is None:
        raise BadInput("baseline_usd: required (the account's new starting balance in dollars)")
    return _command(request, operator, RebaselineAccount(baseline_usd=baseline))


# ---- the local stack's clock and reset (LOCAL_DEV=1 only) ------------------------------------------------------------


def _dev_only(request: Any) -> None:
    """Local stack only (404 elsewhere), and behind the operator session when a password is set: these routes
    move every function's clock and wipe the database."""
    if not clock.local_dev():
        raise NotFound()
    auth.require_session(request)


# ---- notification destinations (D23, issue 20) -------------------------------------------------------------------

NOTIFY_FIELDS = ("id", "label", "level", "url")


@router.route("GET", "/api/notifications/destinations")
def list_destinations(request: Any) -> dict[str, Any]:
    """Every destination with its level and delivery status; never its URL (the scheme only)."""
    from shared.service import notify

    auth.require_session(request)
    store = services().store
    dests = notify.read_destinations(store)
    statuses = store.get([notify.status_path(d["id"]) for d in dests]) if dests else {}
    return {"ok": True, "levels": list(notify.DESTINATION_LEVELS),
            "destinations": [notify.masked(d, statuses.get(notify.status_path(d["id"]))) for d in dests]}


@router.route("POST", "/api/notifications/destinations")
def put_destination(request: Any) -> tuple[dict[str, Any], int]:
    """Add or replace one destination: `{id, level, url, label?}`. The URL (an apprise URL: json://, ntfy://, tgram://,
    discord://, slack://, pover://, mailto://, …) goes to the secrets store, never to Firestore or a log line."""
    from shared.service import notify, notify_secrets
    from shared.store.api import Plan, Write

    auth.require_session(request)
    body = json_body(request, strict=True)
    unknown = sorted(set(body) - set(NOTIFY_FIELDS))
    if unknown:
        raise BadInput(f"{field_label(unknown[0])}: unknown field (expected {', '.join(NOTIFY_FIELDS)})")
    dest_id = body.get("id")
    if not isinstance(dest_id, str) or not notify.DEST_ID.fullmatch(dest_id):
        raise BadInput("id: expected 1 to 32 lower-case letters, digits or '-'")
    level = body.get("level", "important")
    if level not in notify.DESTINATION_LEVELS:
        raise BadInput(f"level: expected one of {', '.join(notify.DESTINATION_LEVELS)}")
    label = bounded_str(body, "label", 60) or dest_id
    url = body.get("url")
    if not isinstance(url, str) or not 8 <= len(url) <= 2000 or not notify.valid_url(url):
        raise BadInput("url: expected a notification URL apprise understands (e.g. ntfy://host/topic, json://host/path)")

    def plan(reads: Any) -> Plan[int]:
        current = notify.destinations(reads.get(notify.SETTINGS_PATH))
        others = [d for d in current if d["id"] != dest_id]
        if len(others) >= notify.MAX_DESTINATIONS:
            raise BadInput(f"at most {notify.MAX_DESTINATIONS} destinations")
        entry = {"id": dest_id, "label": label, "level": level, "scheme": notify.scheme_of(url)}
        return Plan([Write(notify.SETTINGS_PATH, "set", {"destinations": [*others, entry]})],
                    201 if len(others) == len(current) else 200)

    notify_secrets.secrets().put(dest_id, url)
    status = services().store.transact([notify.SETTINGS_PATH], plan)
    dest = next(d for d in notify.read_destinations(services().store) if d["id"] == dest_id)
    return {"ok": True, "destination": notify.masked(dest, None)}, status


@router.route("DELETE", "/api/notifications/destinations/<dest_id>")
def delete_destination(request: Any, dest_id: str) -> dict[str, Any]:
    from shared.service import notify, notify_secrets
    from shared.store.api import Plan, Write

    auth.require_session(request)
    if not notify.DEST_ID.fullmatch(dest_id):
        raise NotFound("no such destination")

    def plan(reads: Any) -> Plan[bool]:
        current = notify.destinations(reads.get(notify.SETTINGS_PATH))
        others = [d for d in current if d["id"] != dest_id]
        if len(others) == len(current):
            return Plan([], False)
        return Plan([Write(notify.SETTINGS_PATH, "set", {"destinations": others}),
                     Write(notify.status_path(dest_id), "delete")], True)

    if not services().store.transact([notify.SETTINGS_PATH], plan):
        raise NotFound("no such destination")
    notify_secrets.secrets().delete(dest_id)
    return {"ok": True, "removed": dest_id}


@router.route("POST", "/api/notifications/destinations/<dest_id>/test")
def test_destination(request: Any, dest_id: str) -> tuple[dict[str, Any], int]:
    """Send a test message now (the operator is waiting for it: this one is in the request path, bounded by
    apprise's own timeouts); its outcome is the destination's last success or error."""
    from shared.service import notify, notify_secrets
    from shared.web.respond import register_secret

    auth.require_session(request)
    if not notify.DEST_ID.fullmatch(dest_id) or not any(
            d["id"] == dest_id for d in notify.read_destinations(services().store)):
        raise NotFound("no such destination")
    url = notify_secrets.secrets().get(dest_id)
    if url is None:
        raise NotFound("the destination's URL is missing from the secrets store")
    register_secret(url)
    error = notify.SENDER(url, "OperatorLock test", "A test notification: this destination works.", "info")
    notify.record_status(services(), dest_id, error)
    if error is not None:
        return {"ok": False, "code": "DESTINATION_FAILED", "error": error}, 502
    return {"ok": True}, 200


@router.route("GET", "/_dev/clock")
def dev_clock_get(request: Any) -> dict[str, Any]:
    _dev_only(request)
    return {"ok": True, **clock.state()}


@router.route("POST", "/_dev/clock")
def dev_clock_set(request: Any) -> dict[str, Any]:
    _dev_only(request)
    body = json_body(request, strict=True)
    try:
        if "now" in body:
            clock.set_now(_dev_number(body, "now"), tick=bool(opt_bool(body, "tick", False)))
        elif "advance" in body:
            clock.advance(_dev_number(body, "advance"))
        else:
            raise BadInput("body: expected {\"now\": <epoch seconds>[, \"tick\": true]} or {\"advance\": <seconds>}")
    except ValueError as exc:
        raise BadInput(f"clock: {exc}") from None
    return {"ok": True, **clock.state()}


def _dev_number(body: dict[str, Any], name: str) -> float:
    value = opt_float(body, name)
    if value is None:
        raise BadInput(f"{name}: a number is required")
    return value


@router.route("DELETE", "/_dev/clock")
def dev_clock_reset(request: Any) -> dict[str, Any]:
    _dev_only(request)
    clock.reset()
    return {"ok": True, **clock.state()}


@router.route("POST", "/_dev/reset")
def dev_reset(request: Any) -> dict[str, Any]:
    """Wipe every document of the local project (pending timers then find nothing to do) and the clock. The
    session generation is written back: a wipe must not bring back the sessions a logout ended."""
    _dev_only(request)
    generation = stored_generation(services().store)
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not host or not project:
        raise NotFound()
    url = f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10) as response:
            status = response.status
    except OSError as exc:  # not listening yet (starting), frozen, or an error status: the caller may retry
        raise Unavailable(f"reset failed: the Firestore emulator at {host} is not ready "
                          f"({type(exc).__name__}); retry") from exc
    if status != 200:
        raise Unavailable(f"reset failed: the Firestore emulator answered {status}; retry")
    if generation:
        keep_generation(services().store, generation)
    clock.reset()
    return {"ok": True}

