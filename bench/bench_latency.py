"""From the input that creates an order to the moment a waiting bridge holds it (issue 11), on a running local stack.

Five kinds of order, each created by the input a real session sends: an operator entry (`POST /api/orders`), a 6pt
bar firing a pre-order, an 8pt bar against a position firing the flip exit, a PnL snapshot reaching the points
take-profit, an entry's fill report creating the protective stop (D21, a bridge declaring the capability). For
each, the clock starts just before the input is sent and stops when the bridge's answer naming the order has been
read. The bridge is a thread of this process: first a long poll (`wait=25`, the next request sent as soon as one
answers), then, in the same run, a plain poll once a second (today's bridge).

Each order starts from a wiped store (`POST /_dev/reset`) at a fixed market time, so every iteration sees the
same gates. Reads per idle minute are counted by the store in this process (the bridge function in process, the
same emulator): a bridge looping `wait=25` for a minute with no order, against the plain poll's reads at 1/s.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.bench_store import percentile

BASE = 1776261610.0  # Wednesday 2026-04-15 10:00:10 New York: mid-session, every gate open after the bars
WAIT = 25


@dataclass
class Held:
    order: dict[str, Any]
    at: float


@dataclass
class Bridge:
    """A bridge thread: a long poll (`wait`) or a plain poll every `every` seconds; what it holds goes to `got`."""

    url: str
    secret: str
    wait: float = 0.0
    every: float = 1.0
    got: queue.Queue[Held] = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    requests: int = 0

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, daemon=True, name="bench-bridge")
        thread.start()
        return thread

    def _loop(self) -> None:
        http = requests.Session()
        params: dict[str, Any] = {"owner": "bench", "limit": 10}
        if self.wait:
            params["wait"] = self.wait
        next_at = time.perf_counter()
        while not self.stop.is_set():
            if not self.wait:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += self.every
            self.requests += 1
            response = http.get(f"{self.url}/api/orders/pending", params=params,
                                headers={"X-Bridge-Secret": self.secret}, timeout=self.wait + 30)
            at = time.perf_counter()
            if response.status_code != 200:
                self.errors.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(0.5)
                continue
            for order in response.json()["orders"]:
                self.got.put(Held(order, at))


class Driver:
    """TradingView, the operator and the bridge's reports over HTTP, and the scenarios that create each order."""

    def __init__(self, url: str, tv_secret: str, bridge_secret: str, bridge: Bridge) -> None:
        self.url, self.tv_secret, self.bridge_secret, self.bridge = url, tv_secret, bridge_secret, bridge
        self.http = requests.Session()
        self.answered = 0.0  # when the last request's answer was read
        self.rng = random.Random(11)

    def jitter(self) -> None:
        """Before a measured input against the 1 s poll: a random phase. The setup ends right after a poll (its
        entry was claimed by one), so without it every input would land just after a poll and wait a full second."""
        if not self.bridge.wait:
            time.sleep(self.rng.uniform(0.0, self.bridge.every))

    def post(self, path: str, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        response = self.http.post(f"{self.url}{path}", json=body, timeout=30)
        self.answered = time.perf_counter()
        if response.status_code != expect:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    def tv(self, path: str, **body: Any) -> dict[str, Any]:
        return self.post(path, {"secret": self.tv_secret, **body})

    def report(self, order_id: str, status: str, **extra: Any) -> None:
        self.post(f"/api/orders/{order_id}/execution-report",
                  {"secret": self.bridge_secret, "status": status, **extra})

    def take(self, timeout: float = 10.0) -> Held:
        try:
            return self.bridge.got.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the bridge held no order within {timeout} s; errors: {self.bridge.errors[-3:]}")\
                from None

    def fresh(self) -> None:
        self.post("/_dev/reset", {})
        self.post("/_dev/clock", {"now": BASE, "tick": True})
        self.tv("/tv_heartbeat", symbol="ES", price=5000.0)
        for path in ("/tv_renko_high", "/tv_renko_macro", "/tv_renko_two_half", "/tv_renko_main"):
            self.tv(path, asset="ES", color="green")

    def long_position(self) -> str:
        """An entry claimed by the bridge and filled at 5000: the broker symbol of the position."""
        self.post("/api/orders", {"asset": "ES", "trade_mode": "SCALP"}, expect=201)
        entry = self.take().order
        self.report(entry["id"], "FILLED", fill_price=5000.0, qty=int(entry["qty"]))
        return str(entry["asset"])

    # --- the four kinds: setup, then the measured input; answers (input sent at, the order held) ----------------
    def entry(self) -> tuple[float, Held]:
        self.fresh()
        self.jitter()
        started = time.perf_counter()
        self.post("/api/orders", {"asset": "ES", "trade_mode": "SCALP"}, expect=201)
        return started, self.take()

    def preorder(self) -> tuple[float, Held]:
        self.fresh()
        self.post("/api/orders", {"asset": "ES", "trade_mode": "SCALP", "order_type": "preorder",
                                  "direction": "BUY"}, expect=201)
        self.jitter()
        started = time.perf_counter()
        self.tv("/tv_renko_main", asset="ES", color="green")
        return started, self.take()

    def flip_exit(self) -> tuple[float, Held]:
        self.fresh()
        self.long_position()
        self.jitter()
        started = time.perf_counter()
        self.tv("/tv_renko_high", asset="ES", color="red")
        return started, self.take()

    def protective_stop(self) -> tuple[float, Held]:
        """D21: from the entry's fill report to the bridge holding the stop that report created."""
        self.fresh()
        self.post("/api/bridge/heartbeat", {"secret": self.bridge_secret, "capabilities": ["protective_stop"]})
        self.post("/api/orders", {"asset": "ES", "trade_mode": "SCALP"}, expect=201)
        entry = self.take().order
        self.jitter()
        started = time.perf_counter()
        self.report(entry["id"], "FILLED", fill_price=5000.0, qty=int(entry["qty"]))
        return started, self.take()

    def points_tp(self) -> tuple[float, Held]:
        self.fresh()
        symbol = self.long_position()
        self.jitter()
        started = time.perf_counter()  # 15 points on 5 micro contracts at $5 a point
        self.post("/api/rithmic/pnl-snapshot", {"secret": self.bridge_secret, "accountBalance": 50375.0,
                                                "symbols": [{"symbol": symbol, "position": 5, "openPnl": 375.0}]})
        return started, self.take()


KINDS: dict[str, tuple[str, Callable[[Driver], tuple[float, Held]]]] = {
    "operator entry (POST /api/orders)": ("UI", Driver.entry),
    "6pt bar fires a pre-order": ("PREORDER_TRIGGER", Driver.preorder),
    "8pt bar fires the flip exit": ("EXIT_ENGINE_HIGH", Driver.flip_exit),
    "snapshot fires points TP": ("TAKE_PROFIT_POINTS", Driver.points_tp),
    "entry's fill report -> protective stop": ("PROTECTIVE_STOP", Driver.protective_stop),
}


def measure(stack: Any, bridge: Bridge, n: int) -> tuple[dict[str, list[float]], list[float], list[float]]:
    """Latencies per kind; the measured inputs' own round trips (send to answer); and from the input's answer to
    the bridge holding the order (negative when the bridge had it first)."""
    driver = Driver(stack.url, stack.secrets["TV_WEBHOOK_SECRET"], stack.secrets["BRIDGE_HEARTBEAT_SECRET"], bridge)
    thread = bridge.start()
    out: dict[str, list[float]] = {}
    inputs: list[float] = []
    after: list[float] = []
    try:
        for label, (source, scenario) in KINDS.items():
            latencies = out.setdefault(label, [])
            for _ in range(n):
                started, held = scenario(driver)
                if held.order.get("source") != source:
                    raise RuntimeError(f"{label}: the bridge held {held.order}, expected source {source}")
                latencies.append(held.at - started)
                inputs.append(driver.answered - started)
                after.append(held.at - driver.answered)
    finally:
        bridge.stop.set()
        if bridge.wait and thread.is_alive():  # a held poll answers when an order appears: give it one
            driver.fresh()
            driver.post("/api/orders", {"asset": "ES", "trade_mode": "SCALP"}, expect=201)
        thread.join(timeout=bridge.wait + 5)
        driver.post("/_dev/reset", {})
        driver.http.delete(f"{stack.url}/_dev/clock", timeout=30)
    return out, inputs, after


def row(label: str, values: list[float]) -> str:
    p50, p99, worst = (percentile(values, 50) * 1000, percentile(values, 99) * 1000, max(values) * 1000)
    return f"  {label:36s} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {worst:7.1f} ms   (n={len(values)})"


def bench_order_latency(stack: Any, n: int = 100, poll_n: int = 25) -> None:
    """Prints the figures; `n` orders of each kind with the long poll, `poll_n` of each with the 1 s poll."""
    secret = stack.secrets["BRIDGE_HEARTBEAT_SECRET"]
    long_bridge = Bridge(stack.url, secret, wait=WAIT)
    held, inputs, after = measure(stack, long_bridge, n)
    polled, _, _ = measure(stack, Bridge(stack.url, secret, every=1.0), poll_n)
    print(f"order latency, input sent -> a waiting bridge holds the order (long poll wait={WAIT}; "
          f"{long_bridge.requests} poll requests for {4 * n} orders):")
    for label, values in held.items():
        print(row(label, values))
    print(row("all kinds", [v for values in held.values() for v in values]))
    print(row("  of which the input's own round trip", inputs))
    print(row("  and from its answer to the bridge", after))
    print("the same with a plain poll once a second (today's bridge), same run, each input at a random phase:")
    for label, values in polled.items():
        print(row(label, values))
    print(row("all kinds", [v for values in polled.values() for v in values]))


def bench_idle_reads(stack: Any, seconds: float = 60.0) -> None:
    """Store reads while a bridge long-polls an idle minute, the bridge function in process on the same emulator."""
    import os
    from pathlib import Path

    import functions_framework

    from shared.service.wiring import install, services

    for name, value in stack.env.items():
        if name.endswith(("SECRET", "TOKEN", "PASSWORD")) or name in ("LOCAL_DEV", "ALLOW_OPEN_DASHBOARD"):
            os.environ[name] = value
    for name in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT", "CLOUD_TASKS_EMULATOR_HOST",
                 "CLOUD_TASKS_LOCATION", "CLOUD_TASKS_QUEUE", "TIMERS_URL"):
        os.environ[name] = stack.env[name]
    install(None)
    store: Any = services().store  # FirestoreStore: counting() and totals
    source = str(Path(__file__).resolve().parents[1] / "functions" / "main.py")
    client = functions_framework.create_app(target="bridge", source=source).test_client()
    headers = {"X-Bridge-Secret": stack.secrets["BRIDGE_HEARTBEAT_SECRET"]}
    client.get("/api/orders/pending", headers=headers)  # the trading day exists and the channel is open
    with store.counting() as plain:
        client.get("/api/orders/pending", headers=headers)
    totals = store.totals
    before, requests_sent = totals.reads, 0
    ends = time.monotonic() + seconds
    while (left := ends - time.monotonic()) > 0.05:
        requests_sent += 1
        response = client.get(f"/api/orders/pending?wait={min(WAIT, left):.2f}", headers=headers)
        assert response.status_code == 200 and response.get_json()["orders"] == [], response.get_data()
    reads = totals.reads - before
    per_minute = reads * 60.0 / seconds
    print(f"idle bridge, {seconds:.0f} s of long polls (wait={WAIT}, {requests_sent} requests): {reads} document "
          f"reads = {per_minute:.1f} per idle minute (listener snapshot included); a plain poll once a second: "
          f"{plain.reads} per poll = {plain.reads * 60} per idle minute")
    install(None)
