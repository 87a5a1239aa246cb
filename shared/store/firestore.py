"""`FirestoreStore`: the optimistic unit of work of api.py on google-cloud-firestore.

Each attempt reads the named documents in one `get_all`, runs the queries, calls `decide`, and commits the
plan in ONE batch whose writes carry preconditions: `last_update_time` for a document that was read and
existed, `exists=False` for one that was read and missing, and for every `create`. The emulator (1.19.9)
refuses a stale `last_update_time` with FailedPrecondition and an `exists=False` on an existing document
with AlreadyExists, which wins when both occur in one batch; both (and Aborted) mean "re-read
and re-decide".

Every RPC runs with `retry=None` and an explicit timeout: the library's default retry turns an unreachable
server into minutes of waiting. Inside a request each RPC is also capped by the request's storage budget
(shared.store.budget: at most 1.5 s per RPC, 4 s from arrival in all), and so is the commit protocol's retry
loop: a frozen database (a process stopped, not dead, whose port still accepts connections) answers
StorageUnavailable within 1.5 s.
google.cloud.firestore is imported when the first client is built, not at import time (cold starts).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from shared.env import env_number
from shared.store.api import (
    CommitAmbiguous,
    DocumentExists,
    Plan,
    PreconditionFailed,
    Query,
    Reads,
    StatsRecorder,
    StorageUnavailable,
    StoreError,
    StoreStats,
    T,
    Write,
    check_witness,
    check_writes,
    deadline_seconds,
    plain,
    require_witness,
    retry_until_deadline,
    unique_paths,
)
from shared.store.budget import lift as lift_budget
from shared.store.budget import remaining as budget_remaining
from shared.store.budget import rpc_deadline
from shared.store.reconnect import LazyClient, unreachable

if TYPE_CHECKING:
    from google.cloud.firestore import Client

DEFAULT_RPC_TIMEOUT_S = 5.0
COLD_RPC_TIMEOUT_S = 10.0  # the first RPC of a process opens the channel: seen at 6 s on a loaded 2-core machine
_PORT_CHECK_TTL_S = 1.0
_MIN_RPC_S = 0.05  # less than this left of a request's budget: no RPC could answer in time


def _emulator_address() -> tuple[str, int] | None:
    address = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not address:
        return None
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return None  # not host:port; let the client report it
    return host.strip("[]") or "127.0.0.1", int(port)


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class FirestoreStore(StatsRecorder):
    """The Store of api.py on Firestore (or its emulator when FIRESTORE_EMULATOR_HOST is set).

    `project` defaults to GOOGLE_CLOUD_PROJECT, read when the client is first needed. `rpc_timeout_s` bounds
    each RPC (default env STORE_RPC_TIMEOUT_S, else 5 s); `deadline_s` bounds a whole unit of work including
    its retries (default: api.deadline_seconds, i.e. env STORE_DEADLINE_S, else 8 s).
    """

    def __init__(self, project: str | None = None, *, rpc_timeout_s: float | None = None,
                 deadline_s: float | None = None) -> None:
        super().__init__()
        self._project = project
        self._rpc_timeout_s = rpc_timeout_s
        self._deadline_s = deadline_s
        self._client: LazyClient[Client] = LazyClient(self._build_client)
        self._port_checked_at = -_PORT_CHECK_TTL_S
        # Until the first RPC has answered, requests are not capped by their budget (`_cold_start`): opening the
        # channel, fetching credentials (and, locally, the emulator's own warm-up) take a second or more once per
        # process, and a cold start must not turn into a 503. A database that froze later is caught by the budget.
        self._answered = False

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
        self._cold_start()
        with self._measured(stats):
            client = self._ready_client()
            deadline = deadline_seconds(deadline_s if deadline_s is not None else self._deadline_s)
            left = budget_remaining()
            if left is not None:  # re-deciding after a conflict stops with the request's budget too
                deadline = max(0.0, min(deadline, left))
            return retry_until_deadline(
                lambda pending: self._attempt(client, paths, queries, decide, stats, pending),
                deadline, stats, str(paths or [q.collection for q in queries]),
                read_witness=lambda path: self._read_docs(client, [path], stats)[0][path],
            )

    def get(self, paths: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        stats = StoreStats(attempts=1)
        paths = unique_paths(paths)
        self._cold_start()
        with self._measured(stats):
            docs, _ = self._read_docs(self._ready_client(), paths, stats)
            return docs

    def query(self, query: Query) -> Sequence[tuple[str, Mapping[str, Any]]]:
        stats = StoreStats(attempts=1)
        self._cold_start()
        with self._measured(stats):
            return [(path, data) for path, data, _ in self._run_query(self._ready_client(), query, stats)]

    def watch(self, query: Query, on_change: Callable[[int], None]) -> Listener:
        """A listener on `query` (equality filters only; order and limit ignored): `on_change(n)` with the number
        of matching documents, once for the first snapshot and then after every change, on the client's own
        thread. The stats bill what Firestore bills a listener: the first result (one read when empty), then one
        read per document that entered, changed or left."""
        from google.cloud.firestore_v1.base_query import FieldFilter

        client = self._ready_client()
        ref: Any = client.collection(query.collection)
        for field_path, op, value in query.where:
            ref = ref.where(filter=FieldFilter(field_path, op, value))
        first = [True]

        def snapshot(docs: Sequence[Any], changes: Sequence[Any], _read_time: Any) -> None:
            reads = max(1, len(docs)) if first[0] else len(changes)
            first[0] = False
            self._record(StoreStats(reads=reads, queries=1))
            on_change(len(docs))

        with _storage_errors("listen", self):
            return Listener(ref.on_snapshot(snapshot), lambda: self._client.current is client)

    # --- one attempt ---------------------------------------------------------------------------------------

    def _attempt(self, client: Client, paths: list[str], queries: Sequence[Query],
                 decide: Callable[[Reads], Plan[T]], stats: StoreStats, pending: str | None = None) -> T:
        docs, versions = self._read_docs(client, paths, stats)
        results: dict[Query, list[tuple[str, Mapping[str, Any]]]] = {}
        for query in queries:
            rows = []
            for path, data, update_time in self._run_query(client, query, stats):
                if versions.setdefault(path, update_time) != update_time:
                    raise PreconditionFailed  # changed between the get_all and this query: the reads disagree
                rows.append((path, data))
            results[query] = rows
        plan = decide(Reads(docs=docs, queries=results))
        check_writes(plan.writes)
        check_witness(plan)
        require_witness(plan, pending)
        for write in plan.writes:
            if write.mode == "create" and versions.get(write.path) is not None:
                raise DocumentExists(write.path)
        if plan.writes:
            self._commit(client, plan, versions, stats)
            stats.commits += 1
            stats.writes += len(plan.writes)
        return plan.result  # type: ignore[return-value]  # Plan.result is Optional only for its default

    def _read_docs(self, client: Client, paths: list[str], stats: StoreStats
                   ) -> tuple[dict[str, Mapping[str, Any] | None], dict[str, Any]]:
        docs: dict[str, Mapping[str, Any] | None] = dict.fromkeys(paths)
        versions: dict[str, Any] = dict.fromkeys(paths)  # update_time, None = missing
        if not paths:
            return docs, versions
        refs = [client.document(path) for path in paths]
        with _storage_errors("get_all", self):
            snapshots = list(client.get_all(refs, retry=None, timeout=self._rpc_timeout()))
        self._answered = True
        stats.reads += len(paths)
        for snap in snapshots:
            if snap.exists:
                docs[snap.reference.path] = snap.to_dict()
                versions[snap.reference.path] = snap.update_time
        return docs, versions

    def _run_query(self, client: Client, query: Query, stats: StoreStats
                   ) -> list[tuple[str, Mapping[str, Any], Any]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        ref: Any = client.collection(query.collection)
        for field_path, op, value in query.where:
            ref = ref.where(filter=FieldFilter(field_path, op, value))
        if query.order_by is not None:
            ref = ref.order_by(query.order_by, direction="DESCENDING" if query.descending else "ASCENDING")
        if query.limit is not None:
            ref = ref.limit(query.limit)
        with _storage_errors("query", self):
            snapshots = ref.get(retry=None, timeout=self._rpc_timeout())
        self._answered = True
        stats.queries += 1
        stats.reads += max(1, len(snapshots))
        return [(snap.reference.path, snap.to_dict(), snap.update_time) for snap in snapshots]

    def _commit(self, client: Client, plan: Plan[Any], versions: Mapping[str, Any], stats: StoreStats) -> None:
        from google.api_core import exceptions
        from google.cloud.firestore_v1 import _helpers

        writes = plan.writes
        batch = client.batch()
        for write in writes:
            ref = client.document(write.path)
            option = None
            if write.path in versions:
                update_time = versions[write.path]
                option = (client.write_option(exists=False) if update_time is None
                          else client.write_option(last_update_time=update_time))
            if write.mode == "delete":
                batch.delete(ref, option=option)
            elif write.mode == "create":
                batch.create(ref, plain(write.data))
            elif option is None:
                batch.set(ref, plain(write.data))
            else:
                # WriteBatch.set takes no precondition; a full replace with one is the same Write plus
                # `current_document`, built with the library's own helpers (pinned google-cloud-firestore).
                write_pbs = _helpers.pbs_for_set_no_merge(ref._document_path, plain(write.data))
                option.modify_write(write_pbs[0])
                batch._add_write_pbs(write_pbs)
        written = {w.path for w in writes}
        verified = [p for p, t in versions.items() if p not in written and t is not None]
        batch._add_write_pbs([_verify(client.document(p)._document_path, versions[p]) for p in verified])
        timeout = self._rpc_timeout()  # a budget too short for the call raises here: nothing was sent
        with _storage_errors("commit", self):
            try:
                batch.commit(retry=None, timeout=timeout)
                stats.verified += len(verified)
                return
            except (exceptions.FailedPrecondition, exceptions.Aborted) as exc:
                raise PreconditionFailed from exc
            except exceptions.AlreadyExists as exc:
                already_exists = exc
            except (exceptions.GoogleAPIError, OSError) as exc:
                # the request was sent: a deadline or a dropped connection does not say whether it was applied
                if unreachable(exc):
                    self._reconnect()
                raise CommitAmbiguous(plan, exc) from exc
        self._raise_if_blind_create_exists(client, writes, versions, stats)
        raise PreconditionFailed from already_exists

    def _raise_if_blind_create_exists(self, client: Client, writes: list[Write],
                                      versions: Mapping[str, Any], stats: StoreStats) -> None:
        """AlreadyExists does not say which write failed; a `create` of a document the decision never read
        will fail again on every retry, so that is a definitive DocumentExists rather than contention."""
        blind = [w.path for w in writes if w.mode == "create" and w.path not in versions]
        if not blind:
            return
        with _storage_errors("get_all", self):
            snapshots = list(client.get_all([client.document(p) for p in blind], retry=None,
                                            timeout=self._rpc_timeout()))
        stats.reads += len(blind)
        for snap in snapshots:
            if snap.exists:
                raise DocumentExists(snap.reference.path)

    # --- the client ----------------------------------------------------------------------------------------

    def _cold_start(self) -> None:
        """A call before the first RPC ever answered lifts the request's budget (see __init__)."""
        if not self._answered:
            lift_budget()

    def _rpc_timeout(self) -> float:
        """The deadline of the next RPC: the configured timeout, capped by the request's remaining budget."""
        if self._rpc_timeout_s is not None:
            timeout = self._rpc_timeout_s
        else:
            timeout = env_number("STORE_RPC_TIMEOUT_S", DEFAULT_RPC_TIMEOUT_S, lambda value: 0 < value < 60)
        if not self._answered:
            return max(timeout, COLD_RPC_TIMEOUT_S)
        left = rpc_deadline()
        if left is None:
            return timeout
        if left < _MIN_RPC_S:
            raise StorageUnavailable(
                f"Firestore did not answer within the request's storage budget "
                f"(STORE_REQUEST_BUDGET_S); {max(left, 0.0):.2f} s left is too little for another call")
        return min(timeout, left)

    def _ready_client(self) -> Client:
        """The lazily built client; with an emulator, first a cheap check that its port is open (a call to a
        stopped emulator would otherwise wait for the connection instead of failing)."""
        emulator = _emulator_address()
        if emulator is not None and time.monotonic() - self._port_checked_at > _PORT_CHECK_TTL_S:
            left = rpc_deadline()
            if not _port_open(*emulator, timeout=0.5 if left is None else max(0.05, min(0.5, left))):
                self._reconnect()  # the emulator that comes back is a cold process: connect afresh
                host, port = emulator
                raise StorageUnavailable(f"Firestore emulator at {host}:{port} is not listening")
            self._port_checked_at = time.monotonic()
        return self._client.get()

    def _reconnect(self) -> None:
        """After a server that could not be reached: the next call is cold again and builds a new client
        (shared.store.reconnect says why). Calls still holding the old client finish with it; its channel closes
        when the last of them lets it go."""
        self._answered = False
        self._client.forget()

    def _build_client(self) -> Client:
        from shared.store.channels import firestore_client  # imports the client library: first use only

        project = self._project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        try:
            return firestore_client(project)
        except Exception as exc:  # credentials or project missing: nothing can be stored
            raise StorageUnavailable(f"no Firestore client for project {project!r}: {exc}") from exc


class Listener:
    """A running `on_snapshot` listener: `active` until it is closed, its stream failed for good, or the store
    dropped the client it listens on (the server could not be reached: FirestoreStore._reconnect). That client's
    stream would keep retrying on a channel in reconnect backoff, so a server that came back could stay unheard for
    up to two minutes; whoever holds the listener starts a new one instead (shared.service.long_poll)."""

    def __init__(self, watch: Any, current: Callable[[], bool] = lambda: True) -> None:
        self._watch = watch
        self._current = current

    @property
    def active(self) -> bool:
        return bool(self._watch.is_active) and self._current()

    def close(self) -> None:
        self._watch.unsubscribe()


@contextmanager
def _storage_errors(operation: str, store: FirestoreStore | None = None) -> Iterator[None]:
    """Turns every google.api_core / transport failure into StorageUnavailable (keeping the cause). A server that
    cannot be reached at all makes `store` cold and drops its client (FirestoreStore._reconnect): the connection
    that comes back is a new one; a server that does not answer in time (frozen) does neither."""
    from google.api_core import exceptions
    from google.auth import exceptions as auth_exceptions

    try:
        yield
    except StoreError:
        raise
    except (exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError, OSError) as exc:
        if store is not None and unreachable(exc):
            store._reconnect()
        raise StorageUnavailable(f"Firestore {operation} failed: {type(exc).__name__}: {exc}") from exc


def _verify(name: str, update_time: Any) -> Any:
    """A write that changes nothing and fails unless the document is still at `update_time`: an update with an
    empty field mask under a `last_update_time` precondition. Firestore keeps a document's update_time when a write
    leaves it unchanged (WriteResult: "if the write did not actually change the document, this will be the previous
    update_time"; measured on the emulator), so it pins a document the decision read without writing it. Without
    it two decisions could each read what the other writes (write skew) and commit a history no serial order
    explains."""
    from google.cloud.firestore_v1.types import common, write

    when = update_time._pb if hasattr(update_time, "_pb") else update_time
    return write.Write(update={"name": name}, update_mask=common.DocumentMask(field_paths=[]),
                       current_document=common.Precondition(update_time=when))
