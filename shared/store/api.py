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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

T = TypeVar("T")

WriteMode = Literal["set", "create", "delete"]


class StoreError(Exception):
    """Base of storage failures. Safe to retry: nothing was written."""


class StorageUnavailable(StoreError):
    """Firestore could not be reached or answered an error (HTTP 503; the caller may retry later)."""


class Contention(StoreError):
    """The documents kept changing under us until the deadline (HTTP 503; the caller may retry)."""


@dataclass(frozen=True)
class Query:
    """An equality-filtered, ordered, limited query of one collection."""

    collection: str
    where: tuple[tuple[str, str, Any], ...] = ()
    order_by: str | None = None
    limit: int | None = None


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
