"""Issue 19 (D22) through the real entry points: GET/POST/DELETE /api/calendar, the iCalendar import with padding
and recurring events in their own time zones, the discipline settings of POST /api/risk, and the entry refused
inside a window. Every 400 names the field and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.test_hostile_input import assert_400

MONDAY_11_NY = 1_764_000_000.0   # the fixture's clock: Monday 2025-11-24 11:00 New York (EST)


@pytest.fixture(autouse=True)
def _signed_in(app) -> None:
    assert app.login().status_code == 200


def post(app: Any, path: str, body: Any) -> Any:
    return app.client("orders").post(path, json=body)


def test_a_one_off_and_a_weekly_window_refuse_entries_with_the_label_and_the_time_left(app) -> None:
    r = post(app, "/api/calendar", {"label": "FOMC", "start": "2025-11-24T10:55:00-05:00",
                                    "end": "2025-11-24T11:30:00-05:00"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["added"][0]["id"] == "b1" and body["active"]["label"] == "FOMC"
    assert body["active"]["remaining_s"] == 30 * 60
    r = post(app, "/api/calendar", {"label": "lunch", "days": ["mon", "TUE"], "start": "12:00", "end": "13:00"})
    assert r.status_code == 201 and r.get_json()["next"]["label"] == "lunch"
    r = post(app, "/api/orders", {"asset": "ES", "trade_mode": "SCALP"})
    assert r.status_code == 403 and r.get_json()["code"] == "BLACKOUT"
    assert r.get_json()["error"] == "BLACKOUT: FOMC (30:00 remaining)"
    cal = app.client("orders").get("/api/calendar").get_json()
    assert [w["label"] for w in cal["windows"]] == ["FOMC", "lunch"]
    gates = app.client("orders").get("/api/gates?asset=ES").get_json()["gates"]
    row = next(g for g in gates if g["gate"] == "blackout")
    assert (row["code"], row["remaining_s"]) == ("BLACKOUT", 1800)
    state = app.client("orders").get("/api/state").get_json()["global"]
    assert state["calendar"]["active"]["label"] == "FOMC"


def test_delete_keeps_the_window_to_the_next_trading_day(app) -> None:
    post(app, "/api/calendar", {"label": "x", "days": ["MON"], "start": "00:00", "end": "24:00"})
    r = app.client("orders").delete("/api/calendar/b1")
    assert r.status_code == 200 and r.get_json()["effective_trading_day"] == "next"
    assert r.get_json()["windows"][0]["removing"] is True
    assert app.client("orders").delete("/api/calendar/b7").status_code == 404
    assert_400(app.client("orders").delete("/api/calendar/..x"), "window_id")


@pytest.mark.parametrize(("body", "field"), [
    ({"label": "x", "start": "2025-11-24T10:00:00", "end": "2025-11-24T11:00:00-05:00"}, "start"),
    ({"label": "x", "start": "2025-11-24T10:00:00-05:00", "end": "tomorrow"}, "end"),
    ({"label": "x", "start": "2025-11-24T10:00:00-05:00", "end": "2025-11-24T09:00:00-05:00"}, "end"),
    ({"start": "2025-11-24T10:00:00-05:00", "end": "2025-11-24T11:00:00-05:00"}, "label"),
    ({"label": "x", "days": ["MONDAY"], "start": "09:00", "end": "10:00"}, "days"),
    ({"label": "x", "days": ["MON"], "start": "9:00", "end": "10:00"}, "start"),
    ({"label": "x", "days": ["MON"], "start": "09:00", "end": "24:01"}, "end"),
    ({"label": "x", "days": ["MON"], "start": "09:00", "end": "10:00", "flatten_before_s": 99999},
     "flatten_before_s"),
    ({"label": "x", "days": ["MON"], "start": "09:00", "end": "10:00", "colour": "red"}, "colour"),
    ({"windows": [{"label": "ok", "days": ["MON"], "start": "09:00", "end": "10:00"}, {"label": "x"}]},
     "windows[1].start"),
    ({"windows": []}, "windows"),
    ({"label": "x", "start": "2025-11-24T09:00:00-05:00", "end": "2025-11-24T10:00:00-05:00"}, "end"),  # over
    ({"label": "x", "start": "2025-11-24T12:00:00-05:00", "end": "9999-12-31T23:59:00-12:00"}, "end"),
    ({"label": "x", "start": "0001-01-01T00:00:00+00:00", "end": "2025-11-24T12:00:00-05:00"}, "start"),
])
def test_bad_windows_are_a_400_naming_the_field_and_write_nothing(app, body, field) -> None:
    before = app.store.dump()
    assert_400(post(app, "/api/calendar", body), field)
    assert app.store.dump() == before


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Europe/London
BEGIN:STANDARD
DTSTART:19701025T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T010000
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:cpi@test
SUMMARY:CPI
DTSTART;TZID=America/New_York:20251126T083000
DTEND;TZID=America/New_York:20251126T083100
END:VEVENT
BEGIN:VEVENT
UID:boe@test
SUMMARY:BoE
DTSTART;TZID=Europe/London:20251127T120000
DTEND;TZID=Europe/London:20251127T123000
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:old@test
SUMMARY:Long ago
DTSTART:20200101T150000Z
DTEND:20200101T160000Z
END:VEVENT
END:VCALENDAR
"""


def test_an_icalendar_file_becomes_padded_one_off_windows(app) -> None:
    r = post(app, "/api/calendar/import", {"ics": ICS, "pad_before_min": 10, "pad_after_min": 5,
                                           "horizon_days": 30})
    assert r.status_code == 201, r.get_json()
    added = r.get_json()["added"]
    assert [(w["label"], w["start"], w["end"], w["source"]) for w in added] == [
        ("CPI", "2025-11-26T08:20:00-05:00", "2025-11-26T08:36:00-05:00", "ical"),
        # London noon in winter is 07:00 in New York; the weekly rule expands three times
        ("BoE", "2025-11-27T06:50:00-05:00", "2025-11-27T07:35:00-05:00", "ical"),
        ("BoE", "2025-12-04T06:50:00-05:00", "2025-12-04T07:35:00-05:00", "ical"),
        ("BoE", "2025-12-11T06:50:00-05:00", "2025-12-11T07:35:00-05:00", "ical"),
    ]
    again = post(app, "/api/calendar/import", {"ics": ICS, "pad_before_min": 10, "pad_after_min": 5})
    assert again.status_code == 201 and again.get_json()["added"] == []     # the same windows are kept once


@pytest.mark.parametrize(("body", "field"), [
    ({"ics": "hello"}, "ics"),
    ({"ics": "BEGIN:VCALENDAR\nthis is not\nEND:VCALENDAR"}, "ics"),
    ({"ics": ICS, "pad_before_min": -1}, "pad_before_min"),
    ({"ics": ICS, "horizon_days": 0}, "horizon_days"),
    ({"ics": ICS, "horizon_days": 1}, "ics"),                      # nothing within a day
    ({"ics": ICS, "padding": 3}, "padding"),
])
def test_a_bad_import_is_a_400_naming_the_field_and_writes_nothing(app, body, field) -> None:
    before = app.store.dump()
    assert_400(post(app, "/api/calendar/import", body), field)
    assert app.store.dump() == before


def test_an_imports_lead_out_of_range_is_named_as_the_import_names_it(app) -> None:
    """The import has one `flatten_before_s` for every event: its 400 names that field, not `windows[0]…`, a
    field the caller never sent."""
    before = app.store.dump()
    r = post(app, "/api/calendar/import", {"ics": ICS, "flatten_before_s": 99999})
    assert_400(r)
    assert r.get_json()["error"].startswith("flatten_before_s: expected seconds from 0 to 3600"), r.get_json()
    assert app.store.dump() == before


def test_the_discipline_settings_of_post_api_risk(app) -> None:
    r = post(app, "/api/risk", {"loss_streak_limit": 3, "loss_streak_lock_minutes": 45,
                                "trading_hours": {"MON": [["09:30", "16:00"]], "TUE": [["09:30", "24:00"]]}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["loss_streak_limit"], body["loss_streak_lock_minutes"]) == (3, 45)
    assert body["trading_hours"] == {"MON": [["09:30", "16:00"]], "TUE": [["09:30", "24:00"]]}
    off = post(app, "/api/risk", {"loss_streak_limit": None, "trading_hours": None}).get_json()
    assert off["pending"] == {"loss_streak_limit": None, "trading_hours": {}}


@pytest.mark.parametrize(("body", "field"), [
    ({"trading_hours": {"MON": [["09:30"]]}}, "trading_hours.MON[0]"),
    ({"trading_hours": {"MON": [["09:30", "9pm"]]}}, "trading_hours.MON[0][1]"),
    ({"trading_hours": {"MON": "all day"}}, "trading_hours.MON"),
    ({"trading_hours": {"MONDAY": [["09:30", "16:00"]]}}, "trading_hours.MONDAY"),
    ({"trading_hours": [1]}, "trading_hours"),
    ({"loss_streak_limit": 0}, "loss_streak_limit"),
    ({"loss_streak_lock_minutes": "long"}, "loss_streak_lock_minutes"),
])
def test_bad_discipline_settings_name_the_field_and_write_nothing(app, body, field) -> None:
    before = app.store.dump()
    assert_400(post(app, "/api/risk", body), field)
    assert app.store.dump() == before


def test_the_flatten_before_timer_is_scheduled_and_fires_through_the_timers_route(app) -> None:
    r = post(app, "/api/calendar", {"label": "NFP", "start": "2025-11-24T12:00:00-05:00",
                                    "end": "2025-11-24T12:30:00-05:00", "flatten_before_s": 300})
    assert r.status_code == 201
    timers = [t for t in app.scheduler.timers if t.kind == "blackout_flatten"]
    assert [(t.key, t.at) for t in timers] == [(f"b1:{int(MONDAY_11_NY + 3600)}", MONDAY_11_NY + 3600 - 300)]
