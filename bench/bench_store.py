"""Latency of a bare read-modify-write of one document through FirestoreStore.transact: the baseline that the
webhook round trip is compared with (docs/architecture.md, Budgets).

    python -m bench.bench_store [-n 500]     # starts its own emulator, prints p50/p99 and ops per call

`bench_bare_rmw(n)` runs against whatever FIRESTORE_EMULATOR_HOST / GOOGLE_CLOUD_PROJECT point at, so a
benchmark script can measure it on the same emulator, in the same run, as the routes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DOC = "bench/rmw"


def bench_bare_rmw(n: int, *, warmup: int = 200, path: str = BENCH_DOC, store: Any = None) -> list[float]:
    """Latencies in SECONDS of `n` sequential transacts that read `path`, add 1 and write it back (one get_all,
    one commit with a last_update_time precondition). `warmup` calls first build the client and the channel."""
    from shared.store.api import Plan, Reads, Write
    from shared.store.firestore import FirestoreStore

    store = store or FirestoreStore()

    def bump(reads: Reads) -> Plan[int]:
        doc = reads.get(path) or {"n": 0, "ts": 0.0}
        n = doc["n"] + 1
        return Plan(writes=[Write(path, "set", {"n": n, "ts": float(n)})], result=n)

    for _ in range(warmup):
        store.transact([path], bump)
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        store.transact([path], bump)
        latencies.append(time.perf_counter() - started)
    return latencies


# The TradingView inputs that leave ES ready for a long entry (price, 8pt and 12pt agreeing, the 2.5pt on its side);
# a 6pt bar and a fresh heartbeat before each entry do the rest (bench/run.py, bench/bench_notify.py).
ENTRY_READY: tuple[tuple[str, dict[str, Any]], ...] = (
    ("/tv_heartbeat", {"symbol": "ES", "price": 5000.0}),
    ("/tv_renko_high", {"asset": "ES", "color": "green"}),
    ("/tv_renko_macro", {"asset": "ES", "color": "green"}),
    ("/tv_renko_two_half", {"asset": "ES", "color": "green"}),
)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="measured read-modify-writes")
    args = parser.parse_args(argv)

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from devstack.emulators import free_port, start_firestore
    from shared.store.firestore import FirestoreStore

    with tempfile.TemporaryDirectory(prefix="bench-store-") as log_dir:
        emulator = start_firestore(free_port(), Path(log_dir))
        try:
            os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
            os.environ["GOOGLE_CLOUD_PROJECT"] = "demo-bench-store"
            store = FirestoreStore()
            latencies = bench_bare_rmw(args.n, store=store)
            ops = store.last_stats
        finally:
            emulator.stop()

    result = summary(latencies)
    print(f"bare read-modify-write via FirestoreStore.transact, {result['n']} calls on the emulator:")
    print(f"  p50 {result['p50_ms']:.2f} ms   p99 {result['p99_ms']:.2f} ms   "
          f"mean {result['mean_ms']:.2f} ms   max {result['max_ms']:.2f} ms")
    print(f"  per call: {ops.reads} read(s), {ops.writes} write(s), {ops.commits} commit(s), "
          f"{ops.attempts} attempt(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
