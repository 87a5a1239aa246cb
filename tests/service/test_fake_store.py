"""FakeStore behaves like FirestoreStore (tests/emulator/test_store.py): same preconditions, same errors."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.store.api import (
    Contention,
    DocumentExists,
    Plan,
    Query,
    Reads,
    StorageUnavailable,
    Write,
)
from shared.store.fake import FakeStore

COUNTER = "assets/NQ"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


def increment(reads: Reads) -> Plan[int]:
    doc = reads.get(COUNTER) or {"n": 0}
    n = doc["n"] + 1
    return Plan(writes=[Write(COUNTER, "set", {**doc, "n": n})], result=n)


def hammer(store: FakeStore, decide: Callable[[Reads], Plan[int]], threads: int, per_thread: int) -> list[int]:
    gate = threading.Barrier(threads)

    def worker(_: int) -> list[int]:
        gate.wait()
        return [store.transact([COUNTER], decide) for _ in range(per_thread)]

    with ThreadPoolExecutor(threads) as pool:
        return [r for batch in pool.map(worker, range(threads)) for r in batch]


class TestRoundTrip:
    def test_values_keep_their_types_and_are_copies(self, store: FakeStore) -> None:
        data = {"i": 3, "f": 1.0, "none": None, "flag": True, "nested": {"list": [1, 2.5, {"deep": []}]},
                "tuple": (1, 2)}
        store.put("things/a", data)

        back = store.get(["things/a", "things/missing"])
        back["things/a"]["nested"]["list"].append("mutated")  # type: ignore[index]

        assert store.get(["things/a"])["things/a"] == {**data, "tuple": [1, 2]}
        assert back["things/missing"] is None

    @pytest.mark.parametrize(
        "bad", [{"at": datetime.now(UTC).replace(tzinfo=None)}, {"": 1}, {1: "x"}, {"big": 2**63}, {"s": {1}}]
    )
    def test_refuses_what_firestore_would_not_round_trip(self, store: FakeStore, bad: dict[Any, Any]) -> None:
        with pytest.raises((TypeError, ValueError)):
            store.transact([], lambda r: Plan(writes=[Write("things/a", "set", bad)]))
        assert store.dump() == {}

    def test_malformed_plans_and_paths_are_bugs_not_contention(self, store: FakeStore) -> None:
        twice: Plan[None] = Plan(writes=[Write(COUNTER, "set", {"n": 1}), Write(COUNTER, "delete")])
        with pytest.raises(ValueError, match="two writes"):
            store.transact([COUNTER], lambda r: twice)
        with pytest.raises(ValueError, match="bad document path"):
            store.get(["assets"])

    def test_query_filters_orders_and_limits_like_firestore(self, store: FakeStore) -> None:
        rows = [("PENDING", 3.0), ("DONE", 1.0), ("PENDING", 2), ("PENDING", 5.0), ("PENDING", None)]
        for i, (status, created) in enumerate(rows):
            store.put(f"orders/o{i}", {"status": status, "created_at": created})
        store.put("orders/o9", {"status": "PENDING"})  # no created_at: left out by order_by
        store.put("orders/o1/fills/f1", {"status": "PENDING", "created_at": 0.0})  # another collection

        pending = store.query(Query("orders", where=(("status", "==", "PENDING"),), order_by="created_at",
                                    limit=3))
        newest = store.query(Query("orders", order_by="created_at", descending=True, limit=1))
        either = store.query(Query("orders", where=(("status", "in", ["DONE", "X"]),)))
        by_id = store.query(Query("orders"))

        assert [path for path, _ in pending] == ["orders/o4", "orders/o2", "orders/o0"]  # null sorts first
        assert newest == [("orders/o3", {"status": "PENDING", "created_at": 5.0})]
        assert [path for path, _ in either] == ["orders/o1"]
        assert [path for path, _ in by_id] == ["orders/o0", "orders/o1", "orders/o2", "orders/o3", "orders/o4",
                                               "orders/o9"]

    def test_equality_follows_firestore_types(self, store: FakeStore) -> None:
        store.put("flags/a", {"v": True})
        store.put("flags/b", {"v": 1})
        store.put("flags/c", {"v": 1.0})

        assert [p for p, _ in store.query(Query("flags", where=(("v", "==", 1),)))] == ["flags/b", "flags/c"]
        assert [p for p, _ in store.query(Query("flags", where=(("v", "==", True),)))] == ["flags/a"]

    def test_unsupported_filters_are_refused(self) -> None:
        with pytest.raises(ValueError, match="unsupported filter"):
            Query("orders", where=(("n", ">", 1),))


class TestPreconditions:
    def test_create_of_a_document_it_read_raises_at_once(self, store: FakeStore) -> None:
        store.put("task_keys/k1", {"at": 1.0})

        with pytest.raises(DocumentExists):
            store.transact(["task_keys/k1"], lambda r: Plan(writes=[Write("task_keys/k1", "create", {"at": 2.0})]))

        assert store.last_stats.commits == 0
        assert store.dump() == {"task_keys/k1": {"at": 1.0}}

    def test_blind_create_of_an_existing_document_is_definitive_and_writes_nothing(self, store: FakeStore) -> None:
        store.put("task_keys/k1", {"at": 1.0})
        store.put(COUNTER, {"n": 5})

        def decide(reads: Reads) -> Plan[None]:
            return Plan(writes=[Write(COUNTER, "set", {"n": 6}), Write("task_keys/k1", "create", {"at": 2.0})])

        with pytest.raises(DocumentExists) as raised:
            store.transact([COUNTER], decide)

        assert raised.value.path == "task_keys/k1"
        assert store.dump() == {COUNTER: {"n": 5}, "task_keys/k1": {"at": 1.0}}

    def test_a_writer_between_read_and_commit_forces_a_re_decide(self, store: FakeStore) -> None:
        store.put(COUNTER, {"n": 10})
        seen: list[int] = []

        def decide(reads: Reads) -> Plan[int]:
            seen.append(reads.get(COUNTER)["n"])  # type: ignore[index]
            if len(seen) == 1:
                store.put(COUNTER, {"n": 100})
            return increment(reads)

        assert store.transact([COUNTER], decide) == 101
        stats = store.last_stats
        assert seen == [10, 100]
        assert store.dump() == {COUNTER: {"n": 101}}
        assert (stats.attempts, stats.conflicts, stats.commits, stats.writes, stats.reads) == (2, 1, 1, 1, 2)

    def test_a_missing_document_created_meanwhile_forces_a_re_decide(self, store: FakeStore) -> None:
        calls: list[object] = []

        def decide(reads: Reads) -> Plan[int]:
            calls.append(reads.get(COUNTER))
            if len(calls) == 1:
                store.put(COUNTER, {"n": 41})
            return increment(reads)

        assert store.transact([COUNTER], decide) == 42
        assert calls == [None, {"n": 41}]

    def test_a_delete_meanwhile_forces_a_re_decide(self, store: FakeStore) -> None:
        store.put(COUNTER, {"n": 3})
        calls: list[object] = []

        def decide(reads: Reads) -> Plan[int]:
            calls.append(reads.get(COUNTER))
            if len(calls) == 1:
                store.remove(COUNTER)
            return increment(reads)

        assert store.transact([COUNTER], decide) == 1
        assert calls == [{"n": 3}, None]

    def test_a_claim_of_a_queried_document_is_guarded_too(self, store: FakeStore) -> None:
        store.put("orders/o1", {"status": "PENDING", "created_at": 1.0})
        pending = Query("orders", where=(("status", "==", "PENDING"),), order_by="created_at", limit=1)
        attempts: list[int] = []

        def claim(reads: Reads) -> Plan[str | None]:
            attempts.append(1)
            if len(attempts) == 1:
                store.put("orders/o1", {"status": "CLAIMED", "by": "other", "created_at": 1.0})
            rows = reads.queries[pending]
            if not rows:
                return Plan(result=None)
            path, data = rows[0]
            return Plan(writes=[Write(path, "set", {**data, "status": "CLAIMED", "by": "me"})], result=path)

        assert store.transact([], claim, queries=[pending]) is None
        assert len(attempts) == 2
        assert store.dump()["orders/o1"]["by"] == "other"

    def test_deadline_exhaustion_raises_contention_and_writes_nothing(self, store: FakeStore) -> None:
        store.put(COUNTER, {"n": 0})
        calls: list[int] = []

        def always_raced(reads: Reads) -> Plan[int]:
            calls.append(1)
            store.put(COUNTER, {"n": 1000 + len(calls)})
            return Plan(writes=[Write(COUNTER, "set", {"n": -1}), Write("orders/never", "create", {"x": 1})])

        started = time.monotonic()
        with pytest.raises(Contention):
            store.transact([COUNTER], always_raced, deadline_s=0.3)
        stats = store.last_stats

        assert 0.3 <= time.monotonic() - started < 4  # gave up after its deadline, not never
        assert store.dump() == {COUNTER: {"n": 1000 + len(calls)}}
        assert stats.commits == 0 and stats.conflicts == stats.attempts == len(calls) >= 3

    def test_the_deadline_comes_from_the_environment_by_default(self, store: FakeStore) -> None:
        os.environ["STORE_DEADLINE_S"] = "0.1"

        def always_raced(reads: Reads) -> Plan[None]:
            store.put(COUNTER, {"n": 1})
            return Plan(writes=[Write(COUNTER, "delete")])

        started = time.monotonic()
        with pytest.raises(Contention):
            store.transact([COUNTER], always_raced)
        assert time.monotonic() - started < 4  # the environment's 0.1 s, not the default 8 s


class TestConcurrency:
    def test_twenty_writers_lose_no_update(self, store: FakeStore) -> None:
        store.put(COUNTER, {"n": 0})

        def slow_increment(reads: Reads) -> Plan[int]:
            time.sleep(0.0005)  # widen the read-commit window so races really happen
            return increment(reads)

        results = hammer(store, slow_increment, threads=20, per_thread=10)

        assert store.dump() == {COUNTER: {"n": 200}}
        assert sorted(results) == list(range(1, 201))
        assert store.totals.conflicts > 0  # the race was exercised, not serialised away

    def test_updates_and_order_creations_agree(self, store: FakeStore) -> None:
        store.put(COUNTER, {"n": 0})

        def increment_and_order(reads: Reads) -> Plan[int]:
            plan = increment(reads)
            order = Write(f"orders/{uuid.uuid4().hex}", "create", {"seq": plan.result, "asset": "NQ"})
            return Plan(writes=[*plan.writes, order], result=plan.result)

        results = hammer(store, increment_and_order, threads=20, per_thread=10)

        orders = store.query(Query("orders", where=(("asset", "==", "NQ"),)))
        assert store.dump()[COUNTER] == {"n": 200}
        assert sorted(data["seq"] for _, data in orders) == sorted(results) == list(range(1, 201))


class TestOutages:
    def test_unavailable_raises_storage_unavailable_and_decides_nothing(self, store: FakeStore) -> None:
        store.unavailable = True
        decided: list[int] = []

        def decide(reads: Reads) -> Plan[int]:
            decided.append(1)
            return increment(reads)

        with pytest.raises(StorageUnavailable):
            store.transact([COUNTER], decide)
        with pytest.raises(StorageUnavailable):
            store.get([COUNTER])
        assert decided == []


class TestStats:
    def test_counting_sums_every_call_in_the_block(self, store: FakeStore) -> None:
        with store.counting() as stats:
            store.transact([], lambda r: Plan(writes=[Write(COUNTER, "set", {"n": 0})]))
            store.transact([COUNTER, "global/state"], increment)
            store.query(Query("orders"))

        assert (stats.reads, stats.writes, stats.commits, stats.queries) == (3, 2, 2, 1)

    def test_counters_are_per_thread(self, store: FakeStore) -> None:
        store.transact([COUNTER], increment)
        other = threading.Thread(target=lambda: store.get(["a/b", "a/c", "a/d"]))
        other.start()
        other.join()

        assert store.last_stats.reads == 1 and store.last_stats.writes == 1
        assert store.totals.reads == 4


def test_importing_the_firestore_adapter_does_not_import_the_client() -> None:
    heavy = ("google.cloud.firestore", "google.cloud.firestore_v1", "google.api_core", "grpc", "proto")
    code = ("import sys, shared.store.firestore, shared.store.fake; "
            f"loaded = [m for m in {heavy!r} if m in sys.modules]; assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


class TestWriteSkew:
    """The fake refuses a commit whose read-only documents moved, as FirestoreStore's verify writes do."""

    def test_a_read_only_document_changed_before_the_commit_reruns_the_decision(self, store: FakeStore) -> None:
        store.transact([], lambda r: Plan(writes=[Write("a/x", "set", {"n": 0}), Write("b/y", "set", {"n": 0})]))
        seen: list[int] = []

        def decide(reads: Reads) -> Plan[None]:
            seen.append((reads.get("b/y") or {})["n"])
            if len(seen) == 1:
                store.transact(["b/y"], lambda r: Plan(writes=[Write("b/y", "set", {"n": 1})]))
            return Plan(writes=[Write("a/x", "set", {"saw": seen[-1]})])

        store.transact(["a/x", "b/y"], decide)
        assert seen == [0, 1] and store.get(["a/x"])["a/x"] == {"saw": 1}


def test_commit_answers_lost_until_the_deadline_end_as_outcome_unknown() -> None:
    """Every commit's answer lost (and every one not applied): the store does not retry forever."""
    from shared.store.api import OutcomeUnknown, Plan, Write

    store = FakeStore(deadline_s=1e-6)
    store.commit_faults.extend(["lost"] * 3)

    def plan(reads):  # type: ignore[no-untyped-def]
        return Plan([Write("events/r1", "create", {"n": 1})], "done", "events/r1")

    with pytest.raises(OutcomeUnknown, match="commit answers lost until the deadline"):
        store.transact(["assets/ES"], plan)
    assert store.dump() == {}
