"""The service layer: one input through the unit of work — load, decide (pure), write, commit, then schedule.

    outcome = execute(services, inp)

`execute` opens one optimistic unit of work over the global document and the assets and orders the input loads
(`shared.service.loads`, the table the backtest reads too), lets the domain decide, and commits the changed
documents, new orders, closed trades and the audit record in one atomic batch.
Timers are enqueued only after the commit (deterministic task names: a re-run enqueues nothing twice).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.domain import Config, Decision, decide
from shared.domain.engine import audit_record, orders_needed
from shared.domain.inputs import Input, PollPending
from shared.domain.state import World
from shared.domain.view import state_view
from shared.scheduler.timer import Timer as Task
from shared.scheduler.timer import TimerLike
from shared.service.idempotency import IdempotencyKey, first_answer, stored_body
from shared.service.idempotency import record as idempotency_record
from shared.service.loads import loads
from shared.service.notify import enqueue as enqueue_notifications
from shared.service.notify import outbox_writes
from shared.store.api import OutcomeUnknown, Plan, Query, Reads, Store, Write
from shared.store.documents import (
    GLOBAL_PATH,
    asset_path,
    event_path,
    load_world,
    order_from_doc,
    order_path,
    revision,
    trade_path,
    with_rev,
)

# Statuses whose input changed nothing and is not worth an audit line: bad input and unknown ids.
UNLOGGED_STATUSES = frozenset({400, 401, 404})


@dataclass
class Services:
    store: Store
    config: Config
    clock: Callable[[], float]
    scheduler: Any = None                       # shared.scheduler.Scheduler; None = no timers (read paths)
    clock_offset: Callable[[], float] = lambda: 0.0
    on_schedule_error: Callable[[BaseException, Sequence[TimerLike]], None] | None = None
    timers_off: str | None = None               # why timers are off (their settings are missing); writes still work


@dataclass
class Outcome:
    decision: Decision
    request_id: str
    now: float
    state: dict[str, Any] | None = None
    writes: list[str] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)   # the `notify` tasks enqueued after the commit (D23)

    def body(self) -> dict[str, Any]:
        body = dict(self.decision.body)
        if self.state is not None:
            body["state"] = self.state
        return body


class _NeedOrders(Exception):
    def __init__(self, ids: set[str]) -> None:
        super().__init__(f"need orders {sorted(ids)}")
        self.ids = ids


def new_request_id() -> str:
    return uuid.uuid4().hex[:20]


def execute(services: Services, inp: Input, *, request_id: str | None = None,
            actor: Mapping[str, Any] | None = None, idempotency: IdempotencyKey | None = None) -> Outcome:
    """`actor`: the operator who made the request (`{uid, email, mode}`, from the shell's session check); the
    audit record stores it as `actor`, outside the pure domain's input (replay does not need it).
    `idempotency`: an operator command's key (shared.service.idempotency): a repeat answers the first outcome.

    A commit whose answer is lost is settled by the store through the audit record, the plan's witness (D19); if
    it cannot be, OutcomeUnknown carries this request's id."""
    request_id = request_id or new_request_id()
    now = services.clock()
    table = loads(inp, services.config)
    asset_keys = list(table.assets)
    queries = table.queries
    wanted = set(table.order_ids)
    while True:
        ids = sorted(wanted)
        paths = [GLOBAL_PATH, *(asset_path(k) for k in asset_keys), *(order_path(o) for o in ids)]
        if idempotency is not None:
            paths.append(idempotency.path)

        def plan(reads: Reads, ids: list[str] = ids) -> Plan[Outcome]:
            return _plan(services, inp, reads, asset_keys, ids, queries, now, request_id, actor, idempotency)

        try:
            outcome: Outcome = services.store.transact(paths, plan, queries=queries)
        except _NeedOrders as more:
            wanted |= more.ids
            continue
        except OutcomeUnknown as exc:
            exc.request_id = request_id  # type: ignore[attr-defined]  # the answer names it (D19)
            raise
        break
    _schedule(services, outcome)
    # D23: after the commit, the notifications it wrote (none written: nothing read, nothing enqueued)
    outcome.notified = enqueue_notifications(services, outcome.request_id, outcome.decision, outcome.writes,
                                             outcome.now)
    return outcome


def _plan(services: Services, inp: Input, reads: Reads, asset_keys: list[str], order_ids: list[str],
          queries: Sequence[Query], now: float, request_id: str,
          actor: Mapping[str, Any] | None = None, idempotency: IdempotencyKey | None = None) -> Plan[Outcome]:
    world = load_world(reads.docs, asset_keys, order_ids)
    if idempotency is not None:
        first = first_answer(reads.docs.get(idempotency.path), now)
        if first is not None:
            return Plan([], _repeat(services, world, first, now))
    queried: dict[str, dict[str, Any] | None] = {}
    for query in queries:
        for path, data in reads.queries.get(query, ()):
            order = order_from_doc(data)
            world.orders.setdefault(order.id, order)
            queried[path] = dict(data)
    missing = orders_needed(world, inp) - set(world.orders)
    if missing - set(order_ids):
        raise _NeedOrders(missing)
    decision = decide(world, inp, now, services.config, request_id)
    writes: list[Write] = []
    revs: dict[str, int] = {}
    docs = {**reads.docs, **queried}
    if decision.world is not world:
        writes, revs = _state_writes(world, decision, docs)
    witness = None
    if decision.status not in UNLOGGED_STATUSES and not _empty_poll(inp, decision, writes):
        record = audit_record(inp, now, request_id, decision)
        record["revs"] = revs
        record["read_revs"] = {p: revision(reads.docs, p) for p in reads.docs
                               if not p.startswith(("orders/", "idempotency/"))}
        record["expire_at"] = _expire_at(now, services.config)
        record["seq"] = commit_sequence()
        if actor is not None:
            record["actor"] = dict(actor)
        # a create: the record is the commit's witness (Plan.witness), so at most one attempt of a request lands
        witness = event_path(request_id)
        writes.append(Write(witness, "create", record))
        if decision.ok or decision.events:   # D23: the notifications of this decision, in its own commit
            writes.extend(outbox_writes(decision, request_id, now, record["expire_at"]))
        if idempotency is not None:
            writes.append(Write(idempotency.path, "set", idempotency_record(
                idempotency, now, request_id, decision.status, decision.code, decision.body, decision.include_state)))
    state = state_view(decision.world, now, services.config) if decision.include_state else None
    return Plan(writes, Outcome(decision, request_id, now, state, [w.path for w in writes]), witness)


_last_seq = 0
_seq_lock = threading.Lock()


def commit_sequence() -> int:
    """What orders the audit log (GET /api/logs, newest first): the real clock in nanoseconds when the record was
    planned, made strictly increasing within the process. `ts` is the decision's time and ties under a frozen dev
    clock (or within a second's rounding), so events of one second came back in no order; a retried attempt takes a
    new value, so the record that lands carries its own commit's place."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(time.time_ns(), _last_seq + 1)
        return _last_seq


def _repeat(services: Services, world: World, first: Mapping[str, Any], now: float) -> Outcome:
    """A repeated operator command: the first request's answer (its status, code and body; a state view, when it
    had one, is today's), and nothing written."""
    body = stored_body(first)
    decision = Decision(world, status=int(first["status"]), body=body, code=first.get("code"), duplicate=True,
                        include_state=False, touched=tuple)
    state = state_view(world, now, services.config) if first.get("with_state") else None
    return Outcome(decision, str(first.get("request_id") or ""), now, state)


def _empty_poll(inp: Input, decision: Decision, writes: list[Write]) -> bool:
    """A bridge poll that claimed nothing and changed no document: at one poll a second its audit lines alone
    would be ~86,000 writes a day, and the audit trail and replay lose nothing without them."""
    return (isinstance(inp, PollPending) and decision.ok and not decision.body.get("orders")
            and not decision.timers and not writes)


def _state_writes(before: World, decision: Decision, docs: Any) -> tuple[list[Write], dict[str, int]]:
    after = decision.world
    writes: list[Write] = []
    revs: dict[str, int] = {}

    def put(path: str, record: Any, old: Any, mode: str = "set") -> None:
        if old is not None and old == record:  # the records themselves: comparing them as dicts cost twice the time
            return
        rev = revision(docs, path) + 1
        revs[path] = rev
        writes.append(Write(path, mode, with_rev(record, rev)))  # type: ignore[arg-type]

    put(GLOBAL_PATH, after.glob, before.glob)
    for key, asset in after.assets.items():
        put(asset_path(key), asset, before.assets.get(key))
    for order_id, order in after.orders.items():
        old = before.orders.get(order_id)
        put(order_path(order_id), order, old, "set" if old is not None else "create")
    for row in decision.trades:
        writes.append(Write(trade_path(str(row["id"])), "create", dict(row)))
    return writes, revs


def _expire_at(now: float, config: Config) -> datetime:
    """The TTL field of an audit record (a Firestore Timestamp: the TTL policy ignores numbers)."""
    return utc(now + config.events_ttl_days * 86400.0)


def _schedule(services: Services, outcome: Outcome) -> None:
    timers = outcome.decision.timers
    if not timers or services.scheduler is None:
        return
    shift = services.clock_offset()
    # named by the clock's time, due at the real one (shared/service/clock.py)
    real = [Task(t.kind, t.key, max(0.0, t.at - shift), t.payload, name_at=t.at) for t in timers] if shift else timers
    try:
        outcome.scheduled = list(services.scheduler.schedule(real))
    except Exception as exc:  # state never depends on a timer: log loudly and answer
        if services.on_schedule_error is not None:
            services.on_schedule_error(exc, real)
        else:
            raise


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def read_world(services: Services, asset_keys: Iterable[str]) -> tuple[World, float]:
    """A consistent read of the global document and the assets, for the read-only views."""
    keys = sorted(set(asset_keys))
    docs = services.store.get([GLOBAL_PATH, *(asset_path(k) for k in keys)])
    return load_world(docs, keys, []), services.clock()

