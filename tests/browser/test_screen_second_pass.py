"""The trader's screen, second pass (issue 21) and its dollar figures (issue 17), in headless Chromium against the
real local stack, each test at 1440×900 and 390×844:

- a price turns amber at 60 s and red at 120 s on the frozen dev clock, and a tighter `max_price_age_s` disables
  MARKET and INTENT with the reason (items 1, 7), under a "simulated clock" banner (item 10);
- the action bar keeps the position, its open P&L and EXIT / FORCE EXIT / FLATTEN ALL on the first screen, and
  cancelling an exit asks first (items 2, 6);
- two fills found by one poll are listed in the server's order (item 3), and INTENT waits out the cooldown (item 7);
- with the bridge silent the money figures say their age and go grey, and the exit's confirmation does not say
  "now" (item 4); the dollar limits in the header and under the gates; the daily loss limit announces "exit orders
  sent", then "flat" (item 5, issue 17);
- LIVE: a red band, the dialog's title, a typed word before a LIVE order, and Enter-Enter sends nothing (item 8);
- the brick chart's axis is in prices (item 11), and axe-core finds no violation on the dashboard, its tabs and
  the login page (item 11).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from devstack.run import LocalStack
from tests.browser.screen import (
    ROOT,
    claim,
    click,
    dev,
    first,
    has_text,
    outside_viewport,
    overflow,
    place_entry,
    report,
    resize,
    shot,
    snapshot,
    structure,
    text,
    tv,
    unreadable,
    viewport,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(params=["desktop", "phone"])
def size(request: pytest.FixtureRequest, driver: Any) -> Any:
    """The whole test at this screen size, set before the page loads."""
    viewport(driver, request.param)
    try:
        yield request.param
    finally:
        resize(driver, "desktop")


def clock(stack: LocalStack, **body: Any) -> float:
    answer = dev(stack).post(f"{stack.url}/_dev/clock", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    now: float = answer.json()["now"]
    return now


def operator(stack: LocalStack, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = dev(stack).request(method, f"{stack.url}{path}", json=body, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


def content(driver: Any, css: str) -> str:
    """An element's text whether or not shown (on a phone the dollar limits of the header are behind "More"; the
    gates board shows them)."""
    element = first(driver, css)
    return "" if element is None else str(element.get_attribute("textContent"))


def classes(driver: Any, css: str) -> list[str]:
    element = first(driver, css)
    return [] if element is None else str(element.get_attribute("class")).split()


def js_errors(driver: Any) -> list[str]:
    """The page's own errors (a refused request's 4xx is the server speaking, not a page error)."""
    return [str(e["message"]) for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "Failed to load resource" not in str(e["message"])]


def axe(driver: Any, context: str = "document") -> list[str]:
    """axe-core (npm, node_modules) run in the page: every violation as 'rule: target (summary)'."""
    assert AXE.exists(), "npm install (package.json devDependencies: axe-core)"
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(Path(AXE).read_text())
    result = driver.execute_async_script(f"""
        const done = arguments[arguments.length - 1];
        axe.run({context}, {{ resultTypes: ['violations'] }}).then((r) => done(r.violations.map((v) =>
          v.id + ': ' + v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ' (' + (n.failureSummary || '')
            .replace(/\\s+/g, ' ').slice(0, 160) + ')').join(' | ')))).catch((e) => done(['axe failed: ' + e]));""")
    return list(result)


def enter_long(stack: LocalStack, price: float = 6000.0) -> dict[str, Any]:
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=price)
    order = place_entry(stack)
    assert [o["id"] for o in claim(stack)] == [order["id"]]
    report(stack, order["id"], "FILLED", fill_price=price, qty=5)
    return order


# ---- items 1, 7, 10: the price's age, the controls that need a fresh one, the simulated clock -----------------


def test_a_price_turns_amber_then_red_and_a_tighter_limit_disables_entry_with_the_reason(
    stack: LocalStack, size: str, dashboard: Any
) -> None:
    driver = dashboard
    start = clock(stack, now=time.time())
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    wait_until(driver, lambda d: has_text(d, "#banners-pinned", "SIMULATED CLOCK — frozen at"), "the clock banner")
    wait_until(driver, lambda d: "ok" in classes(d, "#card-ES .hb"), "a fresh price")
    wait_until(driver, lambda d: first(d, "#enter-ES").is_enabled(), "MARKET enabled")
    clock(stack, now=start + 61)
    wait_until(driver, lambda d: "warn" in classes(d, "#card-ES .hb") and has_text(d, "#card-ES .hb", "1m01s old"),
               "amber at 60 s")
    clock(stack, now=start + 130)
    wait_until(driver, lambda d: "stale" in classes(d, "#card-ES .hb") and has_text(d, "#card-ES .hb", "2m10s old"),
               "red at 120 s")
    wait_until(driver, lambda d: has_text(d, "#h-connected", "price 2m10s old") and "neg" in classes(d, "#h-connected"),
               "Connected says the price's age")
    # the server still accepts it (the spec's 600 s): MARKET stays enabled, the board says how old and up to when
    wait_until(driver, lambda d: first(d, "#enter-ES").is_enabled(), "MARKET still enabled under the 600 s gate")
    if size == "desktop":   # on a phone only the failing gates are listed
        wait_until(driver, lambda d: has_text(d, '#card-ES li.gate[data-gate="heartbeat"]', "allowed up to 10m00s"),
                   "the price row")
    shot(driver, f"{size}-price-red")
    # the trader tightens the limit to 120 s: the server refuses, and the page says so before the next gate poll
    operator(stack, "POST", "/api/risk", {"max_price_age_s": 120})
    wait_until(driver, lambda d: not first(d, "#enter-ES").is_enabled(), "MARKET disabled")
    wait_until(driver, lambda d: has_text(d, "#why-ES", "MARKET: the price is 130 s old (limit 120 s)"), "why")
    assert not first(driver, "#intent-ES").is_enabled()
    assert "INTENT: the price is 130 s old" in text(driver, "#why-ES")
    assert unreadable(driver, "#why-ES", "limit 120 s") == []
    refused = dev(stack).post(f"{stack.url}/api/intent", json={"asset": "ES", "direction": "BUY"}, timeout=10)
    assert refused.json()["code"] == "HEARTBEAT_STALE", "the page disables exactly what the server refuses"
    shot(driver, f"{size}-price-limit")
    dev(stack).delete(f"{stack.url}/_dev/clock", timeout=10)
    wait_until(driver, lambda d: not has_text(d, "#banners-pinned", "SIMULATED CLOCK"), "the real clock: no banner")
    assert js_errors(driver) == []


# ---- items 2, 6: the action bar, and a confirmation before an exit is undone ------------------------------------


def test_the_action_bar_keeps_the_position_and_the_exits_on_the_first_screen_and_cancelling_an_exit_asks(
    stack: LocalStack, size: str, dashboard: Any
) -> None:
    driver = dashboard
    order = enter_long(stack)
    snapshot(stack, 50_000.0, [{"symbol": order["symbol"], "position": 5, "openPnl": 62.5}], unrealized=62.5)
    wait_until(driver, lambda d: has_text(d, "#bar-pnl-ES", "OPEN +$62.50"), "the open P&L in the bar")
    driver.execute_script("window.scrollTo(0, 0)")
    for css in ("#bar-ES", "#bar-pnl-ES", '#bar-ES button[data-act="exit"]', '#bar-ES button[data-act="force-exit"]',
                "#bar-flatten"):
        assert first(driver, css).is_displayed(), css
        assert outside_viewport(driver, css) == [], css
    # the header keeps the open P&L and the trades left on a phone too (no "More" needed)
    for css in ("#h-openpnl", "#h-trades"):
        assert first(driver, css).is_displayed() and outside_viewport(driver, css) == [], css
    assert overflow(driver) == 0
    shot(driver, f"{size}-action-bar")
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    assert outside_viewport(driver, "#bar-flatten") == [], "still there at the bottom of the page"

    # FORCE EXIT from the bar: the bridge is connected (a snapshot just came), so "now"
    first(driver, '#bar-ES button[data-act="force-exit"]').click()
    wait_until(driver, lambda d: first(d, "#confirm-modal").is_displayed(), "the confirmation")
    assert "now, bypassing" in text(driver, "#cm-text") and text(driver, "#cm-title").startswith("DEMO · FORCE EXIT")
    first(driver, "#cm-ok").click()
    wait_until(driver, lambda d: has_text(d, "#card-ES .pending", "PENDING EXIT"), "the exit pending")
    # one click on Cancel must not undo the exit: it asks, and "Keep the exit" keeps it
    click(driver, '#card-ES .pending button[data-act="cancel-order"]')
    wait_until(driver, lambda d: first(d, "#confirm-modal").is_displayed(), "the cancel's confirmation")
    assert "stays open with no exit working" in text(driver, "#cm-text"), text(driver, "#cm-text")
    assert text(driver, "#cm-cancel") == "Keep the exit"
    shot(driver, f"{size}-cancel-exit-confirm")
    first(driver, "#cm-cancel").click()
    time.sleep(1.5)
    pending = dev(stack).get(f"{stack.url}/api/state", timeout=10).json()["assets"]["ES"]["pending_order_id"]
    assert pending, "the exit is still there"
    click(driver, '#card-ES .pending button[data-act="cancel-order"]')
    wait_until(driver, lambda d: first(d, "#confirm-modal").is_displayed(), "the confirmation again")
    first(driver, "#cm-ok").click()
    wait_until(driver, lambda d: has_text(d, "#outcome-ES", "CANCELLED"), "the exit cancelled")
    assert js_errors(driver) == []


# ---- items 3, 7: two fills in one poll, in the server's order; INTENT waits out the cooldown --------------------


def test_two_fills_found_by_one_poll_are_listed_in_the_servers_order(
    stack: LocalStack, size: str, dashboard: Any
) -> None:
    driver = dashboard
    clock(stack, now=time.time())   # frozen: both fills carry the same server time; the audit log's order decides
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    wait_until(driver, lambda d: first(d, "#enter-ES").is_enabled(), "MARKET enabled")
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/orders?*"]})
    try:
        entry = place_entry(stack)
        claim(stack)
        report(stack, entry["id"], "FILLED", fill_price=6000.0, qty=5)
        operator(stack, "POST", "/api/exit", {"asset": "ES", "force": True})
        [exit_order] = claim(stack)
        report(stack, exit_order["id"], "FILLED", fill_price=6002.0, qty=5)
        time.sleep(2.5)   # the page polls (and fails) meanwhile: both fills reach it in one answer
    finally:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    wait_until(driver, lambda d: has_text(d, "#feed", "EXIT SELL 5") and has_text(d, "#feed", "ENTRY BUY 5"),
               "both fills in the feed")
    items = [li.text for li in driver.find_elements("css selector", "#feed li")]
    fills = [t for t in items if "FILLED @" in t]
    assert "EXIT SELL 5" in fills[0] and "ENTRY BUY 5" in fills[1], items
    assert has_text(driver, "#outcome-ES", "EXIT SELL 5"), text(driver, "#outcome-ES")
    assert "FILLED @ 6002.00" in text(driver, "#outcome-ES")
    # the trade closed: the cooldown refuses intents, and INTENT says so
    wait_until(driver, lambda d: not first(d, "#intent-ES").is_enabled(), "INTENT disabled in the cooldown")
    assert "INTENT: post-exit cooldown" in text(driver, "#why-ES")
    refused = dev(stack).post(f"{stack.url}/api/intent", json={"asset": "ES", "direction": "BUY"}, timeout=10)
    assert refused.json()["code"] == "POST_EXIT_COOLDOWN"
    shot(driver, f"{size}-fills-in-order")
    assert js_errors(driver) == []


# ---- items 4, 5 and issue 17: money that ages, dollar limits, announcements that say what is true -----------------


def test_dollar_figures_warn_and_breach_and_grey_out_when_the_bridge_is_silent(
    stack: LocalStack, size: str, dashboard: Any
) -> None:
    driver = dashboard
    start = clock(stack, now=time.time())
    operator(stack, "POST", "/api/risk", {"daily_loss_limit_usd": 1000, "trailing_drawdown_usd": 2500,
                                          "max_loss_per_trade_usd": 400})
    snapshot(stack, 50_000.0, [])   # RISK_ROOM: the limits need a measured account before an entry
    order = enter_long(stack)
    contract = order["symbol"]
    snapshot(stack, 50_000.0, [{"symbol": contract, "position": 5, "openPnl": 0.0}])
    snapshot(stack, 49_150.0, [{"symbol": contract, "position": 5, "openPnl": -25.0}], unrealized=-25.0)
    # day P&L −$875 of a $1,000 limit: $125 left, past the 80 % warning: amber
    wait_until(driver, lambda d: "$125.00 of $1,000.00" in content(d, "#h-lossroom")
               and has_text(d, "#dollars-ES", "$125.00 of $1,000.00"), "room to the daily loss limit")
    assert "warn" in classes(driver, "#h-lossroom")
    assert first(driver, "#dollars-ES dd.warn"), "amber under the gates too"
    assert has_text(driver, "#dollars-ES", "−$875.00") and has_text(driver, "#dollars-ES", "$125.00 of $1,000.00")
    assert has_text(driver, "#dollars-ES", "$250.00 (cap $400.00)"), text(driver, "#dollars-ES")
    floor = text(driver, "#dollars-ES")
    assert "$47,500.00 · room $1,625.00 · HWM $50,000.00" in floor, floor
    assert unreadable(driver, "#dollars-ES dd", "$125.00 of $1,000.00") == []
    shot(driver, f"{size}-dollars")

    # the bridge goes silent for 90 s: the figures say how old they are and go grey; FORCE EXIT does not say "now"
    clock(stack, now=start + 90)
    wait_until(driver, lambda d: "aged" in classes(d, "#h-equity") and has_text(d, "#h-equity", "1m30s old"),
               "equity aged")
    for css in ("#h-daypnl", "#h-lossroom"):
        assert "aged" in classes(driver, css) and "old" in content(driver, css), css
    assert has_text(driver, "#dollars-ES", "bridge silent")
    wait_until(driver, lambda d: has_text(d, "#bar-pnl-ES", "bridge silent"), "the bar's P&L aged")
    first(driver, '#bar-ES button[data-act="force-exit"]').click()
    wait_until(driver, lambda d: first(d, "#confirm-modal").is_displayed(), "the confirmation")
    assert "when the bridge polls again" in text(driver, "#cm-text") and " now" not in text(driver, "#cm-text")
    shot(driver, f"{size}-bridge-silent")
    first(driver, "#cm-cancel").click()

    # the daily loss limit: "exit orders sent", not "flattened"; then "flat" once the exit filled
    clock(stack, now=start + 95)
    snapshot(stack, 49_000.0, [{"symbol": contract, "position": 5, "openPnl": -30.0}], unrealized=-30.0)
    wait_until(driver, lambda d: has_text(d, "#feed", "exit orders sent for 1 position, waiting for fills"),
               "the stop says what is true now")
    assert "flattened" not in text(driver, "#feed")
    wait_until(driver, lambda d: "REACHED" in content(d, "#h-lossroom") and "neg" in classes(d, "#h-lossroom"), "red")
    assert has_text(driver, "#dollars-ES", "REACHED — exit orders sent, waiting for fills · locked until 18:00 NY")
    [exit_order] = claim(stack)
    report(stack, exit_order["id"], "FILLED", fill_price=5999.0, qty=5)
    snapshot(stack, 48_995.0, [])
    wait_until(driver, lambda d: has_text(d, "#feed", "DAILY STOP: flat — every position is closed"), "then flat")
    wait_until(driver, lambda d: has_text(d, "#b-dailystop", "· flat"), "the banner says flat")
    assert has_text(driver, "#dollars-ES", "REACHED — flat · locked until 18:00 NY")
    shot(driver, f"{size}-loss-limit-flat")
    assert js_errors(driver) == []


# ---- item 8: LIVE --------------------------------------------------------------------------------------------------


def test_live_is_unmistakable_and_a_live_order_needs_the_typed_word(
    stack: LocalStack, size: str, dashboard: Any
) -> None:
    from selenium.webdriver.common.keys import Keys

    driver = dashboard
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    wait_until(driver, lambda d: first(d, "#enter-ES").is_enabled(), "MARKET enabled")
    assert first(driver, "#env-band").is_displayed() is False
    # DEMO: Enter on MARKET opens the dialog on Cancel, not Confirm: a second Enter sends nothing
    first(driver, "#enter-ES").send_keys(Keys.ENTER)
    wait_until(driver, lambda d: first(d, "#order-modal").is_displayed(), "the order dialog")
    assert text(driver, "#om-title").startswith("DEMO · Market entry")
    assert driver.execute_script("return document.activeElement.id") == "om-cancel"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_until(driver, lambda d: not first(d, "#order-modal").is_displayed(), "closed by the second Enter")
    assert dev(stack).get(f"{stack.url}/api/orders", timeout=10).json()["orders"] == [], "no order sent"

    operator(stack, "POST", "/api/env", {"env": "LIVE"})
    wait_until(driver, lambda d: first(d, "#env-band").is_displayed(), "the LIVE band")
    assert outside_viewport(driver, "#env-band") == []
    click(driver, "#enter-ES")
    wait_until(driver, lambda d: first(d, "#order-modal").is_displayed(), "the LIVE order dialog")
    assert text(driver, "#om-title").startswith("LIVE · Market entry")
    assert driver.execute_script("return document.activeElement.id") == "om-live-word"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert not first(driver, "#om-confirm").is_enabled(), "no LIVE order without the word"
    first(driver, "#om-live-word").send_keys("live")
    wait_until(driver, lambda d: first(d, "#om-confirm").is_enabled(), "Confirm after the word")
    assert text(driver, "#om-confirm") == "Confirm LIVE order"
    assert outside_viewport(driver, ".modal-back:not([hidden]) button") == []
    shot(driver, f"{size}-live-dialog")
    first(driver, "#om-cancel").click()
    operator(stack, "POST", "/api/env", {"env": "DEMO"})
    assert js_errors(driver) == []


# ---- item 11: price axes, and no axe-core violation on any page ---------------------------------------------------


def test_the_chart_axis_is_in_prices_and_axe_finds_no_violation_on_any_page(
    stack: LocalStack, size: str, dashboard: Any
) -> None:
    driver = dashboard
    for color in ("green", "green", "red", "green"):
        tv(stack, "/tv_renko_main", asset="ES", color=color)
    tv(stack, "/tv_heartbeat", symbol="ES", price=6004.25)
    order = enter_long(stack, 6004.25)
    snapshot(stack, 50_000.0, [{"symbol": order["symbol"], "position": 5, "openPnl": 0.0}])
    wait_until(driver, lambda d: first(d, "#bar-ES"), "a position (the action bar, the money)")
    wait_until(driver, lambda d: has_text(d, "#h-equity", "$50,000.00"), "money shown")
    found = axe(driver)
    assert found == [], f"{size} console: " + "\n".join(found)
    for tab in ("charts", "trades", "log", "risk"):
        click(driver, f"#tab-{tab}")
        wait_until(driver, lambda d, t=tab: first(d, f"#panel-{t}").is_displayed(), f"the {tab} tab")
        if tab == "charts":
            wait_until(driver, lambda d: (c := first(d, "#chart-plot-ES")) is not None
                       and c.get_attribute("data-axis") == "price", "price axis")
            assert float(first(driver, "#chart-plot-ES").get_attribute("data-last-close")) == 6004.25
            assert has_text(driver, "#chart-cap-ES", "axis: price")
            shot(driver, f"{size}-chart-prices")
        if tab == "risk":
            wait_until(driver, lambda d: len(d.find_elements("css selector", "#risk-preset option")) > 1, "presets")
            shot(driver, f"{size}-risk")
        time.sleep(0.5)
        found = axe(driver)
        assert found == [], f"{size} {tab}: " + "\n".join(found)
    # the confirmation dialog too
    click(driver, "#tab-console")
    first(driver, "#bar-flatten").click()
    wait_until(driver, lambda d: first(d, "#confirm-modal").is_displayed(), "a dialog")
    found = axe(driver)
    assert found == [], f"{size} dialog: " + "\n".join(found)
    first(driver, "#cm-cancel").click()
    assert js_errors(driver) == []
    driver.delete_all_cookies()
    driver.get(f"{stack.url}/login.html")
    wait_for(driver, "#password")
    found = axe(driver)
    assert found == [], f"{size} login: " + "\n".join(found)
    shot(driver, f"{size}-login")
