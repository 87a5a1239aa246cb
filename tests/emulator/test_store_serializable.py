"""Write skew: a decision that read a document it does not write still commits only if that document is unchanged
(the store pins it with a verify write), so every committed history has a serial order (the soak replays it)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.store.api import Plan, Reads, Write
from shared.store.firestore import FirestoreStore

pytestmark = pytest.mark.emulator
A, B = "assets/ES", "console/global"


@pytest.fixture
def store(fs_project: str) -> FirestoreStore:
    store = FirestoreStore()
    store.transact([], lambda reads: Plan(writes=[Write(A, "set", {"n": 0}), Write(B, "set", {"n": 0})]))
    return store


def test_a_document_read_but_not_written_that_changed_before_the_commit_makes_the_decision_run_again(store):
    seen: list[dict[str, Any]] = []

    def decide(reads: Reads) -> Plan[None]:
        seen.append(dict(reads.get(B) or {}))
        if len(seen) == 1:  # another writer changes B between this decision's read and its commit
            store.transact([B], lambda r: Plan(writes=[Write(B, "set", {"n": (r.get(B) or {})["n"] + 1})]))
        return Plan(writes=[Write(A, "set", {"n": 1, "saw_b": seen[-1]["n"]})])

    with store.counting() as stats:
        store.transact([A, B], decide)
    assert [s["n"] for s in seen] == [0, 1], "the first commit must be refused and the decision re-run"
    assert store.get([A])[A] == {"n": 1, "saw_b": 1}
    assert stats.conflicts >= 1


def test_a_verify_changes_nothing_the_others_see(store):
    before = store.get([B])[B]
    with store.counting() as stats:
        store.transact([A, B], lambda reads: Plan(writes=[Write(A, "set", {"n": 2})]))
    assert store.get([B])[B] == before and stats.verified == 1 and stats.writes == 1
    # B's update time did not move: a writer that read B before that commit still commits first time
    store.transact([B], lambda reads: Plan(writes=[Write(B, "set", {"n": 5})]))
    assert store.get([B])[B] == {"n": 5}
