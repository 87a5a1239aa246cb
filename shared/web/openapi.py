"""The OpenAPI 3.1 description of every route, served at `GET /api/openapi.json` by the orders function.

Built here as data rather than kept as a JSON file so that the shared shapes (the error body, Retry-After, the
refusal statuses) are written once. tests/service/test_openapi.py validates it with openapi-spec-validator and
checks that it names exactly the routes the functions register; tests/emulator/test_fuzz.py sends Schemathesis'
requests built from it to the local stack and checks every answer against it.
"""

from __future__ import annotations

import copy
from typing import Any

from shared.domain.catalog import STREAMS, TASK_KINDS

VERSION = "1.0.0"

_ERROR = {"$ref": "#/components/schemas/Error"}
_RETRY_AFTER = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
_ANY_OBJECT: dict[str, Any] = {"type": "object"}

_DESCRIPTIONS = {
    "400": "Malformed input: the message names the field. Nothing was written.",
    "401": "Missing or wrong credentials. Nothing was written.",
    "403": "Refused by a rule (a gate, a lock, a limit); only the audit line was written. With operator "
           "accounts, also an account without the operator grant (NOT_AN_OPERATOR; nothing written), or a sign-in "
           "without the required TOTP second factor (SECOND_FACTOR_REQUIRED, OPERATOR_MFA=MANDATORY).",
    "404": "Unknown order, asset or path (or a local-only route elsewhere). Nothing was written.",
    "409": "Refused by the current state; only the audit line was written.",
    "413": "The body is larger than any request of this API. Nothing was read further or written.",
    "423": "Locked (e.g. the 2.5 lock is automatic only).",
    "429": "Too many failed logins lately, or (a long poll) this server already holds its bound of polls; "
           "retry after Retry-After seconds.",
    "502": "A notification destination refused the test message or could not be reached (DESTINATION_FAILED).",
    "503": "Storage unreachable or busy, or a setting missing (the log names it). Nothing was half-written; "
           "retry after Retry-After seconds. With code OUTCOME_UNKNOWN (and request_id) a commit was sent and its "
           "outcome could not be found out: it may have been applied, so re-send it unchanged (the same "
           "Idempotency-Key, fill_id or cum_qty) and the answer is its one outcome.",
}


def _error(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _DESCRIPTIONS[status],
                                "content": {"application/json": {"schema": _ERROR}}}
    if status in ("429", "503"):
        response["headers"] = copy.deepcopy(_RETRY_AFTER)
    return response


def _ok(schema: dict[str, Any] | None = None, description: str = "Done.") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or _ANY_OBJECT}}}


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, tag: str, ok: dict[str, dict[str, Any]], errors: tuple[str, ...], *,
        body: dict[str, Any] | None = None, parameters: list[dict[str, Any]] | None = None,
        security: list[dict[str, list[str]]] | None = None, local_only: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "operationId": "",
                          "responses": {**ok, **{s: _error(s) for s in sorted(set(errors) | {"503"})}}}
    if body is not None:
        op["requestBody"] = body
    if tag == "commands":
        parameters = [*(parameters or []), _IDEMPOTENCY_KEY]
    if parameters:
        op["parameters"] = parameters
    if security is not None:
        op["security"] = security
    if local_only:
        op["x-local-only"] = True
        op["description"] = "Local stack only (LOCAL_DEV=1): 404 everywhere else."
    return op


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200,
               "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"},
    "description": "One per click; send it again with a re-sent command: a repeat of the same route and key within "
                   "24 h answers the first outcome (a refusal too) and changes nothing. Printable ASCII, no "
                   "surrounding spaces, else 400.",
}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


_ASSET = {"type": "string", "maxLength": 64, "description": "ES or NQ, or a TradingView/broker symbol of them",
          "examples": ["ES", "CME_MINI:MES1!"]}
_TV_SECRET = {"type": "string", "description": "TV_WEBHOOK_SECRET"}
_BRIDGE_SECRET = {"type": "string", "description": "BRIDGE_HEARTBEAT_SECRET (or the X-Bridge-Secret header)"}
_ID = {"type": ["string", "integer"], "description": "an identifier; a whole number is read as its text"}
_NUMBER = {"type": "number"}
_USD_OR_OFF = {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 10_000_000}
_BOOL = {"type": "boolean"}
_HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"}
_WINDOW = {"label": {"type": "string"}, "start": {"type": "string"}, "end": {"type": "string"},
           "days": {"type": "array", "items": {"enum": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]}},
           "flatten_before_s": {"type": ["integer", "null"], "minimum": 0, "maximum": 3600}}
_ORDER_ID = {"name": "order_id", "in": "path", "required": True,
             "schema": {"type": "string", "maxLength": 200, "examples": ["ES-20261124-160000-abc123"]}}

_SYMBOL = {"type": "object", "properties": {"symbol": {"type": "string"}, "position": {"type": "integer"},
                                            "openPnl": _NUMBER, "avgOpenFill": _NUMBER}}
Security = list[dict[str, list[str]]]
_SESSION: Security = [{"session": []}]
_BRIDGE: Security = [{"bridgeHeader": []}, {"bridgeQuery": []}, {}]  # {}: or the secret in the body
_NONE: Security = []
# 403: with operator accounts (OPERATOR_AUTH=firebase), an account that lost the operator grant
_OPERATOR_ERRORS = ("400", "401", "403", "413")
_COMMAND_ERRORS = ("400", "401", "403", "404", "409", "413", "423")
_OK_TRUE: dict[str, Any] = {"type": "object", "required": ["ok"], "properties": {"ok": {"const": True}}}


def _list_of(name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["ok", name],
            "properties": {"ok": {"const": True}, name: {"type": "array", "items": {"type": "object"}}}}


_DEST_ID = {"name": "dest_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"}}
_COMMAND_OK = {"200": _ok(_OK_TRUE), "201": _ok(_OK_TRUE, "Created (an order, an intent).")}
_PUSH_ENDPOINT = {"type": "string", "minLength": 12, "maxLength": 2000, "description": "https:// (a push service)"}
_PUSH_SUBSCRIPTION = {"type": "object", "description": "PushSubscription.toJSON()", "required": ["endpoint", "keys"],
                      "properties": {"endpoint": _PUSH_ENDPOINT, "expirationTime": {"type": ["number", "null"]},
                                     "keys": {"type": "object", "required": ["p256dh", "auth"],
                                              "properties": {"p256dh": {"type": "string"},
                                                             "auth": {"type": "string"}}}}}


def _object(required: tuple[str, ...], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


# The top level of the other answers (functions/orders, functions/timers), so that the fuzz run's response checks
# mean something for them too.
_INT = {"type": "integer"}
_DESCRIPTION = _object(("openapi", "info", "paths"), {"openapi": {"type": "string"}, "info": _ANY_OBJECT,
                                                      "paths": _ANY_OBJECT})
_SESSION_WINDOW = _object(("open", "seconds_until_close", "seconds_until_open", "calendar_known"), {
    "open": _BOOL, "seconds_until_close": _INT, "seconds_until_open": _INT, "calendar_known": _BOOL})
_BARS = _object(("ok", "asset", "stream", "bars"), {
    "ok": {"const": True}, "asset": {"type": "string"}, "stream": {"type": "string"},
    "bars": {"type": "array", "items": {"type": "object", "properties": {
        "ts": {"type": ["number", "null"]}, "color": {"type": ["string", "null"]}}}}})
_TEMPLATES = _object(("ok", "assets", "streams", "heartbeat_path", "revealed"), {
    "ok": {"const": True}, "assets": {"type": "array", "items": {"type": "string"}},
    "streams": {"type": "array", "items": _object(("stream", "path", "box", "label"), {
        "stream": {"type": "string"}, "path": {"type": "string"},
        "box": {"type": "number", "description": "the brick size in points"},
        "label": {"type": "string", "description": "the dashboard's name for the stream"}})},
    "heartbeat_path": {"type": "string"}, "revealed": _BOOL,
    "secret": {"type": "string", "description": "only with reveal=1"}})
_RISK = _object(("ok", "max_trades_per_day", "daily_stop_enabled", "daily_stop_limit_pct", "pending",
                 "pending_effective_trading_day", "trades_remaining_today"), {
    "ok": {"const": True}, "max_trades_per_day": _INT, "daily_stop_enabled": _BOOL,
    "daily_stop_limit_pct": _NUMBER, "pending": _ANY_OBJECT,
    "pending_effective_trading_day": {"type": ["string", "null"]}, "trades_remaining_today": _INT})
_TIMER_OK = _object(("ok",), {"ok": {"const": True}, "outcome": {"type": "string"}})
_CLOCK = _object(("ok", "now", "frozen"), {"ok": {"const": True}, "now": _NUMBER, "frozen": _BOOL})


def _webhooks() -> dict[str, Any]:
    renko = _body({"secret": _TV_SECRET, "asset": _ASSET, "symbol": _ASSET,
                   "color": {"type": "string", "maxLength": 32, "examples": ["green", "red"]},
                   "bar_id": _ID, "bar_ts": _ID}, ("secret",))
    paths: dict[str, Any] = {}
    for stream in STREAMS:
        brick = f"{stream.label}, shown only" if stream.shown_only else stream.label
        paths[stream.route] = {"post": _op(
            f"A {brick} Renko bar from TradingView (bar_id/bar_ts de-duplicates a re-send)", "webhooks",
            {"200": _ok(_OK_TRUE)}, ("400", "401", "403", "409", "413"), body=renko, security=_NONE)}
    paths["/tv_heartbeat"] = {"post": _op(
        "TradingView's price heartbeat", "webhooks", {"200": _ok(_OK_TRUE)}, ("400", "401", "403", "409", "413"),
        body=_body({"secret": _TV_SECRET, "symbol": _ASSET, "asset": _ASSET, "price": _NUMBER,
                    "timestamp": _NUMBER}, ("secret",)), security=_NONE)}
    paths["/tv_level_exit"] = {"post": _op(
        "A level-exit alert: exit the asset's position if there is one", "webhooks", {"200": _ok(_OK_TRUE)},
        ("400", "401", "403", "409", "413"), body=_body({"secret": _TV_SECRET, "asset": _ASSET, "bar_id": _ID,
                                                          "bar_ts": _ID}, ("secret",)), security=_NONE)}
    return paths


_CALENDAR = _object(("ok", "active", "next", "windows", "trading_hours", "in_trading_hours"), {
    "ok": {"const": True}, "active": {"type": ["object", "null"]}, "next": {"type": ["object", "null"]},
    "windows": {"type": "array"}, "trading_hours": _ANY_OBJECT, "in_trading_hours": _BOOL,
    "trading_opens_in_s": {"type": ["integer", "null"]}})


def _operator() -> dict[str, Any]:
    asset_only = _body({"asset": _ASSET})
    limit = _query("limit", {"type": "integer"}, "how many, newest first (bounded)")
    paths: dict[str, Any] = {
        "/api/login": {"post": _op(
            "Sign in: sets the __session cookie, per OPERATOR_AUTH: the shared password ({password}), or the "
            "Firebase ID token the login page obtained by signing in at Firebase Authentication itself "
            "({id_token}; email and password are refused with 400, they go to Firebase only)", "session",
            {"200": _ok({"type": "object", "properties": {"ok": {"const": True}, "operator": _ANY_OBJECT}})},
            ("400", "401", "403", "413", "429"),
            body=_body({"password": {"type": "string"}, "id_token": {"type": "string"}}), security=_NONE)},
        "/api/logout": {"post": _op("Sign out everywhere: every copy of the session ends", "session",
                                    {"200": _ok(_OK_TRUE)}, ("400", "413"), security=_NONE)},
        "/logout": {"get": _op("Sign out everywhere and go to the login page", "session",
                               {"302": {"description": "Redirect to /login.html, cookie cleared."}}, (),
                               security=_NONE)},
        "/api/auth/status": {"get": _op(
            "Whether this browser is signed in", "session",
            {"200": _ok({"type": "object", "required": ["authenticated", "password_required"],
                         "properties": {"authenticated": _BOOL, "password_required": _BOOL,
                                        "mode": {"const": "firebase"}, "operator": {"type": ["object", "null"]},
                                        "firebase": _ANY_OBJECT, "error": {"type": "string"}}})}, (),
            security=_NONE)},
        "/api/openapi.json": {"get": _op("This description", "meta", {"200": _ok(_DESCRIPTION)}, (), security=_NONE)},
        "/api/state": {"get": _op(
            "Global and per-asset state with every computed flag", "reads",
            {"200": _ok({"type": "object", "required": ["global", "assets"],
                         "properties": {"global": _ANY_OBJECT, "assets": _ANY_OBJECT,
                                        "timers": {"type": "object", "required": ["on", "reason"],
                                                   "properties": {"on": _BOOL,
                                                                  "reason": {"type": ["string", "null"]}}}}})},
            _OPERATOR_ERRORS, parameters=[_query("include", {"type": "string"}, "any of history,logs")])},
        "/api/gates": {"get": _op(
            "The whole entry checklist for one asset", "reads",
            {"200": _ok({"type": "object", "required": ["ok", "asset", "can_enter", "gates"],
                         "properties": {"can_enter": _BOOL, "gates": {"type": "array"}}})}, _OPERATOR_ERRORS,
            parameters=[_query("asset", _ASSET), _query("direction", {"type": "string"})])},
        "/api/session-window": {"get": _op("The trading session window", "reads", {"200": _ok(_SESSION_WINDOW)},
                                           _OPERATOR_ERRORS)},
        "/api/history": {"get": _op("Closed trades, newest first", "reads", {"200": _ok(_list_of("history"))},
                                    _OPERATOR_ERRORS,
                                    parameters=[limit])},
        "/api/logs": {"get": _op("The audit trail, newest first, optionally one asset's and/or one operator's",
                                 "reads", {"200": _ok(_list_of("events"))}, _OPERATOR_ERRORS,
                                 parameters=[_query("asset", _ASSET), limit,
                                             _query("operator", {"type": "string"},
                                                    "an operator's email or uid (the events' actor)")])},
        "/api/bars": {"get": _op("One stream's recent bars", "reads", {"200": _ok(_BARS)}, _OPERATOR_ERRORS,
                                 parameters=[_query("asset", _ASSET), _query("stream", {"type": "string"}), limit])},
        "/api/alert-templates": {"get": _op(
            "TradingView alert templates (reveal=1: the secret, within 5 min of signing in, else 403 "
            "SIGN_IN_AGAIN; audited as secret_revealed)", "reads", {"200": _ok(_TEMPLATES)},
                                            _OPERATOR_ERRORS, parameters=[_query("reveal", {"type": "string"})])},
        "/api/orders": {
            "get": _op("Recent orders (STALE derived)", "reads", {"200": _ok(_list_of("orders"))}, _OPERATOR_ERRORS,
                       parameters=[limit]),
            "post": _op("Enter through the gate chain", "commands", _COMMAND_OK, _COMMAND_ERRORS,
                        body=_body({"asset": _ASSET, "trade_mode": {"type": "string"},
                                    "order_type": {"type": "string"}, "entry_size_mode": {"type": "string"},
                                    "direction": {"type": "string"}, "entry_override": _BOOL})),
        },
        "/api/orders/{order_id}/cancel": {"post": _op(
            "Cancel a PENDING or STALE order", "commands", _COMMAND_OK, _COMMAND_ERRORS,
            parameters=[_ORDER_ID])},
        "/api/intent": {"post": _op("Arm an entry intent", "commands", _COMMAND_OK, _COMMAND_ERRORS,
                                    body=_body({"asset": _ASSET, "direction": {"type": "string"}}))},
        "/api/exit": {"post": _op("Exit one asset", "commands", _COMMAND_OK, _COMMAND_ERRORS,
                                  body=_body({"asset": _ASSET, "force": _BOOL}))},
        "/api/exit-all": {"post": _op("Exit every asset", "commands", _COMMAND_OK, _COMMAND_ERRORS,
                                      body=_body({"force": _BOOL}))},
        "/api/protect": {"post": _op("Profit protection", "commands", _COMMAND_OK, _COMMAND_ERRORS,
                                     body=_body({"asset": _ASSET, "enabled": _BOOL, "threshold": _NUMBER}))},
        "/api/points-take-profit": {"post": _op(
            "Points take-profit", "commands", _COMMAND_OK, _COMMAND_ERRORS,
            body=_body({"asset": _ASSET, "enabled": _BOOL, "target": _NUMBER}))},
        "/api/take-profit": {"post": _op(
            "Arm, disarm or reset the take-profit", "commands", _COMMAND_OK, _COMMAND_ERRORS,
            body=_body({"asset": _ASSET, "tp_arm": {"type": "string"}, "tp_target": _NUMBER, "reset": _BOOL}))},
        "/api/two-half-tp-lock": {"post": _op("Always 423: the 2.5 lock is automatic only", "commands", {},
                                              ("401", "423"))},
        "/api/trade-limit/consume": {"post": _op("Use up one trade of today's limit", "commands", _COMMAND_OK,
                                                 _COMMAND_ERRORS)},
        "/api/env": {"post": _op("Switch SIM/LIVE", "commands", _COMMAND_OK, _COMMAND_ERRORS,
                                 body=_body({"env": {"type": "string", "examples": ["SIM", "LIVE"]}}))},
        "/api/risk": {
            "get": _op("Risk settings (today's and the next trading day's)", "reads", {"200": _ok(_RISK)},
                       _OPERATOR_ERRORS),
            "post": _op("Tighten now, loosen next trading day (an unknown setting is a 400 naming it; a dollar "
                        "limit's null switches it off)", "commands", _COMMAND_OK, _COMMAND_ERRORS,
                        body=_body({"max_trades_per_day": {"type": "integer"}, "daily_stop_enabled": _BOOL,
                                    "daily_stop_limit_pct": _NUMBER, "daily_loss_limit_usd": _USD_OR_OFF,
                                    "trailing_drawdown_usd": _USD_OR_OFF, "trailing_stops_at_usd": _USD_OR_OFF,
                                    "max_loss_per_trade_usd": _USD_OR_OFF,
                                    "trailing_mode": {"enum": ["intraday", "end_of_day"]}, "warn_at_pct": _NUMBER,
                                    "max_price_age_s": {"type": "number", "minimum": 30, "maximum": 600},
                                    "protective_stop_points": {"type": "object",
                                                               "additionalProperties": _NUMBER},
                                    "loss_streak_limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
                                    "loss_streak_lock_minutes": {"type": "integer", "minimum": 1, "maximum": 1440},
                                    "trading_hours": {"type": ["object", "null"], "additionalProperties": {
                                        "type": "array", "items": {"type": "array", "items": _HHMM}}}})),
        },
        "/api/notifications/destinations": {
            "get": _op("Notification destinations (D23): id, label, level, delivery status; never the URL (its "
                       "scheme only)", "reads", {"200": _ok(_list_of("destinations"))}, _OPERATOR_ERRORS),
            "post": _op("Add or replace a destination: an apprise URL (ntfy://, json://, tgram://, discord://, "
                        "slack://, pover://, mailto://…) kept as a secret outside the store, and the level it "
                        "listens at; without url an existing destination keeps its own (a level or label change)",
                        "commands", _COMMAND_OK, _COMMAND_ERRORS, body=_body({
                            "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"},
                            "url": {"type": "string", "minLength": 8, "maxLength": 2000},
                            "level": {"enum": ["critical", "important", "all"]},
                            "label": {"type": "string", "maxLength": 60}}, ("id",))),
        },
        "/api/notifications/destinations/{dest_id}": {"delete": _op(
            "Remove a destination and its secret", "commands", _COMMAND_OK, _COMMAND_ERRORS,
            parameters=[_DEST_ID])},
        "/api/notifications/destinations/{dest_id}/test": {"post": _op(
            "Send a test message now; 502 DESTINATION_FAILED with the (scrubbed) reason when it is refused",
            "commands", _COMMAND_OK, (*_COMMAND_ERRORS, "502"), parameters=[_DEST_ID])},
        "/api/push/key": {"get": _op(
            "The VAPID public key a browser subscribes with (applicationServerKey, base64url); 503 while the "
            "VAPID_PRIVATE_KEY secret has no version", "push",
            {"200": _ok(_object(("ok", "public_key"), {"ok": {"const": True}, "public_key": {"type": "string"}}))},
            _OPERATOR_ERRORS)},
        "/api/push/subscribe": {"post": _op(
            "Add (201) or replace (200) this browser's push subscription as a notification destination at a level; "
            "the subscription is kept as a secret outside the store, never served back", "push", _COMMAND_OK,
            _OPERATOR_ERRORS, body=_body({"subscription": _PUSH_SUBSCRIPTION,
                                          "level": {"enum": ["critical", "important", "all"]},
                                          "label": {"type": "string", "maxLength": 60}}, ("subscription",)))},
        "/api/push/status": {"post": _op(
            "Whether this browser's subscription (its endpoint, in the body: never in a URL) is a destination",
            "push", {"200": _ok(_object(("ok", "subscribed"), {"ok": {"const": True}, "subscribed": _BOOL,
                                                                "destination": {"type": ["object", "null"]}}))},
            _OPERATOR_ERRORS, body=_body({"endpoint": _PUSH_ENDPOINT}, ("endpoint",)))},
        "/api/push/unsubscribe": {"post": _op(
            "Remove this browser's subscription and its secret (removed: its destination id, or null)", "push",
            {"200": _ok(_OK_TRUE)}, _OPERATOR_ERRORS, body=_body({"endpoint": _PUSH_ENDPOINT}, ("endpoint",)))},
        "/api/calendar": {
            "get": _op("Blackout windows, the one in force and the next with its countdown, the trading hours (D22)",
                       "reads", {"200": _ok(_CALENDAR)}, _OPERATOR_ERRORS),
            "post": _op("Add blackout windows (in force at once): one-off {label, start, end} in ISO 8601 with an "
                        "offset, or weekly {label, days, start, end} in New York HH:MM; or {windows: [...]}",
                        "commands", _COMMAND_OK, _COMMAND_ERRORS, body=_body({**_WINDOW, "windows": {
                            "type": "array", "items": {"type": "object", "properties": _WINDOW}}})),
        },
        "/api/calendar/{window_id}": {"delete": _op(
            "Remove a blackout window: it stays in force until the next trading day (D5)", "commands", _COMMAND_OK,
            _COMMAND_ERRORS, parameters=[{"name": "window_id", "in": "path", "required": True,
                                          "schema": {"type": "string", "pattern": "^b[0-9]{1,9}$"}}])},
        "/api/calendar/import": {"post": _op(
            "Import an iCalendar file's events (recurring ones expanded) as padded one-off blackout windows",
            "commands", _COMMAND_OK, _COMMAND_ERRORS,
            body=_body({"ics": {"type": "string"}, "pad_before_min": {"type": "integer"},
                        "pad_after_min": {"type": "integer"}, "horizon_days": {"type": "integer"},
                        "flatten_before_s": {"type": "integer"}}, ("ics",)))},
        "/api/risk/presets": {"get": _op(
            "Named starting points for the dollar limits, each with its source (firms change their rules)", "reads",
            {"200": _ok({"type": "object", "required": ["presets", "note"],
                         "properties": {"presets": {"type": "array"}, "note": {"type": "string"}}})},
            _OPERATOR_ERRORS)},
        "/api/risk/account": {"post": _op(
            "Re-baseline the account: the trailing drawdown's high-water mark becomes baseline_usd and its lock "
            "lifts; confirm must be the typed word REBASELINE", "commands", _COMMAND_OK, _COMMAND_ERRORS,
            body=_body({"baseline_usd": _NUMBER, "confirm": {"const": "REBASELINE"}},
                       ("baseline_usd", "confirm")))},
    }
    paths["/api/timer-probe"] = {"post": _op(
        "Schedule the smoke test's probe timer (due in 5 s, key probe:<random>); when it fires, a timer/PROBE "
        "audit event with that key appears in GET /api/logs. Changes no trading state", "session",
        {"201": _ok({"type": "object", "properties": {"ok": {"const": True}, "key": {"type": "string"},
                                                       "due": {"type": "number"}}}, "Scheduled.")},
        ("401",))}
    for path, summary in (("/api/intent/cancel", "Cancel the intent"), ("/api/preorder/cancel", "Cancel the pre-order"),
                          ("/api/scale-in", "Scale in"), ("/api/high-next-bar-exit", "Toggle high next-bar exit"),
                          ("/api/main-flip-exit", "Toggle main-flip exit"),
                          ("/api/four-pt-invalidation", "Toggle 4pt invalidation"),
                          ("/api/auto-exit", "Toggle auto exit")):
        paths[path] = {"post": _op(summary, "commands", _COMMAND_OK, _COMMAND_ERRORS, body=asset_only)}
    return paths


def _bridge() -> dict[str, Any]:
    text = {"type": "string", "maxLength": 100}
    return {
        "/api/orders/pending": {"get": _op(
            "Claim pending orders (each once). A protective stop (D21) comes as kind STOP with stop_price, action "
            "(PLACE or MODIFY) and revision; an exit names the stop it replaces in replaces_stop (cancel that stop "
            "first; if it filled, reject the exit with reason STOP_ALREADY_FILLED)", "bridge",
            {"200": _ok(_list_of("orders"))}, ("400", "401", "429"),
            security=_BRIDGE,
            parameters=[_query("limit", {"type": "integer"}), _query("owner", {"type": "string"}),
                        _query("wait", {"type": "number", "minimum": 0, "maximum": 50},
                               "long poll: hold the request up to this many seconds until an order is pending "
                               "(answers at once when one is; an empty list when the time is up; absent or 0: "
                               "the plain poll; 429 at once when this server holds LONG_POLL_MAX_HELD polls "
                               "already)")])},
        "/api/orders/{order_id}/execution-report": {"post": _op(
            "An execution report. A fill (FILLED, PARTIALLY_FILLED) is the broker's fact: applied whatever the "
            "order's state, after a CANCELLED or REJECTED too (logged LATE_FILL); it needs fill_price (within the "
            "band of the last price, else of the order's reference price, else the contract's plausible range), "
            "and, unless it completes the order, fill_id or cum_qty, which make a re-sent report count once. A "
            "FILLED for a FILLED order is a repeat whatever it carries.", "bridge", {"200": _ok(_OK_TRUE)},
            ("400", "401", "403", "404", "409", "413"), parameters=[_ORDER_ID], security=_BRIDGE,
            body=_body({"secret": _BRIDGE_SECRET,
                        "status": {"type": "string",
                                   "enum": ["WORKING", "FILLED", "PARTIALLY_FILLED", "REJECTED", "CANCELLED"]},
                        "fill_price": _NUMBER, "avg_price": _NUMBER, "price": _NUMBER, "qty": {"type": "integer"},
                        "cum_qty": {"type": "integer"}, "fill_id": _ID, "reason": {"type": "string"},
                        "extra": {"type": "object"}}))},
        "/api/bridge/heartbeat": {"post": _op(
            "The bridge's heartbeat (known fields only are kept)", "bridge", {"200": _ok(_OK_TRUE)},
            ("400", "401", "403", "409", "413"), security=_BRIDGE,
            body=_body({"secret": _BRIDGE_SECRET, "tsConnected": _BOOL, "mdConnected": _BOOL, "repoOk": _BOOL,
                        "account": text, "note": {"type": "string", "maxLength": 500},
                        "capabilities": {"type": "array", "maxItems": 16,
                                         "items": {"type": "string", "examples": ["protective_stop"]}}}))},
        "/api/rithmic/pnl-snapshot": {"post": _op(
            "The broker's PnL and positions", "bridge", {"200": _ok(_OK_TRUE)}, ("400", "401", "403", "409", "413"),
            security=_BRIDGE,
            body=_body({"secret": _BRIDGE_SECRET, "accountBalance": _NUMBER, "realized": _NUMBER,
                        "unrealized": _NUMBER,
                        "symbols": {"type": "array", "items": _SYMBOL}}))},
    }


def _timers_and_dev() -> dict[str, Any]:
    return {
        "/__fn/timers/": {"post": _op(
            "A Cloud Tasks callback: tidies up and logs (every lock is also derived from stored times). In the "
            "cloud this is TIMERS_URL with an OIDC token; locally the X-Local-Tasks-Token header.", "timers",
            {"200": _ok(_TIMER_OK)}, ("400", "401", "403", "404", "409", "413"), security=[{"tasksToken": []}],
            body=_body({"kind": {"type": "string", "enum": list(TASK_KINDS)},
                        "key": {"type": "string"}, "at": _NUMBER, "payload": {"type": "object"}},
                       ("kind", "key", "at")))},
        "/_dev/clock": {
            "get": _op("The local stack's clock", "dev", {"200": _ok(_CLOCK)}, ("401", "404"), local_only=True),
            "post": _op("Freeze the clock at {now} (2000-2100; {tick} lets it run) or {advance} it", "dev",
                        {"200": _ok(_CLOCK)}, ("400", "401", "404", "413"), local_only=True,
                        body=_body({"now": _NUMBER, "tick": _BOOL, "advance": _NUMBER})),
            "delete": _op("Back to the real clock", "dev", {"200": _ok(_CLOCK)}, ("401", "404"), local_only=True),
        },
        "/_dev/reset": {"post": _op("Wipe every document and the clock", "dev", {"200": _ok(_OK_TRUE)},
                                    ("401", "404", "413"), local_only=True)},
    }


def openapi() -> dict[str, Any]:
    """The whole description (a fresh copy each call)."""
    paths = {**_webhooks(), **_operator(), **_bridge(), **_timers_and_dev()}
    for path, methods in paths.items():
        for method, op in methods.items():
            op["operationId"] = f"{method}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}" \
                .replace("-", "_").replace(".", "_") or method
    return {
        "openapi": "3.1.0",
        "info": {"title": "OperatorLock control plane", "version": VERSION,
                 "description": "TradingView webhooks, the operator dashboard's API, the VPS bridge, timer "
                                "callbacks and the local stack's dev routes. Every route lives behind "
                                "firebase.json's rewrites; bodies are JSON (webhooks: whatever the content type)."},
        "servers": [{"url": "/"}],
        "security": _SESSION,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "__session",
                            "description": "POST /api/login; the local stack with an empty DASHBOARD_PASSWORD is "
                                           "open"},
                "bridgeHeader": {"type": "apiKey", "in": "header", "name": "X-Bridge-Secret"},
                "bridgeQuery": {"type": "apiKey", "in": "query", "name": "secret",
                                "description": "kept for compatibility; prefer the header"},
                "tasksToken": {"type": "apiKey", "in": "header", "name": "X-Local-Tasks-Token"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["ok", "error"],
                          "properties": {"ok": {"const": False}, "error": {"type": "string"},
                                         "code": {"type": "string"}, "request_id": {"type": "string"}}},
            },
            "headers": {
                "RetryAfter": {"required": True, "description": "seconds to wait before retrying",
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}},
            },
        },
    }
