"""The one load table (shared.service.loads): the service layer and the in-process backtest venue, fed the same
input over the same stored facts, hand the domain the same records: every input type, not only those the lock-step
replay happens to send."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain import default_config
from shared.domain.inputs import (
    AddBlackouts,
    BlackoutSpec,
    BridgeHeartbeat,
    CancelIntent,
    CancelOrder,
    CancelPreorder,
    ConsumeTradeLimit,
    CreateIntent,
    ExecutionReport,
    ExitAll,
    Input,
    LevelExit,
    ManualExit,
    PlaceOrder,
    PnlSnapshot,
    PollPending,
    RebaselineAccount,
    RemoveBlackout,
    RenkoBar,
    ScaleIn,
    SetEnv,
    SetPointsTakeProfit,
    SetProtect,
    SetRisk,
    SetTakeProfit,
    SymbolPosition,
    TimerFired,
    ToggleExit,
    TvHeartbeat,
)
from shared.domain.state import Order
from shared.scheduler import FakeScheduler
from shared.service import Services, execute
from shared.service.loads import Loads, loads
from shared.store.documents import order_path, with_rev
from shared.store.fake import FakeStore
from sim import venue

NOW = 1_764_000_000.0
CONFIG = default_config()
ES_ORDER, NQ_ORDER = "ES-seed-1", "NQ-seed-2"

EXAMPLES: list[Input] = [
    RenkoBar(stream="6pt", asset="NQ", color="green"), TvHeartbeat(asset="NQ", price=21000.0),
    LevelExit(asset="NQ"), PlaceOrder(asset="ES", trade_mode="SCALP"), ManualExit(asset="ES"), ExitAll(),
    ScaleIn(asset="ES"), SetProtect(asset="ES", enabled=True, threshold=-2.0),
    SetPointsTakeProfit(asset="ES", enabled=True, target=15), SetTakeProfit(asset="ES", tp_arm="toggle"),
    ToggleExit(asset="ES", toggle="main_flip"), CreateIntent(asset="ES", direction="BUY"), CancelIntent(asset="ES"),
    CancelPreorder(asset="ES"),
    CancelOrder(order_id=NQ_ORDER), ConsumeTradeLimit(), SetEnv(env="DEMO"), SetRisk(max_trades_per_day=4),
    RebaselineAccount(baseline_usd=50_000.0),
    AddBlackouts(windows=(BlackoutSpec(kind="once", label="FOMC", start=NOW, end=NOW + 60),)),
    RemoveBlackout(window_id="b1"), TimerFired(kind="blackout_flatten", key="b1:1", at=NOW),
    PollPending(owner="b", limit=1), ExecutionReport(order_id=NQ_ORDER, status="WORKING"), BridgeHeartbeat(),
    PnlSnapshot(account_balance=50_000.0, symbols=(SymbolPosition(symbol="MESZ6", position=0),)),
    TimerFired(kind="lease_end", key=NQ_ORDER, at=NOW), TimerFired(kind="intent_expiry", key="NQ:1", at=NOW),
    TimerFired(kind="preorder_expiry", key="ES:1", at=NOW), TimerFired(kind="candle_lock_end", key="1", at=NOW),
    TimerFired(kind="cooldown_end", key="ES", at=NOW),
]


def concrete_inputs() -> set[type]:
    """Every input type a route or a timer can send (SymbolPosition is a part of a snapshot, not an input)."""
    found: set[type] = set()
    todo = list(Input.__subclasses__())
    while todo:
        kind = todo.pop()
        todo.extend(kind.__subclasses__())
        if "type" in kind.model_fields:
            found.add(kind)
    return found


def test_every_input_type_has_an_example_here() -> None:
    """A new input must be added to EXAMPLES, so the comparison below covers it."""
    assert concrete_inputs() == {type(inp) for inp in EXAMPLES}


def seeded_orders() -> list[Order]:
    return [Order(id=oid, asset=oid[:2], symbol="MESZ6" if oid[:2] == "ES" else "MNQZ6", side="BUY", qty=2,
                  kind="ENTRY", source="UI", env="DEMO", created_at=NOW - 10 + i, updated_at=NOW - 10 + i)
            for i, oid in enumerate((ES_ORDER, NQ_ORDER))]


def seen(world: Any) -> tuple[list[str], list[str]]:
    return sorted(world.assets), sorted(world.orders)


def watching(given: dict[str, tuple[list[str], list[str]]], real: Any) -> Any:
    """`watch(where)`: a `decide` that notes in `given[where]` the records it was given, then decides."""
    def watch(where: str) -> Any:
        def decide(world: Any, *args: Any, **kw: Any) -> Any:
            given[where] = seen(world)
            return real(world, *args, **kw)
        return decide
    return watch


@pytest.mark.parametrize("inp", EXAMPLES, ids=lambda i: f"{type(i).__name__}-{getattr(i, 'kind', '')}")
def test_the_service_and_the_backtest_venue_decide_on_the_same_records(inp: Input, monkeypatch) -> None:
    from shared import service

    given: dict[str, tuple[list[str], list[str]]] = {}
    watch = watching(given, service.decide)

    store = FakeStore({order_path(o.id): with_rev(o, 1) for o in seeded_orders()})
    monkeypatch.setattr(service, "decide", watch("service"))
    execute(Services(store=store, config=CONFIG, clock=lambda: NOW, scheduler=FakeScheduler()), inp)

    in_process = venue.InProcess(CONFIG)
    in_process.set_time(NOW)
    for order in seeded_orders():
        in_process.orders[order.id] = order
        in_process.pending.add(order.id)
    monkeypatch.setattr(venue, "decide", watch("backtest"))
    in_process._decide(inp)

    assert given["service"] == given["backtest"], inp
    expected = loads(inp, CONFIG)
    assert given["service"][0] == sorted(expected.assets)


@pytest.mark.parametrize(("inp", "table"), [
    (RenkoBar(stream="8pt", asset="ES", color="red"), Loads(("ES",))),
    (ExecutionReport(order_id="NQ-a-1", status="WORKING"), Loads(("NQ",), ("NQ-a-1",))),
    (PollPending(limit=7), Loads((), pending_limit=7)),
    (BridgeHeartbeat(), Loads(())),
    (PnlSnapshot(), Loads(("ES", "NQ"))),
    (CancelOrder(order_id="ES-a-1"), Loads(("ES", "NQ"), ("ES-a-1",))),
    (SetEnv(env="LIVE"), Loads(("ES", "NQ"))),
    (TimerFired(kind="lease_end", key="ES-a-1", at=NOW), Loads(("ES",), ("ES-a-1",))),
    (TimerFired(kind="intent_expiry", key="NQ:5", at=NOW), Loads(("NQ",))),
    (TimerFired(kind="candle_lock_end", key="9", at=NOW), Loads(())),
    (TimerFired(kind="blackout_flatten", key="b1:9", at=NOW), Loads(("ES", "NQ"))),   # flattens every asset
    (RemoveBlackout(window_id="b1"), Loads(("ES", "NQ"))),
])
def test_the_table(inp: Input, table: Loads) -> None:
    assert loads(inp, CONFIG) == table
    if table.pending_limit is not None:
        (query,) = table.queries
        assert (query.collection, query.where, query.order_by, query.limit) == (
            "orders", (("status", "==", "PENDING"),), "created_at", table.pending_limit)


@pytest.mark.parametrize("inp", [TimerFired(kind="blackout_flatten", key="b1:1", at=NOW),
                                 TimerFired(kind="watchdog", key="tick", at=NOW)], ids=lambda i: i.kind)
def test_the_flatten_timer_and_the_watchdog_see_each_assets_in_flight_entry_in_both_shells(inp: Input,
                                                                                           monkeypatch) -> None:
    """D22: the flatten cancels an entry not yet handed to the bridge (as D11's daily stop), so both shells load
    each asset's in-flight order for it (`engine.orders_needed`): the flatten timer, and the watchdog's tick while a
    window has a lead."""
    from shared import service
    from shared.domain.state import AssetState, GlobalState
    from shared.store.documents import GLOBAL_PATH, asset_path

    window = {"id": "b1", "kind": "once", "label": "CPI", "start": NOW + 60, "end": NOW + 600,
              "flatten_before_s": 300}
    given: dict[str, tuple[list[str], list[str]]] = {}
    watch = watching(given, service.decide)

    glob = GlobalState(blackouts=[window], blackout_seq=1)
    es = AssetState(pending_order_id=ES_ORDER, pending_kind="ENTRY", pending_side="BUY", pending_qty=2)
    docs = {order_path(o.id): with_rev(o, 1) for o in seeded_orders()}
    docs[GLOBAL_PATH], docs[asset_path("ES")] = with_rev(glob, 1), with_rev(es, 1)
    monkeypatch.setattr(service, "decide", watch("service"))
    execute(Services(store=FakeStore(docs), config=CONFIG, clock=lambda: NOW, scheduler=FakeScheduler()), inp)

    in_process = venue.InProcess(CONFIG)
    in_process.now = NOW
    in_process.world.glob.blackouts, in_process.world.glob.blackout_seq = [window], 1
    in_process.world.assets["ES"] = es
    for order in seeded_orders():
        in_process.orders[order.id] = order
        in_process.pending.add(order.id)
    monkeypatch.setattr(venue, "decide", watch("backtest"))
    in_process._decide(inp)

    assert given["service"] == given["backtest"] == (["ES", "NQ"], [ES_ORDER])
