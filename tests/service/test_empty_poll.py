"""An empty bridge poll writes nothing (issue 10): at one poll a second, audit lines of polls that claimed
nothing would be ~86,000 writes a day. A poll that claims an order still writes the order and its audit line."""

from __future__ import annotations

from shared.domain import default_config
from shared.domain.inputs import PlaceOrder, PollPending, RenkoBar, TvHeartbeat
from shared.scheduler import FakeScheduler
from shared.service import Services, execute
from shared.store.documents import event_path, order_path
from shared.store.fake import FakeStore

NOW = 1_764_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _services() -> tuple[Services, Clock]:
    clock = Clock()
    return Services(store=FakeStore(), config=default_config(), clock=clock, scheduler=FakeScheduler()), clock


def _events(svc: Services) -> list[str]:
    return sorted(path for path in svc.store.dump() if path.startswith("events/"))


def test_a_poll_that_claims_nothing_writes_no_document() -> None:
    svc, _ = _services()
    execute(svc, TvHeartbeat(asset="ES", price=5000.0))
    before = svc.store.dump()
    with svc.store.counting() as stats:
        out = execute(svc, PollPending(owner="bridge-1"))
    assert out.decision.status == 200 and out.body() == {"ok": True, "orders": []}
    assert out.writes == [] and stats.writes == 0
    assert event_path(out.request_id) not in svc.store.dump()
    assert svc.store.dump() == before


def test_a_poll_that_claims_an_order_still_writes_it_and_its_audit_line() -> None:
    svc, clock = _services()
    for inp in (TvHeartbeat(asset="ES", price=5000.0), RenkoBar(stream="8pt", asset="ES", color="green"),
                RenkoBar(stream="12pt", asset="ES", color="green"), RenkoBar(stream="2.5pt", asset="ES", color="green"),
                RenkoBar(stream="6pt", asset="ES", color="green")):
        execute(svc, inp)
        clock.now += 1
    placed = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
    assert placed.decision.status == 201, placed.decision.body
    order_id = placed.decision.body["order"]["id"]
    events_before = _events(svc)

    claimed = execute(svc, PollPending(owner="bridge-1"))
    assert [o["id"] for o in claimed.decision.body["orders"]] == [order_id]
    assert order_path(order_id) in claimed.writes and event_path(claimed.request_id) in claimed.writes
    assert _events(svc) == sorted([*events_before, event_path(claimed.request_id)])

    empty = execute(svc, PollPending(owner="bridge-1"))
    assert empty.decision.body["orders"] == [] and empty.writes == []
    assert _events(svc) == sorted([*events_before, event_path(claimed.request_id)])
