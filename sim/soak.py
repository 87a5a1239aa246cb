"""The soak: a whole day through the whole stack with a misbehaving bridge and a clicking operator, then proof.

    python -m sim.soak [--ticks N] [--profile NAME]          (make soak: the whole sample session, ≤ 5 minutes)

First the one truth: the lock-step replay of the whole session through a fresh stack must yield exactly the trades
of the in-process backtest. Then the faults: a local stack on free ports replays the session as fast as possible,
with the paper bridge on its own thread injecting faults (dropped reports re-sent later, duplicated reports, WORKING
after FILLED, a 10 s outage, fills reported after the bridge's own CANCELLED) and the auto-operator on another, while
the database freezes four times for 1.5 s (every request meanwhile answers 503, some after a commit that landed, and is
re-sent unchanged). Afterwards it checks, from what the stack stored:

- the stored state equals the serial replay of the audit log (`shared.domain.replay` in commit order);
- each order was handed out once;
- never two exits in flight for one asset;
- every asset's position equals its net fills, and the paper broker's position.

Prints a table of figures and exits non-zero when an invariant fails.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from shared.domain import default_config, replay
from shared.domain.state import AssetState, GlobalState
from shared.store.documents import load_world, stored
from sim.paper import Faults, PaperConfig
from sim.replay import Replay, ReplayConfig
from sim.session import PROFILES
from sim.sources import sample_session

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = ("FILLED", "REJECTED", "CANCELLED")
SOAK_FAULTS = Faults(drop=0.05, duplicate=0.1, reorder=0.2, resend_after=2, outage=(20.0, 30.0), late_fill=0.3,
                     reject_stops=0.1, stop_race=0.5)
# The database stopped (SIGSTOP) for a moment, four times, while everything runs: requests answer 503, some of them
# after a commit that landed or may have (D19), and are re-sent unchanged. (start, length) in s after the replay began.
DATABASE_FREEZES = ((3.0, 1.5), (6.0, 1.5), (9.0, 1.5), (12.0, 1.5))


class NotSerializable(ValueError):
    """The audit log has a cycle of read/write dependencies: the stored history is not serializable."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Figures:
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: object) -> None:
        self.rows.append((name, str(value)))


def commit_order(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The audit records in an order consistent with their commits: each record read some revisions and wrote the
    next ones (`read_revs`, `revs`), so the writer of revision r of a document precedes every record that read r,
    which precede the writer of r + 1. Records that share no document are ordered by time, then id."""
    records = sorted(events, key=lambda e: (float(e["ts"]), str(e["request_id"])))
    writer: dict[tuple[str, int], int] = {}
    for i, e in enumerate(records):
        for path, rev in (e.get("revs") or {}).items():
            writer[(path, int(rev))] = i
    graph: dict[int, set[int]] = {i: set() for i in range(len(records))}
    for i, e in enumerate(records):
        for path, rev in (e.get("revs") or {}).items():
            before = writer.get((path, int(rev) - 1))
            if before is not None:
                graph[i].add(before)
        for path, rev in (e.get("read_revs") or {}).items():
            before = writer.get((path, int(rev)))
            if before is not None and before != i:
                graph[i].add(before)
            after = writer.get((path, int(rev) + 1))
            if after is not None and after != i:
                graph[after].add(i)
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as exc:
        ids = [str(records[i]["request_id"]) for i in exc.args[1]]
        raise NotSerializable(f"no serial order explains records {ids}: each read what another wrote") from None
    ordered: list[int] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.extend(ready)
        sorter.done(*ready)
    return [records[i] for i in ordered]


def check_invariants(docs: Mapping[str, Mapping[str, dict[str, Any]]], broker: Mapping[str, int],
                     claims: Mapping[str, int]) -> list[Check]:
    """Every invariant of the soak over the stored documents: `docs[collection][path] = data`."""
    config = default_config()
    checks: list[Check] = []
    events = list(docs.get("events", {}).values())
    try:
        world = replay(commit_order(events), config)
    except NotSerializable as exc:
        return [Check("stored state == serial replay of the audit log", False, str(exc))]
    # both sides as the store keeps them (sparse: what differs from the defaults)
    kept = load_world({**docs.get("console", {}), **docs.get("assets", {})}, sorted(config.assets), [])
    pairs: list[tuple[str, GlobalState | AssetState, GlobalState | AssetState]] = [
        ("global", world.glob, kept.glob), *((k, a, kept.assets[k]) for k, a in world.assets.items())]
    diffs = []
    for label, replayed_record, kept_record in pairs:
        replayed, stored_doc = stored(replayed_record), stored(kept_record)
        diffs += [f"{label}.{k}" for k in set(replayed) | set(stored_doc) if replayed.get(k) != stored_doc.get(k)]
    differs = f"; differs in {sorted(set(diffs))[:8]}" if diffs else ""
    checks.append(Check("stored state == serial replay of the audit log", not diffs,
                        f"{len(events)} records replayed{differs}"))

    handed = Counter(d.get("detail", {}).get("order_id") for e in events for d in e.get("decisions", [])
                     if d.get("kind") == "order_claimed")
    twice = [oid for oid, n in handed.items() if n > 1] + [oid for oid, n in claims.items() if n > 1]
    checks.append(Check("each order handed out once", not twice,
                        f"{len(handed)} orders claimed" + (f"; twice: {twice[:5]}" if twice else "")))

    orders = [o for o in docs.get("orders", {}).values()]
    overlapping = _overlapping_exits(orders)
    checks.append(Check("never two exits in flight for one asset", not overlapping,
                        f"{sum(o.get('kind') == 'EXIT' for o in orders)} exit orders"
                        + (f"; overlapping: {overlapping[:3]}" if overlapping else "")))

    bad = []
    for key in config.assets:
        net = sum((1 if o["side"] == "BUY" else -1) * int(o.get("filled_qty") or 0) for o in orders
                  if o.get("asset") == key)
        position = int(docs.get("assets", {}).get(f"assets/{key}", {}).get("position") or 0)
        held = sum(q for symbol, q in broker.items() if symbol.startswith(config.assets[key].traded_root))
        if not (net == position == held):
            bad.append(f"{key}: position {position}, net fills {net}, paper broker {held}")
    checks.append(Check("positions == net fills == the broker's", not bad, "; ".join(bad) or "every asset agrees"))
    return checks


def _overlapping_exits(orders: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of EXIT orders of one asset whose lives (created → terminal) overlap."""
    spans = defaultdict(list)
    for o in orders:
        if o.get("kind") != "EXIT":
            continue
        end = float(o.get("updated_at") or 0) if o.get("status") in TERMINAL else float("inf")
        spans[o["asset"]].append((float(o.get("created_at") or 0), end, o["id"]))
    pairs = []
    for rows in spans.values():
        rows.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(rows):
            if start < end:
                pairs.append((first, second))
    return pairs


def read_all(stack: Any) -> dict[str, dict[str, dict[str, Any]]]:
    os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{stack.firestore_port}"
    os.environ["GOOGLE_CLOUD_PROJECT"] = stack.project
    from shared.store.api import Query
    from shared.store.firestore import FirestoreStore

    store = FirestoreStore(stack.project)
    return {c: {path: dict(data) for path, data in store.query(Query(c))}
            for c in ("console", "assets", "orders", "trades", "events")}


def one_truth(path: Sequence[Any], profile: str, figures: Figures) -> Check:
    """Issue 8, item 9 over the whole path: the lock-step replay through a fresh stack yields the backtest's trades."""
    from devstack.run import LocalStack
    from sim import backtest
    from sim.session import comparable

    paper = PaperConfig(heartbeat_every=30.0, partial_rate=0.2, seed=5)
    expected = backtest.run(list(path), PROFILES[profile], paper)
    password = secrets.token_urlsafe(16)
    base = {**os.environ, "DASHBOARD_PASSWORD": password}
    with LocalStack.on_free_ports(log_dir=ROOT / ".local" / "soak-lockstep", base_env=base) as stack:
        run = Replay(ReplayConfig(
            url=stack.url, tv_secret=stack.secrets["TV_WEBHOOK_SECRET"],
            bridge_secret=stack.secrets["BRIDGE_HEARTBEAT_SECRET"], password=password, lockstep=True, bridge=True,
            profile=PROFILES[profile], paper=paper,
        ))
        stats = run.run(path)
        got = comparable(run.venues[0].trades())
    want = comparable(expected.trades)
    figures.add("lock-step replay", f"{stats.elapsed:.1f} s, {sum(v.requests_sent for v in run.venues)} requests, "
                                    f"{len(got)} trades (backtest: {len(want)})")
    first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    detail = f"{len(want)} trades, every one equal" if got == want else (
        f"{len(got)} vs {len(want)} trades; first difference at #{first}: {got[first] if first is not None else ''}")
    return Check("lock-step replay through the stack == backtest", got == want and not run.errors, detail)


def soak(ticks: int, profile: str, out: Any = None, *, lockstep: bool = True) -> int:
    from rich.console import Console
    from rich.table import Table

    from devstack.run import LocalStack

    console = Console(file=out)
    figures = Figures()
    path = sample_session()[: ticks or None]
    began = time.monotonic()
    truth = [one_truth(path, profile, figures)] if lockstep else []
    password = secrets.token_urlsafe(16)   # the soak's own stack: a password-protected dashboard, as in the cloud
    base = {**os.environ, "DASHBOARD_PASSWORD": password}
    with LocalStack.on_free_ports(log_dir=ROOT / ".local" / "soak", base_env=base) as stack:
        figures.add("stack started in", f"{stack.started_in:.1f} s")
        replay_run = Replay(ReplayConfig(
            url=stack.url, tv_secret=stack.secrets["TV_WEBHOOK_SECRET"],
            bridge_secret=stack.secrets["BRIDGE_HEARTBEAT_SECRET"], password=password, bridge=True,
            profile=PROFILES[profile], poll_interval=0.2, look_interval=0.3,
            paper=PaperConfig(heartbeat_every=30.0, partial_rate=0.2, reject_rate=0.05, seed=11, stops=True,
                              faults=SOAK_FAULTS),
        ))
        with freezing(stack, DATABASE_FREEZES) as frozen:
            stats = replay_run.run(path)
        bridge = replay_run.bridge
        assert bridge is not None  # noqa: S101 - started with a bridge
        bridge.flush()
        for _ in range(3):   # let the last reports and snapshots settle (reconciliation needs two in a row)
            bridge.step()
        docs = read_all(stack)
        figures.add("ticks / bricks / heartbeats", f"{stats.ticks} / {stats.bricks} / {stats.heartbeats}")
        figures.add("replay", f"{stats.elapsed:.1f} s, {stats.bricks_per_s:,.0f} bricks/s")
        figures.add("requests sent (of which 503s retried)", f"{sum(v.requests_sent for v in replay_run.venues)} "
                    f"({sum(v.retried for v in replay_run.venues)})")
        s = bridge.stats
        figures.add("bridge: polls / claimed / fills / rejects", f"{s.polls} / {s.claimed} / {s.fills} / {s.rejects}")
        figures.add("faults: dropped+resent / duplicated / reordered / outage steps",
                    f"{s.dropped} / {s.duplicates_sent} / {s.reordered} / {s.outage_steps}")
        figures.add("reports refused (e.g. WORKING after FILLED)", s.refused_reports)
        figures.add("late fills (CANCELLED, then the fills)", s.late_fills)
        figures.add("protective stops: rested / moved / triggered / rejected / exits refused (stop filled first)",
                    f"{s.stops_rested} / {s.stops_moved} / {s.stops_triggered} / {s.stops_rejected} / "
                    f"{s.exits_after_stop}")
        figures.add("database frozen / answers OUTCOME_UNKNOWN (re-sent)",
                    f"{len(frozen)} × 1.5 s / {sum(v.outcome_unknown for v in replay_run.venues)}")
        if replay_run.operator is not None:
            o = replay_run.operator.stats
            figures.add("operator: looks / entries", f"{o.looks} / {o.entries}")
            figures.add("operator: blocked by", ", ".join(f"{k} {v}" for k, v in o.blocked.most_common(6)) or "—")
        figures.add("trades closed", len(docs["trades"]))
        figures.add("audit records", len(docs["events"]))
        figures.add("errors", "; ".join(replay_run.errors[:3]) or "none")
        broker = {symbol: held for symbol, (held, _) in bridge.book.positions.items()}
        checks = truth + check_invariants(docs, broker, s.claims)
    figures.add("total", f"{time.monotonic() - began:.1f} s")
    table = Table(title="Soak", show_header=False)
    for name, value in figures.rows:
        table.add_row(name, value)
    console.print(table)
    result = Table(title="Invariants")
    result.add_column("invariant")
    result.add_column("")
    result.add_column("detail")
    for check in checks:
        result.add_row(check.name, "ok" if check.ok else "FAILED", check.detail)
    console.print(result)
    return 0 if all(c.ok for c in checks) and not replay_run.errors else 1


@contextmanager
def freezing(stack: Any, windows: Sequence[tuple[float, float]]) -> Iterator[list[float]]:
    """Stops the stack's Firestore (SIGSTOP: its port still takes requests, nothing answers) for each window
    (start, length) after entry, on a thread of its own; yields the list of freezes done. Always resumed."""
    process = next(p for p in stack.processes if p.name == "firestore").proc
    done: list[float] = []
    stop = threading.Event()

    def run() -> None:
        began = time.monotonic()
        for start, length in windows:
            if stop.wait(max(0.0, began + start - time.monotonic())):
                return
            os.kill(process.pid, signal.SIGSTOP)
            try:
                stop.wait(length)
            finally:
                os.kill(process.pid, signal.SIGCONT)
            done.append(length)

    thread = threading.Thread(target=run, name="soak-freezes", daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join()
        os.kill(process.pid, signal.SIGCONT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=0, help="only the first N ticks (default: the whole session)")
    parser.add_argument("--profile", default="tp8-flip", choices=sorted(PROFILES))
    parser.add_argument("--no-lockstep", action="store_true", help="skip the lock-step == backtest phase")
    args = parser.parse_args(argv)
    return soak(args.ticks, args.profile, lockstep=not args.no_lockstep)


if __name__ == "__main__":
    sys.exit(main())
