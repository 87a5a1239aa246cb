"""The benchmark (`make bench`): prints figures, asserts nothing. Design budgets: docs/architecture.md.

1. the domain: µs per decision over a synthetic trading day (bench/bench_domain.py);
2. on one local stack (real emulators, the one local address): the webhook round trip vs a bare read-modify-write
   on the same emulator in the same run, an order entry and a bridge poll;
3. Firestore reads/writes per route (counted by the store, in process, against the same emulator);
   then, on the same stack, the order latency of issue 11 (input -> a waiting bridge holds the order: long poll vs
   a 1 s poll, bench/bench_latency.py) and the reads of an idle minute of long polls; and a notification's latency
   (D23: a decision committed -> received at a local receiver, bench/bench_notify.py);
4. import time of the webhook function's module vs `import google.cloud.firestore` (fresh interpreters).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from bench.bench_store import ENTRY_READY, bench_bare_rmw, percentile  # noqa: E402


def ms(values: list[float]) -> str:
    p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
    return f"p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   (n={len(values)})"


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def import_seconds(statement: str, runs: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "functions")])}
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        samples.append(float(out.stdout.strip()))
    return sorted(samples)[len(samples) // 2]


def bench_domain() -> None:
    path = ROOT / "bench" / "bench_domain.py"
    if not path.exists():
        print("domain: bench/bench_domain.py missing")
        return
    subprocess.run([sys.executable, str(path)], check=True, cwd=ROOT)


def bench_stack(n: int, latency_orders: int = 100, notifications: int = 40) -> None:
    import requests

    from devstack.run import LocalStack

    base = {**os.environ, "DASHBOARD_PASSWORD": ""}
    with tempfile.TemporaryDirectory() as logs, LocalStack.on_free_ports(log_dir=Path(logs), base_env=base) as stack:
        os.environ.update(FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{stack.firestore_port}",
                          GOOGLE_CLOUD_PROJECT=stack.project)
        url, tv_secret = stack.url, stack.secrets["TV_WEBHOOK_SECRET"]
        bridge_secret = stack.secrets["BRIDGE_HEARTBEAT_SECRET"]
        http = requests.Session()

        def tv(path: str, **body: Any) -> requests.Response:
            response = http.post(f"{url}{path}", json={"secret": tv_secret, **body}, timeout=30)
            response.raise_for_status()
            return response

        for i in range(500):  # warm the functions, the channel and the emulator's JIT
            for _ in range(3):  # a cold stack on a loaded machine may answer a first request 503 (storage budget)
                if http.post(f"{url}/tv_renko_main", json={"secret": tv_secret, "asset": "ES", "bar_id": f"w{i}",
                                                           "color": "green" if i % 2 else "red"},
                             timeout=30).status_code != 503:
                    break
                time.sleep(1.0)
        from shared.store.firestore import FirestoreStore

        rmw_store = FirestoreStore(stack.project)
        bench_bare_rmw(1, warmup=300, store=rmw_store)
        # interleaved, so both see the same emulator at the same moment (it keeps speeding up as it warms)
        webhook, bare = [], []
        for i in range(n):
            webhook.append(timed(lambda i=i: tv("/tv_renko_main", asset="ES", color="green" if i % 2 else "red",
                                                bar_id=f"b{i}")))
            bare += bench_bare_rmw(1, warmup=0, store=rmw_store)
        print(f"webhook round trip (/tv_renko_main via the local address): {ms(webhook)}")
        print(f"bare read-modify-write, same emulator, same run:          {ms(bare)}")
        print(f"ratio webhook/bare: p50 {percentile(webhook, 50) / percentile(bare, 50):.2f}x   "
              f"p99 {percentile(webhook, 99) / percentile(bare, 99):.2f}x")

        for path, body in ENTRY_READY:
            tv(path, **body)
        entries, polls = [], []
        for i in range(max(20, n // 10)):
            tv("/tv_renko_main", asset="ES", color="green", bar_id=f"e{i}")
            tv("/tv_heartbeat", symbol="ES", price=5000.0)
            started = time.perf_counter()
            placed = http.post(f"{url}/api/orders", json={"asset": "ES", "trade_mode": "SCALP"}, timeout=30)
            entries.append(time.perf_counter() - started)
            assert placed.status_code == 201, placed.text
            started = time.perf_counter()
            polled = http.get(f"{url}/api/orders/pending", params={"secret": bridge_secret, "limit": 10}, timeout=30)
            polls.append(time.perf_counter() - started)
            order_id = polled.json()["orders"][0]["id"]
            http.post(f"{url}/api/orders/{order_id}/execution-report",
                      json={"secret": bridge_secret, "status": "REJECTED"}, timeout=30).raise_for_status()
        print(f"order entry (POST /api/orders, all gates, 201):          {ms(entries)}")
        print(f"bridge poll (GET /api/orders/pending, claims one):       {ms(polls)}")
        count_operations(stack)
        from bench.bench_latency import bench_idle_reads, bench_order_latency
        from bench.bench_notify import bench_notify_latency

        bench_notify_latency(stack, n=notifications)

        bench_order_latency(stack, n=latency_orders, poll_n=max(1, latency_orders // 4))
        bench_idle_reads(stack, seconds=60.0)


def count_operations(stack: Any) -> None:
    """Firestore operations per route: the real functions in this process, the same emulator, the store's counts."""
    import functions_framework

    from shared.service.wiring import install, services

    for name, value in stack.env.items():
        if name.endswith(("SECRET", "TOKEN", "PASSWORD")) or name in ("LOCAL_DEV", "ALLOW_OPEN_DASHBOARD"):
            os.environ[name] = value
    for name in ("CLOUD_TASKS_EMULATOR_HOST", "CLOUD_TASKS_LOCATION", "CLOUD_TASKS_QUEUE", "TIMERS_URL"):
        os.environ[name] = stack.env[name]
    install(None)
    store = services().store
    source = str(ROOT / "functions" / "main.py")
    clients = {t: functions_framework.create_app(target=t, source=source).test_client()
               for t in ("webhooks", "orders", "bridge")}
    tv_secret, bridge_secret = stack.secrets["TV_WEBHOOK_SECRET"], stack.secrets["BRIDGE_HEARTBEAT_SECRET"]
    requests_to_count = [
        ("webhooks", "POST", "/tv_heartbeat", {"secret": tv_secret, "symbol": "ES", "price": 5000.0}),
        ("webhooks", "POST", "/tv_renko_main", {"secret": tv_secret, "asset": "ES", "color": "green", "bar_id": "c1"}),
        ("webhooks", "POST", "/tv_renko_main", {"secret": tv_secret, "asset": "ES", "color": "green", "bar_id": "c1"}),
        ("webhooks", "POST", "/tv_renko_high", {"secret": tv_secret, "asset": "ES", "color": "green"}),
        ("orders", "GET", "/api/state", None),
        ("orders", "GET", "/api/gates?asset=ES", None),
        ("orders", "POST", "/api/orders", {"asset": "ES", "trade_mode": "SCALP"}),
        ("orders", "POST", "/api/orders", {"asset": "ES", "trade_mode": "SCALP"}),
        ("bridge", "GET", f"/api/orders/pending?secret={bridge_secret}", None),
        ("bridge", "POST", "/api/bridge/heartbeat", {"secret": bridge_secret}),
        ("bridge", "POST", "/api/rithmic/pnl-snapshot", {"secret": bridge_secret, "accountBalance": 50000.0}),
    ]
    print("Firestore operations per request (documents read / written, commits):")
    for target, method, path, body in requests_to_count:
        # the functions' request log lines (one JSON line each, on stdout) would cut into the figures
        with store.counting() as stats, contextlib.redirect_stdout(io.StringIO()):
            response = clients[target].open(path, method=method, json=body)
        label = f"{method} {path.split('?')[0]}"
        print(f"  {label:34s} -> {response.status_code}  reads {stats.reads:3d}  writes {stats.writes:2d}  "
              f"verified {stats.verified}  commits {stats.commits}")
    install(None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="round trips per measured route")
    parser.add_argument("--latency-orders", type=int, default=100,
                        help="orders of each kind for the long-poll latency (a quarter as many with the 1 s poll)")
    parser.add_argument("--notifications", type=int, default=40,
                        help="decisions whose notification is timed to the local receiver")
    args = parser.parse_args(argv)
    print("== domain ==")
    bench_domain()
    print("== local stack ==")
    bench_stack(args.n, args.latency_orders, args.notifications)
    print("== simulator (sim/) ==")
    subprocess.run([sys.executable, str(ROOT / "bench" / "bench_sim.py")], check=True, cwd=ROOT)
    print("== import time (median of 5 fresh interpreters) ==")
    webhook = import_seconds("import webhooks")
    firestore = import_seconds("import google.cloud.firestore")
    print(f"import webhooks (function module):  {webhook * 1000:7.1f} ms")
    print(f"import google.cloud.firestore:      {firestore * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
