"""D19 on the trader's screen, in Chromium against the real local stack: a click whose answer was lost is sent again
with the same Idempotency-Key and applied once; a fill reported after the bridge's own cancel is announced and marked,
and the position it opened can be exited."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.run import LocalStack
from tests.browser.screen import (
    claim,
    click,
    first,
    has_text,
    place_entry,
    report,
    server_state,
    structure,
    text,
    tv,
    wait_until,
)
from tests.browser.test_trader_screen import announced

pytestmark = pytest.mark.browser

# The page's fetch, wrapped: every POST and its Idempotency-Key recorded; the first answer of one path replaced by
# a 503 OUTCOME_UNKNOWN after the server has applied the request (an answer lost on its way back).
LOSE_FIRST_ANSWER = """
window.__sent = [];
const real = window.fetch;
let lost = false;
window.fetch = async (url, init) => {
  const key = (init && init.headers && init.headers['Idempotency-Key']) || null;
  if (init && init.method === 'POST') window.__sent.push([String(url), key]);
  const res = await real(url, init);
  if (!lost && String(url).endsWith(arguments[0])) {
    lost = true;
    return new Response(JSON.stringify({ ok: false, code: 'OUTCOME_UNKNOWN', error: 'answer lost (test)' }),
      { status: 503, headers: { 'Content-Type': 'application/json', 'Retry-After': '1' } });
  }
  return res;
};
"""


def open_long(stack: LocalStack, driver: Any) -> dict[str, Any]:
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    order = place_entry(stack)
    assert [o["id"] for o in claim(stack)] == [order["id"]]
    report(stack, order["id"], "FILLED", fill_price=6000.0, qty=5)
    wait_until(driver, lambda d: server_state(stack)["assets"]["ES"]["position"] == 5, "the open position")
    return order


def test_a_click_whose_answer_was_lost_is_sent_again_with_its_key_and_applied_once(stack: LocalStack,
                                                                                   dashboard: Any) -> None:
    driver = dashboard
    open_long(stack, driver)
    toggle = '#card-ES button[data-act="main-flip"]'
    wait_until(driver, lambda d: (b := first(d, toggle)) is not None and b.is_enabled(), "the 6PT FLIP toggle")
    before = server_state(stack)["assets"]["ES"]["main_flip_exit_enabled"]
    driver.execute_script(LOSE_FIRST_ANSWER, "/api/main-flip-exit")
    click(driver, toggle)
    wanted = "6PT FLIP: " + ("OFF" if before else "ON")
    wait_until(driver, lambda d: has_text(d, "#msg-ES", wanted), "the toggle's outcome on the card")
    sent = [key for url, key in driver.execute_script("return window.__sent") if url.endswith("/api/main-flip-exit")]
    assert len(sent) == 2 and sent[0] and sent[0] == sent[1], sent  # re-sent once, with the same key
    # applied once: a second application would have toggled it back
    assert server_state(stack)["assets"]["ES"]["main_flip_exit_enabled"] is (not before)

    # the next click is a new command with a key of its own
    click(driver, toggle)
    wait_until(driver, lambda d: server_state(stack)["assets"]["ES"]["main_flip_exit_enabled"] is before,
               "the second click applied")
    keys = [key for url, key in driver.execute_script("return window.__sent") if url.endswith("/api/main-flip-exit")]
    assert len(keys) == 3 and keys[2] != keys[0]


def test_a_fill_after_the_bridges_cancel_is_announced_marked_and_exitable(stack: LocalStack, dashboard: Any) -> None:
    driver = dashboard
    structure(stack, "ES", "green")
    tv(stack, "/tv_heartbeat", symbol="ES", price=6000.0)
    order = place_entry(stack)
    claim(stack)
    report(stack, order["id"], "CANCELLED", reason="cancel raced the fill")
    announced(driver, "CANCELLED", "the cancel", "ES")
    report(stack, order["id"], "FILLED", fill_price=6001.0, qty=5)
    announced(driver, "LATE FILL", "the late fill", "ES")
    assert "the position is open at the broker" in text(driver, "#outcome-ES")
    row = f'#orders-body tr[data-id="{order["id"]}"]'
    wait_until(driver, lambda d: has_text(d, row, "LATE FILL 5"), "the late fill marked in the Orders table")
    # the position it opened is managed like any other: FORCE EXIT is offered and accepted
    force = '#card-ES button[data-act="force-exit"]'
    wait_until(driver, lambda d: (b := first(d, force)) is not None and b.is_enabled(), "FORCE EXIT offered")
    click(driver, force)
    wait_until(driver, lambda d: (b := first(d, "#cm-ok")) is not None and b.is_displayed(), "the confirmation")
    click(driver, "#cm-ok")
    wait_until(driver, lambda d: has_text(d, "#msg-ES", "Exit order"), "the exit order sent")
