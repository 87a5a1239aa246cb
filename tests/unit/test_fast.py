"""The speed-ups of shared/domain/fast.py give what their plain versions give (the module's docstring names each);
`ON = False` gives the plain versions themselves. The whole backtest both ways: tests/sim/test_backtest_fast.py."""

from __future__ import annotations

import copy
from functools import partial

import pytest

from shared.domain import clock, fast
from shared.domain.state import AssetState


@pytest.fixture
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "ON", False)


def test_the_plain_copy_is_the_standard_librarys(plain: None) -> None:
    """The generated one: tests/sim/test_backtest_fast.py (every field carried, a record of its own)."""
    assert fast.record_copier(AssetState) is copy.copy


def test_copy_values() -> None:
    assert fast.copy_values({"a": [1], "b": [2]}, list) == {"a": [1], "b": [2]}
    assert fast.copy_values({}, list) == {}


def test_remembered_keeps_answers_and_plain_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    kept = fast.remembered(upper)
    assert kept("mes") == kept("mes") == "MES" and calls == ["mes"]
    monkeypatch.setattr(fast, "ON", False)
    assert fast.remembered(upper) is upper


def test_by_span_answers_what_the_computation_does() -> None:
    spans: dict[int, tuple[float, float, str]] = {}
    day = fast.by_span(clock.trading_day_at, clock.trading_day_span, spans)
    moment = 1768347000.0
    assert day(moment) == clock.trading_day_at(moment) == day(moment + 60, 18)   # the default start hour too
    assert spans[18][2] == day(moment) and day.__doc__ == clock.trading_day_at.__doc__


def test_by_span_plain_is_the_computation(plain: None) -> None:
    assert fast.by_span(clock.trading_day_at, clock.trading_day_span) is clock.trading_day_at


def test_later_is_worked_out_when_asked_and_plain_at_once() -> None:
    calls: list[int] = []

    def count(n: int) -> int:
        calls.append(n)
        return n

    asked = fast.later(count, 1)
    assert calls == [] and asked() == 1 and calls == [1]
    at_once = fast._at_once(count, 2)
    assert calls == [1, 2] and at_once() == at_once() == 2 and calls == [1, 2]
    assert fast.later is partial


def test_inputs_are_final_so_an_exact_type_test_is_isinstance() -> None:
    """engine.decide, engine.orders_needed and service.loads tell inputs apart by `type(inp) is X` (fast.py): that
    answers as `isinstance` only while no input class derives from another."""
    from shared.domain import inputs

    classes = [c for c in vars(inputs).values()
               if isinstance(c, type) and issubclass(c, inputs.Input) and c is not inputs.Input]
    assert len(classes) > 20
    for cls in classes:
        assert cls.__bases__ == (inputs.Input,), cls
        assert not cls.__subclasses__(), cls
