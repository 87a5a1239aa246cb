"""Pure time arithmetic: candles, trading days, the CME session window, countdown texts. `now` is always given."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from . import fast
from .cme_calendar import EARLY_CLOSES, FIRST_YEAR, HOLIDAYS, LAST_YEAR

NEW_YORK = ZoneInfo("America/New_York")


def candle_bucket(now: float, candle_s: int = 300) -> int:
    """Wall-clock 5-minute bucket: floor(epoch / 300) (§5.2)."""
    return math.floor(now / candle_s)


def seconds_to_next_candle(now: float, candle_s: int = 300) -> int:
    """1…300: seconds to the next bucket boundary, as the original computes it."""
    return candle_s - (int(now) % candle_s)


def ny_datetime(now: float) -> datetime:
    return datetime.fromtimestamp(now, NEW_YORK)


def ny_date(now: float) -> date:
    return ny_datetime(now).date()


def trading_day_at(now: float, start_hour: int = 18) -> str:
    """The trading day a moment belongs to (D4): it starts at 18:00 New York and is named by its closing date."""
    local = ny_datetime(now)
    day = local.date()
    if local.hour >= start_hour:
        day = day + timedelta(days=1)
    return day.isoformat()


def trading_day_span(day: str, start_hour: int = 18) -> tuple[float, float]:
    """The first and the last second of a trading day (`trading_day_at` of each is `day`, unless a time-zone change
    falls on its edge)."""
    closing = date.fromisoformat(day)
    first = datetime.combine(closing - timedelta(days=1), time(), NEW_YORK) + timedelta(hours=start_hour)
    last = datetime.combine(closing, time(), NEW_YORK) + timedelta(hours=start_hour, seconds=-1)
    return first.timestamp(), last.timestamp()


trading_day = fast.by_span(trading_day_at, trading_day_span)   # every decision asks, at a new moment each time


def mmss(seconds: float) -> str:
    remaining = max(0, int(seconds))
    return f"{remaining // 60:02d}:{remaining % 60:02d}"


def session_window(now: float) -> dict[str, object]:
    """CME Globex hours (D14): Sunday 18:00 to Friday 17:00 New York, with a daily 17:00–18:00 break; no session on
    a CME holiday, and an early close ends its session sooner (D22, `cme_calendar.py`). `calendar_known` is false
    outside the years the compiled calendar covers: the answer then knows the weekly hours only, and says so."""
    local = ny_datetime(now)
    known = FIRST_YEAR <= _session_date(local).year <= LAST_YEAR
    if _globex_open(local):
        close_at = _next_edge(local, want_open=False)
        return {"open": True, "seconds_until_close": int(close_at.timestamp() - now), "seconds_until_open": 0,
                "calendar_known": known}
    open_at = _next_edge(local, want_open=True)
    return {"open": False, "seconds_until_close": 0, "seconds_until_open": int(open_at.timestamp() - now),
            "calendar_known": known}


def _globex_open(local: datetime) -> bool:
    weekday, hour = local.weekday(), local.hour  # Monday 0 … Sunday 6
    if weekday == 5:
        return False
    if weekday == 6:
        open_now = hour >= 18
    elif weekday == 4:
        open_now = hour < 17
    else:
        open_now = hour != 17
    return open_now and _exchange_open(local)


def _exchange_open(local: datetime) -> bool:
    """The CME calendar's word on a moment the weekly hours call open: its session (named by the date it closes,
    as the trading day is) is no holiday, and an early close has not come yet."""
    session = _session_date(local)
    name = session.isoformat()
    if name in HOLIDAYS:
        return False
    close = EARLY_CLOSES.get(name)
    return close is None or session != local.date() or (local.hour, local.minute) < close


def _session_date(local: datetime) -> date:
    """The CME session a New York moment belongs to, named by the date it closes (18:00 starts the next one)."""
    return local.date() + timedelta(days=1) if local.hour >= 18 else local.date()


EDGE_STEP_MIN = 15   # every edge (the hour, an early close such as 13:00 or 12:15) falls on a quarter hour


def _next_edge(local: datetime, *, want_open: bool) -> datetime:
    """The next quarter hour at which the session becomes open (or closed)."""
    probe = local.replace(minute=local.minute - local.minute % EDGE_STEP_MIN, second=0, microsecond=0)
    for _ in range(24 * 8 * 60 // EDGE_STEP_MIN):
        probe = (probe + timedelta(minutes=EDGE_STEP_MIN)).astimezone(NEW_YORK)
        probe = probe.replace(second=0, microsecond=0)
        if _globex_open(probe) == want_open:
            return probe
    raise AssertionError("unreachable: the week always has an edge")  # pragma: no cover
