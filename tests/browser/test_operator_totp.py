"""Issue 22 item 9 in Chromium: the login page's TOTP second factor, on a Firebase-mode stack with
OPERATOR_MFA=MANDATORY. The Auth emulator checks the passwords, keeps the accounts and mints the session
cookies; the TOTP endpoints, which the emulator does not implement (SMS only), are played by
tests/browser/mfa_standin.py, where the page is pointed by FIREBASE_AUTH_PAGE_HOST.

An operator without a factor signs in: the server answers 403 SECOND_FACTOR_REQUIRED and the page adds an
authenticator app (the key shown, a wrong code refused, the right one accepted) and signs in; the session
works (GET /api/state 200). Then the second step of a sign-in: a wrong code refused with its text, an expired
pending sign-in sent back to the start, Firebase unreachable said so, the right code signs in. A second
operator ticks "Add an authenticator app": the enrolment comes before anything is posted to us."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.emulators import create_operator, free_port
from devstack.run import LocalStack
from tests.browser.mfa_standin import MfaStandIn, totp
from tests.browser.screen import csp_violations, first, has_text, text, wait_for, wait_until
from tests.browser.test_operator_sign_in import RECORD_REQUESTS, _logins_seen_by_the_server, _sent, _submit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(not (ROOT / "node_modules/.bin/firebase").exists(),
                       reason="firebase-tools not installed (make install)"),
]


class Desk:
    def __init__(self, stack: LocalStack, standin: MfaStandIn) -> None:
        self.stack, self.standin = stack, standin


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    auth_ports = (free_port(), free_port(), free_port())
    with MfaStandIn(f"127.0.0.1:{auth_ports[0]}", "demo-operatorlock") as standin:
        env = {k: v for k, v in os.environ.items() if k not in ("DASHBOARD_PASSWORD", "OPERATOR_AUTH")}
        env.update(OPERATOR_MFA="MANDATORY", FIREBASE_AUTH_PAGE_HOST=standin.address)
        stack = LocalStack.on_free_ports(log_dir=tmp_path_factory.mktemp("totp-stack"), base_env=env)
        stack.firebase_auth = True
        stack.auth_ports = auth_ports
        with stack:
            yield Desk(stack, standin)


@pytest.fixture
def stack(desk: Desk) -> LocalStack:
    """conftest's secret scan runs on this module's stack."""
    return desk.stack


def _code_step(driver: Any, code: str) -> None:
    field = wait_for(driver, "#mfa-code")
    wait_until(driver, lambda d: field.is_displayed(), "the code step")
    field.clear()
    field.send_keys(code)
    first(driver, "#mfa-submit").click()


def _enrol_code(driver: Any, code: str) -> None:
    field = first(driver, "#enrol-code")
    field.clear()
    field.send_keys(code)
    first(driver, "#enrol-submit").click()


def _signed_in(driver: Any, stack: LocalStack) -> None:
    wait_until(driver, lambda d: d.current_url.rstrip("/") == stack.url, "the dashboard after sign-in")
    wait_for(driver, "#card-ES")
    cookie = driver.get_cookie("__session")
    assert cookie and cookie["httpOnly"]
    session = requests.Session()
    session.cookies.set("__session", cookie["value"])
    assert session.get(f"{stack.url}/api/state", timeout=30).status_code == 200


def _sign_out(driver: Any) -> None:
    first(driver, "#signout").click()
    wait_until(driver, lambda d: d.current_url.endswith("/login.html"), "the login page after sign-out")


def test_a_required_factor_is_added_then_asked_at_every_sign_in(desk: Desk, driver: Any) -> None:
    stack, standin = desk.stack, desk.standin
    email, password = stack.operator["email"], stack.operator["password"]
    status = requests.get(f"{stack.url}/api/auth/status", timeout=30).json()["firebase"]
    assert status["mfa"] == "MANDATORY" and standin.address in status["identity_toolkit_url"]
    driver.delete_all_cookies()
    driver.get(f"{stack.url}/login.html")
    wait_until(driver, lambda d: d.find_element("id", "email").is_displayed(), "the email field")
    assert first(driver, "#enrol-row").is_displayed(), "the offer to add an app, where MFA is on"
    driver.execute_script(RECORD_REQUESTS)

    # no factor yet: the server refuses the token (SECOND_FACTOR_REQUIRED) and the page adds one with it
    _submit(driver, email, password)
    wait_until(driver, lambda d: first(d, "#enrol-form").is_displayed(), "the enrolment step")
    assert "requires a second factor" in text(driver, "#enrol-why")
    assert not first(driver, "#enrol-skip").is_displayed(), "no skipping a required factor"
    secret = text(driver, "#totp-secret").replace(" ", "")
    assert len(secret) == 32
    uri = first(driver, "#totp-uri").get_attribute("href")
    assert uri.startswith("otpauth://totp/OperatorLock%3A") and f"secret={secret}" in uri
    assert "issuer=OperatorLock" in uri
    code_field = first(driver, "#enrol-code")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    assert first(driver, "label[for=enrol-code]") is not None
    wrong = str((int(totp(secret)) + 1) % 1_000_000).zfill(6)
    _enrol_code(driver, wrong)
    wait_until(driver, lambda d: has_text(d, "#login-error", "Wrong code"), "the wrong enrolment code refused")
    assert driver.get_cookie("__session") is None
    _enrol_code(driver, totp(secret))
    _signed_in(driver, stack)
    sent = _sent(driver)
    to_us = [entry for entry in sent if entry["url"].startswith(stack.url)]
    assert [entry["url"] for entry in to_us] == [f"{stack.url}/api/login"] * 2, "refused, then the enrolled token"
    assert all(secret not in entry["body"] for entry in sent), "the shared key is never sent anywhere"
    assert all(list(json.loads(entry["body"])) == ["id_token"] for entry in to_us)
    _sign_out(driver)

    # the second step: a wrong code, then the right one
    driver.execute_script(RECORD_REQUESTS)
    logins = _logins_seen_by_the_server(stack)
    _submit(driver, email, password)
    _code_step(driver, wrong if wrong != totp(secret) else "000000")
    wait_until(driver, lambda d: has_text(d, "#login-error", "Wrong code"), "the wrong code refused")
    assert first(driver, "#mfa-code").is_displayed(), "a wrong code leaves the operator on the code step"
    field = first(driver, "#mfa-code")
    assert field.get_attribute("autocomplete") == "one-time-code" and field.get_attribute("inputmode") == "numeric"
    assert driver.find_element("css selector", "label[for=mfa-code]").text
    # Firebase unreachable at the code step
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/v2/accounts/mfaSignIn:finalize*"]})
    _code_step(driver, totp(secret))
    wait_until(driver, lambda d: has_text(d, "#login-error", "could not be reached"), "the unreachable text")
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    # the pending sign-in runs out: back to the start
    standin.expire_pending()
    _code_step(driver, totp(secret))
    wait_until(driver, lambda d: has_text(d, "#login-error", "start over"), "the expired text")
    wait_until(driver, lambda d: first(d, "#login-form").is_displayed(), "the password step again")
    assert _logins_seen_by_the_server(stack) == logins, "nothing reached us before the second step passed"
    _submit(driver, email, password)
    _code_step(driver, totp(secret))
    _signed_in(driver, stack)
    assert _logins_seen_by_the_server(stack) == logins + 1
    assert csp_violations(driver) == []
    _sign_out(driver)


def test_an_operator_adds_an_app_by_choice_before_anything_is_posted(desk: Desk, driver: Any) -> None:
    stack = desk.stack
    email, password = "trader-totp@operatorlock.test", "pw-trader-totp-123"
    create_operator(stack.auth_address or "", stack.project, email, password)
    driver.delete_all_cookies()
    driver.get(f"{stack.url}/login.html?enrol=1")
    wait_until(driver, lambda d: d.find_element("id", "email").is_displayed(), "the email field")
    wait_until(driver, lambda d: first(d, "#enrol-totp").is_selected(), "?enrol=1 ticks the offer")
    logins = _logins_seen_by_the_server(stack)
    _submit(driver, email, password)
    wait_until(driver, lambda d: first(d, "#enrol-form").is_displayed(), "the enrolment step")
    assert _logins_seen_by_the_server(stack) == logins, "the enrolment comes before the token is posted"
    secret = text(driver, "#totp-secret").replace(" ", "")
    _enrol_code(driver, totp(secret))
    _signed_in(driver, stack)
    assert csp_violations(driver) == []
