"""The local stack's dev clock (D16): frozen by default when set, ticking on request, moved, reset; timers shift."""

from __future__ import annotations

import time

import pytest

from shared.service import clock

T0 = 1_800_000_000.0


@pytest.fixture
def dev(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCAL_DEV", "1")
    monkeypatch.setenv("DEV_CLOCK_FILE", str(tmp_path / "clock.json"))
    return tmp_path / "clock.json"


class TestFrozen:
    def test_setting_the_time_freezes_it(self, dev):
        clock.set_now(T0)
        time.sleep(0.05)
        assert clock.now() == T0 and clock.state() == {"now": T0, "frozen": True}

    def test_advance_moves_a_frozen_clock_and_keeps_it_frozen(self, dev):
        clock.set_now(T0)
        assert clock.advance(90) == T0 + 90
        time.sleep(0.02)
        assert clock.now() == T0 + 90

    def test_offset_of_a_frozen_clock_tracks_real_time_so_timers_wait_real_seconds(self, dev):
        clock.set_now(T0)
        assert abs(clock.offset() - (T0 - time.time())) < 0.01

    def test_tick_lets_it_run_from_the_given_time(self, dev):
        clock.set_now(T0, tick=True)
        first = clock.now()
        time.sleep(0.05)
        assert T0 <= first < clock.now() < T0 + 5 and clock.state()["frozen"] is False
        assert clock.advance(60) >= T0 + 60

    def test_reset_returns_to_the_real_clock(self, dev):
        clock.set_now(T0)
        clock.reset()
        assert abs(clock.now() - time.time()) < 1 and not dev.exists()


class TestBounds:
    @pytest.mark.parametrize("bad", [1e308, -1.0, 0.0, float("inf"), float("nan"), 5e9])
    def test_insane_dates_are_refused_and_nothing_changes(self, dev, bad):
        clock.set_now(T0)
        with pytest.raises(ValueError, match="between"):
            clock.set_now(bad)
        assert clock.now() == T0

    def test_advancing_past_2100_is_refused(self, dev):
        clock.set_now(T0)
        with pytest.raises(ValueError):
            clock.advance(1e12)
        assert clock.now() == T0

    def test_a_garbage_clock_file_reads_as_the_real_clock(self, dev):
        dev.write_text('{"frozen": "soon"}')
        assert abs(clock.now() - time.time()) < 1


def test_outside_the_local_stack_the_file_is_never_read(monkeypatch, tmp_path):
    monkeypatch.delenv("LOCAL_DEV", raising=False)
    path = tmp_path / "clock.json"
    path.write_text('{"frozen": 1800000000}')
    monkeypatch.setenv("DEV_CLOCK_FILE", str(path))
    assert abs(clock.now() - time.time()) < 1 and clock.offset() == 0.0


class TestEveryStartIsOnTheRealClock:
    """Issue 21 item 10: a clock an earlier local stack froze (its file stays under the logs folder) does not
    carry into the next `make run`."""

    def test_a_new_stack_removes_the_clock_an_earlier_run_left(self, monkeypatch, tmp_path):
        from devstack.run import LocalStack

        stack = LocalStack(port=1, firestore_port=2, tasks_port=3, log_dir=tmp_path)
        monkeypatch.setenv("LOCAL_DEV", "1")
        monkeypatch.setenv("DEV_CLOCK_FILE", stack._environment()["DEV_CLOCK_FILE"])
        clock.set_now(T0)
        assert clock.state()["frozen"]
        stack.use_real_clock()
        assert clock.state()["frozen"] is False and abs(clock.now() - time.time()) < 5
        stack.use_real_clock()      # nothing left to remove: no error
