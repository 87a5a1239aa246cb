"""A trading day driven through a venue: the market's bricks and heartbeats, the auto-operator, the paper bridge.

`Session.run()` walks a price path tick by tick. At each tick it moves market time (the frozen dev clock on the
local stack), posts the TradingView heartbeat when due and every brick the tick completes, then — in lock-step —
lets the paper bridge poll and report, and the auto-operator act, before the next tick. The same code drives the
pure domain (the backtest) and the whole stack over HTTP (the replay), which is why their trades must be equal.

A tick is *quiet* when it completes no brick, nothing is open or in flight, and no heartbeat or snapshot is due;
quiet ticks only move the market's price (nothing could happen at them), which keeps a replay through the stack short.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain import catalog
from sim.paper import Market, PaperBridge
from sim.renko import Brick, merged
from sim.sources import Tick
from sim.venue import Venue

STREAM_BY_BOX = catalog.STREAM_BY_BOX   # Renko box size → the TradingView stream its alert feeds
# Bricks of these boxes change what the rules see (tempo, zone, 2.5pt filter, invalidation): the operator looks then.
DECISION_BOXES = frozenset(s.box for s in catalog.STREAMS if not s.shown_only)
TOGGLE_FLAGS: dict[str, str] = {
    "main_flip": "main_flip_exit_enabled",
    "high_next_bar": "high_next_bar_exit_enabled",
    "four_pt": "four_pt_invalidation_enabled",
}


@dataclass(frozen=True)
class Profile:
    """What the unattended operator does: when the gates allow it, enter on the open side with this mode and size,
    then arm this exit set on the position; optional risk settings applied at the start of the day."""

    name: str
    description: str
    trade_mode: str = "SCALP"
    size_mode: str = "6pt"
    points_tp: float | None = None            # None keeps the automatic 15 points
    protect: float | None = None              # -2.0 or 0.5
    toggles: tuple[str, ...] = ()             # main_flip, high_next_bar, four_pt
    risk: tuple[tuple[str, Any], ...] = ()    # risk settings as POST /api/risk takes them, sent at the first look


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("tp8-flip", "SCALP 5 MES, points TP 8 and the 6pt flip exit", points_tp=8.0, toggles=("main_flip",)),
    Profile("runner", "RUNNER 5 MES, the automatic 15-point TP, protect at -2 and the 8pt next-bar exit",
            trade_mode="RUNNER", protect=-2.0, toggles=("high_next_bar",)),
    Profile("daily-stop", "SCALP 5 MES, TP 12 + 6pt flip, 10 trades a day, a 0.5 % daily stop and a $150 daily loss "
            "limit on the net liquidation value, 4-point stop distance (it will fire)", points_tp=12.0,
            toggles=("main_flip",), risk=(("max_trades_per_day", 10), ("daily_stop_limit_pct", 0.5),
                                          ("daily_loss_limit_usd", 150.0), ("protective_stop_points", {"ES": 4.0}))),
)}


@dataclass
class OperatorStats:
    looks: int = 0
    entries: int = 0
    blocked: Counter[str] = field(default_factory=Counter)   # first failing gate code, each time it looked
    refused: Counter[str] = field(default_factory=Counter)   # codes of refused commands (entries, exit settings)


class AutoOperator:
    """An operator who never hesitates: enters whenever `/api/gates` says `can_enter`, on the open side."""

    def __init__(self, venue: Venue, profile: Profile, asset: str = "ES") -> None:
        self.venue, self.profile, self.asset = venue, profile, asset
        self.stats = OperatorStats()
        self._risk_done = False
        self._armed_for: Any = None

    def step(self) -> bool:
        """Look once; answers whether it sent an order."""
        if not self._risk_done:
            self._set_risk()
        a = self.venue.asset(self.asset)
        if a.get("position"):
            self._arm(a)
            return False
        if a.get("pending_order_id"):
            return False
        self.stats.looks += 1
        _, gates = self.venue.gates(self.asset)
        if not gates.get("can_enter"):
            failing = [g for g in gates.get("gates", []) if not g.get("pass")]
            self.stats.blocked[str(failing[0].get("code")) if failing else "NO_SIDE"] += 1
            return False
        sides = gates.get("sides", {})
        side = "BUY" if sides.get("BUY") else "SELL" if sides.get("SELL") else None
        if side is None:
            self.stats.blocked["NO_SIDE"] += 1
            return False
        status, body = self.venue.place_order(self.asset, self.profile.trade_mode, side, self.profile.size_mode)
        if status == 201:
            self.stats.entries += 1
            return True
        self.stats.refused[str(body.get("code"))] += 1
        return False

    def _set_risk(self) -> None:
        self._risk_done = True
        p = self.profile
        if p.risk:
            status, body = self.venue.risk(dict(p.risk))
            if status != 200:
                self.stats.refused[str(body.get("code") or body.get("error"))] += 1

    def _arm(self, a: Mapping[str, Any]) -> None:
        """The profile's exit set on the open position; a setting the server refuses (e.g. 423 while the 2.5pt
        lock holds) is tried again at the next look."""
        trade = a.get("last_entry_ts")
        if self._armed_for == trade:
            return
        p, done = self.profile, True
        if p.points_tp is not None and (not a.get("points_tp_enabled") or a.get("points_tp_target") != p.points_tp):
            done &= self._ok(self.venue.points_take_profit(self.asset, p.points_tp))
        if p.protect is not None and (not a.get("protect_enabled")
                                      or a.get("protect_threshold_points") != p.protect):
            done &= self._ok(self.venue.protect(self.asset, p.protect))
        for toggle in p.toggles:
            if not a.get(TOGGLE_FLAGS[toggle]):
                done &= self._ok(self.venue.toggle(self.asset, toggle))
        if done:
            self._armed_for = trade

    def _ok(self, answer: tuple[int, dict[str, Any]]) -> bool:
        status, body = answer
        if status == 200:
            return True
        self.stats.refused[str(body.get("code") or status)] += 1
        return False


@dataclass(frozen=True)
class SessionConfig:
    asset: str = "ES"
    heartbeat_every: float = 60.0      # market seconds between TradingView price heartbeats
    lockstep: bool = True              # the bridge and the operator act after every active tick
    pace: float | None = None          # None: as fast as possible; 1.0 real time; 60.0 sixty times faster


@dataclass
class SessionStats:
    ticks: int = 0
    active_ticks: int = 0
    bricks: int = 0
    heartbeats: int = 0
    duplicates: int = 0
    started: float = 0.0
    elapsed: float = 0.0

    @property
    def bricks_per_s(self) -> float:
        return self.bricks / self.elapsed if self.elapsed else 0.0


class Session:
    def __init__(self, venue: Venue, market: Market, bridge: PaperBridge | None = None,
                 operator: AutoOperator | None = None, config: SessionConfig | None = None) -> None:
        self.venue, self.market, self.bridge, self.operator = venue, market, bridge, operator
        self.config = config or SessionConfig()
        self.stats = SessionStats()
        self._last_heartbeat: float | None = None

    def run(self, ticks: Sequence[Tick], *, stop: threading.Event | None = None,
            progress: Callable[[int, int], None] | None = None) -> SessionStats:
        """Drive the whole path (or until `stop` is set). `progress(ticks_done, bricks_sent)` after each tick."""
        self.stats.started = time.monotonic()
        began_market = ticks[0].ts if ticks else 0.0
        paced = bool(self.config.pace)
        stats, move, every = self.stats, self.market.move, self.config.heartbeat_every
        book = self.bridge.book if self.bridge is not None else None
        for tick, bricks in merged(ticks):
            if stop is not None and stop.is_set():
                break
            if paced:
                self._pace(tick.ts - began_market)
            last = self._last_heartbeat
            if not bricks and last is not None and tick.ts - last < every and (book is None or book.is_flat()):
                # a quiet tick (`tick` below would only count it and move the market): two-thirds of a session's
                # ticks, kept out of a method call
                stats.ticks += 1
                move(tick.ts, tick.price)
            else:
                self.tick(tick, bricks)
            if progress is not None:
                progress(self.stats.ticks, self.stats.bricks)
        if self.bridge is not None:
            self.bridge.flush()
        self.stats.elapsed = time.monotonic() - self.stats.started
        return self.stats

    def tick(self, tick: Tick, bricks: Iterable[Brick]) -> None:
        bricks = bricks if isinstance(bricks, list) else list(bricks)
        self.stats.ticks += 1
        self.market.move(tick.ts, tick.price)
        heartbeat_due = self._last_heartbeat is None or tick.ts - self._last_heartbeat >= self.config.heartbeat_every
        if not (bricks or heartbeat_due or self._busy()):
            return
        self.stats.active_ticks += 1
        self.venue.set_time(tick.ts)
        if heartbeat_due:
            self.venue.tv_heartbeat(self.config.asset, tick.price)
            self._last_heartbeat = tick.ts
            self.stats.heartbeats += 1
        for brick in bricks:
            _, body = self.venue.renko(self.config.asset, STREAM_BY_BOX[brick.box], brick.color, brick.bar_id)
            self.stats.bricks += 1
            self.stats.duplicates += bool(body.get("duplicate"))
        if not self.config.lockstep:
            return
        if self.bridge is not None:
            self.bridge.step()
        looks = self.operator is not None and bool(bricks) and any(b.box in DECISION_BOXES for b in bricks)
        if looks and self.operator is not None and self.operator.step() and self.bridge is not None:
            self.bridge.step()
            self.operator.step()   # arm the exit set on the fresh position

    def _busy(self) -> bool:
        """Something open at the paper broker: snapshots (points TP, protect, daily stop) are due every tick."""
        return self.bridge is not None and not self.bridge.book.is_flat()

    def _pace(self, market_elapsed: float) -> None:
        if not self.config.pace:
            return
        due = self.stats.started + market_elapsed / self.config.pace
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def comparable(trades: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Trades as the facts two runs must agree on (ids differ between runs: they carry request ids)."""
    keys = ("asset", "side", "size", "entry_price", "exit_price", "entry_ts", "exit_ts", "reason")
    rows = [(*(t.get(k) for k in keys), round(float(t.get("pnl_usd") or 0.0), 2)) for t in trades]
    return sorted(rows, key=lambda r: (r[6] or 0.0, r[0] or "", r[5] or 0.0))
