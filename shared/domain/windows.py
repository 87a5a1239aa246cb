"""The calendar gates (D22): blackout windows and the allowed trading hours, in New York time.

A blackout is one-off (`kind` "once": `start`, `end` in epoch seconds) or weekly (`kind` "weekly": `days` 0 = Monday
… 6 = Sunday, `start_min`, `end_min` minutes of the New York day, `end_min` up to 1440 = midnight); each is the
half-open span [start, end). Weekly windows are read on the New York wall clock, so 09:30 is 09:30 on either side
of a DST change. Stored as small dicts on the global record (at most `MAX_WINDOWS`); a stored window that is not
well formed (a document edited by hand) is skipped, never a reason for a read to fail.

The allowed trading hours (`GlobalState.trading_hours`): "MON" … "SUN" -> [start_min, end_min, …]; empty = every
hour allowed; once any day is set, a day without spans allows no entry.

A removed window stays in force until the rollover (D5: removing loosens); so do one-offs until their end.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from .clock import NEW_YORK, mmss, ny_datetime, trading_day, trading_day_span
from .decision import Refusal
from .state import GlobalState

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MAX_WINDOWS = 50
MAX_LABEL = 80
MAX_FLATTEN_BEFORE_S = 3600
MAX_INSTANT = 253370764800.0   # 9999-01-01 UTC: a one-off's times are from 1970 to here (the view shows them)
DAY_MINUTES = 1440
WEEK = 8   # days looked ahead for the next weekly occurrence (today and the seven after)

Window = dict[str, Any]


# ---- the stored windows, read defensively ------------------------------------------------------------------------

def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def well_formed(w: object) -> bool:
    if not isinstance(w, dict) or not isinstance(w.get("id"), str):
        return False
    if w.get("kind") == "once":
        return _number(w.get("start")) and _number(w.get("end")) and 0 <= w["start"] < w["end"] < MAX_INSTANT
    if w.get("kind") == "weekly":
        days, start, end = w.get("days"), w.get("start_min"), w.get("end_min")
        return (isinstance(days, list) and all(isinstance(d, int) and 0 <= d <= 6 for d in days)
                and isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= DAY_MINUTES)
    return False


def windows(g: GlobalState) -> Iterator[Window]:
    for w in g.blackouts:
        if well_formed(w):
            yield w


def local_ts(day: date, minutes: int) -> float:
    """Epoch seconds of `minutes` after midnight of `day` on the New York wall clock (1440: the next midnight)."""
    if minutes >= DAY_MINUTES:
        day, minutes = day + timedelta(days=1), minutes - DAY_MINUTES
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=NEW_YORK).timestamp()


def _seconds_of_day(local: datetime) -> int:
    return local.hour * 3600 + local.minute * 60 + local.second


def occurrence(w: Window, now: float, local: datetime) -> tuple[float, float] | None:
    """The occurrence of `w` that contains `now`, or None."""
    if w["kind"] == "once":
        return (w["start"], w["end"]) if w["start"] <= now < w["end"] else None
    if local.weekday() not in w["days"]:
        return None
    second = _seconds_of_day(local)
    if not w["start_min"] * 60 <= second < w["end_min"] * 60:
        return None
    day = local.date()
    return local_ts(day, w["start_min"]), local_ts(day, w["end_min"])


def next_occurrence(w: Window, after: float) -> tuple[float, float] | None:
    """The first occurrence of `w` that has not ended at `after` (the current one, or the next); None if none."""
    if w["kind"] == "once":
        return (w["start"], w["end"]) if w["end"] > after else None
    today = ny_datetime(after).date()
    for offset in range(WEEK):
        day = today + timedelta(days=offset)
        if day.weekday() in w["days"]:
            end = local_ts(day, w["end_min"])
            if end > after:
                return local_ts(day, w["start_min"]), end
    return None   # a weekly window with no days


# ---- the gates -------------------------------------------------------------------------------------------------

def flattens_before(w: Window) -> bool:
    """Whether `w` has a flatten-before (`flatten_before_s` seconds, 0 included: flatten at its start)."""
    fb = w.get("flatten_before_s")
    return isinstance(fb, int) and not isinstance(fb, bool)


def lead(w: Window) -> int:
    """The window's flatten lead in seconds (0: none; a stored value out of range is clamped, never a failed read)."""
    fb = w["flatten_before_s"] if flattens_before(w) else 0
    return min(max(int(fb), 0), MAX_FLATTEN_BEFORE_S)


def active_blackout(g: GlobalState, now: float, day_start_hour: int) -> tuple[Window, float, bool] | None:
    """The blackout refusing entries at `now`, when it ends (the latest end when several overlap) and whether `now`
    is in its flatten lead: a window with `flatten_before_s` refuses entries from start − flatten_before_s (the
    lead is part of the window for entries, D22), so the trader is flat when it starts. A removed window's lead
    counts only for an occurrence that starts within the trading day (it leaves at the rollover, D5), as its
    flatten does (operator.arm_flatten); `day_start_hour`: the rollover's hour (D4)."""
    if not g.blackouts:
        return None
    local = ny_datetime(now)
    found: tuple[Window, float, bool] | None = None
    for w in windows(g):
        refusing = _refusing(w, now, local, day_start_hour)
        if refusing is not None and (found is None or refusing[0] > found[1]):
            found = (w, *refusing)
    return found


def last_second_of_day(now: float, day_start_hour: int) -> float:
    """The last second of the trading day `now` is in: a removed window is in force to it (D5)."""
    return trading_day_span(trading_day(now, day_start_hour), day_start_hour)[1]


def _refusing(w: Window, now: float, local: datetime, day_start_hour: int) -> tuple[float, bool] | None:
    """The end of the occurrence of `w` refusing entries at `now` and whether `now` is in its lead, or None."""
    span = occurrence(w, now, local)
    if span is not None:
        return span[1], False
    if not lead(w):
        return None
    ahead = next_occurrence(w, now)
    if ahead is None or now < ahead[0] - lead(w):
        return None
    if w.get("removing") and ahead[0] > last_second_of_day(now, day_start_hour):
        return None   # the window leaves at the rollover, before this occurrence (D5)
    return ahead[1], True


def blackout_refusal(g: GlobalState, now: float, day_start_hour: int) -> Refusal | None:
    found = active_blackout(g, now, day_start_hour)
    if found is None:
        return None
    w, end, in_lead = found
    left = max(1, math.ceil(end - now))
    label = str(w.get("label") or "blackout")
    what = f"{label}, its flatten lead" if in_lead else label
    return Refusal(403, "BLACKOUT", f"BLACKOUT: {what} ({mmss(left)} remaining)", label=label, remaining_s=left,
                   window_id=w["id"], in_lead=in_lead)


def _spans(g: GlobalState, day: int) -> list[tuple[int, int]]:
    """The day's allowed spans, stored flat as [start, end, start, end, …] (Firestore holds no array in an
    array); a pair that is not well formed is skipped."""
    flat = g.trading_hours.get(DAYS[day])
    out: list[tuple[int, int]] = []
    if isinstance(flat, list):
        for i in range(0, len(flat) - 1, 2):
            start, end = flat[i], flat[i + 1]
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= DAY_MINUTES:
                out.append((start, end))
    return out


def in_trading_hours(g: GlobalState, now: float) -> bool:
    if not g.trading_hours:
        return True
    local = ny_datetime(now)
    second = _seconds_of_day(local)
    return any(start * 60 <= second < end * 60 for start, end in _spans(g, local.weekday()))


def next_trading_open(g: GlobalState, now: float) -> float | None:
    """When the allowed hours next begin after `now` (None: no day allows any)."""
    today = ny_datetime(now).date()
    for offset in range(WEEK):
        day = today + timedelta(days=offset)
        for start, _ in sorted(_spans(g, day.weekday())):
            at = local_ts(day, start)
            if at > now:
                return at
    return None


def trading_window_refusal(g: GlobalState, now: float) -> Refusal | None:
    if in_trading_hours(g, now):
        return None
    opens = next_trading_open(g, now)
    if opens is None:
        return Refusal(403, "OUTSIDE_TRADING_WINDOW", "Outside the trading window — no allowed hours are set",
                       remaining_s=None)
    left = max(1, math.ceil(opens - now))
    return Refusal(403, "OUTSIDE_TRADING_WINDOW", f"Outside the trading window (opens in {mmss(left)})",
                   remaining_s=left)


# ---- the settings ----------------------------------------------------------------------------------------------

def allowed_minutes(hours: dict[str, list[int]]) -> set[int] | None:
    """Every allowed minute of the week (None: no limit). For the D5 ratchet only, never on a request's path."""
    if not hours:
        return None
    probe = GlobalState(trading_hours=hours)
    minutes: set[int] = set()
    for day in range(7):
        for start, end in _spans(probe, day):
            minutes.update(range(day * DAY_MINUTES + start, day * DAY_MINUTES + end))
    return minutes


def hours_tighten(new: dict[str, list[int]], current: dict[str, list[int]]) -> bool:
    """Fewer (or the same) allowed minutes than now: a tightening, in force at once."""
    wanted, now = allowed_minutes(new), allowed_minutes(current)
    if wanted is None:
        return now is None
    return now is None or wanted <= now


def on_rollover(g: GlobalState, now: float) -> None:
    """Removed windows and one-offs that are over leave at the rollover (D5)."""
    kept = [w for w in g.blackouts if well_formed(w) and not w.get("removing")
            and not (w["kind"] == "once" and w["end"] <= now)]
    if len(kept) != len(g.blackouts):
        g.blackouts = kept


def same_window(a: Window, b: Window) -> bool:
    keys = ("kind", "label", "start", "end", "days", "start_min", "end_min", "flatten_before_s")
    return all(a.get(k) == b.get(k) for k in keys)


def public(w: Window) -> dict[str, Any]:
    """A window as the API shows it: ISO times for a one-off, "HH:MM" and day names for a weekly one."""
    out: dict[str, Any] = {"id": w["id"], "label": w.get("label"), "kind": w["kind"],
                           "flatten_before_s": w.get("flatten_before_s"), "source": w.get("source", "manual"),
                           "removing": bool(w.get("removing"))}
    if w["kind"] == "once":
        out["start"] = datetime.fromtimestamp(w["start"], NEW_YORK).isoformat()
        out["end"] = datetime.fromtimestamp(w["end"], NEW_YORK).isoformat()
    else:
        out["days"] = [DAYS[d] for d in w["days"]]
        out["start"], out["end"] = hhmm(w["start_min"]), hhmm(w["end_min"])
    return out


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def calendar_view(g: GlobalState, now: float, day_start_hour: int) -> dict[str, Any]:
    """The header's and the Risk tab's view: the window refusing entries (its flatten lead included, as the gate),
    the next one and its countdown to its start (`flatten_before_s`: entries are refused that much earlier), the
    hours. `day_start_hour`: as for `active_blackout`."""
    active = active_blackout(g, now, day_start_hour)
    local = ny_datetime(now)
    upcoming: tuple[Window, float, float] | None = None
    for w in windows(g):
        span = next_occurrence(w, now)
        if (span is not None and span[0] > now and (upcoming is None or span[0] < upcoming[1])
                and _refusing(w, now, local, day_start_hour) is None):
            upcoming = (w, span[0], span[1])
    allowed = in_trading_hours(g, now)
    opens = None if allowed else next_trading_open(g, now)
    return {
        "active": None if active is None else {"id": active[0]["id"], "label": active[0].get("label"),
                                               "end": active[1], "remaining_s": math.ceil(active[1] - now),
                                               "flatten_before_s": lead(active[0]) or None},
        "next": None if upcoming is None else {"id": upcoming[0]["id"], "label": upcoming[0].get("label"),
                                               "start": upcoming[1], "end": upcoming[2],
                                               "starts_in_s": math.ceil(upcoming[1] - now),
                                               "flatten_before_s": lead(upcoming[0]) or None},
        "windows": [public(w) for w in windows(g)],
        "trading_hours": {day: [[hhmm(s), hhmm(e)] for s, e in _spans(g, i)] for i, day in enumerate(DAYS)
                          if DAYS[i] in g.trading_hours},
        "in_trading_hours": allowed,
        "trading_opens_in_s": None if opens is None else math.ceil(opens - now),
    }
