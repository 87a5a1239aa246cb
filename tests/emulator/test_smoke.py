"""Issue 22: the deployment smoke test's timer check (scripts/smoke.py) against the whole local stack: a probe
timer goes through the Cloud Tasks emulator to the timers function, and the script sees its audit event. (The
script's other checks are a production deployment's: the local stack keeps `?secret=` and its dev routes.)"""

from __future__ import annotations

import pytest

from scripts import smoke
from tests.emulator.conftest import STACK_PASSWORD

pytestmark = pytest.mark.emulator


def test_the_smoke_tests_timer_check_sees_a_timer_fire(fresh, capsys) -> None:
    assert smoke.timer_fires(smoke.Site(fresh.url), STACK_PASSWORD, 60.0) is True
    assert "the probe timer fired (probe:" in capsys.readouterr().out


def test_a_wrong_password_fails_the_timer_check(fresh, capsys) -> None:
    assert smoke.timer_fires(smoke.Site(fresh.url), "not-the-password", 5.0) is False
    assert "FAIL" in capsys.readouterr().out
