"""`FakeStore`: the Store of api.py in memory, for service tests.

It keeps a version per document and checks the same preconditions FirestoreStore sends, at commit time and
under a lock, while `decide` runs outside the lock: a writer that commits between an attempt's read and its
commit forces a re-decide exactly as on Firestore. Data goes through `plain()`, so what Firestore would refuse
or not round-trip is refused here too. Queries: "==" / "in" filters, order_by (documents missing the field are
left out, ties by document id, as Firestore does), limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from shared.store.api import (
    CommitAmbiguous,
    DocumentExists,
    Plan,
    PreconditionFailed,
    Query,
    Reads,
    StatsRecorder,
    StorageUnavailable,
    StoreStats,
    T,
    Write,
    check_path,
    check_witness,
    check_writes,
    deadline_seconds,
    plain,
    require_witness,
    retry_until_deadline,
    unique_paths,
)

_MISSING = object()


class FakeStore(StatsRecorder):
    """In-memory Store. `docs` seeds it; `put`/`remove` write directly (a concurrent writer, for tests);
    `dump()` returns a copy of everything; `unavailable = True` makes every call raise StorageUnavailable;
    `commit_faults` loses the answers of the next commits."""

    def __init__(self, docs: Mapping[str, Mapping[str, Any]] | None = None, *,
                 deadline_s: float | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._docs: dict[str, tuple[int, dict[str, Any]]] = {}
        self._clock = 0
        self._deadline_s = deadline_s
        self._listeners: list[FakeListener] = []
        self.unavailable = False
        # the next commits' faults, in order (D19's lost answers): "applied" commits and then loses the answer, "lost"
        # loses the commit and its answer; "..._then_down" also makes the store unavailable right after
        self.commit_faults: list[Literal["applied", "lost", "applied_then_down", "lost_then_down"]] = []
        for path, data in (docs or {}).items():
            self.put(path, data)

    # --- test helpers --------------------------------------------------------------------------------------

    def put(self, path: str, data: Mapping[str, Any]) -> None:
        check_path(path)
        with self._lock:
            self._store(path, plain(data))
        self._notify()

    def remove(self, path: str) -> None:
        with self._lock:
            self._docs.pop(path, None)
            self._clock += 1
        self._notify()

    def dump(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {path: plain(data) for path, (_, data) in sorted(self._docs.items())}

    # --- the Store protocol --------------------------------------------------------------------------------

    def transact(
        self,
        paths: Sequence[str],
        decide: Callable[[Reads], Plan[T]],
        *,
        queries: Sequence[Query] = (),
        deadline_s: float | None = None,
    ) -> T:
        stats = StoreStats()
        paths = unique_paths(paths)
        with self._measured(stats):
            self._check_available()
            return retry_until_deadline(
                lambda pending: self._attempt(paths, queries, decide, stats, pending),
                deadline_seconds(deadline_s if deadline_s is not None else self._deadline_s),
                stats, str(paths or [q.collection for q in queries]),
                read_witness=self._read_witness,
            )

    def get(self, paths: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        stats = StoreStats(attempts=1)
        paths = unique_paths(paths)
        with self._measured(stats):
            self._check_available()
            with self._lock:
                docs, _ = self._read_docs(paths, stats)
            return docs

    def query(self, query: Query) -> Sequence[tuple[str, Mapping[str, Any]]]:
        stats = StoreStats(attempts=1)
        with self._measured(stats):
            self._check_available()
            with self._lock:
                return [(path, data) for path, data, _ in self._run_query(query, stats)]

    def watch(self, query: Query, on_change: Callable[[int], None]) -> FakeListener:
        """FirestoreStore.watch in memory: `on_change(n matching documents)` at once, then after each write that
        changed the matching set (a document entered, changed or left), on the writer's thread."""
        listener = FakeListener(self, query, on_change)
        with self._lock:
            self._listeners.append(listener)
        self._notify()
        return listener

    def _notify(self) -> None:
        due: list[tuple[FakeListener, int]] = []
        with self._lock:
            for listener in self._listeners:
                seen = frozenset((path, version) for path, (version, data) in self._docs.items()
                                 if path.rpartition("/")[0] == listener.query.collection
                                 and _matches(data, listener.query.where))
                if seen != listener.seen:
                    first = listener.seen is None
                    listener.seen = seen
                    due.append((listener, len(seen)))
                    billed = StoreStats(reads=max(1, len(seen)) if first else 1, queries=1)
                    with self._totals_lock:  # the listener's own reads: not the writing thread's counters
                        self.totals.add(billed)
        for listener, count in due:
            listener.on_change(count)

    # --- one attempt ---------------------------------------------------------------------------------------

    def _attempt(self, paths: list[str], queries: Sequence[Query], decide: Callable[[Reads], Plan[T]],
                 stats: StoreStats, pending: str | None = None) -> T:
        with self._lock:
            docs, versions = self._read_docs(paths, stats)
            results: dict[Query, list[tuple[str, Mapping[str, Any]]]] = {}
            for query in queries:
                rows = self._run_query(query, stats)
                results[query] = [(path, data) for path, data, _ in rows]
                versions.update((path, version) for path, _, version in rows)
        plan = decide(Reads(docs=docs, queries=results))
        check_writes(plan.writes)
        check_witness(plan)
        require_witness(plan, pending)
        for write in plan.writes:
            if write.mode == "create" and versions.get(write.path) is not None:
                raise DocumentExists(write.path)
        if plan.writes:
            fault = self.commit_faults.pop(0) if self.commit_faults else ""
            if not fault.startswith("lost"):   # no fault, or an "applied" one: the commit lands
                self._commit(plan.writes, versions)
            if fault:
                self._notify()
                self.unavailable = fault.endswith("_then_down")
                raise CommitAmbiguous(plan, TimeoutError(f"FakeStore: commit answer lost ({fault})"))
            stats.commits += 1
            stats.writes += len(plan.writes)
            self._notify()
        return plan.result  # type: ignore[return-value]  # Plan.result is Optional only for its default

    def _read_docs(self, paths: list[str], stats: StoreStats
                   ) -> tuple[dict[str, Mapping[str, Any] | None], dict[str, int | None]]:
        docs: dict[str, Mapping[str, Any] | None] = {}
        versions: dict[str, int | None] = {}
        for path in paths:
            found = self._docs.get(path)
            docs[path] = None if found is None else plain(found[1])
            versions[path] = None if found is None else found[0]
        stats.reads += len(paths)
        return docs, versions

    def _run_query(self, query: Query, stats: StoreStats) -> list[tuple[str, dict[str, Any], int]]:
        rows = [(path, version, data) for path, (version, data) in self._docs.items()
                if path.rpartition("/")[0] == query.collection and _matches(data, query.where)]
        if query.order_by is None:
            rows.sort(key=lambda row: _doc_id(row[0]))
        else:
            field = query.order_by
            rows = [row for row in rows if _lookup(row[2], field) is not _MISSING]
            rows.sort(key=lambda row: (_order_key(_lookup(row[2], field)), _doc_id(row[0])),
                      reverse=query.descending)
        if query.limit is not None:
            rows = rows[: query.limit]
        stats.queries += 1
        stats.reads += max(1, len(rows))
        return [(path, plain(data), version) for path, version, data in rows]

    def _commit(self, writes: list[Write], versions: Mapping[str, int | None]) -> None:
        with self._lock:
            self._check_available()
            stale = False
            for write in writes:
                current = self._docs.get(write.path)
                if write.mode == "create" and current is not None and write.path not in versions:
                    raise DocumentExists(write.path)  # what FirestoreStore reports after AlreadyExists
                if write.path in versions:
                    expected = versions[write.path]
                    stale |= (current is not None) if expected is None else (
                        current is None or current[0] != expected)
                elif write.mode == "create":
                    stale |= current is not None
            # like FirestoreStore's verify writes: what the decision read and did not write must be unchanged
            written = {w.path for w in writes}
            for path, expected in versions.items():
                current = self._docs.get(path)
                if path not in written and expected is not None and (current is None or current[0] != expected):
                    stale = True
            if stale:
                raise PreconditionFailed
            for write in writes:
                if write.mode == "delete":
                    self._docs.pop(write.path, None)
                    self._clock += 1
                else:
                    self._store(write.path, plain(write.data))

    def _store(self, path: str, data: dict[str, Any]) -> None:
        self._clock += 1
        self._docs[path] = (self._clock, data)

    def _read_witness(self, path: str) -> Mapping[str, Any] | None:
        self._check_available()
        with self._lock:
            found = self._docs.get(path)
        return None if found is None else plain(found[1])

    def _check_available(self) -> None:
        if self.unavailable:
            raise StorageUnavailable("FakeStore.unavailable is set")


class FakeListener:
    """What FakeStore.watch returns; `fail()` ends it as a broken stream would (for tests)."""

    def __init__(self, store: FakeStore, query: Query, on_change: Callable[[int], None]) -> None:
        self.store, self.query, self.on_change = store, query, on_change
        self.seen: frozenset[tuple[str, int]] | None = None
        self.active = True

    def close(self) -> None:
        self.active = False
        with self.store._lock:
            if self in self.store._listeners:
                self.store._listeners.remove(self)

    fail = close


def _doc_id(path: str) -> str:
    return path.rpartition("/")[2]


def _lookup(data: Mapping[str, Any], field_path: str) -> Any:
    value: Any = data
    for part in field_path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _matches(data: Mapping[str, Any], where: Sequence[tuple[str, str, Any]]) -> bool:
    for field_path, op, expected in where:
        value = _lookup(data, field_path)
        if value is _MISSING:
            return False
        if op == "==" and _order_key(value) != _order_key(expected):
            return False
        if op == "in" and all(_order_key(value) != _order_key(option) for option in expected):
            return False
    return True


def _order_key(value: Any) -> tuple[Any, ...]:
    """Firestore's value order: null < booleans < numbers (ints and floats mixed) < strings < arrays < maps.
    Equal keys mean equal values, so it serves equality too (True is not 1, 1 is 1.0)."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (4, value)
    if isinstance(value, list | tuple):
        return (8, tuple(_order_key(item) for item in value))
    if isinstance(value, Mapping):
        return (9, tuple((key, _order_key(item)) for key, item in sorted(value.items())))
    raise TypeError(f"unsupported value {value!r}")
