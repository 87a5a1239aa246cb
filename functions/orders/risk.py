"""The risk settings (D5, D20) and their presets, the account's re-baseline, and the blackout calendar (D22) with
its iCalendar import. Every change is an operator command through the unit of work."""

from __future__ import annotations

import re
from typing import Any

from shared.domain.core import Ctx
from shared.domain.inputs import RISK_SETTINGS, AddBlackouts, BlackoutSpec, RebaselineAccount, RemoveBlackout, SetRisk
from shared.domain.operator import risk_view
from shared.domain.view import normalise_world
from shared.domain.windows import MAX_FLATTEN_BEFORE_S, calendar_view
from shared.errors import BadInput
from shared.service import ical, read_world
from shared.service.presets import presets
from shared.service.wiring import services
from shared.web import auth
from shared.web.calendar import MAX_WINDOWS_PER_REQUEST, parse_trading_hours, parse_window
from shared.web.request import field_label, json_body, opt_bool, opt_float, opt_int

from . import router
from .commands import command
from .fields import known_fields, short_text

WINDOW_ID = re.compile(r"b[0-9]{1,9}")


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
        trailing_mode=short_text(body.get("trailing_mode"), "trailing_mode"),
        warn_at_pct=opt_float(body, "warn_at_pct"),
        max_price_age_s=opt_float(body, "max_price_age_s"),
        protective_stop_points=None if stops is None else {
            field_label(k): _stop_points(stops, k) for k in stops},
        require_protective_stop=opt_bool(body, "require_protective_stop"),
        flatten_if_unprotected=opt_bool(body, "flatten_if_unprotected"),
        loss_streak_limit=opt_int(body, "loss_streak_limit"),
        loss_streak_lock_minutes=opt_int(body, "loss_streak_lock_minutes"),
        trading_hours=parse_trading_hours(body.get("trading_hours")),
        off=tuple(name for name in (*DOLLAR_SETTINGS, "loss_streak_limit", "trading_hours")
                  if name in body and body[name] is None),
    )
    return command(request, operator, inp)


# ---- blackout windows (D22) ------------------------------------------------------------------------------------------

@router.route("GET", "/api/calendar")
def get_calendar(request: Any) -> dict[str, Any]:
    auth.require_session(request)
    world, now = read_world(services(), [])
    normalise_world(world, now, services().config)
    return {"ok": True, **calendar_view(world.glob, now, services().config.trading_day_start_hour)}


@router.route("POST", "/api/calendar")
def add_calendar(request: Any) -> tuple[dict[str, Any], int]:
    """One window (the body) or several (`{"windows": [...]}`); every field is checked before anything changes."""
    operator = auth.require_session(request)
    body = json_body(request, strict=True)
    if "windows" in body:
        items = body["windows"]
        if set(body) != {"windows"} or not isinstance(items, list) or not 1 <= len(items) <= MAX_WINDOWS_PER_REQUEST:
            raise BadInput(f"windows: expected a list of 1 to {MAX_WINDOWS_PER_REQUEST} windows (and nothing else)")
        specs = tuple(parse_window(item, f"windows[{i}]") for i, item in enumerate(items))
    else:
        specs = (parse_window(body, ""),)
    return command(request, operator, AddBlackouts(windows=specs))


@router.route("DELETE", "/api/calendar/<window_id>")
def remove_calendar(request: Any, window_id: str) -> tuple[dict[str, Any], int]:
    operator = auth.require_session(request)
    if not WINDOW_ID.fullmatch(window_id):
        raise BadInput("window_id: expected a window id such as b12")
    return command(request, operator, RemoveBlackout(window_id=window_id))


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
    if flatten is not None and not 0 <= flatten <= MAX_FLATTEN_BEFORE_S:   # the rules would name windows[0]
        raise BadInput(f"flatten_before_s: expected seconds from 0 to {MAX_FLATTEN_BEFORE_S}")
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
    return command(request, operator, AddBlackouts(windows=specs))


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
    return command(request, operator, RebaselineAccount(baseline_usd=baseline))


