"""The storage port every handler uses: one optimistic read-decide-commit unit of work.

A handler names the documents (and at most a few queries) its decision depends on, and gives a pure function that
turns what was read into a Plan: the writes to commit atomically plus the value to return. The store

1. reads every named document in one consistent `get_all` (and runs the queries),
2. calls `decide(reads)`,
3. commits every write in ONE atomic batch, each write to a document that was read carrying a precondition
   (`last_update_time` when it existed, `exists=False` when it did not; `create` writes always `exists=False`),
4. on a precondition failure re-reads and re-decides (jittered backoff) until a total deadline, then raises
   `Contention`; when storage cannot be reached it raises `StorageUnavailable`. Nothing is ever half-written.

`decide` may run several times: it must be pure (no side effects, no clock reads of its own).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from shared.env import env_number

T = TypeVar("T")

WriteMode = Literal["set", "create", "delete"]

# Filters both adapters implement identically (the fake cannot mirror Firestore's cross-type range ordering).
QUERY_OPERATORS = frozenset({"==", "in"})


class StoreError(Exception):
    """Base of storage failures. Safe to retry: nothing was written."""


class StorageUnavailable(StoreError):
    """Firestore could not be reached or answered an error (HTTP 503; the caller may retry later)."""


class Contention(StoreError):
    """The documents kept changing under us until the deadline (HTTP 503; the caller may retry)."""


class DocumentExists(StoreError):
    """A `create` targeted a document that already exists and re-reading cannot change that: a definitive
    answer (e.g. an idempotency key already used), not contention. Raised when the decision read the document
    and still planned a `create`, or when a `create` of a document it did not read met an existing one.
    Nothing was written."""

    def __init__(self, path: str) -> None:
        super().__init__(f"document {path!r} already exists: expected a create of a new document")
        self.path = path


@dataclass(frozen=True)
class Query:
    """An equality-filtered, ordered, limited query of one collection."""

    collection: str
    where: tuple[tuple[str, str, Any], ...] = ()
    order_by: str | None = None
    limit: int | None = None
    descending: bool = False  # direction of `order_by`

    def __post_init__(self) -> None:
        for clause in self.where:
            if len(clause) != 3 or clause[1] not in QUERY_OPERATORS:
                raise ValueError(f"unsupported filter {clause!r}: expected (field, op, value) with op in "
                                 f"{sorted(QUERY_OPERATORS)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be positive, got {self.limit}")


@dataclass(frozen=True)
class Write:
    """`set` replaces the whole document; `create` requires it not to exist; `delete` removes it."""

    path: str
    mode: WriteMode = "set"
    data: Mapping[str, Any] | None = None


@dataclass
class Plan(Generic[T]):
    writes: list[Write] = field(default_factory=list)
    result: T | None = None


@dataclass(frozen=True)
class Reads:
    """What one attempt read: document data by path (None = missing) and query results (path, data) in order."""

    docs: Mapping[str, Mapping[str, Any] | None]
    queries: Mapping[Query, Sequence[tuple[str, Mapping[str, Any]]]]

    def get(self, path: str) -> Mapping[str, Any] | None:
        return self.docs.get(path)


class Store(Protocol):
    def transact(
        self,
        paths: Sequence[str],
        decide: Callable[[Reads], Plan[T]],
        *,
        queries: Sequence[Query] = (),
        deadline_s: float | None = None,
    ) -> T:
        """Run one optimistic unit of work (see the module docstring); returns `plan.result`."""
        ...

    def get(self, paths: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        """A consistent read of several documents, without writing."""
        ...

    def query(self, query: Query) -> Sequence[tuple[str, Mapping[str, Any]]]:
        """A plain read-only query."""
        ...


# --- Shared by the adapters: the data contract, the retry policy and the operation counters. ---------------

_INT64 = 2**63


def plain(value: Any) -> Any:
    """A deep copy of JSON-like data, as both stores keep it: None, bool, int (64-bit), float, str, lists and
    string-keyed maps, plus timezone-aware datetimes (Firestore Timestamps: the TTL policy needs one; store other
    times as epoch floats). Tuples become lists. Anything else is a TypeError, so the fake refuses exactly what
    would not round-trip through Firestore."""
    if value is None or isinstance(value, bool | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value!r}: expected a timezone-aware (UTC) datetime")
        return value
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError(f"integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"document keys must be non-empty strings, got {key!r}")
            out[key] = plain(item)
        return out
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    raise TypeError(f"unsupported value {value!r} of type {type(value).__name__}: expected JSON-like data")


def check_writes(writes: Sequence[Write]) -> None:
    """One write per document and a payload for every set/create: a broken Plan is a bug, not contention."""
    seen: set[str] = set()
    for write in writes:
        if write.path in seen:
            raise ValueError(f"two writes to {write.path!r} in one plan: expected one write per document")
        seen.add(write.path)
        if write.mode not in ("set", "create", "delete"):
            raise ValueError(f"unknown write mode {write.mode!r}")
        if write.mode != "delete" and write.data is None:
            raise ValueError(f"{write.mode} of {write.path!r} has no data")
        check_path(write.path)


def unique_paths(paths: Sequence[str]) -> list[str]:
    """The paths in order without repeats, each checked."""
    unique = list(dict.fromkeys(paths))
    for path in unique:
        check_path(path)
    return unique


def check_path(path: str) -> None:
    parts = path.split("/")
    if len(parts) % 2 or not all(parts):
        raise ValueError(f"bad document path {path!r}: expected 'collection/doc[/collection/doc...]'")


DEFAULT_DEADLINE_S = 8.0


def deadline_seconds(deadline_s: float | None) -> float:
    """The total time a unit of work may spend retrying: the argument, else env STORE_DEADLINE_S (over 0, at most
    60 s), else 8 s."""
    if deadline_s is not None:
        return deadline_s
    return env_number("STORE_DEADLINE_S", DEFAULT_DEADLINE_S, lambda value: 0 < value <= 60)


class Backoff:
    """Jittered exponential backoff: the first pause is 5-20 ms, each conflict doubles it up to a cap."""

    def __init__(self, low_s: float = 0.005, high_s: float = 0.020, cap_s: float = 0.250) -> None:
        self.low_s, self.high_s, self.cap_s = low_s, high_s, cap_s

    def next(self) -> float:
        pause = random.uniform(self.low_s, self.high_s)  # noqa: S311 - jitter, not security
        self.low_s = min(self.low_s * 2, self.cap_s / 2)
        self.high_s = min(self.high_s * 2, self.cap_s)
        return pause


@dataclass
class StoreStats:
    """Operations of one call (or of every call inside `counting()`). `reads` counts billed document reads:
    every path of a `get_all` (found or not) plus every query result (an empty query still bills one).
    `writes` and `commits` count committed work only; `verified` counts documents a commit pinned without writing
    them (read by the decision, unchanged by it); `conflicts` counts commits refused by a precondition."""

    attempts: int = 0
    reads: int = 0
    queries: int = 0
    writes: int = 0
    verified: int = 0
    commits: int = 0
    conflicts: int = 0
    elapsed_s: float = 0.0

    def add(self, other: StoreStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class StatsRecorder:
    """Per-thread operation counters shared by the adapters.

    `store.last_stats` is the stats of this thread's last call; `with store.counting() as stats:` sums every
    call this thread makes inside the block; `store.totals` sums every call of every thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._totals_lock = threading.Lock()
        self.totals = StoreStats()

    @property
    def last_stats(self) -> StoreStats:
        return getattr(self._local, "last", None) or StoreStats()

    @contextmanager
    def counting(self) -> Iterator[StoreStats]:
        stats = StoreStats()
        stack = self._stack()
        stack.append(stats)
        try:
            yield stats
        finally:
            stack.remove(stats)

    def _stack(self) -> list[StoreStats]:
        stack: list[StoreStats] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    @contextmanager
    def _measured(self, stats: StoreStats) -> Iterator[StoreStats]:
        """Times one call and records its stats, whatever the call ends with."""
        started = time.monotonic()
        try:
            yield stats
        finally:
            stats.elapsed_s = time.monotonic() - started
            self._record(stats)

    def _record(self, stats: StoreStats) -> None:
        self._local.last = stats
        for open_counter in self._stack():
            open_counter.add(stats)
        with self._totals_lock:
            self.totals.add(stats)


class PreconditionFailed(Exception):
    """Adapter-internal signal (never leaves a store): one attempt lost a race, so re-read and re-decide."""


def retry_until_deadline(attempt: Callable[[], T], deadline_s: float, stats: StoreStats, what: str) -> T:
    """Run `attempt` until it does not raise PreconditionFailed, pausing with jittered backoff; an attempt that
    fails after the deadline raises Contention. At least one attempt always runs, the last one at the deadline
    (a pause never crosses it)."""
    import time

    started = time.monotonic()
    backoff = Backoff()
    while True:
        stats.attempts += 1
        try:
            return attempt()
        except PreconditionFailed:
            stats.conflicts += 1
            remaining = started + deadline_s - time.monotonic()
            if remaining <= 0:
                raise Contention(
                    f"{what} kept changing: {stats.attempts} attempts in {time.monotonic() - started:.2f} s "
                    f"(deadline {deadline_s:g} s)"
                ) from None
            time.sleep(min(backoff.next(), remaining))
