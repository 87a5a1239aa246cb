"""Login resists guessing: wrong passwords are throttled per client address (429 + Retry-After), never overall,
the right password works again after the window, and outside the local stack a short password is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import functions_framework
import pytest

from shared.web import auth
from shared.web.auth import LoginThrottle, TooManyAttempts

SOURCE = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
PASSWORD = "a long enough passphrase"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class TestLoginThrottle:
    def test_an_address_is_refused_after_its_failures_until_the_window_passes(self) -> None:
        clock = FakeClock()
        throttle = LoginThrottle(per_address=3, window_s=60, clock=clock)
        for _ in range(3):
            throttle.check("10.0.0.1")
            throttle.failed("10.0.0.1")
            clock.now += 1
        with pytest.raises(TooManyAttempts) as refused:
            throttle.check("10.0.0.1")
        assert refused.value.status == 429
        assert refused.value.retry_after_s == 57  # now t=1003; the oldest failure (t=1000) leaves at t=1060
        throttle.check("10.0.0.2")  # another address is not affected
        clock.now = 1060.5
        throttle.check("10.0.0.1")

    def test_failures_from_other_addresses_never_refuse_an_address_that_has_not_failed(self) -> None:
        """Issue 15: the overall limit let strangers lock the operator out; now only an address's own failures
        count, so a clean address always gets to try."""
        clock = FakeClock()
        throttle = LoginThrottle(per_address=5, window_s=60, clock=clock)
        for i in range(5000):  # ~3 guesses a second for half an hour, each from a fresh address
            throttle.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
            clock.now += 0.33
        throttle.check("198.51.100.7")  # the operator's address

    def test_an_address_keeps_only_the_failures_that_can_refuse_it(self) -> None:
        throttle = LoginThrottle(per_address=3, window_s=60, clock=FakeClock())
        for _ in range(100):
            throttle.failed("a")
        assert len(throttle._by_address["a"]) == 3

    def test_a_success_clears_its_address(self) -> None:
        throttle = LoginThrottle(per_address=2, window_s=60, clock=FakeClock())
        throttle.failed("a")
        throttle.succeeded("a")
        throttle.failed("a")
        throttle.check("a")

    def test_addresses_kept_are_bounded(self) -> None:
        throttle = LoginThrottle(per_address=2, window_s=60, clock=FakeClock())
        for i in range(LoginThrottle.MAX_ADDRESSES + 50):
            throttle.failed(f"addr-{i}")
        assert len(throttle._by_address) == LoginThrottle.MAX_ADDRESSES


# ---- through the orders function ----------------------------------------------------------------------------


@pytest.fixture
def orders(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, FakeClock]]:
    monkeypatch.setenv("DASHBOARD_PASSWORD", PASSWORD)
    monkeypatch.setenv("SESSION_SECRET", "session-test-key")
    monkeypatch.delenv("ALLOW_OPEN_DASHBOARD", raising=False)
    monkeypatch.delenv("LOCAL_DEV", raising=False)
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "5")
    monkeypatch.setenv("LOGIN_THROTTLE_WINDOW_S", "60")
    clock = FakeClock()
    monkeypatch.setattr(auth, "LOGIN_THROTTLE", LoginThrottle(clock=clock))
    client = functions_framework.create_app(target="orders", source=SOURCE).test_client()
    yield client, clock


def _login(client: Any, password: str, address: str = "203.0.113.7") -> Any:
    return client.post("/api/login", json={"password": password}, headers={"X-Forwarded-For": address})


def test_wrong_guesses_get_429_with_retry_after_and_the_right_password_works_after_the_window(
        orders: tuple[Any, FakeClock]) -> None:
    client, clock = orders
    for _ in range(5):
        assert _login(client, "guess").status_code == 401
    for password in ("guess", PASSWORD):  # while throttled, the right password is just another guess
        refused = _login(client, password)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.get_json()["code"] == "TOO_MANY_ATTEMPTS"
        assert "__session" not in refused.headers.get("Set-Cookie", "")
    assert _login(client, PASSWORD, address="198.51.100.1").status_code == 200  # another address logs in
    clock.now += 61
    accepted = _login(client, PASSWORD)
    assert accepted.status_code == 200 and "__session" in accepted.headers["Set-Cookie"]


def test_strangers_failing_from_many_addresses_cannot_lock_the_operator_out(orders: tuple[Any, FakeClock]) -> None:
    """The reviewer's attack: ~3 wrong guesses a second from ever new addresses used to fill the overall limit,
    and the operator's right password got 429 too."""
    client, clock = orders
    for i in range(300):
        assert _login(client, f"guess-{i}", address=f"192.0.{i // 256}.{i % 256}").status_code == 401
        clock.now += 0.33
    assert _login(client, PASSWORD, address="198.51.100.1").status_code == 200


def test_a_client_set_forwarded_for_does_not_move_the_guesser_to_a_fresh_window(
        orders: tuple[Any, FakeClock]) -> None:
    """Google's front end appends the address that connected to it; whatever the client put before that entry
    is the client's own text. The throttle keys on the appended (last) entry, so spoofing gains nothing."""
    client, _ = orders
    statuses = [_login(client, f"guess-{i}", address=f"10.1.{i // 256}.{i % 256}, 203.0.113.9").status_code
                for i in range(300)]
    assert statuses == [401] * 5 + [429] * 295
    assert _login(client, PASSWORD, address="10.1.0.0, 198.51.100.1").status_code == 200


def test_an_ipv6_guesser_counts_as_its_slash_64(orders: tuple[Any, FakeClock]) -> None:
    client, _ = orders
    statuses = [_login(client, "guess", address=f"2001:db8:1:2::{i:x}").status_code for i in range(1, 8)]
    assert statuses == [401] * 5 + [429] * 2
    assert _login(client, PASSWORD, address="2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize(("header", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("1.2.3.4, 203.0.113.7", "203.0.113.7"),
    ("evil, , 203.0.113.7 ", "203.0.113.7"),
    ("2001:db8::1", "2001:db8::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("not-an-address", "not-an-address"),
    ("", "127.0.0.1"),
])
def test_the_client_address_is_the_hop_the_front_end_appended(header: str, key: str) -> None:
    from werkzeug.test import EnvironBuilder

    headers = {"X-Forwarded-For": header} if header else {}
    request = EnvironBuilder(path="/api/login", headers=headers,
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_request()
    assert auth.client_address(request) == key


@pytest.mark.parametrize("local_dev", ["", "1"])
def test_a_short_password_is_refused_outside_the_local_stack(
        orders: tuple[Any, FakeClock], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        local_dev: str) -> None:
    client, _ = orders
    monkeypatch.setenv("DASHBOARD_PASSWORD", "short-pass1")  # 11 characters
    monkeypatch.setenv("LOCAL_DEV", local_dev)
    login = _login(client, "short-pass1")
    state = client.get("/api/state")
    if local_dev:
        assert login.status_code == 200
        return
    assert login.status_code == 503 and "shorter than 12 characters" in login.get_json()["error"]
    assert state.status_code == 503  # no session is honoured either
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line.get("config_invalid") == "DASHBOARD_PASSWORD" for line in lines)
    assert not any("short-pass1" in json.dumps(line) for line in lines)


def test_a_failed_login_logs_one_line_with_the_client_and_never_the_guess(
        orders: tuple[Any, FakeClock], capsys: pytest.CaptureFixture[str]) -> None:
    client, _ = orders
    capsys.readouterr()
    assert _login(client, "my-secret-guess").status_code == 401
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    assert lines[0]["client"] == "203.0.113.7" and lines[0]["status"] == 401
    assert "my-secret-guess" not in json.dumps(lines)
