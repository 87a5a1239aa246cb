"""Renko brick throughput: the bundled sample session and a synthetic path of 10,000 bricks.

Run: .venv/bin/python bench/bench_sim.py
Prints bricks per second (best of several runs, one core, no I/O); the budget is a 10,000-brick session well under a
second.

The whole backtest (`bench_backtest`), 2026-12-07 on an otherwise idle machine, best of 3. The budget's session
(docs/architecture.md: 10,000 bricks; `cut_at_total`: the synthetic path up to its 10,000th brick of any size,
52,996 decisions): 0.74-0.76 s. The stricter one this bench has always printed, 10,000 one-point bricks (12,871
bricks over the six boxes, 70,689 decisions): 0.91-0.97 s while the host was quiet, 0.98-1.07 s in a slower hour
(the code before this round: 1.02 s and 1.07-1.15 s beside it). The sample day 66-76 ms (budget 80 ms). Of a
run, the domain's `decide` is about half (~6.5 us a decision, a PnL snapshot ~9 us: every one a decision the service
would make, a third of it the copy of the records it may change); the simulator around it the rest.
docs/benchmarks.md has each round of speed-ups, what it bought and what was tried and not kept.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.renko import BOX_SIZES, bricks, merged
from sim.sources import Tick, sample_session

TARGET_BRICKS = 10_000


def best_of(fn: Callable[[], object], runs: int = 5) -> float:
    """Fastest wall time of `runs` calls: the least disturbed by the other processes on the machine."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def synthetic_path(n_bricks: int = TARGET_BRICKS, box: float = 1.0, seed: int = 11) -> list[Tick]:
    """A 5-second MES-like walk in 0.25 ticks, cut at the tick that completes the n-th brick of `box`."""
    rng = random.Random(seed)
    level, ts, ticks = 24_000, 1_794_922_200.0, []
    while True:
        chunk = []
        for _ in range(n_bricks * 4):
            level += rng.choice((-3, -2, -1, -1, 0, 0, 1, 1, 2, 3))
            ts += 5.0
            chunk.append(Tick(ts, level / 4))
        ticks += chunk
        made = bricks(ticks, box)
        if len(made) >= n_bricks:
            last = made[n_bricks - 1].ts
            return [t for t in ticks if t.ts <= last]


def cut_at_total(ticks: list[Tick], n_bricks: int = TARGET_BRICKS) -> list[Tick]:
    """The path up to the tick that completes the n-th brick over all six sizes together: a session of n bricks as
    TradingView would send them (docs/architecture.md's budget), where `synthetic_path` counts one-point bricks."""
    made = 0
    for i, (_, done) in enumerate(merged(ticks)):
        made += len(done)
        if made >= n_bricks:
            return ticks[: i + 1]
    raise ValueError(f"the path makes only {made} bricks")


def bench_bricks() -> dict[str, float]:
    """Figures for bench/run.py: bricks per second and milliseconds per run."""
    sample = sample_session()
    sample_bricks = sum(len(bricks(sample, box)) for box in BOX_SIZES)
    sample_s = best_of(lambda: [bricks(sample, box) for box in BOX_SIZES])
    merged_s = best_of(lambda: sum(1 for _ in merged(sample)))

    path = synthetic_path()
    n = len(bricks(path, 1.0))
    synthetic_s = best_of(lambda: bricks(path, 1.0))
    return {
        "sample_ticks": float(len(sample)),
        "sample_bricks_all_boxes": float(sample_bricks),
        "sample_ms_all_boxes": sample_s * 1000,
        "sample_bricks_per_s": sample_bricks / sample_s,
        "sample_merged_ms": merged_s * 1000,
        "synthetic_ticks": float(len(path)),
        "synthetic_bricks": float(n),
        "synthetic_ms": synthetic_s * 1000,
        "synthetic_bricks_per_s": n / synthetic_s,
        "synthetic_ticks_per_s": len(path) / synthetic_s,
    }


def bench_backtest() -> dict[str, float]:
    """The whole backtest in process (bricks, the domain's decisions, the auto-operator, the paper bridge): the
    sample session and a synthetic session of 10,000 one-point bricks (every box size over the same path)."""
    from sim import backtest
    from sim.session import PROFILES

    out: dict[str, float] = {}
    synthetic = synthetic_path()
    for name, path in (("sample", sample_session()), ("synthetic", synthetic),
                       ("budget", cut_at_total(synthetic))):
        seconds = best_of(lambda path=path: backtest.run(path, PROFILES["tp8-flip"]), runs=3)
        result = backtest.run(path, PROFILES["tp8-flip"])
        out[f"{name}_bricks"] = float(result.session.bricks)
        out[f"{name}_decisions"] = float(result.decisions)
        out[f"{name}_s"] = seconds
        out[f"{name}_bricks_per_s"] = result.session.bricks / seconds
    return out


def bench_replay(ticks: int = 1200) -> dict[str, float]:
    """The market replay through a local stack as fast as possible (no bridge, no operator): bricks per second."""
    import os

    from devstack.run import LocalStack
    from sim.replay import Replay, ReplayConfig

    with LocalStack.on_free_ports(base_env={**os.environ, "DASHBOARD_PASSWORD": ""}) as stack:
        replay = Replay(ReplayConfig(url=stack.url, tv_secret=stack.secrets["TV_WEBHOOK_SECRET"]))
        stats = replay.run(sample_session()[:ticks])
    return {"ticks": float(stats.ticks), "bricks": float(stats.bricks), "s": stats.elapsed,
            "bricks_per_s": stats.bricks_per_s,
            "requests_per_s": sum(v.requests_sent for v in replay.venues) / stats.elapsed}


def print_backtest(f: dict[str, float]) -> None:
    titles = {"sample": "sample day", "synthetic": "synthetic, 10,000 one-point bricks",
              "budget": "synthetic, its first 10,000 bricks of all sizes"}
    for name, title in titles.items():
        print(f"backtest, {title}: {f[name + '_bricks']:.0f} bricks, {f[name + '_decisions']:.0f} decisions in "
              f"{f[name + '_s'] * 1000:.0f} ms ({f[name + '_bricks_per_s']:,.0f} bricks/s)")


def print_replay(f: dict[str, float]) -> None:
    print(f"replay through the local stack: {f['ticks']:.0f} ticks, {f['bricks']:.0f} bricks in {f['s']:.1f} s "
          f"({f['bricks_per_s']:,.0f} bricks/s, {f['requests_per_s']:,.0f} requests/s)")


def main() -> None:
    f = bench_bricks()
    print(f"renko, sample session: {f['sample_ticks']:.0f} ticks → {f['sample_bricks_all_boxes']:.0f} bricks over the "
          f"six boxes in {f['sample_ms_all_boxes']:.1f} ms ({f['sample_bricks_per_s']:,.0f} bricks/s); "
          f"merged(): {f['sample_merged_ms']:.1f} ms")
    print(f"renko, synthetic path: {f['synthetic_ticks']:.0f} ticks → {f['synthetic_bricks']:.0f} bricks of 1 pt in "
          f"{f['synthetic_ms']:.1f} ms ({f['synthetic_bricks_per_s']:,.0f} bricks/s, "
          f"{f['synthetic_ticks_per_s']:,.0f} ticks/s)")
    print_backtest(bench_backtest())
    if "--no-stack" not in sys.argv:
        print_replay(bench_replay())


if __name__ == "__main__":
    main()
