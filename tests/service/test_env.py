"""Tunables from the environment: a valid value is taken, anything else keeps the bound and is reported once."""

from __future__ import annotations

import logging

import pytest

from shared import env
from shared.store.api import DEFAULT_DEADLINE_S, deadline_seconds
from shared.web.auth import LoginThrottle


@pytest.fixture(autouse=True)
def _fresh_reports():
    env._reported.clear()
    yield
    env._reported.clear()


def test_a_valid_number_is_taken(monkeypatch):
    monkeypatch.setenv("X_TUNABLE", " 2.5 ")
    assert env.env_number("X_TUNABLE", 1.0, lambda v: 0 < v < 10) == 2.5


def test_unset_or_blank_gives_the_default_without_a_report(monkeypatch, caplog):
    monkeypatch.setenv("X_TUNABLE", "  ")
    with caplog.at_level(logging.WARNING, logger="shared.env"):
        assert env.env_number("X_TUNABLE", 1.0, lambda v: True) == 1.0
        assert env.env_number("X_UNSET_TUNABLE", 3.0, lambda v: True) == 3.0
    assert caplog.records == []


@pytest.mark.parametrize("raw", ["abc", "nan", "inf", "-1", "11", "1e309"])
def test_an_invalid_value_keeps_the_default_and_is_reported_once(monkeypatch, caplog, raw):
    monkeypatch.setenv("X_TUNABLE", raw)
    with caplog.at_level(logging.WARNING, logger="shared.env"):
        for _ in range(3):
            assert env.env_number("X_TUNABLE", 1.0, lambda v: 0 < v < 10) == 1.0
    assert len(caplog.records) == 1
    assert "X_TUNABLE" in caplog.text and "default 1" in caplog.text


@pytest.mark.parametrize(("raw", "expected"), [("7", 7), ("7.0", 7), ("7.5", 5), ("0", 5), ("-3", 5), ("x", 5)])
def test_a_count_is_a_positive_whole_number(monkeypatch, raw, expected):
    monkeypatch.setenv("X_COUNT", raw)
    assert env.env_count("X_COUNT", 5) == expected


def test_the_login_throttle_reads_its_limits_through_the_same_rule(monkeypatch, caplog):
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "2")
    monkeypatch.setenv("LOGIN_THROTTLE_WINDOW_S", "lots")
    with caplog.at_level(logging.WARNING, logger="shared.env"):
        assert LoginThrottle()._limits() == (2, 60.0)
    assert "LOGIN_THROTTLE_WINDOW_S" in caplog.text


@pytest.mark.parametrize(("raw", "expected"), [("3", 3.0), ("0", DEFAULT_DEADLINE_S), ("8s", DEFAULT_DEADLINE_S),
                                               ("600", DEFAULT_DEADLINE_S)])
def test_the_store_deadline_is_bounded_and_a_typo_does_not_raise(monkeypatch, raw, expected):
    monkeypatch.setenv("STORE_DEADLINE_S", raw)
    assert deadline_seconds(None) == expected
    assert deadline_seconds(1.5) == 1.5
