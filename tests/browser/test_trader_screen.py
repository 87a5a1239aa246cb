"""The trader's screen (issue 9) in headless Chromium against the real local stack, at 1440×900 and 390×844: the page
fits any screen and its dialogs stay inside the viewport; every outcome is announced after the input that caused
it; money is in sight; controls the server would refuse are disabled with the reason; the chart draws the bricks it
was sent; the templates page copies the exact message; the page goes grey and still when the stack stops.

The announcements test runs whole at each size (a person on a phone clicks, scrolls and reads the same page); an
outcome, a refusal's reason or the offline banner counts as shown only where a person could read it: scrolled to,
inside the viewport, not clipped and not under the sticky header (screen.unreadable).

Screenshots of each step are saved under BROWSER_SCREENSHOT_DIR (default .local/screenshots, git-ignored).
The offline test stops this module's stack: it is the last test of the module, and checks both sizes in turn.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from devstack.run import LocalStack
from tests.browser.screen import (
    SIZES,
    claim,
    click,
    csp_violations,
    dev,
    first,
    has_text,
    outside_viewport,
    overflow,
    place_entry,
    report,
    resize,
    server_state,
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

DIALOG_BUTTONS = ".modal-back:not([hidden]) button"


def feed_has(driver: Any, wanted: str) -> bool:
    return has_text(driver, "#feed", wanted)


def open_dialog_and_check(driver: Any, opener: str, dialog: str, size: str) -> None:
    first(driver, opener).click()
    wait_until(driver, lambda d: first(d, dialog).is_displayed(), f"{dialog} open")
    assert outside_viewport(driver, DIALOG_BUTTONS) == [], size
    shot(driver, f"{size}-dialog-{dialog.lstrip('#')}")
    # the keyboard stays inside the dialog: Tab from its last button comes back to its first one
    buttons = [b for b in driver.find_elements("css selector", DIALOG_BUTTONS) if b.is_enabled() and b.is_displayed()]
    driver.execute_script("arguments[0].focus()", buttons[-1])
    from selenium.webdriver.common.keys import Keys

    buttons[-1].send_keys(Keys.TAB)
    assert driver.execute_script("return document.activeElement") == buttons[0], "focus left the dialog"
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_until(driver, lambda d: not first(d, dialog).is_displayed(), f"{dialog} closed by Escape")


def test_the_screen_fits_desktop_and_phone_with_dialogs_inside_and_real_tabs(stack: LocalStack, dashboard: Any) -> None:
    driver = dashboard
    structure(stack, "NQ", "red")
    tv(stack, "/tv_heartbeat", symbol="NQ", price=21000.0)
    wait_until(driver, lambda d: (b := first(d, "#enter-NQ")) is not None and b.is_enabled(), "NQ entry allowed")
    # no bridge ever polled this stack: a pinned red banner says so, and the entry dialog warns
    wait_until(driver, lambda d: has_text(d, "#banners-pinned", "BRIDGE NOT CONNECTED"), "the bridge banner")
    try:
        for size in ("desktop", "phone"):
            viewport(driver, size)
            width, height = SIZES[size]
            driver.execute_script("window.scrollTo(0, 0)")
            wait_until(driver, lambda d, w=width: d.execute_script("return innerWidth") == w, "the new viewport")
            assert overflow(driver) == 0, f"{size}: the page scrolls sideways"
            shot(driver, f"{size}-console")

            open_dialog_and_check(driver, "#enter-NQ", "#order-modal", size)
            first(driver, "#enter-NQ").click()
            wait_until(driver, lambda d: has_text(d, "#om-bridge", "bridge is not connected"), "the bridge warning")
            # sizes are named by the instrument NQ orders are sent for
            assert (text(driver, "#om-size-5"), text(driver, "#om-size-3")) == ("5 MNQ", "3 MNQ")
            first(driver, "#om-cancel").click()
            open_dialog_and_check(driver, "#env-live", "#confirm-modal", size)
            assert not first(driver, "#exit-all").is_enabled(), "FLATTEN ALL with nothing open"
            assert "No open positions" in first(driver, "#exit-all").get_attribute("title")

            # critical banners stay pinned when the page scrolls
            driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
            banner = first(driver, "#b-bridge")
            top = driver.execute_script("return arguments[0].getBoundingClientRect().top", banner)
            assert 0 <= top < height / 3, (size, top)
            sticky = driver.execute_script("return document.getElementById('top').getBoundingClientRect().height")
            assert sticky <= height * (0.25 if size == "phone" else 0.15), (size, sticky)
            shot(driver, f"{size}-scrolled")

            if size == "phone":
                # a toast (the answer to a command without a card) lands inside the viewport
                driver.execute_script("window.scrollTo(0, 0)")
                first(driver, "#env-live").click()
                wait_until(driver, lambda d: first(d, "#confirm-modal").is_displayed(), "the LIVE confirmation")
                first(driver, "#cm-ok").click()
                wait_until(driver, lambda d: has_text(d, "#toast", "Environment: LIVE"), "the toast")
                assert outside_viewport(driver, "#toast") == []
                shot(driver, "phone-toast")
                first(driver, "#env-demo").click()
                wait_until(driver, lambda d: has_text(d, "#toast", "Environment: DEMO"), "back to DEMO")
                # touch targets: every visible button, link and field is at least 44 px tall (the Log tab has fields)
                for tab in ("#tab-log", "#tab-console"):
                    small = driver.execute_script("""
                        return [...document.querySelectorAll('button, a.link-btn, select, input:not([type=checkbox])')]
                          .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
                          .filter(e => e.getBoundingClientRect().height < 44)
                          .map(e => (e.id || e.textContent.trim()) + ':' + e.getBoundingClientRect().height)""")
                    assert small == [], small
                    click(driver, tab)
                    wait_until(driver, lambda d, t=tab: first(d, t).get_attribute("aria-selected") == "true", tab)
                driver.execute_script("window.scrollTo(0, 0)")
                # the compact header shows its other figures on demand
                assert not first(driver, "#h-candle").is_displayed()
                first(driver, "#more-stats").click()
                wait_until(driver, lambda d: first(d, "#h-candle").is_displayed(), "the other header figures")
                assert first(driver, "#more-stats").get_attribute("aria-expanded") == "true"
                assert overflow(driver) == 0
                shot(driver, "phone-header-more")
                first(driver, "#more-stats").click()
        viewport(driver, "narrow")
        wait_until(driver, lambda d: d.execute_script("return innerWidth") == 360, "a 360 px viewport")
        assert overflow(driver) == 0, "360 px: the page scrolls sideways"
        shot(driver, "narrow-console")
    finally:
        viewport(driver, "desktop")

    # tabs are real tabs: arrow keys move the selection, one panel shows
    from selenium.webdriver.common.keys import Keys

    console = first(driver, "#tab-console")
    assert console.get_attribute("role") == "tab" and console.get_attribute("aria-selected") == "true"
    console.send_keys(Keys.ARROW_RIGHT)
    wait_until(driver, lambda d: first(d, "#tab-charts").get_attribute("aria-selected") == "true", "Charts selected")
    assert driver.execute_script("return document.activeElement.id") == "tab-charts"
    assert first(driver, "#panel-charts").is_displayed() and not first(driver, "#panel-console").is_displayed()
    assert first(driver, "#tab-console").get_attribute("tabindex") == "-1"


@pytest.fixture(params=["desktop", "phone"])
def size(request: pytest.FixtureRequest, driver: Any) -> Any:
    """The whole test runs at this screen size, set before the page loads (as on a real phone; a page without a
    viewport meta, as the blank one a new browser shows, is laid out wider: the test checks the width it got)."""
    viewport(driver, request.param)
    try:
        yield request.param
    finally:
        resize(driver, "desktop")


def announced(driver: Any, wanted: str, what: str, asset: str | None = None) -> None:
    """An outcome announced after its input: on the asset's card (when it concerns one asset) and in the event feed,
    each readable where it lands at this screen size (scrolled to, inside the viewport, not clipped or covered)."""
    if asset:
        wait_until(driver, lambda d: has_text(d, f"#outcome-{asset}", wanted), f"{what} on the {asset} card")
    wait_until(driver, lambda d: feed_has(d, wanted), f"{what} in the event feed")
    if asset:
        assert unreadable(driver, f"#outcome-{asset}", wanted) == [], what
    assert unreadable(driver, "#feed li", wanted) == [], what


def levels(stack: LocalStack, asset: str) -> tuple[str, str, dict[str, Any]]:
    """The card's TP and protect price levels as the server's own figures give them (GET /api/state: the average
    price and the offsets it exits at, in the position's direction), and the asset's state."""
    a = server_state(stack)["assets"][asset]
    direction = 1 if a["position"] > 0 else -1
    tp = f"TP {a['avg_price'] + direction * a['points_tp_target']:.2f}" if a["points_tp_enabled"] else "TP off"
    protect = (f"Protect {a['avg_price'] + direction * a['protect_threshold_points']:.2f}" if a["protect_enabled"]
               else "Protect off")
    return tp, protect, a


def test_outcomes_are_announced_money_is_shown_and_refused_controls_say_why(
    stack: LocalStack, size: str, dashboard: Any
) -> None:
    driver = dashboard
    assert driver.execute_script("return innerWidth") == SIZES[size][0]
    # headless Chromium has no speaker and no notification permission: record what the page asks of both
    driver.execute_script("""
        window.__beeps = []; window.__notes = [];
        window.AudioContext = class { constructor() { this.currentTime = 0; this.destination = {}; }
          createOscillator() { const o = { frequency: {}, connect: (g) => g, start() {}, stop() {} };
            window.__beeps.push(o); return o; }
          createGain() { return { gain: {}, connect: (x) => x }; } };
        window.Notification = class { constructor(title, opts) { window.__notes.push(title + ': ' + opts.body); } };
        window.Notification.permission = 'granted';
        window.Notification.requestPermission = async () => 'granted';""")
    for pref, label in (("badge", "Title badge"), ("sound", "Sound"), ("notify", "Browser notifications")):
        if first(driver, f"#pref-{pref}").get_attribute("aria-pressed") != "true":  # kept from an earlier test
            click(driver, f"#pref-{pref}")
            wait_until(driver, lambda d, x=label: has_text(d, "#pref-msg", x + ": ON"), f"{label}: ON")
        assert first(driver, f"#pref-{pref}").get_attribute("aria-pressed") == "true"
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    # before the first broker snapshot the money is unknown, not $50,000.00
    wait_until(driver, lambda d: text(d, "#h-equity") == "—", "equity unknown")
    assert text(driver, "#h-daypnl") == "—"

    # a cancel
    cancelled = place_entry(stack)
    wait_until(driver, lambda d: has_text(d, "#card-ES .pending", "PENDING ENTRY"), "the pending entry")
    assert dev(stack).post(f"{stack.url}/api/orders/{cancelled['id']}/cancel", json={}, timeout=10).ok
    announced(driver, "CANCELLED", "the cancel", "ES")

    # a fill, with its price, in the card, the feed, the title and the Orders table (source, fill price)
    order = place_entry(stack)
    assert [o["id"] for o in claim(stack)] == [order["id"]]
    report(stack, order["id"], "FILLED", fill_price=6001.25, qty=5)
    announced(driver, "FILLED @ 6001.25", "the fill and its price", "ES")
    assert driver.title.startswith("(2) "), driver.title
    assert any("FILLED @ 6001.25" in n for n in driver.execute_script("return window.__notes")), "notification"
    assert len(driver.execute_script("return window.__beeps")) >= 2, "a sound per announcement"
    row = f'#orders-body tr[data-id="{order["id"]}"]'
    wait_until(driver, lambda d: has_text(d, row, "6001.25"), "the fill price in the Orders table")
    assert "operator entry" in text(driver, row) and "FILLED" in text(driver, row)
    assert not first(driver, f"{row} button"), "no Cancel for an order the bridge reported on"
    wait_until(driver, lambda d: first(d, "#exit-all").is_enabled(), "FLATTEN ALL once a position is open")
    # one remaining time per lock: the candle lock's banner, its row on the gates board and the header agree
    wait_until(driver, lambda d: first(d, '#card-NQ li.gate[data-gate="candle_lock"] .left'), "the lock's countdown")
    shown = driver.execute_script("""
        const q = (s) => document.querySelector(s).textContent;
        return [q('#b-candle').match(/(\\d\\d):(\\d\\d) remaining/).slice(1, 3).join(':'),
                q('#card-NQ li.gate[data-gate="candle_lock"] .left'), q('#h-candle')];""")
    seconds = {int(m) * 60 + int(s) for m, s in (x.split(":") for x in shown)}
    assert max(seconds) - min(seconds) <= 1, shown
    assert "remaining)" not in text(driver, '#card-NQ li.gate[data-gate="candle_lock"] .reason')
    # ... and the countdown sits on its gate's line, right of the name, inside the board (not wrapped under the mark)
    assert driver.execute_script("""
        const row = document.querySelector('#card-NQ li.gate[data-gate="candle_lock"]');
        const [n, l, b] = [row.querySelector('.name'), row.querySelector('.left'), row]
          .map((e) => e.getBoundingClientRect());
        return l.top < n.bottom && l.bottom > n.top && l.left >= n.right && l.right <= b.right + 0.5;"""), size
    shot(driver, f"{size}-filled")

    # money: the day's P&L in $ and %, the distance to the daily stop, the position in $ and points, its levels
    contract = order["symbol"]
    snapshot(stack, 50_000.0, [{"symbol": contract, "position": 5, "openPnl": 0.0}])
    tv(stack, "/tv_heartbeat", symbol="ES", price=6004.0)
    snapshot(stack, 40_000.0, [{"symbol": contract, "position": 5, "openPnl": 68.75}], unrealized=68.75)
    wait_until(driver, lambda d: text(d, "#h-daypnl") == "−$10,000.00 (−20.00%)", "the day's P&L")
    assert text(driver, "#h-equity") == "$40,000.00"
    wait_until(driver, lambda d: has_text(d, "#h-dailystop", "$5,000.00 (10.00%) left"), "distance to the stop")
    wait_until(driver, lambda d: has_text(d, "#card-ES .money", "+$68.75"), "the open P&L in $")
    assert "+2.75 pts" in text(driver, "#card-ES .money")
    tp, protect, a = levels(stack, "ES")
    assert a["points_tp_enabled"] and not a["protect_enabled"], "a fill arms the points TP, not protect"
    wait_until(driver, lambda d: has_text(d, "#card-ES .money", tp) and has_text(d, "#card-ES .money", protect),
               f"the levels {tp} and {protect} on the card")
    assert unreadable(driver, "#card-ES .money", tp) == []

    # controls the server would refuse: disabled, with the reason on the card (and the way out), readable
    exit_button = first(driver, '#card-ES button[data-act="exit"]')
    assert not exit_button.is_enabled()
    assert "FORCE EXIT" in text(driver, "#card-ES .ctl-why")
    assert first(driver, '#card-ES button[data-act="force-exit"]').is_enabled()
    high = first(driver, '#card-ES button[data-act="high-next"]')
    assert not high.is_enabled() and "2.5pt management lock" in text(driver, "#card-ES .ctl-why")
    assert unreadable(driver, "#card-ES .ctl-why", "FORCE EXIT") == []
    assert unreadable(driver, "#why-NQ", "MARKET: ") == [], "why NQ cannot enter"
    click(driver, '#card-ES button[data-act="main-flip"]')
    wait_until(driver, lambda d: has_text(d, "#msg-ES", "6PT FLIP: ON"), "ON in the toggle's message")
    wait_until(driver, lambda d: first(d, '#card-ES button[data-act="main-flip"]').get_attribute("aria-pressed")
               == "true", "the toggle pressed")
    shot(driver, f"{size}-money")

    # a 2.5pt bar against the position releases the management lock: PROTECT −2 can be set, its level shows
    protect_button = '#card-ES button[data-act="protect"][data-v="-2"]'
    tv(stack, "/tv_renko_two_half", asset="ES", color="red")
    wait_until(driver, lambda d: has_text(d, "#card-ES .pills", "2.5 LOCK: RELEASED"), "the 2.5pt lock released")
    wait_until(driver, lambda d: first(d, protect_button).is_enabled(), "PROTECT −2 once the 2.5pt lock releases")
    click(driver, protect_button)
    wait_until(driver, lambda d: first(d, protect_button).get_attribute("aria-pressed") == "true", "protect on")
    tp, protect, a = levels(stack, "ES")
    assert a["protect_enabled"] and protect != "Protect off", a
    wait_until(driver, lambda d: has_text(d, "#card-ES .money", tp) and has_text(d, "#card-ES .money", protect),
               f"the levels {tp} and {protect} on the card")
    assert unreadable(driver, "#card-ES .money", protect) == []

    # two more automatic exits, each named by its rule: protect (the bridge rejects it) and the points take-profit
    # (the operator cancels it from the card); the broker's open P&L in $ is the rule's points × size × $/point
    per_point = abs(a["position"]) * a["rithmic_point_value"]
    snapshot(stack, 40_000.0, [{"symbol": contract, "position": 5,
                                "openPnl": a["protect_threshold_points"] * per_point}])
    announced(driver, "AUTOMATIC EXIT — protect fired", "the protect exit and its rule", "ES")
    [fired] = claim(stack)
    assert (fired["kind"], fired["source"]) == ("EXIT", "PROTECT"), fired
    report(stack, fired["id"], "REJECTED", reason="Order price outside the daily limit")
    announced(driver, "REJECTED — Order price outside the daily limit", "the protect exit's reject", "ES")
    snapshot(stack, 40_000.0, [{"symbol": contract, "position": 5, "openPnl": a["points_tp_target"] * per_point}])
    announced(driver, "AUTOMATIC EXIT — points take-profit fired", "the take-profit exit and its rule", "ES")
    pending = server_state(stack)["assets"]["ES"]["pending_order_id"]
    orders = dev(stack).get(f"{stack.url}/api/orders", timeout=10).json()["orders"]
    [tp_exit] = [o for o in orders if o["id"] == pending]
    assert (tp_exit["kind"], tp_exit["source"]) == ("EXIT", "TAKE_PROFIT_POINTS"), tp_exit
    # the row's age ticks while its Cancel button stays the same element (one rebuilt each second loses clicks)
    wait_until(driver, lambda d: first(d, "#card-ES .pending .age"), "the exit's age on the card")
    cancel = first(driver, '#card-ES .pending button[data-act="cancel-order"]')
    age = text(driver, "#card-ES .pending .age")
    wait_until(driver, lambda d: text(d, "#card-ES .pending .age") != age, "the age ticking")
    assert cancel.is_enabled(), "the same Cancel button"  # a replaced element raises StaleElementReferenceException
    click(driver, '#card-ES .pending button[data-act="cancel-order"]')
    # cancelling an exit leaves the position open: it asks first (issue 21 item 6)
    wait_until(driver, lambda d: (b := first(d, "#cm-ok")) is not None and b.is_displayed(), "the confirmation")
    assert has_text(driver, "#cm-text", "stays open with no exit working")
    click(driver, "#cm-ok")
    announced(driver, f"EXIT {tp_exit['side']} {tp_exit['qty']} {tp_exit['symbol']} CANCELLED",
              "the take-profit exit cancelled", "ES")
    shot(driver, f"{size}-exits")

    # reconciliation: the broker reports an NQ position the server does not know, twice; then agrees again
    nq = "MNQ" + contract[3:]
    for _ in range(2):
        snapshot(stack, 40_000.0, [{"symbol": contract, "position": 5, "openPnl": 68.75},
                                   {"symbol": nq, "position": 1, "openPnl": 0.0}])
    announced(driver, "POSITION MISMATCH", "the mismatch", "NQ")
    assert has_text(driver, "#banners-pinned", "POSITION MISMATCH NQ")
    snapshot(stack, 40_000.0, [{"symbol": contract, "position": 5, "openPnl": 68.75}])
    announced(driver, "Reconciled", "the reconciliation", "NQ")

    # the daily stop: announced, pinned, and the automatic exit it fires says which rule fired; the bridge rejects it
    snapshot(stack, 34_000.0, [{"symbol": contract, "position": 5, "openPnl": -300.0}])
    announced(driver, "DAILY STOP TRIGGERED", "the daily stop")
    wait_until(driver, lambda d: has_text(d, "#banners-pinned", "DAILY STOP TRIGGERED"), "the pinned stop banner")
    announced(driver, "AUTOMATIC EXIT — daily stop fired", "the daily stop's exit and its rule", "ES")
    exits = claim(stack)
    assert len(exits) == 1 and (exits[0]["kind"], exits[0]["source"]) == ("EXIT", "DAILY_STOP"), exits
    report(stack, exits[0]["id"], "REJECTED", reason="Insufficient margin for the order")
    announced(driver, "REJECTED — Insufficient margin for the order", "the reject and the bridge's reason", "ES")
    assert "err" in first(driver, "#outcome-ES").get_attribute("class").split()
    row = f'#orders-body tr[data-id="{exits[0]["id"]}"]'
    wait_until(driver, lambda d: has_text(d, row, "Insufficient margin"), "the reason in the Orders table")
    assert "daily stop" in text(driver, row)
    assert unreadable(driver, f"{row} td.reason", "Insufficient margin") == [], "the reason, scrolled to"
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    assert outside_viewport(driver, "#b-dailystop") == [], "the daily stop banner stays pinned"
    assert overflow(driver) == 0
    shot(driver, f"{size}-announced")

    # the next snapshot fires the daily stop's exit again; this one fills: the trade closes 1 point down. A bridge
    # fills within one orders poll, so the page first sees the exit already FILLED: both its announcements come from
    # one poll (the page's order reads are held back meanwhile), on a fast machine in the same millisecond (the
    # page's clock is held still to make sure), and the card must end on the fill, not on "AUTOMATIC EXIT"
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/orders?*"]})
    try:
        snapshot(stack, 34_000.0, [{"symbol": contract, "position": 5, "openPnl": -25.0}])
        again = wait_until(driver, lambda d: claim(stack) or None, "the second daily-stop exit")
        report(stack, again[0]["id"], "FILLED", fill_price=6000.25, qty=5)
        driver.execute_script("const t = Date.now(); window.__now = Date.now; Date.now = () => t;")
    finally:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    try:
        wait_until(driver, lambda d: feed_has(d, "FILLED @ 6000.25 (daily stop)"), "the exit fill in the feed")
        assert has_text(driver, "#outcome-ES", "FILLED @ 6000.25 (daily stop)"), text(driver, "#outcome-ES")
    finally:
        driver.execute_script("if (window.__now) Date.now = window.__now;")
    announced(driver, "FILLED @ 6000.25 (daily stop)", "the exit fill", "ES")
    assert driver.execute_script("""return [...document.querySelectorAll('#feed li')]
        .filter((li) => li.textContent.includes('AUTOMATIC EXIT — daily stop fired')).length""") == 2, "this exit too"
    click(driver, "#tab-trades")
    wait_until(driver, lambda d: has_text(d, "#hist-totals", "1 trade"), "the day's totals")
    totals = text(driver, "#hist-totals")
    assert "−$25.00" in totals and "−1.00 pts" in totals and "0 won · 1 lost" in totals, totals
    assert has_text(driver, "#history-body", "6001.25 → 6000.25")
    from selenium.webdriver.support.ui import Select

    Select(first(driver, "#hist-asset")).select_by_value("NQ")
    wait_until(driver, lambda d: has_text(d, "#hist-totals", "0 trades"), "the asset filter")
    shot(driver, f"{size}-trades")
    click(driver, "#tab-charts")
    wait_until(driver, lambda d: has_text(d, "#pnl-cap", "1 closed trade, −$25.00"), "the day's P&L curve")
    assert int(first(driver, "#pnl-plot").get_attribute("data-points")) >= 2
    # the trade's entry and exit sit on the one 6pt brick sent before them
    wait_until(driver, lambda d: first(d, "#chart-plot-ES").get_attribute("data-markers") == "2", "IN and OUT markers")
    assert overflow(driver) == 0
    shot(driver, f"{size}-pnl")


def _pixels(driver: Any, css: str, rgb: tuple[int, int, int]) -> int:
    """How many canvas pixels inside `css` have about this colour: what the chart actually drew."""
    count: int = driver.execute_script("""
        const [r0, g0, b0] = arguments[1]; let n = 0;
        for (const c of document.querySelectorAll(arguments[0] + ' canvas')) {
          if (!c.width || !c.height) continue;
          const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < px.length; i += 4)
            if (Math.abs(px[i] - r0) < 6 && Math.abs(px[i + 1] - g0) < 6 && Math.abs(px[i + 2] - b0) < 6) n++;
        }
        return n;""", css, list(rgb))
    return count


GREEN = (0x22, 0xC5, 0x5E)
RED = (0xEF, 0x44, 0x44)


def test_the_chart_draws_the_bricks_it_was_sent_and_the_templates_copy_the_exact_message(
    stack: LocalStack, dashboard: Any
) -> None:
    driver = dashboard
    csp_violations(driver)  # drain what earlier pages logged
    for color in ("green", "green", "red", "green", "red"):
        tv(stack, "/tv_renko_main", asset="ES", color=color)
    first(driver, "#tab-charts").click()
    wait_until(driver, lambda d: has_text(d, "#chart-cap-ES", "5 bricks (3 up, 2 down)"), "the ES 6pt bricks")
    wait_until(driver, lambda d: _pixels(d, "#chart-plot-ES", GREEN) > 500 and _pixels(d, "#chart-plot-ES", RED) > 300,
               "green and red bricks drawn on the canvas")
    assert _pixels(driver, "#chart-plot-NQ", GREEN) == 0 and _pixels(driver, "#chart-plot-NQ", RED) == 0
    assert has_text(driver, "#chart-cap-NQ", "0 bricks")
    shot(driver, "desktop-charts")
    assert csp_violations(driver) == [], "the chart library must work under the Hosting CSP"
    from selenium.webdriver.support.ui import Select

    Select(first(driver, "#chart-stream-ES")).select_by_value("8pt")
    wait_until(driver, lambda d: has_text(d, "#chart-cap-ES", "8pt · 0 bricks"), "another stream, no bricks")
    wait_until(driver, lambda d: _pixels(d, "#chart-plot-ES", GREEN) == 0, "the 6pt bricks gone")
    viewport(driver, "phone")
    try:
        Select(first(driver, "#chart-stream-ES")).select_by_value("6pt")
        wait_until(driver, lambda d: has_text(d, "#chart-cap-ES", "5 bricks"), "the bricks again")
        assert overflow(driver) == 0
        shot(driver, "phone-charts")
    finally:
        viewport(driver, "desktop")

    # the templates page: the secret is not on the page until revealed; Copy gives the exact message
    secret = stack.secrets["TV_WEBHOOK_SECRET"]
    driver.get(f"{stack.url}/alerts.html")
    wait_for(driver, '.tpl[data-stream="6pt"] .tpl-line[data-row="green"] button')
    assert secret not in driver.page_source
    driver.execute_script("""window.__copied = [];
        navigator.clipboard.writeText = (t) => { window.__copied.push(t); return Promise.resolve(); };""")
    first(driver, '.tpl[data-stream="6pt"] .tpl-line[data-row="url"] button').click()
    first(driver, '.tpl[data-stream="6pt"] .tpl-line[data-row="green"] button').click()
    copied = wait_until(driver, lambda d: len(c := d.execute_script("return window.__copied")) == 2 and c,
                        "two copies")
    url, message = copied
    assert url == f"{stack.url}/tv_renko_main"
    assert message == json.dumps({"secret": secret, "asset": "{{ticker}}", "color": "green", "bar_id": "{{time}}"},
                                 separators=(",", ":"))
    assert secret not in text(driver, "main"), "copying does not show the secret"
    shot(driver, "desktop-templates")
    # TradingView fills its placeholders and posts the message as it is: the server takes it as a 6pt bar
    filled = message.replace("{{ticker}}", "CME_MINI:ES1!").replace("{{time}}", "2026-11-30T15:05:00Z")
    posted = requests.post(url, data=filled, headers={"Content-Type": "text/plain"}, timeout=10)
    assert posted.status_code == 200, posted.text
    bars = dev(stack).get(f"{stack.url}/api/bars", params={"asset": "ES", "stream": "6pt"}, timeout=10).json()["bars"]
    assert bars[-1]["bar_id"] == "2026-11-30T15:05:00Z"
    first(driver, "#reveal").click()
    wait_until(driver, lambda d: text(d, "#secret-shown") == secret, "the secret shown once revealed")
    assert csp_violations(driver) == []
    viewport(driver, "phone")
    try:
        assert overflow(driver) == 0
        shot(driver, "phone-templates")
    finally:
        viewport(driver, "desktop")


OFFLINE_AGE = re.compile(r"last update (\d+)s ago")


def offline_age(driver: Any) -> int:
    """The seconds in the pinned banner's "last update N s ago"."""
    found = OFFLINE_AGE.search(text(driver, "#b-offline"))
    assert found, text(driver, "#b-offline")
    return int(found.group(1))


def offline_state_holds(driver: Any, size: str) -> None:
    """At this screen size: the pinned grey banner with the age of the last update (which grows while the figures
    stand still), OFFLINE in the header, every control that needs the server disabled, and the reason readable."""
    resize(driver, size)
    driver.execute_script("window.scrollTo(0, 0)")
    assert text(driver, "#h-connected") == "OFFLINE", size
    assert "offline" in first(driver, "body").get_attribute("class").split()
    for css in ("#enter-NQ", "#intent-NQ", "#env-live", "#env-demo", "#exit-all",
                '#card-ES button[data-act="force-exit"]', '#card-ES button[data-act="main-flip"]'):
        assert not first(driver, css).is_enabled(), (size, css)
    assert first(driver, '#card-ES button[data-act="force-exit"]').get_attribute("title") == "offline"
    assert "Offline" in first(driver, "#exit-all").get_attribute("title")
    assert unreadable(driver, "#why-NQ", "Offline: entries need the server") == [], size
    # the banner is pinned: still in view at the bottom of the page
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    assert outside_viewport(driver, "#b-offline") == [], size
    assert unreadable(driver, "#b-offline", "controls disabled") == [], size
    # nothing keeps ticking on stale data: the heartbeat age stands still while the last-update age grows
    heartbeat, age = text(driver, "#card-NQ .hb"), offline_age(driver)
    wait_until(driver, lambda d: offline_age(d) >= age + 2, f"{size}: the age of the last update growing")
    assert text(driver, "#card-NQ .hb") == heartbeat, size
    assert overflow(driver) == 0, size
    shot(driver, f"{size}-offline")


def test_zz_when_the_stack_stops_the_page_says_offline_freezes_and_disables_controls(
    stack: LocalStack, dashboard: Any
) -> None:
    """Last test of the module: it stops the module's stack."""
    driver = dashboard
    structure(stack, "NQ", "red")
    tv(stack, "/tv_heartbeat", symbol="NQ", price=21000.0)
    # an open ES position, so its exits and FLATTEN ALL are among what the outage must disable
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    order = place_entry(stack)
    claim(stack)
    report(stack, order["id"], "FILLED", fill_price=6000.0, qty=5)
    wait_until(driver, lambda d: (b := first(d, "#intent-NQ")) is not None and b.is_enabled(), "INTENT enabled")
    wait_until(driver, lambda d: (b := first(d, '#card-ES button[data-act="force-exit"]')) is not None
               and b.is_enabled() and first(d, "#exit-all").is_enabled(), "the ES exits enabled")
    stack.stop()
    wait_until(driver, lambda d: has_text(d, "#banners-pinned", "OFFLINE"), "the offline banner", timeout=20)
    try:
        offline_state_holds(driver, "desktop")
        assert int(text(driver, "#h-updated").split("s")[0]) >= 3, "the header's age (a desktop figure)"
        offline_state_holds(driver, "phone")
    finally:
        resize(driver, "desktop")
