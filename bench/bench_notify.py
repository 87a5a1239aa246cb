"""A notification's latency (D23: within 1 s, p99): a decision that notifies committed on the local stack → the
message received at a local receiver (devstack.receiver), through the outbox, a real Cloud Tasks emulator task,
the timers function and apprise. `python -m bench.bench_notify [-n 40]` on a stack of its own; `make bench` runs it
on its stack.

The decision: a bridge's REJECTED report for an entry (an `Order rejected`, critical; the destination listens at
`critical`, so the entry's own info-level notices do not reach it). The clock starts when the report is sent: the
commit happens before its answer, so "sent → received" is an upper bound of "committed → received"; the report's
own round trip is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from bench.bench_store import ENTRY_READY, percentile  # noqa: E402


def _ms(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50) * 1000:7.2f} ms   p99 {percentile(values, 99) * 1000:7.2f} ms   "
            f"(n={len(values)})")


def bench_notify_latency(stack: Any, n: int = 40) -> tuple[list[float], list[float]]:
    """(sent → received, the report's round trip) for `n` decisions; prints both."""
    import requests

    from devstack.receiver import Receiver

    url, tv_secret = stack.url, stack.secrets["TV_WEBHOOK_SECRET"]
    bridge_secret = stack.secrets["BRIDGE_HEARTBEAT_SECRET"]
    http = requests.Session()
    if stack.env.get("DASHBOARD_PASSWORD"):
        http.post(f"{url}/api/login", json={"password": stack.env["DASHBOARD_PASSWORD"]}, timeout=30).raise_for_status()

    def tv(path: str, **body: Any) -> None:
        http.post(f"{url}{path}", json={"secret": tv_secret, **body}, timeout=30).raise_for_status()

    # a wiped store on the real clock: what ran on this stack before (a candle lock, a position) must not refuse
    http.post(f"{url}/_dev/reset", json={}, timeout=30).raise_for_status()
    http.delete(f"{url}/_dev/clock", timeout=30).raise_for_status()
    receiver = Receiver(on_message=lambda message: None).start()
    added = http.post(f"{url}/api/notifications/destinations", timeout=30, json={
        "id": "bench", "level": "critical", "url": f"{receiver.json_url}?rto=5&cto=5"})
    assert added.status_code in (200, 201), added.text
    try:
        for path, body in ENTRY_READY:
            tv(path, **body)
        received, round_trips = [], []
        for i in range(n + 3):   # the first three warm the path (apprise's import in the timers function)
            tv("/tv_renko_main", asset="ES", color="green", bar_id=f"n{i}")
            tv("/tv_heartbeat", symbol="ES", price=5000.0)
            placed = http.post(f"{url}/api/orders", json={"asset": "ES", "trade_mode": "SCALP"}, timeout=30)
            assert placed.status_code == 201, placed.text
            polled = http.get(f"{url}/api/orders/pending", params={"secret": bridge_secret, "limit": 10}, timeout=30)
            order_id = polled.json()["orders"][0]["id"]
            before = len(receiver.got)
            sent = time.time()
            http.post(f"{url}/api/orders/{order_id}/execution-report", timeout=30,
                      json={"secret": bridge_secret, "status": "REJECTED"}).raise_for_status()
            answered = time.time()
            assert receiver.wait_for(before + 1, timeout=30), f"notification {i} never arrived"
            message = receiver.got[before]
            assert "Order rejected" in str(message.get("title")), message
            if i >= 3:
                received.append(message["at"] - sent)
                round_trips.append(answered - sent)
        print(f"notification: decision committed -> received at the local receiver "
              f"(upper bound: from the report sent): {_ms(received)}")
        print(f"  the deciding request's own round trip (its answer):                         {_ms(round_trips)}")
        return received, round_trips
    finally:
        http.delete(f"{url}/api/notifications/destinations/bench", timeout=30)
        receiver.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="decisions that notify")
    args = parser.parse_args(argv)
    from devstack.run import LocalStack

    base = {**os.environ, "DASHBOARD_PASSWORD": ""}
    with tempfile.TemporaryDirectory() as logs, LocalStack.on_free_ports(log_dir=Path(logs), base_env=base) as stack:
        bench_notify_latency(stack, args.n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
