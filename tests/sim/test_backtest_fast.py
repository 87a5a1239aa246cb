"""The backtest's fast path decides exactly what the straightforward one does (issue 8's benchmark).

The fast in-process venue hands each decision only the documents the service's route loads (not the whole world),
builds a snapshot input once per distinct value set and lets the operator read its facts in place; the domain copies
records with a generated slot copy and remembers a few pure lookups. A straightforward run — every asset loaded for
every input, every input built afresh, facts copied, records copied by `copy.copy`, nothing remembered — must give
the same trades, the same operator counts and the same number of decisions; each rule of the fast path is also
checked on its own.
"""

from __future__ import annotations

import copy
import math
from dataclasses import fields
from typing import Any

import pytest

from bench.bench_sim import synthetic_path
from shared.domain import bridge, clock, config, core, fills, state, view
from shared.domain.engine import decide
from shared.domain.inputs import PnlSnapshot, SymbolPosition
from shared.domain.state import AssetState, GlobalState, Order, World, to_doc
from shared.service.loads import Loads
from sim import backtest, paper, venue
from sim.paper import Book
from sim.session import PROFILES, comparable
from sim.sources import sample_session


class Straightforward(venue.InProcess):
    """The in-process venue as first written: every decision on the whole world (all assets), whatever it is, every
    snapshot input built afresh, the operator's facts copied."""

    def _loads(self, inp: Any) -> Loads:
        table = super()._loads(inp)
        return Loads(self.config.asset_keys, table.order_ids, table.pending_limit)

    def snapshot(self, balance: float, realized: float, unrealized: float, positions: Any) -> venue.Answer:
        symbols = tuple(SymbolPosition(symbol=p.symbol, position=p.position, open_pnl=p.open_pnl,
                                       avg_open_fill=p.avg_open_fill) for p in positions)
        return self._decide(PnlSnapshot(realized=realized, unrealized=unrealized, account_balance=balance,
                                        symbols=symbols))

    def asset(self, asset: str) -> dict[str, Any]:  # type: ignore[override]
        return to_doc(self.world.assets[asset])


def facts(result: backtest.Result) -> dict[str, Any]:
    s = result.session
    return {
        "comparable": comparable(result.trades),
        "trades": result.trades,   # whole rows: their ids carry the request id, so every decision before counts
        "blocked": dict(result.blocked), "refused": dict(result.refused), "entries": result.entries,
        "decisions": result.decisions,
        "session": (s.ticks, s.active_ticks, s.bricks, s.heartbeats, s.duplicates),
    }


def copied_by_the_standard_library(world: World) -> World:
    """World.clone with `copy.copy` for each record, instead of the generated copiers (fast.record_copier)."""
    return World(glob=copy.copy(world.glob), assets={k: copy.copy(v) for k, v in world.assets.items()},
                 orders={k: copy.copy(v) for k, v in world.orders.items()})


def plain(fn: Any) -> Any:
    """A remembered lookup's own function (fast.remembered keeps it as `__wrapped__`; with fast.ON off it is one)."""
    return getattr(fn, "__wrapped__", fn)


def straightforward_run(monkeypatch: pytest.MonkeyPatch, ticks: Any, profile: Any) -> backtest.Result:
    with monkeypatch.context() as m:
        m.setattr(backtest, "InProcess", Straightforward)
        m.setattr(World, "clone", copied_by_the_standard_library)
        for module in (clock, core, view):             # the trading day computed at every call
            m.setattr(module, "trading_day", clock.trading_day_at)
        m.setattr(config, "_symbol_root", plain(config._symbol_root))   # every spelling matched again
        m.setattr(config, "_is_month_of", plain(config._is_month_of))
        m.setattr(config, "contract_root", plain(config.contract_root))
        for module in (bridge, core, fills, paper):   # every point value looked up again
            m.setattr(module, "point_value", plain(config.point_value))
        return backtest.run(ticks, profile)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_sample_day_gives_the_same_results_both_ways(monkeypatch, name):
    ticks = sample_session()
    fast = backtest.run(ticks, PROFILES[name])
    plain = straightforward_run(monkeypatch, ticks, PROFILES[name])
    assert fast.trades and fast.decisions > 1000
    assert facts(fast) == facts(plain)


def test_a_slice_of_the_synthetic_session_gives_the_same_results_both_ways(monkeypatch):
    ticks = synthetic_path(1500)   # a position open for long stretches: a snapshot decision at every tick
    fast = backtest.run(ticks, PROFILES["tp8-flip"])
    plain = straightforward_run(monkeypatch, ticks, PROFILES["tp8-flip"])
    assert len(fast.trades) >= 3
    assert facts(fast) == facts(plain)


def test_each_decision_sees_the_assets_its_route_loads(monkeypatch):
    """functions/: a webhook loads its asset, an execution report its order's, the pending poll and the bridge
    heartbeat none, a snapshot and an operator command every asset."""
    seen: dict[str, set[tuple[str, ...]]] = {}

    def spy(world: World, inp: Any, *args: Any) -> Any:
        seen.setdefault(type(inp).__name__, set()).add(tuple(sorted(world.assets)))
        return decide(world, inp, *args)

    monkeypatch.setattr(venue, "decide", spy)
    backtest.run(sample_session()[:6000], PROFILES["runner"])
    every = tuple(sorted(venue.InProcess().config.assets))
    assert len(every) > 1
    assert seen == {
        "RenkoBar": {("ES",)}, "TvHeartbeat": {("ES",)}, "ExecutionReport": {("ES",)},
        "PollPending": {()}, "BridgeHeartbeat": {()},
        "PnlSnapshot": {every}, "PlaceOrder": {every}, "SetProtect": {every}, "ToggleExit": {every},
    }


@pytest.mark.parametrize("cls", [GlobalState, AssetState, Order])
def test_a_shallow_copy_carries_every_field_and_is_a_record_of_its_own(cls):
    values = [object() for _ in fields(cls)]   # a distinct value per field: a field left out or swapped shows
    record = cls(*values)
    twin = state.shallow_copy(record)
    assert type(twin) is cls and twin is not record
    assert [getattr(twin, f.name) for f in fields(cls)] == values
    twin_field = fields(cls)[0].name
    setattr(twin, twin_field, "changed")
    assert getattr(record, twin_field) is values[0]


def test_the_operator_reads_the_same_facts_as_the_stored_document():
    v = venue.InProcess()
    v.set_time(1_794_922_200.0)
    v.tv_heartbeat("ES", 6000.0)
    for stream in ("12pt", "8pt", "2.5pt", "6pt"):
        v.renko("ES", stream, "green", None)
    status, _ = v.place_order("ES", "SCALP", "BUY", "6pt")
    assert status == 201
    shown = v.asset("ES")
    doc = to_doc(v.world.assets["ES"])
    assert dict(shown) == doc and len(shown) == len(doc) and doc["pending_order_id"]
    assert shown.get("pending_order_id") == doc["pending_order_id"] and shown.get("no such field") is None
    with pytest.raises(KeyError):
        shown["no such field"]
    v.renko("ES", "6pt", "red", None)   # a later decision stores a new record: the view keeps its moment
    assert to_doc(v.world.assets["ES"]) != doc and dict(shown) == doc


def test_a_snapshot_input_keeps_the_sign_of_a_zero_it_was_given(monkeypatch):
    """-0.0 == 0.0, yet each snapshot must reach the domain with the numbers the bridge sent (the domain stores an
    open P&L's sign): the input cache must not hand out the +0.0 input for a -0.0 snapshot, nor the reverse."""
    given: list[Any] = []

    def spy(world: World, inp: Any, *args: Any) -> Any:
        given.append(inp)
        return decide(world, inp, *args)

    monkeypatch.setattr(venue, "decide", spy)
    v = venue.InProcess()
    v.set_time(1_794_922_200.0)
    for open_pnl in (0.0, -0.0, 0.0, -0.0, 12.5, 12.5):
        v.snapshot(50_000.0, 10.0, open_pnl, [venue.Position("MESZ6", -5, open_pnl, 6000.0)])
    signs = [math.copysign(1.0, inp.symbols[0].open_pnl) for inp in given]
    assert signs == [1.0, -1.0, 1.0, -1.0, 1.0, 1.0]
    assert [math.copysign(1.0, inp.unrealized) for inp in given] == signs
    assert given[4] == given[5]


def test_the_paper_books_snapshot_at_a_price_follows_every_fill():
    book = Book()
    book.fill("MESZ6", "BUY", 5, 6000.0)
    first = book.snapshot(6003.0)
    # the cash balance: open P&L is reported apart (the control plane adds the two for D20's net liquidation)
    assert first == (50_000.0, 0.0, 75.0, (venue.Position("MESZ6", 5, 75.0, 6000.0),))
    assert book.snapshot(6003.0) == first and not book.is_flat()
    book.fill("MESZ6", "BUY", 5, 6002.0)   # the same price asked again after a fill: the new position, not the old
    assert book.snapshot(6003.0) == (50_000.0, 0.0, 100.0, (venue.Position("MESZ6", 10, 100.0, 6001.0),))
    book.fill("MESZ6", "SELL", 10, 6003.0)
    assert book.snapshot(6003.0) == (50_100.0, 100.0, 0.0, (venue.Position("MESZ6", 0, 0.0, None),))
    assert book.is_flat()
    book.balance = 40_000.0                 # a changed balance is a different snapshot too
    assert book.snapshot(6003.0)[0] == 40_100.0


def test_the_budgets_session_is_the_synthetic_paths_first_ten_thousand_bricks_of_all_sizes() -> None:
    """bench_sim's "budget" figure (docs/architecture.md: a 10,000-brick session): cut where the 10,000th brick of
    any size is completed, a prefix of the path of 10,000 one-point bricks."""
    from bench.bench_sim import cut_at_total
    from sim.renko import merged

    path = synthetic_path()
    cut = cut_at_total(path)
    assert cut == path[: len(cut)] and len(cut) < len(path)
    counts = [len(done) for _, done in merged(cut)]
    assert sum(counts) >= 10_000 and sum(counts) - counts[-1] < 10_000
    with pytest.raises(ValueError, match="makes only"):
        cut_at_total(path[:100])
