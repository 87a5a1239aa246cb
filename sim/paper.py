"""The paper bridge: the reference client of the bridge contract (D9, D16) and a broker that fills at market.

It does what the VPS bridge does — polls for pending orders with an owner and a limit, reports WORKING /
PARTIALLY_FILLED / FILLED (with `fill_id` and `cum_qty`) / REJECTED, heartbeats every 10 s and sends PnL snapshots
every 2 s with its positions per contract and their open P&L at the current price — against any venue: the pure
domain for the backtest, the local stack, or a deployed control plane for a smoke test.

Fills are market fills at the market's current price, moved against the order by `slippage_ticks` ticks of its
contract (config.CONTRACTS); partial fills and rejects come at configured rates from a seeded generator, so a run
is repeatable. Only DEMO orders are filled unless `allow_live` is set: a LIVE order is rejected with a reason that
says so.

    python -m sim.paper --url http://127.0.0.1:5000 --price 6000      # BRIDGE_HEARTBEAT_SECRET from the environment
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from shared.domain.config import point_value, tick_size
from shared.domain.stops import CAPABILITY
from sim.venue import SNAPSHOT_CACHE, Fill, Http, Position, Venue, VenueError

START_BALANCE = 50_000.0
Snapshot = tuple[float, float, float, tuple[Position, ...]]   # balance, realized, unrealized, positions


class Market:
    """The market's time and price, shared by the replay that moves them and the bridge that fills at them."""

    def __init__(self, now: float | None = None, price: float | None = None) -> None:
        # one tuple, replaced whole: a reader on another thread sees a time and a price that belong together without
        # a lock (rebinding an attribute is atomic), and the backtest pays for no lock at any of its reads
        self._at: tuple[float | None, float | None] = (now, price)

    def move(self, now: float, price: float) -> None:
        self._at = (now, price)

    @property
    def now(self) -> float:
        now = self._at[0]
        return now if now is not None else time.time()

    @property
    def price(self) -> float | None:
        return self._at[1]


class RealTimeMarket(Market):
    """A market whose clock is the real one and whose price is fixed (a smoke test of a deployed stack)."""

    @property
    def now(self) -> float:
        return time.time()


@dataclass(frozen=True)
class Faults:
    """What a bad network or a flaky bridge does to reports (the soak's fault injection). Rates are per report."""

    drop: float = 0.0          # lost in transit; the bridge re-sends it `resend_after` steps later
    duplicate: float = 0.0     # sent twice
    reorder: float = 0.0       # a fill's WORKING arrives after its FILLED
    resend_after: int = 3
    outage: tuple[float, float] | None = None   # real-time seconds [start, end) after the first step: silent
    late_fill: float = 0.0     # per entry: the bridge reports CANCELLED, then the fills (a cancel that raced them)
    reject_stops: float = 0.0  # per protective stop: the broker refuses it (the position is unprotected, D21)
    stop_race: float = 0.0     # per exit naming a resting stop: the stop triggers just before the exit arrives


@dataclass(frozen=True)
class RestingStop:
    """A protective stop at the paper broker: sells (or buys) `qty` at the market once the price reaches it."""

    symbol: str
    side: str
    qty: int
    stop_price: float


@dataclass(frozen=True)
class PaperConfig:
    owner: str = "paper-1"
    limit: int = 10
    slippage_ticks: int = 1
    latency_s: float = 0.0          # real seconds between a claim and its reports (threaded runs)
    partial_rate: float = 0.0
    reject_rate: float = 0.0
    heartbeat_every: float = 10.0   # market seconds
    snapshot_every: float = 2.0     # market seconds
    flat_snapshot_every: float = 60.0   # market seconds between snapshots while nothing is open
    report_working: bool = True
    stops: bool = False             # declares the protective_stop capability and rests the stops it is sent (D21)
    allow_live: bool = False
    seed: int = 1
    faults: Faults = field(default_factory=Faults)
    # Threaded runs: > 0 = the long poll (issue 11): one request loop holding each poll up to this many seconds
    # on a thread of its own, while heartbeats, re-sends and snapshots keep their pace on run()'s loop.
    long_poll: float = 0.0


@dataclass
class Book:
    """The broker account: positions per contract and realized P&L in dollars. `fill` is what changes it."""

    balance: float = START_BALANCE
    realized: float = 0.0
    positions: dict[str, tuple[int, float]] = field(default_factory=dict)   # symbol → (qty signed, avg price)
    # the contracts held: the session asks "flat?" at every tick, and only a fill changes the answer
    _held: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    # snapshots by price while the positions stand: the price path revisits the same few levels. Keyed by the fill
    # count too, so one computed before a fill (on another thread) is never handed out after it
    _snapshots: dict[tuple[float, float, float, int], Snapshot] = field(default_factory=dict, init=False,
                                                                         repr=False, compare=False)
    _fills: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._held = {symbol for symbol, (held, _) in self.positions.items() if held}

    def fill(self, symbol: str, side: str, qty: int, price: float) -> None:
        signed = qty if side == "BUY" else -qty
        held, avg = self.positions.get(symbol, (0, 0.0))
        value = point_value(symbol)
        if held == 0 or (held > 0) == (signed > 0):
            total = held + signed
            avg = (avg * abs(held) + price * abs(signed)) / abs(total)
            self._set(symbol, total, avg)
            return
        closing = min(abs(held), abs(signed))
        self.realized += closing * (price - avg) * (1 if held > 0 else -1) * value
        rest = held + signed
        if rest == 0:
            self._set(symbol, 0, 0.0)
        elif (rest > 0) == (held > 0):
            self._set(symbol, rest, avg)
        else:
            self._set(symbol, rest, price)

    def _set(self, symbol: str, held: int, avg: float) -> None:
        self.positions[symbol] = (held, avg)
        (self._held.add if held else self._held.discard)(symbol)
        self._fills += 1
        self._snapshots.clear()

    def open_pnl(self, symbol: str, price: float) -> float:
        held, avg = self.positions.get(symbol, (0, 0.0))
        return (price - avg) * held * point_value(symbol)

    def snapshot(self, price: float) -> Snapshot:
        """(balance, realized, unrealized, positions) at `price`, as the broker's P&L feed reports them. The balance
        is the cash balance, closed P&L in and open P&L out: the control plane adds `unrealized` to it for the net
        liquidation value the dollar limits judge (D20)."""
        key = (price, self.balance, self.realized, self._fills)
        known = self._snapshots.get(key)
        if known is not None:
            return known
        rows = tuple(Position(symbol, held, round(self.open_pnl(symbol, price), 2), avg if held else None)
                     for symbol, (held, avg) in sorted(self.positions.items()))
        unrealized = sum(p.open_pnl for p in rows)
        made = round(self.balance + self.realized, 2), round(self.realized, 2), unrealized, rows
        if len(self._snapshots) >= SNAPSHOT_CACHE:   # a bound: the levels one position sees are far fewer
            self._snapshots.clear()
        self._snapshots[key] = made
        return made

    def is_flat(self) -> bool:
        return not self._held


@dataclass
class Stats:
    polls: int = 0
    claimed: int = 0
    fills: int = 0
    rejects: int = 0
    reports: int = 0
    duplicates_sent: int = 0
    dropped: int = 0
    reordered: int = 0
    refused_reports: int = 0
    heartbeats: int = 0
    snapshots: int = 0
    outage_steps: int = 0
    late_fills: int = 0
    stops_rested: int = 0
    stops_moved: int = 0
    stops_triggered: int = 0
    stops_rejected: int = 0
    exits_after_stop: int = 0      # exits refused STOP_ALREADY_FILLED: the stop had filled first (D21's race)
    claims: dict[str, int] = field(default_factory=dict)


class PaperBridge:
    """One bridge. `step()` does one round (heartbeat if due, poll, fill what was claimed, snapshot if due): the
    lock-step session calls it after every market event; `run()` loops it in real time for threaded runs."""

    def __init__(self, venue: Venue, market: Market, config: PaperConfig | None = None) -> None:
        self.venue = venue
        self.market = market
        self.config = config or PaperConfig()
        self.rng = random.Random(self.config.seed)  # noqa: S311 - a repeatable simulation, not a secret
        self.book = Book()
        self.stats = Stats()
        self._last_heartbeat: float | None = None
        self._last_snapshot: float | None = None
        self._resend: deque[tuple[int, Fill]] = deque()
        self._steps = 0
        self._started: float | None = None
        self._fill_seq = 0
        self._work = threading.RLock()  # the poll thread and run()'s loop share the book, the rng and the reports
        self.last_poll_status: int | None = None
        # D21: the protective stops resting at this paper broker, by order id, and the ones that have filled
        self.stops: dict[str, RestingStop] = {}
        self.stops_filled: set[str] = set()

    # --- one round --------------------------------------------------------------------------------------------
    def step(self) -> int:
        """One round; answers how many orders it claimed. Resting stops are judged against the market first, so a
        stop the price crossed fills before an exit that arrives in the same round (D21's race)."""
        if not self._tidy():
            return 0
        if self.stops:   # most rounds have no resting stop: no lock to take for them
            with self._work:
                self.trigger_stops()
        claimed = self.poll()
        self.snapshot_if_due(force=claimed > 0)
        return claimed

    def _tidy(self) -> bool:
        """A round's first half: heartbeat if due, re-sends due; False while the bridge is silent (an outage)."""
        with self._work:
            if self._started is None:
                self._started = time.monotonic()
            self._steps += 1
            if self.config.faults.outage is not None and self._in_outage():
                self.stats.outage_steps += 1
                return False
            now = self.market.now
            self.venue.set_time(now)
            if self._last_heartbeat is None or now - self._last_heartbeat >= self.config.heartbeat_every:
                self.heartbeat()
            if self._resend:
                self._resend_due()
            return True

    def housekeeping(self) -> None:
        """What the bridge does beside its long-poll loop: heartbeat, re-sends, resting stops and snapshots."""
        if self._tidy():
            with self._work:
                self.trigger_stops()
                self.snapshot_if_due()

    def heartbeat(self) -> None:
        info: dict[str, Any] = {"tsConnected": True, "pnlConnected": True, "account": "PAPER",
                                "owner": self.config.owner}
        if self.config.stops:
            info["capabilities"] = [CAPABILITY]
        self.venue.bridge_heartbeat(info)
        self._last_heartbeat = self.market.now
        self.stats.heartbeats += 1

    def on_clock(self, now: float) -> None:
        """The replay moved the stack's clock to `now`: a bridge waiting on its long poll is still there, so it
        heartbeats at once when the jump left its last heartbeat due (issue 21: no false "bridge not connected")."""
        with self._work:
            if self._in_outage():
                return
            if self._last_heartbeat is None or now - self._last_heartbeat >= self.config.heartbeat_every:
                try:
                    self.heartbeat()
                except VenueError as exc:
                    print(f"paper bridge: {exc}", file=sys.stderr)

    def poll(self, wait: float | None = None) -> int:
        status, body = self.venue.poll(self.config.owner, self.config.limit, wait)
        with self._work:
            self.last_poll_status = status
            self.stats.polls += 1
            orders = body.get("orders", []) if status == 200 else []
            for order in orders:
                self.stats.claimed += 1
                self.stats.claims[order["id"]] = self.stats.claims.get(order["id"], 0) + 1
                if self.config.latency_s:
                    time.sleep(self.config.latency_s)
                self.execute(order)
            return len(orders)

    def execute(self, order: dict[str, Any]) -> None:
        """Work one claimed order to its end: rejected, or filled (in two parts at the partial rate); a protective
        stop rests (or moves); an exit first cancels the stop it names, and is refused if that stop filled."""
        oid, qty, side, symbol = order["id"], int(order["qty"]), order["side"], order["asset"]
        if order.get("kind") == "STOP":
            self._rest_stop(order)
            return
        replaces = order.get("replaces_stop")
        race = self.config.faults.stop_race
        if race and replaces in self.stops and self.rng.random() < race:
            self._fill_stop(replaces)   # D21's race: the stop fills at the market as the exit arrives
        if replaces in self.stops_filled:
            self._send([Fill(oid, "REJECTED", reason="STOP_ALREADY_FILLED")])
            self.stats.exits_after_stop += 1
            return
        if replaces in self.stops:
            del self.stops[replaces]
            self._send([Fill(replaces, "CANCELLED", reason="cancelled before the exit that replaces it")])
        if order.get("env") == "LIVE" and not self.config.allow_live:
            reason = "paper bridge fills DEMO orders only (start it with --allow-live)"
            self._send([Fill(oid, "REJECTED", reason=reason)])
            self.stats.rejects += 1
            return
        if self.rng.random() < self.config.reject_rate:
            self._send([Fill(oid, "REJECTED", reason="Insufficient margin (paper bridge)")])
            self.stats.rejects += 1
            return
        price = self._fill_price(side, symbol)
        reports: list[Fill] = [Fill(oid, "WORKING")] if self.config.report_working else []
        late = self.config.faults.late_fill
        if late and order.get("kind") == "ENTRY" and self.rng.random() < late:
            # D19: the broker confirms a cancel and then reports the fills it had already made
            reports.append(Fill(oid, "CANCELLED", reason="cancel raced the fill (paper bridge fault)"))
            self.stats.late_fills += 1
        parts = [qty]
        if qty > 1 and self.rng.random() < self.config.partial_rate:
            first = self.rng.randint(1, qty - 1)
            parts = [first, qty - first]
        done = 0
        for part in parts:
            done += part
            self._fill_seq += 1
            status = "FILLED" if done == qty else "PARTIALLY_FILLED"
            reports.append(Fill(oid, status, qty=part, cum_qty=done, fill_price=price,
                                fill_id=f"{self.config.owner}-{self._fill_seq}"))
            self.book.fill(symbol, side, part, price)
            self.stats.fills += 1
        self._send(reports)

    def _rest_stop(self, order: dict[str, Any]) -> None:
        oid = order["id"]
        if self.config.faults.reject_stops and self.rng.random() < self.config.faults.reject_stops:
            self._send([Fill(oid, "REJECTED", reason="stop refused by the broker (paper bridge fault)")])
            self.stats.stops_rejected += 1
            return
        moved = oid in self.stops
        self.stops[oid] = RestingStop(order["asset"], order["side"], int(order["qty"]), float(order["stop_price"]))
        if moved:
            self.stats.stops_moved += 1
        else:
            self.stats.stops_rested += 1
        self._send([Fill(oid, "WORKING")])

    def trigger_stops(self) -> None:
        """A stop-market order: once the price trades through its level it fills at the market, with slippage."""
        price = self.market.price
        if price is None or not self.stops:
            return
        for oid, stop in list(self.stops.items()):
            if price <= stop.stop_price if stop.side == "SELL" else price >= stop.stop_price:
                self._fill_stop(oid)

    def _fill_stop(self, oid: str) -> None:
        stop = self.stops.pop(oid)
        self.stops_filled.add(oid)
        fill_price = self._fill_price(stop.side, stop.symbol)
        self._fill_seq += 1
        self.book.fill(stop.symbol, stop.side, stop.qty, fill_price)
        self.stats.stops_triggered += 1
        self.stats.fills += 1
        self._send([Fill(oid, "FILLED", qty=stop.qty, cum_qty=stop.qty, fill_price=fill_price,
                         fill_id=f"{self.config.owner}-{self._fill_seq}")])

    def _fill_price(self, side: str, symbol: str) -> float:
        price = self.market.price
        if price is None:
            raise VenueError("the paper bridge has no market price to fill at")
        tick = tick_size(symbol)
        slip = self.config.slippage_ticks * tick
        return round((price + slip if side == "BUY" else price - slip) / tick) * tick

    def snapshot_if_due(self, *, force: bool = False) -> None:
        now = self.market.now
        every = self.config.flat_snapshot_every if self.book.is_flat() else self.config.snapshot_every
        if force or self._last_snapshot is None or now - self._last_snapshot >= every:
            self.snapshot()

    def snapshot(self) -> None:
        price = self.market.price
        if price is None:
            return
        balance, realized, unrealized, rows = self.book.snapshot(price)
        self.venue.snapshot(balance, realized, unrealized, rows)
        self._last_snapshot = self.market.now
        self.stats.snapshots += 1

    # --- reports, with the faults of a bad network ----------------------------------------------------------------
    def _send(self, reports: list[Fill]) -> None:
        faults = self.config.faults
        if len(reports) > 1 and reports[0].status == "WORKING" and self.rng.random() < faults.reorder:
            reports = [*reports[1:], reports[0]]   # the WORKING report arrives last
            self.stats.reordered += 1
        for report in reports:
            if self.rng.random() < faults.drop:
                self.stats.dropped += 1
                self._resend.append((self._steps + faults.resend_after, report))
                continue
            self._report(report)
            if self.rng.random() < faults.duplicate:
                self.stats.duplicates_sent += 1
                self._report(report)

    def _report(self, report: Fill) -> None:
        status, _ = self.venue.report(report)
        self.stats.reports += 1
        if status != 200:  # e.g. a WORKING that arrives after its FILLED
            self.stats.refused_reports += 1

    def _resend_due(self) -> None:
        while self._resend and self._resend[0][0] <= self._steps:
            self._report(self._resend.popleft()[1])

    def flush(self) -> None:
        """Send every report still waiting for its re-send (end of a run)."""
        while self._resend:
            self._report(self._resend.popleft()[1])

    def _in_outage(self) -> bool:
        window = self.config.faults.outage
        if window is None or self._started is None:
            return False
        elapsed = time.monotonic() - self._started
        return window[0] <= elapsed < window[1]

    # --- real time -------------------------------------------------------------------------------------------------
    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Until `stop` is set (threaded runs and the command): poll every `interval` real seconds, or with
        `long_poll` one request loop on its own thread while this loop heartbeats and snapshots every `interval`."""
        poller = None
        if self.config.long_poll:
            poller = threading.Thread(target=self._poll_loop, args=(stop,), name=f"{self.config.owner}-poll",
                                      daemon=True)
            poller.start()
        while not stop.is_set():
            try:
                if poller is None:
                    self.step()
                else:
                    self.housekeeping()
            except VenueError as exc:
                print(f"paper bridge: {exc}", file=sys.stderr)
            stop.wait(interval)
        if poller is not None:
            poller.join(timeout=1.0)  # a held poll ends on its own within its wait; what it claims it still works
        with self._work:
            self.flush()

    def _poll_loop(self, stop: threading.Event) -> None:
        """The real bridge's loop of issue 11: the next held poll as soon as the last one answered."""
        if self._started is None:
            self._started = time.monotonic()
        while not stop.is_set():
            if self._in_outage():
                stop.wait(0.2)  # silent, as the round loop is
                continue
            try:
                if self.poll(self.config.long_poll):
                    with self._work:
                        self.snapshot_if_due(force=True)
                elif self.last_poll_status != 200:
                    stop.wait(1.0)  # refused: not again at once
            except VenueError as exc:
                if not stop.is_set():
                    print(f"paper bridge: {exc}", file=sys.stderr)
                stop.wait(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.paper", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("OPERATORLOCK_URL", "http://127.0.0.1:5000"),
                        help="the control plane (local stack or a deployed Hosting site)")
    parser.add_argument("--price", type=float, required=True, help="the price market orders fill at")
    parser.add_argument("--owner", default="paper-1")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between heartbeat/snapshot rounds (and between polls with --wait 0)")
    parser.add_argument("--wait", type=float, default=25.0,
                        help="long poll: hold each poll up to this many seconds (0: poll every --interval)")
    parser.add_argument("--slippage-ticks", type=int, default=1)
    parser.add_argument("--partial-rate", type=float, default=0.0)
    parser.add_argument("--reject-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds between a claim and its reports")
    parser.add_argument("--allow-live", action="store_true", help="also fill LIVE orders (never on a real account)")
    parser.add_argument("--stops", action="store_true",
                        help="declare the protective_stop capability and rest the stops the control plane sends (D21)")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until Ctrl-C)")
    args = parser.parse_args(argv)
    if not 0 <= args.wait <= 50:
        parser.error("--wait: seconds between 0 and 50 (the route's bound)")
    secret = os.environ.get("BRIDGE_HEARTBEAT_SECRET")
    if not secret:
        parser.error("BRIDGE_HEARTBEAT_SECRET is not set in the environment")
    venue = Http(args.url, bridge_secret=secret, dev_clock=False)
    config = PaperConfig(owner=args.owner, slippage_ticks=args.slippage_ticks, partial_rate=args.partial_rate,
                         reject_rate=args.reject_rate, latency_s=args.latency, allow_live=args.allow_live,
                         long_poll=args.wait, stops=args.stops)
    bridge = PaperBridge(venue, RealTimeMarket(price=args.price), config)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.seconds:
        threading.Timer(args.seconds, stop.set).start()
    how = f"long polls (wait={args.wait:g} s)" if args.wait else f"a poll every {args.interval} s"
    print(f"paper bridge {args.owner} on {args.url}: {how} (Ctrl-C stops)")
    bridge.run(stop, args.interval)
    s = bridge.stats
    print(f"polls {s.polls}, claimed {s.claimed}, fills {s.fills}, rejects {s.rejects}, snapshots {s.snapshots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
