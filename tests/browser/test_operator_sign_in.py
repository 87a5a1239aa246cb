"""Issue 12 in Chromium: the login page of a Firebase-mode stack (OPERATOR_AUTH=firebase, the real Auth
emulator) shows the mode, signs the local operator in at Firebase itself (the password goes to the Auth
emulator only; our server gets the ID token), the operator switches to LIVE, the Log tab names and filters by
the operator, and Sign out revokes the session (the cookie taken before it answers 401 after)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.run import LocalStack
from tests.browser.screen import (
    csp_violations,
    first,
    has_text,
    overflow,
    text,
    viewport,
    wait_for,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(not (ROOT / "node_modules/.bin/firebase").exists(),
                       reason="firebase-tools not installed (make install)"),
]


# Records every request body the page sends (fetch, XHR, beacon) in sessionStorage, which outlives the
# navigation to the dashboard after a sign-in: what the page really posted, to whom.
RECORD_REQUESTS = """
const log = (url, body) => {
  const sent = JSON.parse(sessionStorage.getItem('sent') || '[]');
  sent.push({url: new URL(String(url), location.href).href, body: typeof body === 'string' ? body : String(body)});
  sessionStorage.setItem('sent', JSON.stringify(sent));
};
const realFetch = window.fetch.bind(window);
window.fetch = (url, options) => {
  log(url && url.url ? url.url : url, options && options.body);
  return realFetch(url, options);
};
const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url, ...rest) {
  this.recordedUrl = url;
  return open.call(this, method, url, ...rest);
};
XMLHttpRequest.prototype.send = function (body) { log(this.recordedUrl, body); return send.call(this, body); };
const beacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, body) => { log(url, body); return beacon(url, body); };
sessionStorage.setItem('sent', '[]');
"""


def _sent(driver: Any) -> list[dict[str, str]]:
    return list(json.loads(driver.execute_script("return sessionStorage.getItem('sent') || '[]'")))


def _logins_seen_by_the_server(stack: LocalStack) -> int:
    """POST /api/login lines in the stack's access log (web.log)."""
    return (stack.logs / "web.log").read_text(errors="replace").count("POST /api/login")


def _submit(driver: Any, email: str, password: str) -> None:
    for css, value in (("#email", email), ("#password", password)):
        first(driver, css).clear()
        first(driver, css).send_keys(value)
    first(driver, "#login-submit").click()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """This module's stack: the Firebase mode (overrides conftest's password-mode stack)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DASHBOARD_PASSWORD", "OPERATOR_AUTH")}
    running = LocalStack.on_free_ports(log_dir=tmp_path_factory.mktemp("firebase-stack"), base_env=env)
    running.firebase_auth = True
    with running:
        yield running


def test_operator_signs_in_acts_and_signs_out(stack: LocalStack, driver: Any) -> None:
    email, password = stack.operator["email"], stack.operator["password"]
    driver.delete_all_cookies()
    driver.get(f"{stack.url}/login.html")
    wait_until(driver, lambda d: d.find_element("id", "email").is_displayed(), "the email field of the account mode")
    assert "operator account" in text(driver, "#login-mode")
    assert "local emulator" in text(driver, "#login-mode")

    driver.execute_script(RECORD_REQUESTS)
    sign_in_url = requests.get(f"{stack.url}/api/auth/status", timeout=30).json()["firebase"]["sign_in_url"]
    logins_before = _logins_seen_by_the_server(stack)

    # a wrong password, then an unknown email: Firebase refuses, the page says so in one text, no session,
    # and our server never saw the attempt (the password went to the Auth emulator only)
    for attempt_email, attempt_password in ((email, password + "-wrong"), ("nobody@operatorlock.test", password)):
        _submit(driver, attempt_email, attempt_password)
        wait_until(driver, lambda d: has_text(d, "#login-error", "Invalid email or password"), "the refusal")
        wait_until(driver, lambda d: d.find_element("id", "login-submit").is_enabled(), "the form back")
        assert driver.get_cookie("__session") is None
    sent = _sent(driver)
    assert [entry["url"].split("?")[0] for entry in sent] == [sign_in_url] * 2, sent
    assert _logins_seen_by_the_server(stack) == logins_before, "a refused sign-in reached /api/login"

    # Firebase unreachable (the browser blocks the sign-in URL): the page says so, nothing is sent to us
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/identitytoolkit.googleapis.com/*"]})
    _submit(driver, email, password)
    wait_until(driver, lambda d: has_text(d, "#login-error", "Firebase Authentication could not be reached"),
               "the unreachable-Firebase text")
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    assert _logins_seen_by_the_server(stack) == logins_before
    assert csp_violations(driver) == [], "the CSP let the page reach the Auth emulator"

    _submit(driver, email, password)
    wait_until(driver, lambda d: d.current_url.rstrip("/") == stack.url, "the dashboard after sign-in")
    sent = _sent(driver)
    to_us = [entry for entry in sent if entry["url"].startswith(stack.url)]
    assert [entry["url"] for entry in to_us] == [f"{stack.url}/api/login"], sent
    assert list(json.loads(to_us[0]["body"])) == ["id_token"], "the page posts the ID token, nothing else"
    assert all(password not in entry["body"] for entry in to_us), "the password went to our server"
    carrying = {entry["url"].split("?")[0] for entry in sent if password in entry["body"]}
    assert carrying == {sign_in_url}, "the password goes to Firebase Authentication only"
    assert _logins_seen_by_the_server(stack) == logins_before + 1
    wait_for(driver, "#card-ES")
    cookie = driver.get_cookie("__session")
    assert cookie and cookie["httpOnly"], "the session cookie is HttpOnly"
    wait_until(driver, lambda d: email in (first(d, "#signout").get_attribute("title") or ""),
               "who is signed in, on the Sign out control")

    # act: switch to LIVE (confirmed)
    wait_until(driver, lambda d: d.find_element("id", "env-live").is_enabled(), "the env switch")
    first(driver, "#env-live").click()
    wait_for(driver, "#cm-ok").click()
    wait_until(driver, lambda d: "env-live" in d.find_element("tag name", "body").get_attribute("class").split(),
               "LIVE on the header")

    # the Log tab names the operator and filters by them
    first(driver, "#tab-log").click()
    field = wait_for(driver, "#log-operator")
    field.send_keys(email + "\n")
    wait_until(driver, lambda d: has_text(d, "#log-body", "set_env") and has_text(d, "#log-body", email),
               "the operator's set_env row")
    field.clear()
    field.send_keys("someone-else@operatorlock.test\n")
    wait_until(driver, lambda d: has_text(d, "#log-body", "No events"), "nothing by another operator")
    viewport(driver, "narrow")  # the filter fits a phone: the page never scrolls sideways
    wait_until(driver, lambda d: d.execute_script("return innerWidth") == 360, "a 360 px viewport")
    assert overflow(driver) == 0
    viewport(driver, "desktop")

    # sign out: back on the login page, and the cookie taken before is dead on the server
    first(driver, "#signout").click()
    wait_until(driver, lambda d: d.current_url.endswith("/login.html"), "the login page after sign-out")
    copied = requests.Session()
    copied.cookies.set("__session", cookie["value"])
    assert copied.get(f"{stack.url}/api/state", timeout=30).status_code == 401
    assert csp_violations(driver) == []
