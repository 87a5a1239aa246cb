"""D19 on the real emulator: a database that freezes at the commit leaves the commit's outcome unknown to the
client. The service finds out (the request's audit record is the commit's witness) before it answers; when it cannot,
it answers OUTCOME_UNKNOWN, and the bridge's re-sent report (same fill id) counts the fill once whichever way the
frozen commit went. The emulator is a private one, stopped with SIGSTOP exactly at the commit RPC."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.emulators import Managed, free_port, start_firestore
from shared.domain import default_config
from shared.domain.inputs import ExecutionReport, PlaceOrder, PollPending, RenkoBar, TvHeartbeat
from shared.service import Services, execute
from shared.store.api import CommitAmbiguous, OutcomeUnknown, Plan, Write, _LostCommits
from shared.store.documents import asset_path, order_path
from shared.store.firestore import FirestoreStore

pytestmark = pytest.mark.emulator

NOW = 1_764_000_000.0  # a Monday, in session


class FreezingStore(FirestoreStore):
    """Stops the emulator process right before the next commit RPC (its port still accepts the request) and lets it
    go again after `resume_after_s` (None: only when the test says so)."""

    def __init__(self, emulator: Managed, **kw: Any) -> None:
        super().__init__(**kw)
        self.emulator = emulator
        self.freeze_next: float | bool | None = False
        self.resumed = threading.Event()
        self.lose_next_answer = False  # after the commit landed: as if its answer was lost on the way back

    def _commit(self, client: Any, plan: Any, versions: Any, stats: Any) -> None:
        resume_after = self.freeze_next
        if resume_after is not False:
            self.freeze_next = False
            os.kill(self.emulator.proc.pid, signal.SIGSTOP)
            if resume_after is not None:
                threading.Timer(float(resume_after), self.resume).start()
        super()._commit(client, plan, versions, stats)

        if self.lose_next_answer:
            self.lose_next_answer = False
            raise CommitAmbiguous(plan, TimeoutError("the commit landed and its answer was lost (test)"))

    def resume(self) -> None:
        os.kill(self.emulator.proc.pid, signal.SIGCONT)
        self.resumed.set()


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Managed]:
    private = start_firestore(free_port(), tmp_path)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", private.address)
    try:
        yield private
    finally:
        os.kill(private.proc.pid, signal.SIGCONT)
        private.stop()


def claimed_entry(emulator: Managed) -> tuple[Services, FreezingStore, str]:
    """An entry handed to the bridge, on a store whose RPCs give up after 0.5 s."""
    store = FreezingStore(emulator, project=f"lost-{os.getpid()}", rpc_timeout_s=0.5, deadline_s=4.0)
    clock = [NOW]
    svc = Services(store=store, config=default_config(), clock=lambda: clock[0])
    for inp in (TvHeartbeat(asset="ES", price=5000.0), RenkoBar(stream="8pt", asset="ES", color="green"),
                RenkoBar(stream="12pt", asset="ES", color="green"), RenkoBar(stream="2.5pt", asset="ES", color="green"),
                RenkoBar(stream="6pt", asset="ES", color="green")):
        execute(svc, inp)
        clock[0] += 1
    entry = execute(svc, PlaceOrder(asset="ES", trade_mode="SCALP"))
    order_id = entry.decision.body["order"]["id"]
    assert execute(svc, PollPending(owner="bridge", limit=5)).decision.body["orders"]
    return svc, store, str(order_id)


def fill(svc: Services, order_id: str) -> Any:
    return execute(svc, ExecutionReport(order_id=order_id, status="PARTIALLY_FILLED", cum_qty=2, fill_price=5001.0,
                                        fill_id="F1"))


def booked(store: FirestoreStore, order_id: str) -> tuple[int, int]:
    docs = store.get([asset_path("ES"), order_path(order_id)])
    return int(docs[asset_path("ES")].get("position", 0)), int(docs[order_path(order_id)]["filled_qty"])


def test_a_commit_frozen_then_resumed_is_settled_before_the_answer(emulator: Managed) -> None:
    svc, store, order_id = claimed_entry(emulator)
    store.freeze_next = 0.8  # the commit times out at 0.5 s; the witness read meets the database back
    outcome = fill(svc, order_id)
    assert store.resumed.is_set()
    # 1 attempt: the witness was found (the frozen commit landed); 2: it was not, and the second attempt committed
    print(f"settled after {store.last_stats.attempts} attempt(s) in {store.last_stats.elapsed_s:.2f} s")
    assert outcome.decision.status == 200 and outcome.decision.body == {"ok": True}
    assert booked(store, order_id) == (2, 2)
    assert fill(svc, order_id).decision.duplicate is True and booked(store, order_id) == (2, 2)


def test_a_commit_frozen_for_good_is_outcome_unknown_and_the_resent_fill_counts_once(emulator: Managed) -> None:
    svc, store, order_id = claimed_entry(emulator)
    store.freeze_next = None
    with pytest.raises(OutcomeUnknown) as raised:
        fill(svc, order_id)
    assert raised.value.request_id  # type: ignore[attr-defined]  # the 503 names it
    store.resume()
    again = fill(svc, order_id)  # the bridge re-sends the same report: the frozen commit may or may not have landed
    assert again.decision.status == 200
    print(f"frozen commit landed after all: {again.decision.duplicate}")
    assert booked(store, order_id) == (2, 2)


def test_a_commit_that_landed_with_its_answer_lost_is_answered_from_its_witness(emulator: Managed) -> None:
    """The emulator drops a commit whose client gave up (the tests above), so the other way is made here: the commit
    lands and only its answer is lost. The witness read from the real database matches what the attempt wrote."""
    svc, store, order_id = claimed_entry(emulator)
    store.lose_next_answer = True
    outcome = fill(svc, order_id)
    assert outcome.decision.status == 200 and store.last_stats.attempts == 1
    assert booked(store, order_id) == (2, 2)
    witness = f"events/{outcome.request_id}"
    found = store.get([witness])[witness]
    assert found is not None and found["input"]["fill_id"] == "F1"
    # the witness compares equal to what was written (timestamps and numbers survive the round trip), so among
    # several lost attempts the one that landed is told apart
    written = {**found, "marker": None}
    lost = _LostCommits(lambda path: store.get([path])[path])
    other = CommitAmbiguous(Plan([Write(witness, "create", written)], "other", witness), TimeoutError())
    mine = CommitAmbiguous(Plan([Write(witness, "create", dict(found))], "mine", witness), TimeoutError())
    lost.add(other)
    assert lost.add(mine) is mine
