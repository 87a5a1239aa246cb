"""Fixtures of the browser tests: one real local stack and one Chromium per test module (per xdist worker)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.run import LocalStack
from tests.browser.screen import CHROME_FLAGS, CHROMEDRIVER, CHROMIUM, PASSWORD, reset, sign_in, wait_for, wait_until
from tests.emulator.evidence import document_hits


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    logs = tmp_path_factory.mktemp("stack-logs")
    env = {**os.environ, "DASHBOARD_PASSWORD": PASSWORD}
    with LocalStack.on_free_ports(log_dir=logs, base_env=env) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_secret_stored(stack: LocalStack) -> Iterator[None]:
    """What a test stored, scanned for the stack's secrets before the next test wipes it (the stack's logs and
    last documents are scanned when it stops: tests/conftest.py)."""
    yield
    hits = document_hits(stack)
    assert not hits, hits[:20]


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(f"{missing} missing: `make install` (scripts/check_system.sh) installs chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="operatorlock-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # tests read the console (CSP violations)
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.set_page_load_timeout(20)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def dashboard(stack: LocalStack, driver: Any) -> Any:
    """A wiped stack and a browser signed in on the dashboard."""
    reset(stack)
    driver.delete_all_cookies()
    sign_in(driver, stack, PASSWORD)
    wait_until(driver, lambda d: d.current_url.rstrip("/") == stack.url, "dashboard after sign-in")
    wait_for(driver, "#card-ES")
    return driver


