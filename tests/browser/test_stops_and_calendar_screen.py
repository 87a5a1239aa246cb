"""The protective stop (issue 18, D21) and the discipline gates (issue 19, D22) on the screen, in headless Chromium
against the real local stack, each test at 1440×900 and 390×844:

- the card shows the stop's price and state: not placed, resting at the broker, then rejected — unprotected in red
  (announced UNPROTECTED); the Orders table never offers to cancel it and the header counts it apart from the
  orders in flight; the brick chart draws its line;
- a LIVE card says "no stop at the broker" in red when the bridge does not declare the capability;
- the Risk tab: a blackout added there shows in the header with its countdown, the gate row refuses with
  BLACKOUT, the server's validation message is shown, removing one says it stays until the next trading day, an
  .ics file imports, trading hours and the loss-streak settings save; axe-core finds no violation.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.run import LocalStack
from tests.browser.screen import (
    bridge_secret,
    claim,
    click,
    first,
    has_text,
    overflow,
    place_entry,
    report,
    shot,
    structure,
    text,
    tv,
    unreadable,
    wait_until,
)
from tests.browser.test_screen_second_pass import axe, classes, content, js_errors, operator, size  # noqa: F401

pytestmark = pytest.mark.browser

NEW_YORK = ZoneInfo("America/New_York")


def heartbeat(stack: LocalStack, *capabilities: str) -> None:
    body = {"secret": bridge_secret(stack), "tsConnected": True, "capabilities": list(capabilities)}
    answer = requests.post(f"{stack.url}/api/bridge/heartbeat", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def enter_long(stack: LocalStack, price: float = 6000.0) -> dict[str, Any]:
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=price)
    order = place_entry(stack)
    [claimed] = claim(stack)
    assert claimed["id"] == order["id"]
    report(stack, order["id"], "FILLED", fill_price=price, qty=5)
    return order


def stop_state(driver: Any) -> str:
    element = first(driver, "#stop-ES .stop-line")
    return "" if element is None else str(element.get_attribute("data-state"))


# ---- issue 18 item 6: the card's stop, through resting → rejected ------------------------------------------------


def test_the_card_shows_the_stops_price_and_state_resting_then_rejected_in_red(
    stack: LocalStack, size: str, dashboard: Any  # noqa: F811
) -> None:
    driver = dashboard
    heartbeat(stack, "protective_stop")
    enter_long(stack)
    # the fill created the stop: 6000 − 10 points, handed to the bridge but not yet at the broker
    wait_until(driver, lambda d: stop_state(d) == "not_placed" and "5990.00" in content(d, "#stop-ES"),
               "the stop not placed yet, with its price")
    assert "not placed — sent to the bridge" in content(driver, "#stop-ES")
    assert "neg" in classes(driver, "#stop-ES .stop-line")
    assert not has_text(driver, "#card-ES .pending", "STOP"), "a stop is not the asset's pending order"
    [stop] = claim(stack)
    assert stop["kind"] == "STOP" and stop["stop_price"] == 5990.0
    report(stack, stop["id"], "WORKING")
    wait_until(driver, lambda d: stop_state(d) == "resting", "the stop resting")
    assert "Protective stop 5990.00 · resting at broker" in content(driver, "#stop-ES"), content(driver, "#stop-ES")
    assert "neg" not in classes(driver, "#stop-ES .stop-line")
    assert unreadable(driver, "#stop-ES .stop-line", "resting at broker") == []
    # the Orders table: the stop's price, no Cancel; the header counts it apart from the orders in flight
    row = f'#orders-body tr[data-id="{stop["id"]}"]'
    wait_until(driver, lambda d: has_text(d, row, "resting at broker"), "the stop's row")
    assert "stop 5990.00" in text(driver, row)
    assert first(driver, f"{row} button") is None, "a protective stop is not cancelled from the desk"
    assert content(driver, "#h-orders") == "0 · 1 stop"
    # EXIT stays offered: a resting stop does not block exits
    assert first(driver, '#card-ES button[data-act="force-exit"]').is_enabled()
    assert overflow(driver) == 0
    shot(driver, f"{size}-stop-resting")
    if size == "desktop":
        click(driver, "#tab-charts")
        wait_until(driver, lambda d: (c := first(d, "#chart-plot-ES")) is not None
                   and c.get_attribute("data-stop") == "5990", "the stop's line on the brick chart")
        assert has_text(driver, "#chart-cap-ES", "protective stop 5990.00 (resting at broker)")
        shot(driver, f"{size}-stop-chart")
        click(driver, "#tab-console")

    report(stack, stop["id"], "REJECTED", reason="insufficient margin")
    wait_until(driver, lambda d: stop_state(d) == "rejected", "the stop rejected")
    assert "rejected — unprotected (insufficient margin)" in text(driver, "#stop-ES")
    assert "neg" in classes(driver, "#stop-ES .stop-line")
    color = driver.execute_script("return getComputedStyle(document.querySelector('#stop-ES .stop-state')).color")
    red = driver.execute_script("""const e = document.createElement('span'); e.className = 'neg';
        document.body.appendChild(e); const c = getComputedStyle(e).color; e.remove(); return c;""")
    assert color == red, (color, red)
    wait_until(driver, lambda d: has_text(d, "#outcome-ES", "UNPROTECTED"), "announced on the card")
    assert "err" in classes(driver, "#outcome-ES")
    assert has_text(driver, "#feed", "UNPROTECTED — Protective stop SELL 5 @ 5990.00 REJECTED by the broker")
    shot(driver, f"{size}-stop-rejected")
    assert js_errors(driver) == []


def test_a_stop_filled_and_an_exit_refused_by_the_filled_stop_are_announced(
    stack: LocalStack, size: str, dashboard: Any  # noqa: F811
) -> None:
    driver = dashboard
    heartbeat(stack, "protective_stop")
    enter_long(stack)
    [stop] = claim(stack)
    report(stack, stop["id"], "WORKING")
    wait_until(driver, lambda d: stop_state(d) == "resting", "the stop resting")
    # the operator exits; the bridge finds the stop already filled: the exit is refused, the stop's fill closes it
    operator(stack, "POST", "/api/exit", {"asset": "ES", "force": True})
    [exit_order] = claim(stack)
    report(stack, exit_order["id"], "REJECTED", reason="STOP_ALREADY_FILLED")
    report(stack, stop["id"], "FILLED", fill_price=5990.0, qty=5, fill_id="s1")
    wait_until(driver, lambda d: has_text(d, "#feed", "STOPPED OUT") and has_text(d, "#feed", "STOP_ALREADY_FILLED"),
               "both announced")
    assert has_text(driver, "#feed", "the trade closed at the broker's stop")
    assert has_text(driver, "#feed", "the protective stop had already filled at the broker")
    wait_until(driver, lambda d: has_text(d, "#card-ES .position", "FLAT"), "flat")
    assert first(driver, "#stop-ES .stop-line") is None, "nothing to say once flat on DEMO"
    shot(driver, f"{size}-stop-filled")
    assert js_errors(driver) == []


# ---- issue 18 item 4: LIVE without the capability --------------------------------------------------------------


def test_a_live_card_without_the_capability_says_no_stop_at_the_broker_in_red(
    stack: LocalStack, size: str, dashboard: Any  # noqa: F811
) -> None:
    driver = dashboard
    heartbeat(stack)   # a bridge that does not rest stops
    enter_long(stack)
    wait_until(driver, lambda d: stop_state(d) == "none", "no stop")
    assert "warn" in classes(driver, "#stop-ES .stop-line"), "DEMO: amber"
    operator(stack, "POST", "/api/env", {"env": "LIVE"})
    wait_until(driver, lambda d: first(d, "#env-band").is_displayed(), "LIVE")
    wait_until(driver, lambda d: "neg" in classes(d, "#stop-ES .stop-line"), "red on LIVE")
    assert "no stop at the broker" in text(driver, "#stop-ES")
    assert unreadable(driver, "#stop-ES .stop-line", "no stop at the broker") == []
    shot(driver, f"{size}-live-no-stop")
    # a bridge that declares it: the stop is created with the next change, and the warning goes
    heartbeat(stack, "protective_stop")
    operator(stack, "POST", "/api/protect", {"asset": "ES", "enabled": True, "threshold": -2.0})
    wait_until(driver, lambda d: stop_state(d) == "not_placed", "the stop created")
    assert "no stop at the broker" not in text(driver, "#stop-ES")
    operator(stack, "POST", "/api/env", {"env": "DEMO"})
    assert js_errors(driver) == []


# ---- issue 19: the Risk tab's blackouts, hours and streak; the header's countdowns --------------------------------


def set_value(driver: Any, css: str, value: str) -> None:
    driver.execute_script("""const e = document.querySelector(arguments[0]); e.value = arguments[1];
        e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));""",
                          css, value)


def ny_local(at: datetime) -> str:
    return at.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M")


def add_once(driver: Any, label: str, start: datetime, end: datetime, flatten_before_s: int | None = None) -> None:
    set_value(driver, "#bo-kind", "once")
    set_value(driver, "#bo-flatten", "" if flatten_before_s is None else str(flatten_before_s))
    set_value(driver, "#bo-label", label)
    set_value(driver, "#bo-start", ny_local(start))
    set_value(driver, "#bo-end", ny_local(end))
    click(driver, "#bo-add")


def test_a_blackout_added_in_the_risk_tab_shows_in_the_header_and_the_gate_refuses(
    stack: LocalStack, size: str, dashboard: Any, tmp_path: Path  # noqa: F811
) -> None:
    driver = dashboard
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    click(driver, "#tab-risk")
    wait_until(driver, lambda d: has_text(d, "#bo-body", "No blackout windows"), "the empty list")
    now = datetime.now(NEW_YORK).replace(second=0, microsecond=0)
    # the server's validation, said as it is
    add_once(driver, "bad", now + timedelta(hours=2), now + timedelta(hours=1))
    wait_until(driver, lambda d: has_text(d, "#bo-msg", "windows[0].end: expected an end after the start"), "refused")
    assert "err" in classes(driver, "#bo-msg")
    # a window in ten minutes with a two-minute flatten lead: the header counts down to the lead, when entries stop
    add_once(driver, "FOMC", now + timedelta(minutes=10), now + timedelta(minutes=40), flatten_before_s=120)
    wait_until(driver, lambda d: has_text(d, "#bo-msg", 'Added "FOMC"'), "added")
    wait_until(driver, lambda d: "FOMC · flat in " in content(d, "#h-blackout"), "the next blackout in the header")
    shown = content(driver, "#h-blackout").split(" · flat in ")[1].split(" · ")[0]     # MM:SS to the lead
    assert 6 * 60 <= sum(int(p) * 60 ** i for i, p in enumerate(reversed(shown.split(":")))) <= 8 * 60, shown
    first_left = content(driver, "#h-blackout")
    assert "warn" in classes(driver, "#h-blackout"), "amber within 15 minutes"
    assert first(driver, "#h-blackout").is_displayed(), "a key figure (on a phone too) this close"
    time.sleep(2.2)
    assert content(driver, "#h-blackout") != first_left, "the countdown runs"
    assert has_text(driver, "#bo-body", "FOMC") and has_text(driver, "#bo-body", "manual")
    # one in force now: BLACKOUT until … in the header, and the gate row refuses
    add_once(driver, "CPI", now - timedelta(minutes=1), now + timedelta(minutes=30))
    wait_until(driver, lambda d: content(d, "#h-blackout").startswith("BLACKOUT until "), "BLACKOUT until")
    assert "CPI" in content(driver, "#h-blackout") and "neg" in classes(driver, "#h-blackout")
    assert "left" in content(driver, "#h-blackout")
    wait_until(driver, lambda d: has_text(d, "#b-blackout", "BLACKOUT — CPI until"), "the banner")
    shot(driver, f"{size}-risk-blackouts")
    click(driver, "#tab-console")
    gate_row = '#card-ES li.gate[data-gate="blackout"]'
    wait_until(driver, lambda d: (g := first(d, gate_row)) is not None and g.get_attribute("data-code") == "BLACKOUT",
               "the gate row refuses with BLACKOUT")
    assert "fail" in classes(driver, gate_row) and has_text(driver, gate_row, "BLACKOUT: CPI")
    assert not first(driver, "#enter-ES").is_enabled()
    assert has_text(driver, "#why-ES", "BLACKOUT: CPI")
    shot(driver, f"{size}-gate-blackout")

    # remove one: it says it stays until the next trading day
    click(driver, "#tab-risk")
    click(driver, '#bo-body button[aria-label="Remove FOMC"]')
    wait_until(driver, lambda d: first(d, "#confirm-modal").is_displayed(), "the confirmation")
    assert "stays in force until the next trading day" in text(driver, "#cm-text")
    first(driver, "#cm-ok").click()
    wait_until(driver, lambda d: has_text(d, "#bo-body", "removed — in force until the next trading day"), "removing")

    # an .ics file: its event becomes a padded one-off window
    start = (datetime.now(NEW_YORK) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    ics = tmp_path / "econ.ics"
    stamp = "%Y%m%dT%H%M%SZ"
    utc = ZoneInfo("UTC")
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:nfp-1\r\n"
                   f"DTSTAMP:{start.astimezone(utc).strftime(stamp)}\r\n"
                   f"DTSTART:{start.astimezone(utc).strftime(stamp)}\r\n"
                   f"DTEND:{(start + timedelta(minutes=30)).astimezone(utc).strftime(stamp)}\r\n"
                   "SUMMARY:NFP\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    first(driver, "#bo-ics").send_keys(str(ics))
    wait_until(driver, lambda d: first(d, "#bo-import").is_enabled(), "Import enabled")
    click(driver, "#bo-import")
    wait_until(driver, lambda d: has_text(d, "#bo-msg", "Imported econ.ics: 1 window added"), "imported")
    wait_until(driver, lambda d: has_text(d, "#bo-body", "iCalendar import"), "listed")
    assert has_text(driver, "#bo-body", "13:55"), "padded 5 minutes before"

    # trading hours and the loss streak
    set_value(driver, "#risk-streak-limit", "3")
    set_value(driver, "#risk-streak-minutes", "45")
    set_value(driver, "#risk-hours-MON", "09:30-16:00")
    set_value(driver, "#risk-hours-TUE", "nine to five")
    click(driver, "#risk-save")
    wait_until(driver, lambda d: has_text(d, "#risk-msg", 'Trading hours TUE: expected HH:MM-HH:MM'), "local check")
    set_value(driver, "#risk-hours-TUE", "09:30-12:00, 13:00-16:00")
    click(driver, "#risk-save")
    wait_until(driver, lambda d: has_text(d, "#risk-msg", "Saved."), "saved")
    risk = operator(stack, "GET", "/api/risk")
    assert risk["loss_streak_limit"] == 3 and risk["loss_streak_lock_minutes"] == 45
    assert risk["trading_hours"]["MON"] == [["09:30", "16:00"]]
    assert risk["trading_hours"]["TUE"] == [["09:30", "12:00"], ["13:00", "16:00"]]
    wait_until(driver, lambda d: has_text(d, "#risk-discipline", "3 losing trades in a row lock entries for 45 min"),
               "in force")
    wait_until(driver, lambda d: "0 of 3 losses" in content(d, "#h-streak"), "the streak in the header")
    set_value(driver, "#risk-require-stop", "")
    driver.execute_script("document.getElementById('risk-require-stop').checked = true;"
                          "document.getElementById('risk-flatten-unprotected').checked = true;")
    click(driver, "#risk-save")
    wait_until(driver, lambda d: operator(stack, "GET", "/api/risk")["require_protective_stop"] is True, "saved")
    assert operator(stack, "GET", "/api/risk")["flatten_if_unprotected"] is True
    time.sleep(0.5)
    assert overflow(driver) == 0
    shot(driver, f"{size}-risk-settings")
    found = axe(driver)
    assert found == [], f"{size} risk: " + "\n".join(found)
    assert js_errors(driver) == []


# ---- D22: a streak limit the day's losses already reach locks at once -------------------------------------------


def test_a_streak_limit_set_at_the_losses_already_run_up_says_entries_are_locked(
    stack: LocalStack, size: str, dashboard: Any  # noqa: F811
) -> None:
    driver = dashboard
    enter_long(stack, price=6000.0)
    exit_order = operator(stack, "POST", "/api/exit", {"asset": "ES", "force": True})["order"]
    [claimed] = claim(stack)
    assert claimed["id"] == exit_order["id"]
    report(stack, exit_order["id"], "FILLED", fill_price=5990.0, qty=5)   # one losing trade
    assert operator(stack, "GET", "/api/risk")["loss_streak"]["count"] == 1
    click(driver, "#tab-risk")
    set_value(driver, "#risk-streak-limit", "1")
    set_value(driver, "#risk-streak-minutes", "30")
    click(driver, "#risk-save")
    wait_until(driver, lambda d: has_text(d, "#risk-msg", "Loss streak reached: entries locked for 30:00")
               or has_text(d, "#risk-msg", "Loss streak reached: entries locked for 29:5"), "the lock said at once")
    assert driver.execute_script(   # said beside the Save button, where the eye is: inside the window
        "const r = document.getElementById('risk-msg').getBoundingClientRect(); return r.top >= 0 && "
        "r.bottom <= window.innerHeight && r.top - document.getElementById('risk-save').getBoundingClientRect()"
        ".bottom < 80;"), "the outcome next to Save"
    streak = operator(stack, "GET", "/api/risk")["loss_streak"]
    assert streak["remaining_s"] > 29 * 60 and streak["count"] == 0
    wait_until(driver, lambda d: "LOCK" in content(d, "#h-streak").upper(), "the lock in the header")
    shot(driver, f"{size}-streak-locked-at-once")
    assert js_errors(driver) == []
