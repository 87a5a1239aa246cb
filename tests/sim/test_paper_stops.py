"""D21 through the paper bridge, the reference client: a protective stop rests at the paper broker, follows the
position, fills when the price trades through it (closing the trade as `broker_stop`), is cancelled before an exit
that names it, refuses that exit if it filled first, and may be rejected. Over hundreds of randomized sessions the
broker's position never has the opposite sign of the desk's trade."""

from __future__ import annotations

import random

import pytest

from sim import backtest
from sim.paper import Faults, Market, PaperBridge, PaperConfig
from sim.session import PROFILES
from sim.sources import sample_session
from sim.venue import InProcess
from tests.sim.test_paper import ES, T0, enter, position, ready

STOPS = PaperConfig(stops=True, slippage_ticks=1)


def long_with_a_resting_stop(config: PaperConfig = STOPS) -> tuple[InProcess, Market, PaperBridge, str]:
    venue, market = InProcess(), Market()
    ready(venue, market)
    enter(venue)
    bridge = PaperBridge(venue, market, config)
    assert bridge.step() == 1 and position(venue) == 5          # the entry, filled at 6000.25
    stop_id = venue.world.assets[ES].stop_order_id
    assert stop_id is not None and venue.orders[stop_id].stop_price == 5990.25
    assert bridge.step() == 1                                   # the stop, handed out and resting
    return venue, market, bridge, stop_id


def test_the_stop_rests_and_fills_when_the_price_trades_through_it() -> None:
    venue, market, bridge, stop_id = long_with_a_resting_stop()
    assert venue.orders[stop_id].status == "WORKING" and bridge.stats.stops_rested == 1
    market.move(T0 + 30, 5990.5)
    bridge.step()
    assert position(venue) == 5 and stop_id in bridge.stops    # not yet
    market.move(T0 + 31, 5990.0)
    bridge.step()
    (trade,) = venue.trades()
    assert trade["reason"] == "broker_stop" and trade["exit_price"] == 5989.75     # the market, one tick slipped
    assert position(venue) == 0 and bridge.book.is_flat() and bridge.stats.stops_triggered == 1


def test_an_exit_cancels_the_stop_first_and_never_reverses_the_position() -> None:
    venue, market, bridge, stop_id = long_with_a_resting_stop()
    assert venue.exit(ES, force=True)[0] == 201
    bridge.step()
    assert venue.orders[stop_id].status == "CANCELLED" and stop_id not in bridge.stops
    assert position(venue) == 0 and bridge.book.is_flat()
    market.move(T0 + 60, 5980.0)                               # far through the old level: nothing rests there
    bridge.step()
    assert bridge.book.is_flat() and len(venue.trades()) == 1


def test_a_stop_that_fills_as_the_exit_arrives_refuses_the_exit() -> None:
    venue, market, bridge, _ = long_with_a_resting_stop()
    status, body = venue.exit(ES, force=True)
    assert status == 201
    market.move(T0 + 30, 5985.0)                              # the same round: the stop first, then the exit
    bridge.step()
    exit_order = venue.orders[body["order"]["id"]]
    assert (exit_order.status, exit_order.reason) == ("REJECTED", "STOP_ALREADY_FILLED")
    assert [t["reason"] for t in venue.trades()] == ["broker_stop"] and bridge.stats.exits_after_stop == 1
    assert position(venue) == 0 and bridge.book.is_flat()


def test_the_race_fault_fills_the_stop_as_the_exit_arrives() -> None:
    """The soak's stop-race fault: the stop fills at the market just before the exit that names it arrives."""
    venue, _, bridge, stop_id = long_with_a_resting_stop(
        PaperConfig(stops=True, slippage_ticks=1, faults=Faults(stop_race=1.0)))
    status, body = venue.exit(ES, force=True)
    assert status == 201
    bridge.step()
    assert venue.orders[stop_id].status == "FILLED" and bridge.stats.exits_after_stop == 1
    assert venue.orders[body["order"]["id"]].reason == "STOP_ALREADY_FILLED"
    assert [t["reason"] for t in venue.trades()] == ["broker_stop"] and position(venue) == 0
    assert bridge.book.is_flat()


def test_protect_moves_the_resting_stop_at_the_paper_broker() -> None:
    venue, _, bridge, stop_id = long_with_a_resting_stop()
    venue.world.assets[ES].initial_exit_lock_active = False
    assert venue.protect(ES, -2.0)[0] == 200
    bridge.step()
    assert bridge.stops[stop_id].stop_price == 5998.25 and bridge.stats.stops_moved == 1
    assert venue.orders[stop_id].status == "WORKING"


def test_a_rejected_stop_leaves_the_position_open_and_announced() -> None:
    venue, market = InProcess(), Market()
    ready(venue, market)
    enter(venue)
    bridge = PaperBridge(venue, market, PaperConfig(stops=True, faults=Faults(reject_stops=1.0)))
    bridge.step()
    bridge.step()
    assert bridge.stats.stops_rejected == 1 and position(venue) == 5 and venue.world.assets[ES].stop_order_id is None


def test_without_the_capability_no_stop_is_sent() -> None:
    venue, market = InProcess(), Market()
    ready(venue, market)
    enter(venue)
    bridge = PaperBridge(venue, market, PaperConfig())
    bridge.step()
    assert position(venue) == 5 and venue.world.assets[ES].stop_order_id is None and bridge.stats.claimed == 1


@pytest.mark.parametrize("block", range(4))
def test_randomized_sessions_never_leave_the_broker_opposite_the_trade(monkeypatch, block: int) -> None:
    """200 sessions (4 blocks of 50): a random profile, slice of the day, stop distance, slippage, partial fills and
    rejected stops; after every bridge round the paper broker's position and the desk's trade never have opposite
    signs, and at the end they are equal."""
    path = sample_session()
    real_step = PaperBridge.step
    checked = [0]

    def step(self: PaperBridge) -> int:
        claimed = real_step(self)
        held = sum(q for _, (q, _) in self.book.positions.items())
        local = self.venue.world.assets[ES].position  # type: ignore[attr-defined]
        assert held * local >= 0, (held, local)
        checked[0] += 1
        return claimed

    monkeypatch.setattr(PaperBridge, "step", step)
    for n in range(block * 50, block * 50 + 50):
        rng = random.Random(n)
        start = rng.randrange(0, len(path) - 900)
        config = PaperConfig(stops=True, seed=n, slippage_ticks=rng.randint(0, 3), partial_rate=rng.random() * 0.5,
                             heartbeat_every=30.0, faults=Faults(reject_stops=rng.choice((0.0, 0.0, 0.2))))
        risk = {"protective_stop_points": {"ES": rng.choice((2.0, 4.0, 6.0, 10.0))}}
        result = backtest.run(path[start:start + 900], PROFILES[rng.choice(sorted(PROFILES))], config, risk)
        assert result.session.ticks == 900
    assert checked[0] > 10_000
