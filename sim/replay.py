"""Market replay: post to the control plane exactly what TradingView's alerts would, from a price path.

    python -m sim.replay [--url URL] [--csv FILE] [--speed max|1|60] [--bridge] [--auto PROFILE] [--lockstep]

For each brick of the six box sizes it posts the alert template's JSON (`text/plain`, the secret, the asset as
TradingView's `{{ticker}}`, the colour, `{{time}}`-like bar id) to the stream's webhook, plus a price heartbeat
every `--heartbeat` seconds of market time. On the local stack it sets market time through the frozen dev clock,
so every function decides at the bar's time; against a deployed URL (`--no-dev-clock`) it runs in real time.

`--bridge` runs the paper bridge beside it and `--auto PROFILE` an unattended operator. `--lockstep` makes them act
after every market event before the next (deterministic: the trades equal the backtest's); otherwise they run on
their own threads like the real bridge and a person would. Secrets come from the environment
(TV_WEBHOOK_SECRET, BRIDGE_HEARTBEAT_SECRET, DASHBOARD_PASSWORD). Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse

from sim.paper import Market, PaperBridge, PaperConfig
from sim.session import PROFILES, AutoOperator, Profile, Session, SessionConfig, SessionStats
from sim.sources import SourceError, Tick, load, sample_session
from sim.venue import Http, VenueError


@dataclass
class ReplayConfig:
    url: str
    tv_secret: str
    bridge_secret: str = ""
    password: str | None = None
    dev_clock: bool = True
    pace: float | None = None             # None: as fast as possible
    lockstep: bool = False
    bridge: bool = False
    profile: Profile | None = None
    heartbeat_every: float = 60.0
    poll_interval: float = 1.0            # threaded bridge: real seconds between polls
    look_interval: float = 1.0            # threaded operator: real seconds between looks
    # threaded: the long poll (wait=25) as the real bridge runs it; lock-step rounds poll without waiting
    paper: PaperConfig = field(default_factory=lambda: PaperConfig(heartbeat_every=30.0, long_poll=25.0))
    # blackout windows (D22) as POST /api/calendar takes them, added once the clock stands at the first tick
    blackouts: tuple[dict[str, Any], ...] = ()
    # the watchdog's tick (the local stack's `LocalStack.tick_watchdog`), called once a minute of market time, as
    # Cloud Scheduler calls it once a minute: under the replay's frozen clock the silences (D23) and the
    # flatten-before of a blackout (D22) then follow market time
    watchdog: Callable[[], object] | None = None


@dataclass
class Replay:
    """One replay run; `venues` are the HTTP clients it made (their request counts are figures worth printing)."""

    config: ReplayConfig
    market: Market = field(default_factory=Market)
    stop: threading.Event = field(default_factory=threading.Event)
    bridge: PaperBridge | None = None
    operator: AutoOperator | None = None
    venues: list[Http] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: str | None = None        # the signal that stopped the run early (Ctrl-C, SIGTERM)

    def _venue(self, dev_clock: bool) -> Http:
        c = self.config
        venue = Http(c.url, tv_secret=c.tv_secret, bridge_secret=c.bridge_secret, password=c.password,
                     dev_clock=dev_clock)
        self.venues.append(venue)
        return venue

    def run(self, ticks: Sequence[Tick], progress: Callable[[int, int], None] | None = None) -> SessionStats:
        c = self.config
        main = self._venue(c.dev_clock)
        # threaded helpers get their own clients, which never move the clock: only the market replay does
        side = main if c.lockstep else None
        if c.bridge:
            self.bridge = PaperBridge(side or self._venue(False), self.market, c.paper)
        if c.profile is not None:
            self.operator = AutoOperator(side or self._venue(False), c.profile)
        if self.bridge is not None and not c.lockstep:
            main.clock_listeners.append(self.bridge.on_clock)
        if c.watchdog is not None:
            main.clock_listeners.append(self._each_minute(c.watchdog))
        if c.blackouts and ticks:
            self._add_blackouts(main, ticks[0].ts)
        threads = [] if c.lockstep else self._start_threads()
        session = Session(main, self.market, self.bridge if c.lockstep else None,
                          self.operator if c.lockstep else None,
                          SessionConfig(heartbeat_every=c.heartbeat_every, lockstep=c.lockstep, pace=c.pace))
        try:
            return session.run(ticks, stop=self.stop, progress=progress)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=10)
            if c.dev_clock:
                try:
                    main.release_clock()
                except VenueError as exc:
                    self.errors.append(str(exc))

    def _add_blackouts(self, venue: Http, first: float) -> None:
        venue.set_time(first)
        status, body = venue.calendar(list(self.config.blackouts))
        if status != 201:
            self.errors.append(f"blackout windows refused ({status}): {body.get('error')}")

    def _each_minute(self, tick: Callable[[], object]) -> Callable[[float], None]:
        last: list[int] = []

        def on_clock(now: float) -> None:
            minute = int(now // 60)
            if last and last[0] == minute:
                return
            last[:] = [minute]
            try:
                tick()
            except OSError as exc:   # the stack's own client: a failed tick is reported, the replay goes on
                self.errors.append(f"watchdog tick failed: {exc}")

        return on_clock

    def _start_threads(self) -> list[threading.Thread]:
        threads = []
        if self.bridge is not None:
            threads.append(threading.Thread(target=self.bridge.run, args=(self.stop, self.config.poll_interval),
                                            name="paper-bridge", daemon=True))
        if self.operator is not None:
            threads.append(threading.Thread(target=self._operate, name="auto-operator", daemon=True))
        for thread in threads:
            thread.start()
        return threads

    def _operate(self) -> None:
        assert self.operator is not None  # noqa: S101 - started only with an operator
        while not self.stop.wait(self.config.look_interval):
            try:
                self.operator.step()
            except VenueError as exc:
                self.errors.append(str(exc))


def is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def parse_speed(text: str) -> float | None:
    if text == "max":
        return None
    speed = float(text)
    if not speed > 0:
        raise argparse.ArgumentTypeError("speed: 'max' or a number > 0 (1 = real time)")
    return speed


def progress_bar(total: int) -> tuple[Any, Callable[[int, int], None]]:
    """A rich progress bar over ticks that shows bricks posted and bricks per second."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                   TimeElapsedColumn())
    task = bar.add_task("replay", total=total, rate="")
    started: list[float] = []

    def update(ticks: int, bricks: int) -> None:
        if not started:
            started.append(time.monotonic())
        elapsed = max(time.monotonic() - started[0], 1e-9)
        bar.update(task, completed=ticks, rate=f"{bricks} bricks, {bricks / elapsed:,.0f} bricks/s")

    return bar, update


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("OPERATORLOCK_URL", "http://127.0.0.1:5000"))
    parser.add_argument("--csv", type=Path, help="a TradingView export or a ts,price file (default: the sample)")
    parser.add_argument("--speed", type=parse_speed, default=None, metavar="max|N",
                        help="max (default) as fast as possible, 1 real time, N times faster")
    parser.add_argument("--bridge", action="store_true", help="run the paper bridge too")
    parser.add_argument("--auto", choices=sorted(PROFILES), help="an unattended operator with this profile")
    parser.add_argument("--lockstep", action="store_true", help="bridge and operator act after every event")
    parser.add_argument("--heartbeat", type=float, default=60.0, help="market seconds between price heartbeats")
    parser.add_argument("--no-dev-clock", action="store_true", help="real time (a deployed control plane)")
    parser.add_argument("--ticks", type=int, default=0, help="replay only the first N ticks")
    args = parser.parse_args(argv)
    tv_secret = os.environ.get("TV_WEBHOOK_SECRET")
    if not tv_secret:
        parser.error("TV_WEBHOOK_SECRET is not set in the environment")
    if (args.bridge or args.lockstep) and not os.environ.get("BRIDGE_HEARTBEAT_SECRET"):
        parser.error("BRIDGE_HEARTBEAT_SECRET is not set in the environment (needed by --bridge)")
    dev_clock = not args.no_dev_clock
    if dev_clock and not is_local(args.url):
        parser.error("the dev clock exists on the local stack only: add --no-dev-clock for a deployed URL")
    try:
        ticks = load(args.csv) if args.csv else sample_session()
    except SourceError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    if args.ticks:
        ticks = ticks[: args.ticks]
    config = ReplayConfig(
        url=args.url, tv_secret=tv_secret, bridge_secret=os.environ.get("BRIDGE_HEARTBEAT_SECRET", ""),
        password=os.environ.get("DASHBOARD_PASSWORD"), dev_clock=dev_clock, pace=args.speed,
        lockstep=args.lockstep, bridge=args.bridge or args.lockstep, heartbeat_every=args.heartbeat,
        profile=PROFILES[args.auto] if args.auto else None,
    )
    replay = Replay(config)
    return run_with_progress(replay, ticks)


def run_with_progress(replay: Replay, ticks: Sequence[Tick]) -> int:
    """Run with a progress bar; Ctrl-C (or SIGTERM) stops after the current tick and the clock is given back."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        replay.interrupted = signal.Signals(signum).name
        replay.stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    bar, update = progress_bar(len(ticks))
    try:
        with bar:
            stats = replay.run(ticks, update)
    except VenueError as exc:
        print(f"replay stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sent = sum(v.requests_sent for v in replay.venues)
    print(f"{stats.ticks} ticks, {stats.bricks} bricks, {stats.heartbeats} heartbeats in {stats.elapsed:.1f} s "
          f"({stats.bricks_per_s:,.0f} bricks/s, {sent} requests)" + (f" — stopped by {replay.interrupted}"
                                                                       if replay.interrupted else ""))
    if replay.bridge is not None:
        s = replay.bridge.stats
        print(f"paper bridge: {s.claimed} orders claimed, {s.fills} fills, {s.rejects} rejects, "
              f"{s.snapshots} snapshots")
    for error in replay.errors:
        print(f"error: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
