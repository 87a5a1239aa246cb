"""The operator dashboard in headless Debian Chromium against the REAL local stack (devstack.run.LocalStack):
Firestore and Cloud Tasks emulators, every function behind firebase.json's rewrites, hosting/public served as
Hosting serves it. TradingView is played by `requests` posting to the stack's /tv_* with the stack's secret.

Each test is self-contained (the stack is wiped with /_dev/reset and the browser signs in again), so pytest-xdist
may spread them over workers; each worker then starts its own stack and browser on free ports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.run import LocalStack
from tests.browser.screen import (
    HEARTBEAT_STALE,
    PASSWORD,
    dev,
    first,
    gate,
    has_text,
    reset,
    sign_in,
    structure,
    text,
    tv,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.browser


# ---- tests ---------------------------------------------------------------------------------------------------


def test_sign_in_is_required_and_the_session_cookie_is_httponly(stack: LocalStack, driver: Any) -> None:
    reset(stack)
    driver.delete_all_cookies()

    driver.get(f"{stack.url}/")
    wait_until(driver, lambda d: d.current_url.endswith("/login.html"), "redirect from / to the login page")

    sign_in(driver, stack, "not the password")
    wait_until(driver, lambda d: has_text(d, "#login-error", "Invalid password"), "the server's refusal text")
    assert driver.current_url.endswith("/login.html")
    assert not [c for c in driver.get_cookies() if c["name"] == "__session"]

    sign_in(driver, stack, PASSWORD)
    wait_until(driver, lambda d: d.current_url.rstrip("/") == stack.url, "the dashboard after the right password")
    wait_for(driver, "#card-ES")
    wait_for(driver, "#card-NQ")
    session = [c for c in driver.get_cookies() if c["name"] == "__session"]
    assert len(session) == 1
    assert session[0]["httpOnly"] is True
    assert session[0]["sameSite"] == "Strict"
    assert "__session" not in driver.execute_script("return document.cookie")

    # the header is fed by the server: the daily stop limit comes from /api/risk, not a hard-coded text
    wait_until(driver, lambda d: has_text(d, "#h-dailystop", "30%"), "daily stop limit from /api/risk")
    wait_until(driver, lambda d: text(d, "#h-window").startswith(("OPEN", "CLOSED")), "session window badge")

    # nothing is loaded from anywhere but the stack itself
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources
    assert all(name.startswith(stack.url) for name in resources), resources

    first(driver, "#signout").click()
    wait_until(driver, lambda d: d.current_url.endswith("/login.html"), "the login page after Sign out")
    assert not [c for c in driver.get_cookies() if c["name"] == "__session"]
    driver.get(f"{stack.url}/")
    wait_until(driver, lambda d: d.current_url.endswith("/login.html"), "/ needs a new sign-in after Sign out")


def test_webhooks_fill_the_card_and_the_gates_board_explains_then_allows_an_entry(
    stack: LocalStack, dashboard: Any, tmp_path: Path
) -> None:
    driver = dashboard
    structure(stack, "ES", "green")

    # the 1pt is the last bar structure() sends: once it shows, every stream has had its bar
    wait_until(driver, lambda d: text(d, '#card-ES .cell[data-stream="1pt"] .col') == "GREEN", "1pt colour")
    for stream in ("1pt", "2.5pt", "4pt", "8pt", "12pt"):
        assert text(driver, f'#card-ES .cell[data-stream="{stream}"] .col') == "GREEN", stream
    wait_until(driver, lambda d: text(d, "#card-ES .pill.zone").startswith("NORMAL"), "NORMAL zone pill")
    wait_until(driver, lambda d: text(d, "#card-ES .pill.tempo").startswith("READY"), "tempo READY")
    assert text(driver, "#card-NQ .pill.tempo").startswith("WAIT")

    # no heartbeat yet: the board says why, with the server's text, and the entry button stays disabled
    wait_until(driver, lambda d: gate(d, "ES", "tempo")[0] == "pass" and gate(d, "ES", "structure")[0] == "pass",
               "tempo and structure gates passing")
    assert gate(driver, "ES", "heartbeat") == ("fail", HEARTBEAT_STALE)
    assert not first(driver, "#enter-ES").is_enabled()
    assert "BLOCKED" in text(driver, "#card-ES .gates-head")

    tv(stack, "/tv_heartbeat", symbol="ES", price=6012.25)
    wait_until(driver, lambda d: gate(d, "ES", "heartbeat")[0] == "pass", "heartbeat gate passing")
    wait_until(driver, lambda d: "6012.25" in text(d, "#card-ES .hb"), "heartbeat price on the card")

    # a heartbeat older than the freshness window is stale again (the stack's clock moves 11 minutes on)
    dev(stack).post(f"{stack.url}/_dev/clock", json={"advance": 660}, timeout=10).raise_for_status()
    wait_until(driver, lambda d: gate(d, "ES", "heartbeat") == ("fail", HEARTBEAT_STALE), "heartbeat stale again")
    assert not first(driver, "#enter-ES").is_enabled()
    tv(stack, "/tv_heartbeat", symbol="ES", price=6013.0)

    enter = wait_until(driver, lambda d: (b := first(d, "#enter-ES")) is not None and b.is_enabled() and b,
                       "the entry button enabled once every gate passes")
    assert "ALL PASS" in text(driver, "#card-ES .gates-head")
    enter.click()
    wait_until(driver, lambda d: first(d, "#order-modal").is_displayed(), "the order modal")
    assert "NORMAL zone" in text(driver, "#om-dir-note")
    assert "on" in first(driver, "#om-buy").get_attribute("class").split()
    first(driver, "#om-confirm").click()

    wait_until(driver, lambda d: not first(d, "#order-modal").is_displayed(), "the modal closing on success")
    wait_until(driver, lambda d: has_text(d, "#card-ES .pending", "PENDING ENTRY"), "the pending order on the card")
    assert "BUY" in text(driver, "#card-ES .pending")
    wait_until(driver, lambda d: has_text(d, "#orders-body", "PENDING"), "the order in the orders table")
    wait_until(driver, lambda d: gate(d, "ES", "pending_order") == ("fail", "Pending order already exists"),
               "the pending-order gate")
    wait_until(driver, lambda d: has_text(d, "#banners", "5-MIN CANDLE LOCK"), "the candle-lock banner")
    assert not first(driver, "#enter-ES").is_enabled()

    shots = Path(os.environ.get("BROWSER_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "dashboard.png"
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    # the operator can take the order back: Cancel on the card → the bridge never sees it
    first(driver, "#card-ES .pending button[data-act=cancel-order]").click()
    wait_until(driver, lambda d: not text(d, "#card-ES .pending"), "the pending order gone after Cancel")
    wait_until(driver, lambda d: has_text(d, "#orders-body", "CANCELLED"), "the cancelled order in the table")


def test_a_refused_command_shows_the_server_error_verbatim(stack: LocalStack, dashboard: Any) -> None:
    """The page enables only what the server would accept (issue 21 item 7), so the refusal is made by a fact the
    page has not seen yet: the bridge claims the order while the page's orders poll is held back."""
    driver = dashboard
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    session = requests.Session()
    assert session.post(f"{stack.url}/api/login", json={"password": PASSWORD}, timeout=10).ok
    entry = {"asset": "ES", "order_type": "market", "mode": "A", "trade_mode": "SCALP", "entry_size_mode": "6pt"}
    assert session.post(f"{stack.url}/api/orders", json=entry, timeout=10).status_code == 201
    cancel = "#card-ES .pending button[data-act=cancel-order]"
    wait_until(driver, lambda d: (b := first(d, cancel)) is not None and b.is_enabled(), "Cancel on the pending entry")
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/orders?*"]})
    try:
        claimed = requests.get(f"{stack.url}/api/orders/pending",
                               params={"secret": stack.secrets["BRIDGE_HEARTBEAT_SECRET"]}, timeout=10)
        assert len(claimed.json()["orders"]) == 1
        first(driver, cancel).click()
        wait_until(driver, lambda d: has_text(d, "#msg-ES", "Order is CLAIMED; only PENDING or STALE orders can be "
                                                            "cancelled"), "the server's refusal on the card")
    finally:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})

    # the tabs read their own endpoints: the refusal is in the audit log, the history is empty
    first(driver, "#tab-log").click()
    wait_until(driver, lambda d: has_text(d, "#log-body", "ORDER_NOT_CANCELLABLE"), "the refusal in the Log tab")
    first(driver, "#tab-trades").click()
    wait_until(driver, lambda d: has_text(d, "#history-body", "No closed trades yet"), "the empty history")


def test_a_stale_order_is_listed_and_the_operator_can_cancel_it(stack: LocalStack, dashboard: Any) -> None:
    driver = dashboard
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    operator = requests.Session()
    assert operator.post(f"{stack.url}/api/login", json={"password": PASSWORD}, timeout=10).ok
    entry = {"asset": "ES", "order_type": "market", "mode": "A", "trade_mode": "SCALP", "entry_size_mode": "9pt"}
    placed = operator.post(f"{stack.url}/api/orders", json=entry, timeout=10)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order"]["id"]
    claimed = requests.get(f"{stack.url}/api/orders/pending",
                           params={"secret": stack.secrets["BRIDGE_HEARTBEAT_SECRET"]}, timeout=10)
    assert [o["id"] for o in claimed.json()["orders"]] == [order_id]

    # the bridge never reports: once the 200 s lease is over the order is STALE, never handed out again
    dev(stack).post(f"{stack.url}/_dev/clock", json={"advance": 230}, timeout=10).raise_for_status()
    row = f'#stale-orders .stale-row[data-id="{order_id}"]'
    wait_until(driver, lambda d: first(d, row) is not None, "the STALE order listed")
    # the card and the banner follow on their own polls (state every 1 s, orders every 3 s)
    wait_until(driver, lambda d: has_text(d, "#banners", "STALE"), "the STALE banner")
    wait_until(driver, lambda d: has_text(d, "#card-ES .pending", "STALE"), "the card's order marked STALE")
    first(driver, f"{row} button").click()
    wait_until(driver, lambda d: first(d, row) is None, "the STALE order gone after Cancel")
    wait_until(driver, lambda d: not text(d, "#card-ES .pending"), "the card free of the order")
    wait_until(driver, lambda d: has_text(d, "#orders-body", "CANCELLED"), "the order CANCELLED in the table")


def test_risk_settings_show_a_loosened_limit_as_pending_until_the_next_trading_day(
    stack: LocalStack, dashboard: Any
) -> None:
    driver = dashboard
    first(driver, "#tab-risk").click()
    field = wait_until(driver, lambda d: (f := first(d, "#risk-max")) is not None and f.get_attribute("value") == "6"
                       and f, "the form filled from GET /api/risk")
    field.clear()
    field.send_keys("9")  # loosening: from the next trading day
    pct = first(driver, "#risk-pct")
    pct.clear()
    pct.send_keys("20")  # tightening: at once
    first(driver, "#risk-save").click()
    wait_until(driver, lambda d: has_text(d, "#risk-msg", "from next trading day"), "the save message")
    wait_until(driver, lambda d: has_text(d, "#risk-pending", "Max trades per day → 9"), "the pending loosened value")
    assert "From next trading day" in text(driver, "#risk-pending")
    wait_until(driver, lambda d: has_text(d, "#h-dailystop", "20%"), "the tightened daily stop in the header")
    assert "6 trades per day" in text(driver, "#risk-current")
