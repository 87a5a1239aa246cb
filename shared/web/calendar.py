"""The calendar settings as the routes take them (D22), for `POST /api/risk`'s `trading_hours` and
`POST /api/calendar`'s windows, and for `sim.backtest --risk` (the same file a settings form would send):
New York "HH:MM" spans and ISO 8601 instants to the domain's minutes and epoch seconds. A bad value is a BadInput
naming the field."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from shared.domain.inputs import BlackoutSpec
from shared.domain.windows import DAYS
from shared.errors import BadInput
from shared.web.request import bounded_str, field_label, opt_int

MAX_LABEL_TEXT = 32   # a window's label: a short word, as the routes' other names


def parse_trading_hours(raw: Any) -> dict[str, tuple[tuple[int, int], ...]] | None:
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
            parsed.append((minutes(span[0], f"{name}[{i}][0]"), minutes(span[1], f"{name}[{i}][1]")))
        hours[field_label(day).upper()] = tuple(parsed)
    return hours


def minutes(raw: Any, name: str) -> int:
    """"HH:MM" (00:00 to 24:00) as minutes of the day."""
    if isinstance(raw, str) and len(raw) == 5 and raw[2] == ":" and raw[:2].isdigit() and raw[3:].isdigit():
        hours, minutes = int(raw[:2]), int(raw[3:])
        if (hours < 24 and minutes < 60) or (hours, minutes) == (24, 0):
            return hours * 60 + minutes
    raise BadInput(f"{name}: expected a New York time \"HH:MM\" from 00:00 to 24:00")


WINDOW_FIELDS = ("label", "start", "end", "days", "flatten_before_s")
MAX_WINDOWS_PER_REQUEST = 50


def parse_window(raw: Any, where: str) -> BlackoutSpec:
    """A one-off {label, start, end} (ISO 8601 with an offset) or weekly {label, days, start, end} ("HH:MM" New
    York); `flatten_before_s` optional."""
    prefix = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise BadInput(f"{where or 'body'}: expected a window object")
    unknown = sorted(set(raw) - set(WINDOW_FIELDS))
    if unknown:
        raise BadInput(f"{prefix}{field_label(unknown[0])}: unknown field (expected any of {', '.join(WINDOW_FIELDS)})")
    label = bounded_str(raw, "label", MAX_LABEL_TEXT, where=where) or ""
    if not label:
        raise BadInput(f"{prefix}label: required (what the window is, e.g. \"FOMC\")")
    flatten = opt_int(raw, "flatten_before_s", error=f"{prefix}flatten_before_s: expected whole seconds")
    if "days" in raw:
        days = raw["days"]
        if not (isinstance(days, list) and days and all(isinstance(d, str) and d.upper() in DAYS for d in days)):
            raise BadInput(f"{prefix}days: expected one or more of {', '.join(DAYS)}")
        return BlackoutSpec(kind="weekly", label=label, days=tuple(sorted({DAYS.index(d.upper()) for d in days})),
                            start_min=minutes(raw.get("start"), f"{prefix}start"),
                            end_min=minutes(raw.get("end"), f"{prefix}end"), flatten_before_s=flatten)
    return BlackoutSpec(kind="once", label=label, start=instant(raw.get("start"), f"{prefix}start"),
                        end=instant(raw.get("end"), f"{prefix}end"), flatten_before_s=flatten)


def instant(raw: Any, name: str) -> float:
    """ISO 8601 with an offset (2026-03-18T14:00:00-04:00); a time without one is ambiguous and refused."""
    parsed = None
    if isinstance(raw, str) and len(raw) <= 40:
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(raw)
    if parsed is None or parsed.tzinfo is None:
        raise BadInput(f"{name}: expected ISO 8601 with an offset, e.g. 2026-03-18T14:00:00-04:00")
    return parsed.timestamp()
