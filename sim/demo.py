"""`make demo`: the local stack, the paper bridge and the replay of the sample session, for an operator to watch.

    python -m sim.demo [--speed 30] [--auto PROFILE] [--port 5000]

Starts everything `make run` starts, prints the dashboard URL, then replays the sample session at `--speed` times
real time (market time through the frozen dev clock) with the paper bridge filling orders on its own thread, the
sample day's blackout window in force (`--no-blackout` leaves it out) and the watchdog ticking once a minute of
market time. The operator watches and clicks; `--auto PROFILE` adds an unattended operator. When the session ends
the stack stays up (the clock stays at the session's end) until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from devstack.emulators import EmulatorError, free_port
from devstack.run import LocalStack, describe
from sim.paper import PaperConfig
from sim.replay import Replay, ReplayConfig, parse_speed, run_with_progress
from sim.session import PROFILES
from sim.sources import sample_blackouts, sample_session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=parse_speed, default=30.0, metavar="max|N",
                        help="times real time (default 30: the day in about 15 minutes)")
    parser.add_argument("--auto", choices=sorted(PROFILES), help="an unattended operator with this profile")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--receiver", action="store_true",
                        help="print every notification (fills, exits, locks…) at a local receiver (issue 20)")
    parser.add_argument("--no-blackout", action="store_true",
                        help="leave out the sample day's blackout window (sim/data/sample_gates.json, issue 19)")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    stack = LocalStack(port=args.port, firestore_port=free_port(), tasks_port=free_port(),
                       receiver=args.receiver)
    try:
        stack.start()
    except EmulatorError as exc:
        print(f"local stack failed to start: {exc}", file=sys.stderr)
        return 1
    try:
        print(describe(stack), flush=True)
        print(f"\nDemo: open {stack.url}/ — the sample session replays at "
              f"{'full speed' if args.speed is None else f'{args.speed:g}x'}; the paper bridge fills the orders"
              + (f"; auto-operator profile {args.auto}" if args.auto else "; you are the operator") + ".",
              flush=True)
        blackouts = () if args.no_blackout else tuple(sample_blackouts())
        for w in blackouts:
            print(f"Blackout (D22): {w['label']} {w['start']} to {w['end']}"
                  + (f", open positions flattened {w['flatten_before_s']} s before" if w.get("flatten_before_s")
                     else ""), flush=True)
        print(flush=True)
        replay = Replay(ReplayConfig(
            url=stack.url, tv_secret=stack.secrets["TV_WEBHOOK_SECRET"],
            bridge_secret=stack.secrets["BRIDGE_HEARTBEAT_SECRET"], password=stack.env.get("DASHBOARD_PASSWORD"),
            pace=args.speed, bridge=True, profile=PROFILES[args.auto] if args.auto else None,
            paper=PaperConfig(heartbeat_every=10.0, latency_s=0.05, long_poll=25.0),
            blackouts=blackouts, watchdog=stack.tick_watchdog,
        ))
        status = run_with_progress(replay, sample_session())
        if replay.interrupted:   # Ctrl-C during the replay stops the whole demo
            return status
        print("\nThe session is over; the stack stays up for you to look around. Ctrl-C stops it.", flush=True)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, request_stop)
        while not stop.wait(0.5):
            pass
        return status
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()
        print("demo stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
