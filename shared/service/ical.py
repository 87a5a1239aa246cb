"""Blackout windows from an iCalendar file (D22): every event, recurring ones expanded in their own time zones,
from now to `horizon_days` ahead, padded before and after, becomes a one-off window.

`icalendar` and `recurring-ical-events` are imported on the first import request only (`POST /api/calendar/import`):
no other route pays for them at a cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.domain.clock import NEW_YORK

MAX_EVENTS = 50          # the domain keeps at most 50 windows in all (shared.domain.windows.MAX_WINDOWS)
MAX_HORIZON_DAYS = 366


class IcalError(ValueError):
    """The file is not a calendar this import can read; the text names what (for a 400)."""


@dataclass(frozen=True)
class Event:
    label: str
    start: float
    end: float


def events(text: str, now: float, *, horizon_days: int, pad_before_s: int, pad_after_s: int) -> list[Event]:
    """The padded events of `text` that end after `now` and start within `horizon_days` of it, in time order."""
    import icalendar
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise IcalError(f"ics: not an iCalendar file ({str(exc)[:80]})") from None
    begin = datetime.fromtimestamp(now, UTC)
    until = begin + timedelta(days=horizon_days)
    try:
        found = recurring_ical_events.of(calendar).between(begin - timedelta(days=1), until)
    except Exception as exc:  # the library raises many kinds on a malformed rule
        raise IcalError(f"ics: cannot expand the events ({type(exc).__name__})") from None
    out: list[Event] = []
    for component in found:
        start = _epoch(component.get("DTSTART"))
        end_prop = component.get("DTEND")
        end = _epoch(end_prop) if end_prop is not None else None
        if start is None:
            continue
        if end is None or end <= start:   # an all-day event without an end is its day; an instant is a minute
            end = start + (86400 if _all_day(component.get("DTSTART")) else 60)
        start, end = start - pad_before_s, end + pad_after_s
        if end <= now or start >= until.timestamp():
            continue
        out.append(Event(str(component.get("SUMMARY") or "calendar event")[:80], start, end))
    out.sort(key=lambda e: (e.start, e.end, e.label))
    return out


def _all_day(prop: Any) -> bool:
    value = getattr(prop, "dt", None)
    return isinstance(value, date) and not isinstance(value, datetime)


def _epoch(prop: Any) -> float | None:
    """An event time as epoch seconds: a floating time (no zone) and an all-day date are read in New York."""
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=NEW_YORK)).timestamp()
    if isinstance(value, date):
        return datetime.combine(value, time(), NEW_YORK).timestamp()
    return None
