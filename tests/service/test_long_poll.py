"""The long poll's waiting logic (shared/service/long_poll.py) over the FakeStore and its listener: a held request
claims at once, sleeps without reading while nothing is pending, wakes and claims when an order appears, shares
one listener among every held request, falls back to claiming every second when no listener can run, and ends at
its deadline, at the deployment's cap or when the client is gone."""

from __future__ import annotations

import threading
import time

import pytest

from shared.domain import default_config
from shared.domain.inputs import PlaceOrder, PollPending, RenkoBar, TvHeartbeat
from shared.scheduler import FakeScheduler
from shared.service import Outcome, Services, execute, long_poll
from shared.service.long_poll import HoldsFull, PendingWatch, max_held, max_hold_s, parse_wait
from shared.store.fake import FakeStore
from tests.waiting import until

NOW = 1_764_000_000.0


def _services(store: object | None = None) -> Services:
    return Services(store=store or FakeStore(), config=default_config(), clock=lambda: NOW,  # type: ignore[arg-type]
                    scheduler=FakeScheduler())


def _ready(svc: Services) -> None:
    for inp in (TvHeartbeat(asset="ES", price=5000.0), RenkoBar(stream="8pt", asset="ES", color="green"),
                RenkoBar(stream="12pt", asset="ES", color="green"), RenkoBar(stream="2.5pt", asset="ES", color="green"),
                RenkoBar(stream="6pt", asset="ES", color="green")):
        execute(svc, inp)


def _place(svc: Services) -> str:
    placed = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
    assert placed.decision.status == 201, placed.decision.body
    return str(placed.decision.body["order"]["id"])


class Claims:
    """The claim a held request runs, counting how often it ran."""

    def __init__(self, svc: Services, owner: str = "bridge-1") -> None:
        self.svc, self.owner, self.runs, self.finished = svc, owner, 0, 0

    def __call__(self) -> Outcome:
        self.runs += 1
        outcome = execute(self.svc, PollPending(owner=self.owner))
        self.finished += 1  # a test places its order only after this: a claim still running could take it
        return outcome


def _ids(outcome: Outcome) -> list[str]:
    return [o["id"] for o in outcome.decision.body["orders"]]


def test_parse_wait_bounds_and_names_the_field() -> None:
    assert parse_wait(None) is None
    assert parse_wait("0") == 0 and parse_wait("25") == 25 and parse_wait("50") == 50 and parse_wait("2.5") == 2.5
    for bad in ("-1", "50.01", "x", "nan", "inf", "", "1e999"):
        with pytest.raises(ValueError, match=r"^wait: expected seconds between 0 and 50"):
            parse_wait(bad)


def test_the_cap_comes_from_the_environment_and_never_exceeds_fifty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONG_POLL_MAX_S", "0.3")
    assert max_hold_s() == 0.3
    for junk in ("", "0", "-5", "51", "abc"):
        monkeypatch.setenv("LONG_POLL_MAX_S", junk)
        assert max_hold_s() == 50.0


def test_answers_at_once_when_an_order_is_pending() -> None:
    svc = _services()
    _ready(svc)
    order_id = _place(svc)
    claims = Claims(svc)
    started = time.monotonic()
    outcome = PendingWatch(svc.store).hold(claims, 10)
    assert _ids(outcome) == [order_id] and claims.runs == 1 and time.monotonic() - started < 5  # not held 10 s


def test_an_idle_hold_reads_nothing_after_its_first_claim_and_ends_empty() -> None:
    svc = _services()
    _ready(svc)
    claims = Claims(svc)
    watch = PendingWatch(svc.store)
    store: FakeStore = svc.store  # type: ignore[assignment]
    before = store.totals.reads
    started = time.monotonic()
    outcome = watch.hold(claims, 0.6)
    took = time.monotonic() - started
    assert _ids(outcome) == [] and 0.55 <= took < 5
    assert claims.runs == 1                       # the claim it started with, none while it waited
    # that claim (the global document and the empty query: 2) and the listener's first snapshot (1)
    assert store.totals.reads - before == 3
    assert watch.started == 1


def test_wakes_and_claims_when_an_order_appears() -> None:
    svc = _services()
    _ready(svc)
    claims = Claims(svc)
    got: dict[str, object] = {}
    watch = PendingWatch(svc.store)

    def held() -> None:
        got["outcome"] = watch.hold(claims, 10)
        got["at"] = time.monotonic()

    thread = threading.Thread(target=held)
    thread.start()
    assert until(lambda: watch.waiters == 1 and claims.finished == 1)
    order_id = _place(svc)
    placed_at = time.monotonic()
    thread.join(15)
    assert _ids(got["outcome"]) == [order_id]  # type: ignore[arg-type]
    assert float(got["at"]) - placed_at < 5  # type: ignore[arg-type]  # woken, not the 10 s running out
    assert claims.runs == 2


def test_several_held_requests_share_one_listener_and_each_order_goes_once() -> None:
    svc = _services()
    _ready(svc)
    watch = PendingWatch(svc.store)
    results: dict[str, Outcome] = {}
    owners = ["b1", "b2", "b3"]

    def held(owner: str) -> None:
        results[owner] = watch.hold(Claims(svc, owner), 5)

    threads = [threading.Thread(target=held, args=(owner,)) for owner in owners]
    for thread in threads:
        thread.start()
    assert until(lambda: watch.waiters == 3)
    assert watch.started == 1
    order_id = _place(svc)
    for thread in threads:  # the two that got nothing wait out their 5 s: a loaded machine may take longer
        thread.join(30)
        assert not thread.is_alive()
    handed = [oid for owner in owners for oid in _ids(results[owner])]
    assert handed == [order_id]


def test_a_gone_client_claims_nothing() -> None:
    svc = _services()
    _ready(svc)
    claims = Claims(svc)
    gone = threading.Event()
    got: dict[str, Outcome] = {}
    watch = PendingWatch(svc.store)
    thread = threading.Thread(target=lambda: got.update(o=watch.hold(claims, 10, gone.is_set)))
    thread.start()
    assert until(lambda: watch.waiters == 1 and claims.finished == 1)
    gone.set()
    order_id = _place(svc)
    thread.join(30)
    assert _ids(got["o"]) == [] and claims.runs == 1
    assert svc.store.dump()[f"orders/{order_id}"]["status"] == "PENDING"  # type: ignore[attr-defined]


def test_a_client_gone_before_the_first_claim_claims_nothing() -> None:
    svc = _services()
    _ready(svc)
    order_id = _place(svc)  # pending before the request is even looked at: the first claim would take it
    claims = Claims(svc)
    watch = PendingWatch(svc.store)
    assert watch.hold(claims, 10, lambda: True) is None
    assert claims.runs == 0
    assert svc.store.dump()[f"orders/{order_id}"]["status"] == "PENDING"  # type: ignore[attr-defined]
    assert _ids(watch.hold(Claims(svc, "bridge-2"), 10)) == [order_id]  # the next real poll gets it


def test_the_client_is_asked_right_before_every_claim() -> None:
    svc = _services()
    _ready(svc)
    claims = Claims(svc)
    asked: list[int] = []  # how many claims had run each time the client was asked
    watch = PendingWatch(svc.store)

    def gone() -> bool:
        asked.append(claims.runs)
        return False

    got: dict[str, Outcome | None] = {}
    thread = threading.Thread(target=lambda: got.update(o=watch.hold(claims, 10, gone)))
    thread.start()
    assert until(lambda: watch.waiters == 1 and claims.finished == 1)
    order_id = _place(svc)
    thread.join(30)
    assert _ids(got["o"]) == [order_id] and claims.runs == 2  # type: ignore[arg-type]
    assert asked[0] == 0 and 1 in asked  # before the first claim, and again before the second


def test_holds_beyond_the_bound_are_refused_at_once_and_claim_nothing() -> None:
    svc = _services()
    _ready(svc)
    watch = PendingWatch(svc.store)
    held = [Claims(svc, f"bridge-{i}") for i in range(2)]
    threads = [threading.Thread(target=watch.hold, args=(claims, 3, lambda: False, 2)) for claims in held]
    for thread in threads:
        thread.start()
    assert until(lambda: watch.waiters == 2 and all(claims.finished == 1 for claims in held))
    extra = Claims(svc, "bridge-x")
    with pytest.raises(HoldsFull) as refused:
        watch.hold(extra, 3, lambda: False, 2)
    assert refused.value.status == 429 and refused.value.error.startswith("wait:") and extra.runs == 0
    assert watch.waiters == 2  # the refused one was never counted
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    assert watch.hold(extra, 0.1, lambda: False, 2) is not None  # room again once they ended


def test_the_bound_of_held_polls_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert max_held() == 8
    monkeypatch.setenv("LONG_POLL_MAX_HELD", "3")
    assert max_held() == 3
    for bad in ("0", "-2", "2.5", "many"):
        monkeypatch.setenv("LONG_POLL_MAX_HELD", bad)
        assert max_held() == 8


class NoListenerStore(FakeStore):
    watch = None  # type: ignore[assignment]  # a store that cannot listen


def test_without_a_listener_it_claims_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(long_poll, "FALLBACK_S", 0.2)
    svc = _services(NoListenerStore())
    _ready(svc)
    claims = Claims(svc)
    outcome = PendingWatch(svc.store).hold(claims, 0.9)
    assert _ids(outcome) == [] and 2 <= claims.runs <= 6  # the first claim, then one every FALLBACK_S (not a spin)


def test_a_failed_listener_is_restarted_and_still_wakes_the_request() -> None:
    svc = _services()
    _ready(svc)
    watch = PendingWatch(svc.store)
    with watch.waiting():
        first = watch._listener
        assert first is not None and first.active
        first.fail()  # type: ignore[attr-defined]
        assert not watch.healthy()
    got: dict[str, Outcome] = {}
    thread = threading.Thread(target=lambda: got.update(o=watch.hold(Claims(svc), 5)))
    thread.start()
    assert until(lambda: watch.waiters == 1)
    order_id = _place(svc)
    thread.join(30)
    assert _ids(got["o"]) == [order_id] and watch.started == 2


def test_the_listener_closes_when_idle() -> None:
    svc = _services()
    watch = PendingWatch(svc.store, idle_close_s=0.2)
    watch.hold(Claims(svc), 0.1)
    assert watch.healthy()
    assert until(lambda: not watch.healthy())
    assert watch.waiters == 0
    watch.hold(Claims(svc), 0.1)  # a later request starts a new one
    assert watch.started == 2
