"""FirestoreStore against the real Firestore emulator: round trips, preconditions, contention, outages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from devstack.emulators import free_port, start_firestore
from shared.store.api import (
    Contention,
    DocumentExists,
    Plan,
    Query,
    Reads,
    StorageUnavailable,
    Write,
)
from shared.store.firestore import FirestoreStore

pytestmark = pytest.mark.emulator

COUNTER = "assets/NQ"


@pytest.fixture
def store(fs_project: str) -> FirestoreStore:
    return FirestoreStore()


def put(store: FirestoreStore, path: str, data: dict[str, Any]) -> None:
    store.transact([], lambda reads: Plan(writes=[Write(path, "set", data)]))


def increment(reads: Reads) -> Plan[int]:
    doc = reads.get(COUNTER) or {"n": 0}
    n = doc["n"] + 1
    return Plan(writes=[Write(COUNTER, "set", {**doc, "n": n})], result=n)


def hammer(store: FirestoreStore, decide: Callable[[Reads], Plan[int]], threads: int, per_thread: int
           ) -> tuple[list[int], float]:
    def worker(_: int) -> list[int]:
        return [store.transact([COUNTER], decide) for _ in range(per_thread)]

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        results = [r for batch in pool.map(worker, range(threads)) for r in batch]
    return results, time.monotonic() - started


class TestRoundTrip:
    def test_values_keep_their_types(self, store: FirestoreStore) -> None:
        data = {"i": 3, "f": 1.0, "ts": 1764057600.123456, "none": None, "flag": True, "s": "ü €",
                "nested": {"list": [1, 2.5, None, {"deep": []}], "empty": {}, "dotted.key": -7},
                "big": 2**62, "tuple": (1, 2)}
        put(store, "things/a", data)

        back = store.get(["things/a", "things/missing"])

        expected = {**data, "tuple": [1, 2]}
        assert back == {"things/a": expected, "things/missing": None}
        assert type(back["things/a"]["i"]) is int and type(back["things/a"]["f"]) is float  # type: ignore[index]

    def test_deeper_paths_and_delete(self, store: FirestoreStore) -> None:
        put(store, "accounts/x/orders/1", {"q": 1})
        store.transact(["accounts/x/orders/1"], lambda r: Plan(writes=[Write("accounts/x/orders/1", "delete")]))
        assert store.get(["accounts/x/orders/1"]) == {"accounts/x/orders/1": None}

    def test_query_filters_orders_and_limits(self, store: FirestoreStore) -> None:
        for i, (status, created) in enumerate([("PENDING", 3.0), ("DONE", 1.0), ("PENDING", 2.0),
                                               ("PENDING", 5.0)]):
            put(store, f"orders/o{i}", {"status": status, "created_at": created})

        rows = store.query(Query("orders", where=(("status", "==", "PENDING"),), order_by="created_at", limit=2))
        newest = store.query(Query("orders", order_by="created_at", descending=True, limit=1))

        assert [path for path, _ in rows] == ["orders/o2", "orders/o0"]
        assert newest == [("orders/o3", {"status": "PENDING", "created_at": 5.0})]

    def test_a_decision_without_writes_commits_nothing(self, store: FirestoreStore) -> None:
        assert store.transact([COUNTER], lambda r: Plan(result="nothing")) == "nothing"
        assert store.last_stats.commits == 0 and store.last_stats.reads == 1


class TestPreconditions:
    def test_create_of_a_document_it_read_raises_at_once(self, store: FirestoreStore) -> None:
        put(store, "task_keys/k1", {"at": 1.0})

        with pytest.raises(DocumentExists):
            store.transact(["task_keys/k1"], lambda r: Plan(writes=[Write("task_keys/k1", "create", {"at": 2.0})]))

        assert store.last_stats.commits == 0
        assert store.get(["task_keys/k1"])["task_keys/k1"] == {"at": 1.0}

    def test_blind_create_of_an_existing_document_is_definitive_and_writes_nothing(
        self, store: FirestoreStore
    ) -> None:
        put(store, "task_keys/k1", {"at": 1.0})
        put(store, COUNTER, {"n": 5})

        def decide(reads: Reads) -> Plan[None]:
            return Plan(writes=[Write(COUNTER, "set", {"n": 6}), Write("task_keys/k1", "create", {"at": 2.0})])

        started = time.monotonic()
        with pytest.raises(DocumentExists) as raised:
            store.transact([COUNTER], decide)

        assert raised.value.path == "task_keys/k1"
        assert time.monotonic() - started < 1.0  # not retried until the deadline
        assert store.get([COUNTER, "task_keys/k1"]) == {COUNTER: {"n": 5}, "task_keys/k1": {"at": 1.0}}

    def test_a_writer_between_read_and_commit_forces_a_re_decide(self, store: FirestoreStore) -> None:
        other = FirestoreStore()
        put(store, COUNTER, {"n": 10})
        seen: list[int] = []

        def decide(reads: Reads) -> Plan[int]:
            seen.append(reads.get(COUNTER)["n"])  # type: ignore[index]
            if len(seen) == 1:
                put(other, COUNTER, {"n": 100})  # commits after our read, before our commit
            return increment(reads)

        assert store.transact([COUNTER], decide) == 101
        stats = store.last_stats
        assert seen == [10, 100]
        assert store.get([COUNTER])[COUNTER] == {"n": 101}
        assert (stats.attempts, stats.conflicts, stats.commits, stats.writes, stats.reads) == (2, 1, 1, 1, 2)

    def test_a_missing_document_created_meanwhile_forces_a_re_decide(self, store: FirestoreStore) -> None:
        other = FirestoreStore()
        calls: list[Mapping[str, Any] | None] = []

        def decide(reads: Reads) -> Plan[int]:
            calls.append(reads.get(COUNTER))
            if len(calls) == 1:
                put(other, COUNTER, {"n": 41})
            return increment(reads)

        assert store.transact([COUNTER], decide) == 42
        assert calls == [None, {"n": 41}]

    def test_a_claim_of_a_queried_document_is_guarded_too(self, store: FirestoreStore) -> None:
        other = FirestoreStore()
        put(store, "orders/o1", {"status": "PENDING", "created_at": 1.0})
        pending = Query("orders", where=(("status", "==", "PENDING"),), order_by="created_at", limit=1)
        attempts: list[int] = []

        def claim(reads: Reads) -> Plan[str | None]:
            attempts.append(1)
            if len(attempts) == 1:
                put(other, "orders/o1", {"status": "CLAIMED", "by": "other", "created_at": 1.0})
            rows = reads.queries[pending]
            if not rows:
                return Plan(result=None)
            path, data = rows[0]
            return Plan(writes=[Write(path, "set", {**data, "status": "CLAIMED", "by": "me"})], result=path)

        assert store.transact([], claim, queries=[pending]) is None
        assert len(attempts) == 2
        assert store.get(["orders/o1"])["orders/o1"]["by"] == "other"  # type: ignore[index]

    def test_deadline_exhaustion_raises_contention_and_writes_nothing(self, store: FirestoreStore) -> None:
        other = FirestoreStore()
        put(store, COUNTER, {"n": 0})
        calls: list[int] = []

        def always_raced(reads: Reads) -> Plan[int]:
            calls.append(1)
            put(other, COUNTER, {"n": 1000 + len(calls)})
            return Plan(writes=[Write(COUNTER, "set", {"n": -1, "mine": True}),
                                Write("orders/never", "create", {"x": 1})], result=0)

        started = time.monotonic()
        with pytest.raises(Contention):
            store.transact([COUNTER], always_raced, deadline_s=0.5)
        stats = store.last_stats

        assert 0.5 <= time.monotonic() - started < 2.0
        assert len(calls) >= 3
        assert store.get([COUNTER, "orders/never"]) == {COUNTER: {"n": 1000 + len(calls)}, "orders/never": None}
        assert stats.commits == 0 and stats.conflicts == stats.attempts == len(calls)


class TestConcurrency:
    def test_twenty_writers_lose_no_update(self, store: FirestoreStore) -> None:
        put(store, COUNTER, {"n": 0})

        results, elapsed = hammer(store, increment, threads=20, per_thread=10)

        assert store.get([COUNTER])[COUNTER] == {"n": 200}
        assert sorted(results) == list(range(1, 201))  # every success saw its own predecessor
        print(f"20x10 optimistic increments: {elapsed:.2f} s, {store.totals.conflicts} conflicts")

    def test_updates_and_order_creations_agree(self, store: FirestoreStore) -> None:
        put(store, COUNTER, {"n": 0})

        def increment_and_order(reads: Reads) -> Plan[int]:
            plan = increment(reads)
            order = Write(f"orders/{uuid.uuid4().hex}", "create", {"seq": plan.result, "asset": "NQ"})
            return Plan(writes=[*plan.writes, order], result=plan.result)

        results, elapsed = hammer(store, increment_and_order, threads=20, per_thread=10)

        orders = store.query(Query("orders", where=(("asset", "==", "NQ"),)))
        assert store.get([COUNTER])[COUNTER] == {"n": 200}
        assert sorted(data["seq"] for _, data in orders) == sorted(results) == list(range(1, 201))
        print(f"20x10 increments + order creates: {elapsed:.2f} s")


class TestOutages:
    def test_a_stopped_emulator_fails_fast(self, fs_project: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        private = start_firestore(free_port(), tmp_path)
        try:
            monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", private.address)  # the dead address must not outlive it
            store = FirestoreStore()
            put(store, COUNTER, {"n": 1})  # client built and connected while it runs
        finally:
            private.stop()

        for fresh in (store, FirestoreStore()):
            started = time.monotonic()
            with pytest.raises(StorageUnavailable) as raised:
                fresh.transact([COUNTER], increment)
            elapsed = time.monotonic() - started
            print(f"stopped emulator -> StorageUnavailable in {elapsed * 1000:.1f} ms: {raised.value}")
            assert elapsed < 2.0
        with pytest.raises(StorageUnavailable):
            store.get([COUNTER])

        store._port_checked_at = time.monotonic()  # as if it died right after the port check: the RPC must fail
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match="ServiceUnavailable"):
            store.transact([COUNTER], increment)
        assert time.monotonic() - started < 2.0

    def test_the_first_call_after_the_server_is_back_succeeds(self, fs_project: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
        """The failed connection leaves the client's channel in reconnect backoff, which fails every call at once
        until it ends (up to 120 s after a long outage): the store must not keep using that channel, nor share its
        connection (gRPC's process-wide subchannel pool) while something still holds the old client."""
        port = free_port()
        private = start_firestore(port, tmp_path / "first")
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", private.address)
        store = FirestoreStore()
        try:
            put(store, COUNTER, {"n": 1})
        finally:
            private.stop()
        held = []  # as a traceback being logged or a running listener holds the client it failed on
        for _ in range(3):  # connection refused, again and again: the backoff grows
            store._port_checked_at = time.monotonic()
            held.append(store._ready_client())
            with pytest.raises(StorageUnavailable, match="ServiceUnavailable"):
                store.get([COUNTER])
        back = start_firestore(port, tmp_path / "second")  # empty: a new process on the same address
        try:
            assert store.get([COUNTER]) == {COUNTER: None}
            put(store, COUNTER, {"n": 2})
            assert store.get([COUNTER])[COUNTER] == {"n": 2}
        finally:
            back.stop()


class TestStats:
    def test_counting_sums_every_call_in_the_block(self, store: FirestoreStore) -> None:
        with store.counting() as stats:
            put(store, COUNTER, {"n": 0})
            store.transact([COUNTER, "global/state"], increment)
            store.query(Query("orders"))

        assert (stats.reads, stats.writes, stats.commits, stats.queries) == (3, 2, 2, 1)


class TestListener:
    def test_a_listener_hears_changes_and_goes_inactive_when_the_store_drops_its_client(
            self, store: FirestoreStore) -> None:
        """After an unreachable server the store builds a new client; a listener on the old one must say it is no
        longer active so that the long poll starts one on the new client."""
        from tests.waiting import until

        counts: list[int] = []
        listener = store.watch(Query("orders", where=(("asset", "==", "RTY"),)), counts.append)
        try:
            assert until(lambda: counts == [0]) and listener.active
            put(store, f"orders/{uuid.uuid4().hex}", {"asset": "RTY"})
            assert until(lambda: counts[-1:] == [1]) and listener.active
            store._reconnect()
            assert not listener.active
        finally:
            listener.close()
        renewed = store.watch(Query("orders", where=(("asset", "==", "RTY"),)), counts.append)
        try:
            assert until(lambda: renewed.active and counts[-1:] == [1] and len(counts) == 3)
        finally:
            renewed.close()
