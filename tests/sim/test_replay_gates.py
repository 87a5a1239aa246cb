"""Issue 19 in the replay (`make demo`): the sample day's blackout windows are added once the clock stands at the
first tick, and the watchdog ticks once a minute of market time (the flatten-before and the silences follow the
replay's frozen clock, not the real one)."""

from __future__ import annotations

from typing import Any

from sim.replay import Replay, ReplayConfig
from sim.sources import sample_blackouts


class Calendar:
    def __init__(self, status: int) -> None:
        self.status, self.now, self.sent = status, None, []

    def set_time(self, now: float) -> None:
        self.now = now

    def calendar(self, windows: list[Any]) -> tuple[int, dict[str, Any]]:
        self.sent.append((self.now, windows))
        return self.status, {"error": "windows[0].end: expected an end after the start"}


def test_the_blackouts_are_added_at_the_first_ticks_time_and_a_refusal_is_reported() -> None:
    replay = Replay(ReplayConfig(url="http://127.0.0.1:1", tv_secret="", blackouts=tuple(sample_blackouts())))
    venue = Calendar(201)
    replay._add_blackouts(venue, 1794922200.0)  # type: ignore[arg-type]
    assert venue.sent == [(1794922200.0, sample_blackouts())] and replay.errors == []
    refused = Calendar(400)
    replay._add_blackouts(refused, 1794922200.0)  # type: ignore[arg-type]
    assert replay.errors == ["blackout windows refused (400): windows[0].end: expected an end after the start"]


def test_the_watchdog_ticks_once_a_minute_of_market_time() -> None:
    ticks: list[int] = []
    replay = Replay(ReplayConfig(url="http://127.0.0.1:1", tv_secret=""))
    on_clock = replay._each_minute(lambda: ticks.append(1))
    for now in (600.0, 605.0, 659.9, 660.0, 900.0, 901.0):
        on_clock(now)
    assert len(ticks) == 3

    def down() -> None:
        raise ConnectionRefusedError("connection refused")

    failing = replay._each_minute(down)
    failing(0.0)
    assert replay.errors == ["watchdog tick failed: connection refused"]


def test_the_sample_blackout_lies_inside_the_sample_session() -> None:
    from datetime import datetime

    from sim.sources import sample_session

    ticks = sample_session()
    (window,) = sample_blackouts()
    start, end = (datetime.fromisoformat(window[k]).timestamp() for k in ("start", "end"))
    assert ticks[0].ts < start - window["flatten_before_s"] < end < ticks[-1].ts
