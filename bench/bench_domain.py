"""Micro-benchmark of the pure rules: µs per `decide` over a synthetic trading day of mixed inputs.

Run: .venv/bin/python bench/bench_domain.py [--inputs 12000] [--seed 7]
Prints the median and p99 latency per decision and the decisions per second (one core, no I/O).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.domain import World, decide, default_config, initial_world
from shared.domain.catalog import STREAM_NAMES
from shared.domain.inputs import (
    BridgeHeartbeat,
    ExecutionReport,
    Input,
    LevelExit,
    PlaceOrder,
    PnlSnapshot,
    PollPending,
    RenkoBar,
    SymbolPosition,
    TimerFired,
    TvHeartbeat,
)

CONFIG = default_config()
DAY_START = 1768347000.0   # Tuesday 2026-01-13 18:30 New York: a whole Globex session follows
STREAMS = STREAM_NAMES
CONTRACT = {"ES": "MESH6", "NQ": "MNQH6"}


def next_input(rng: random.Random, world: World, now: float) -> Input:
    """A plausible mix: bars and heartbeats dominate, the bridge polls and snapshots, entries and exits follow."""
    asset = rng.choice(("ES", "NQ"))
    a = world.assets[asset]
    roll = rng.random()
    live = [o for o in world.orders.values() if o.status in ("PENDING", "CLAIMED", "WORKING", "PARTIALLY_FILLED")]
    if live and roll < 0.12:
        order = rng.choice(live)
        status = rng.choice(("WORKING", "FILLED", "FILLED", "PARTIALLY_FILLED", "REJECTED"))
        qty = 1 if status == "PARTIALLY_FILLED" else None
        return ExecutionReport(order_id=order.id, status=status, qty=qty,  # type: ignore[arg-type]
                               fill_price=5000.0 + rng.uniform(-20, 20))
    if roll < 0.45:
        color = rng.choice(("green", "red", "green", "red", "neutral"))
        return RenkoBar(stream=rng.choice(STREAMS), asset=asset, color=color,  # type: ignore[arg-type]
                        bar_id=f"b{rng.randrange(10**6)}" if rng.random() < 0.5 else None)
    if roll < 0.58:
        return TvHeartbeat(asset=asset, price=5000.0 + rng.uniform(-20, 20))
    if roll < 0.70:
        return PollPending(owner="bridge-1", limit=10)
    if roll < 0.78:
        pos = a.position if rng.random() < 0.9 else 0
        return PnlSnapshot(account_balance=50000.0 + rng.uniform(-3000, 3000), unrealized=rng.uniform(-200, 200),
                           symbols=(SymbolPosition(symbol=CONTRACT[asset], position=pos,
                                                   open_pnl=rng.uniform(-400, 400)),))
    if roll < 0.82:
        return BridgeHeartbeat(info={"tsConnected": True, "mdConnected": True, "account": "A1"})
    if roll < 0.92:
        color = a.high_renko_color if a.high_renko_color in ("green", "red") else "green"
        return PlaceOrder(asset=asset, trade_mode="SCALP", direction="buy" if color == "green" else "sell")
    if roll < 0.96:
        return LevelExit(asset=asset)
    kind = rng.choice(("candle_lock_end", "cooldown_end", "lease_end", "blackout_flatten"))
    if kind == "blackout_flatten":   # D22: the one-off window's flatten-before timer, on time or late
        return TimerFired(kind=kind, key=f"b9:{int(FOMC_START)}", at=now)
    return TimerFired(kind=kind,  # type: ignore[arg-type]
                      key=rng.choice([*world.orders, "x"]) if world.orders else "x", at=now)


FOMC_START = DAY_START + 3600 * 20
WATCHDOG = TimerFired(kind="watchdog", key="tick", at=0)


def every_gate_on(world: World) -> None:
    """D20's and D22's gates in force too: the dollar limits (daily loss, trailing drawdown: wide, so they are read
    at every snapshot and entry but never end the day), a maximum loss per trade, a loss streak, trading hours
    (wide), a few weekly and one-off blackout windows with a flatten-before (so each entry reads the calendar, and
    the flatten timer and the watchdog find windows to look at)."""
    g = world.glob
    g.loss_streak_limit, g.max_loss_per_trade_usd = 3, 5000.0
    g.max_trades_per_day = 10_000   # the daily trade limit refused most entries before they reached the calendar
    g.daily_loss_limit_usd, g.trailing_drawdown_usd = 20_000.0, 20_000.0
    g.trading_hours = {day: [0, 1440] for day in ("MON", "TUE", "WED", "THU", "FRI", "SUN")}
    g.blackouts = [{"id": f"b{i}", "label": f"w{i}", "kind": "weekly", "days": [0, 1, 2, 3, 4],
                    "start_min": 8 * 60 + 25 + i, "end_min": 8 * 60 + 26 + i, "flatten_before_s": 60}
                   for i in range(5)]
    g.blackouts += [{"id": "b9", "label": "FOMC", "kind": "once", "start": FOMC_START, "end": FOMC_START + 60,
                     "flatten_before_s": 120}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    world = initial_world(CONFIG)
    every_gate_on(world)
    now = DAY_START
    spacing = 23 * 3600 / args.inputs        # spread over a whole session
    samples: list[float] = []
    ticks: list[float] = []   # the watchdog, once a minute (D23's silences, D22's flatten-before): not a request
    outcomes: dict[str, int] = {}
    for i in range(args.inputs):
        minute = int(now // 60)
        now += rng.uniform(0.2, 2 * spacing)
        if int(now // 60) != minute:
            started = time.perf_counter_ns()
            world = decide(world, WATCHDOG, now, CONFIG, f"w{i}").world
            ticks.append((time.perf_counter_ns() - started) / 1000.0)
        inp = next_input(rng, world, now)
        started = time.perf_counter_ns()
        decision = decide(world, inp, now, CONFIG, f"b{i}")
        samples.append((time.perf_counter_ns() - started) / 1000.0)
        # the store loads only the orders an input names (never the day's finished ones): keep the world as small
        world = decision.world
        for order_id in [k for k, o in world.orders.items() if o.status in ("FILLED", "REJECTED", "CANCELLED")]:
            del world.orders[order_id]
        key = "ok" if decision.ok else f"refused:{decision.code}"
        outcomes[key] = outcomes.get(key, 0) + 1
    samples.sort()
    median = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    total_s = sum(samples) / 1e6
    print(f"inputs: {len(samples)}  orders open at the end: {len(world.orders)}  "
          f"accepted: {outcomes.get('ok', 0)}  refused: {len(samples) - outcomes.get('ok', 0)}")
    print("refused by code: " + ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(outcomes.items())
                                          if k != "ok"))
    print(f"median: {median:.1f} µs/decision")
    print(f"p99:    {p99:.1f} µs/decision")
    print(f"max:    {samples[-1]:.1f} µs/decision")
    print(f"throughput: {len(samples) / total_s:,.0f} decisions/s")
    ticks.sort()
    print(f"watchdog tick (once a minute, {len(ticks)} of them, not in the figures above): median "
          f"{statistics.median(ticks):.1f} µs, p99 {ticks[min(len(ticks) - 1, int(len(ticks) * 0.99))]:.1f} µs")


if __name__ == "__main__":
    main()
