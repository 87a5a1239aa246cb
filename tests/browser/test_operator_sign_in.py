"""Issue 12 in Chromium: the login page of a Firebase-mode stack (OPERATOR_AUTH=firebase, the real Auth
emulator) shows the mode, signs the local operator in, the operator switches to LIVE, the Log tab names and
filters by the operator, and Sign out revokes the session (the cookie taken before it answers 401 after)."""

from __future__ import annotations

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

    # a wrong password: refused on the page, no session
    first(driver, "#email").send_keys(email)
    first(driver, "#password").send_keys(password + "-wrong")
    first(driver, "#login-submit").click()
    wait_until(driver, lambda d: has_text(d, "#login-error", "Invalid email or password"), "the refusal")
    assert driver.get_cookie("__session") is None

    first(driver, "#password").clear()
    first(driver, "#password").send_keys(password)
    first(driver, "#login-submit").click()
    wait_until(driver, lambda d: d.current_url.rstrip("/") == stack.url, "the dashboard after sign-in")
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
