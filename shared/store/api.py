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


class OutcomeUnknown(StorageUnavailable):
    """A commit was sent and its answer lost (a deadline, a dropped connection), and the store could not find out
    whether it landed (D19): the caller must not be told that nothing was written. HTTP 503 `OUTCOME_UNKNOWN`; a
    retry is safe only where the input is idempotent (a fill's `fill_id` or `cum_qty`, an `Idempotency-Key`)."""


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
    """`witness`: the path of one `create` in `writes` that only this unit of work makes (the request's audit
    record). Its existence proves the commit landed, and its `exists=False` precondition lets at most one attempt
    land: what lets the store find out a commit's outcome when the commit's answer is lost (D19)."""

    writes: list[Write] = field(default_factory=list)
    result: T | None = None
    witness: str | None = None


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


class CommitAmbiguous(Exception):
    """Adapter-internal signal (never leaves a store): the commit of `plan` was sent and its answer lost, so it may
    or may not have landed."""

    def __init__(self, plan: Plan[Any], cause: BaseException) -> None:
        super().__init__(f"commit outcome unknown: {type(cause).__name__}: {cause}")
        self.plan = plan
        self.cause = cause


def check_witness(plan: Plan[Any]) -> None:
    """A plan's witness must be one of its own `create` writes (else its existence would prove nothing)."""
    if plan.witness is not None and not any(w.path == plan.witness and w.mode == "create" for w in plan.writes):
        raise ValueError(f"witness {plan.witness!r} is not a create in the plan: expected one of its creates")


def retry_until_deadline(attempt: Callable[[str | None], T], deadline_s: float, stats: StoreStats, what: str,
                         read_witness: Callable[[str], Mapping[str, Any] | None] | None = None) -> T:
    """Run `attempt` until it does not raise PreconditionFailed, pausing with jittered backoff; an attempt that
    fails after the deadline raises Contention. At least one attempt always runs, the last one at the deadline
    (a pause never crosses it).

    An attempt whose commit answer was lost (CommitAmbiguous) is settled before anything is answered (D19): its
    witness is read (`read_witness`); found, the commit landed and its result is returned; missing, the next
    attempt re-reads and re-decides and must create the same witness (`attempt` is called with its path and
    checks that with `require_witness`), so only one of the two can land, and a DocumentExists on the witness
    means the earlier one did. Whatever cannot settle it raises OutcomeUnknown, never "nothing was written"."""
    import time

    started = time.monotonic()
    backoff = Backoff()
    lost = _LostCommits(read_witness)
    while True:
        stats.attempts += 1
        try:
            return attempt(lost.witness)
        except PreconditionFailed:
            stats.conflicts += 1
            remaining = started + deadline_s - time.monotonic()
            if remaining <= 0:
                lost.raise_if_any(f"{what} kept changing: {stats.attempts} attempts in "
                                  f"{time.monotonic() - started:.2f} s (deadline {deadline_s:g} s)")
            time.sleep(min(backoff.next(), remaining))
        except CommitAmbiguous as ambiguous:
            landed = lost.add(ambiguous)
            if landed is not None:
                return landed.plan.result  # type: ignore[return-value]  # the lost attempt planned this T
            # missing: it did not land (yet); the next attempt's create of the same witness settles it for good,
            # within the deadline like any retry
            if time.monotonic() - started >= deadline_s:
                lost.raise_if_any(f"{what}: commit answers lost until the deadline ({deadline_s:g} s)")
        except DocumentExists as exc:
            if exc.path != lost.witness:
                raise
            return lost.landed_for_sure().plan.result  # type: ignore[return-value]
        except StorageUnavailable as exc:
            if lost.witness is not None and not isinstance(exc, OutcomeUnknown):
                raise OutcomeUnknown(f"an earlier commit's outcome is unknown; then, finding out: {exc}") from exc
            raise


class _LostCommits:
    """The attempts of one unit of work whose commit answer was lost, and what their witness says of them."""

    def __init__(self, read_witness: Callable[[str], Mapping[str, Any] | None] | None) -> None:
        self._read = read_witness
        self._lost: list[CommitAmbiguous] = []

    @property
    def witness(self) -> str | None:
        """The witness every later attempt must create (None while no answer was lost)."""
        return self._lost[0].plan.witness if self._lost else None

    def raise_if_any(self, message: str) -> None:
        """The deadline passed: OutcomeUnknown if an answer was lost on the way, else Contention."""
        if self._lost:
            raise OutcomeUnknown(message) from self._lost[-1].cause
        raise Contention(message) from None

    def add(self, ambiguous: CommitAmbiguous) -> CommitAmbiguous | None:
        """Records a lost answer and reads the witness: the attempt that landed, or None if none has (yet)."""
        if ambiguous.plan.witness is None or self._read is None:
            raise OutcomeUnknown(str(ambiguous)) from ambiguous.cause
        self._lost.append(ambiguous)
        return self._landed()

    def landed_for_sure(self) -> CommitAmbiguous:
        """The witness exists (a later attempt's create of it was refused): which lost attempt wrote it."""
        landed = self._landed()
        if landed is None:
            raise OutcomeUnknown(f"{self.witness} exists but matches no attempt of this unit of work")
        return landed

    def _landed(self) -> CommitAmbiguous | None:
        witness = self.witness
        assert witness is not None and self._read is not None  # noqa: S101 - only called once one was added
        try:
            found = self._read(witness)
        except StoreError as exc:
            raise OutcomeUnknown(f"{self._lost[-1]}; then the witness could not be read: {exc}") from exc
        if found is None:
            return None
        for attempt in self._lost:
            written = next(w.data for w in attempt.plan.writes if w.path == witness)
            if plain(written) == plain(found):
                return attempt
        return self._lost[0] if len(self._lost) == 1 else None


def require_witness(plan: Plan[Any], pending: str | None) -> None:
    """After a commit whose answer was lost, every later attempt must create the same witness: a plan without it
    could be answered while the lost commit lands later."""
    if pending is not None and plan.witness != pending:
        raise OutcomeUnknown(f"an earlier commit's outcome is unknown and this attempt would not settle it "
                             f"(it does not create {pending!r})")
