"""One truth (issue 8, item 9): the market replay through the whole local stack, with the paper bridge and the
auto-operator in lock-step, yields exactly the trades of the in-process backtest. A short slice of the sample
session here; the whole session runs in `make soak`."""

from __future__ import annotations

import pytest

from sim import backtest
from sim.paper import PaperConfig
from sim.replay import Replay, ReplayConfig
from sim.session import PROFILES, comparable
from sim.sources import sample_session

pytestmark = pytest.mark.emulator
STACK_PASSWORD = "live-test-password"
SLICE = 900  # ticks of 5 s: the first 75 minutes, the volatile open


@pytest.mark.parametrize("stops", [False, True], ids=["no-stops", "protective-stops"])
def test_the_lockstep_replay_through_the_stack_equals_the_backtest(fresh, stops):
    """With protective stops on (D21) too: created with each fill, handed out, resting, triggered by the replayed
    path and cancelled before exits, identically in process and through the stack."""
    ticks = sample_session()[:SLICE]
    profile = PROFILES["tp8-flip"]
    paper = PaperConfig(heartbeat_every=30.0, partial_rate=0.3, seed=5, stops=stops)
    expected = backtest.run(ticks, profile, paper)
    assert len(expected.trades) >= 2, "the slice must trade for the comparison to mean something"
    if stops:
        assert "broker_stop" in {t["reason"] for t in expected.trades}, "the slice must stop a trade out"

    replay = Replay(ReplayConfig(
        url=fresh.url, tv_secret=fresh.secrets["TV_WEBHOOK_SECRET"],
        bridge_secret=fresh.secrets["BRIDGE_HEARTBEAT_SECRET"], password=STACK_PASSWORD, lockstep=True,
        bridge=True, profile=profile, paper=paper,
    ))
    stats = replay.run(ticks)
    assert replay.errors == []
    assert stats.bricks == expected.session.bricks and stats.duplicates == 0
    assert comparable(replay.venues[0].trades()) == comparable(expected.trades)
    assert replay.operator is not None
    assert replay.operator.stats.blocked == expected.blocked
    assert replay.operator.stats.entries == expected.entries
    assert replay.bridge is not None and all(n == 1 for n in replay.bridge.stats.claims.values())
