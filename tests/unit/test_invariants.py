"""Property tests: no sequence of inputs breaks the invariants of the rules.

A hypothesis state machine drives `decide` with random sequences of every input (all streams with random colours and
repeated bar ids, heartbeats, entries, intents, pre-orders, exits, toggles, scale-ins, polls, execution reports for
real and made-up orders, snapshots with random broker positions and balances, timers, time steps across 18:00 New
York) and checks after every step:

* the position equals the fills the engine accepted (entry fills add, exit fills reduce towards flat, a
  broker-flat close zeroes it), tracked independently in the test;
* at most one live (non-terminal) order per asset, and it is the asset's `pending_order_id`;
* no order is created while another is live for the asset; no EXIT while flat;
* no UI entry is created while any lock gate of D2 blocks, judged on the world before the step by the test's own
  reading of the stored facts (`blocking_gates`), never by gates.py: a broken gate must not vouch for itself;
* no pre-order triggers into a trade lock, daily stop, used-up trade limit or position mismatch;
* after the daily stop nothing but exits is created until the 18:00 rollover;
* a snapshot that finds the daily stop was told to load every pending order (`orders_needed`, D11);
* the audit record of the step replays to the same world, and `replay` of all records rebuilds the final world.

Composite rules play the scenarios in which the later gates matter (two disagreeing snapshots then an entry, whole
trades until the day's limit, an exit fill then an immediate re-entry, a daily stop then entries), so that every
lock gate is reached often enough for a broken one to be caught within the normal example budget.
"""

from __future__ import annotations

import json
import os
from typing import Any

from builders import CONFIG, ny
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from shared.domain import Decision, World, audit_record, decide, initial_world, orders_needed, replay
from shared.domain.catalog import STREAM_NAMES
from shared.domain.inputs import (
    AddBlackouts,
    BlackoutSpec,
    BridgeHeartbeat,
    CancelIntent,
    CancelOrder,
    CancelPreorder,
    ConsumeTradeLimit,
    CreateIntent,
    ExecutionReport,
    ExitAll,
    Input,
    LevelExit,
    ManualExit,
    PlaceOrder,
    PnlSnapshot,
    PollPending,
    RenkoBar,
    ScaleIn,
    SetEnv,
    SetPointsTakeProfit,
    SetProtect,
    SetRisk,
    SetTakeProfit,
    SymbolPosition,
    TimerFired,
    ToggleExit,
    TvHeartbeat,
    input_from_dict,
)
from shared.domain.orders import TERMINAL
from shared.domain.state import AssetState, GlobalState
from shared.domain.view import normalise_world

ASSETS = ("ES", "NQ")
CONTRACTS = {"ES": ("MESH6", "ESH6", "MESZ5"), "NQ": ("MNQH6",)}
STREAMS = STREAM_NAMES
COLORS = ("green", "red", "neutral")
# Tuesday mornings and an hour before the 18:00 New York rollover (D4)
STARTS = (ny(2026, 1, 13, 9, 58), ny(2026, 1, 13, 17, 30), ny(2026, 3, 6, 17, 45))

asset_st = st.sampled_from(ASSETS)
color_st = st.sampled_from(COLORS)
bar_id_st = st.one_of(st.none(), st.sampled_from(("b1", "b2", "b3")))
direction_st = st.sampled_from((None, "buy", "sell", "green", "r", "sideways"))
price_st = st.one_of(st.none(), st.floats(min_value=4900, max_value=5100, allow_nan=False).map(lambda x: round(x, 2)))
STATUSES = ("WORKING", "FILLED", "PARTIALLY_FILLED", "REJECTED", "CANCELLED")
NEXT_CANDLE = CONFIG.candle_s + 1.0     # past the 5-minute lock of an entry made just before, and past the cooldown


def blocking_gates(g: GlobalState, a: AssetState, now: float) -> list[str]:
    """The lock gates of D2 (§5.1) that block an entry, read straight from the stored facts."""
    tempo_spent = a.tempo_spent_ts
    tempo_ready = a.main_renko_ts is not None and (
        tempo_spent is None or a.main_renko_ts > tempo_spent
        or (a.tempo_4pt_unlock_ts is not None and a.tempo_4pt_unlock_ts > tempo_spent))
    blocks = {
        "DAILY_STOP": g.daily_stop_triggered,
        "POST_EXIT_COOLDOWN": g.post_exit_lock_expires_ts is not None and now < g.post_exit_lock_expires_ts,
        "CANDLE_LOCK_ACTIVE": g.five_min_trade_bucket == int(now // CONFIG.candle_s),
        "TRADE_LOCK": g.trade_lock,
        "DAILY_TRADE_LIMIT": g.trades_taken_today >= g.max_trades_per_day,
        "POSITION_OPEN": a.position != 0,
        "PENDING_ORDER": a.pending_order_id is not None,
        "POSITION_MISMATCH": a.position_mismatch,
        "HEARTBEAT_STALE": a.last_heartbeat_ts is None or now - a.last_heartbeat_ts > CONFIG.heartbeat_fresh_s,
        "TEMPO_WAIT": not tempo_ready,
    }
    return [code for code, blocked in blocks.items() if blocked]


class TradingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world: World = initial_world(CONFIG)
        self.now = STARTS[0]
        self.records: list[dict[str, Any]] = []
        self.model_position = dict.fromkeys(ASSETS, 0)
        self.timers: list[tuple[str, str, float]] = []
        self.n = 0

    @initialize(start=st.sampled_from(STARTS))
    def start(self, start: float) -> None:
        self.now = start

    # ---- the step and its checks -------------------------------------------------------------------------------

    def step(self, inp: Input) -> Decision:
        self.n += 1
        request_id = f"q{self.n}"
        before = self.world
        d = decide(before, inp, self.now, CONFIG, request_id)
        if not d.ok:
            assert d.world is before, "a refusal must leave the world unchanged"
        record = audit_record(inp, self.now, request_id, d)
        stored = json.loads(json.dumps(record))
        # `decide` is pure, so a record that gives back the same arguments replays to the same world; the teardown
        # replays the whole log, which also checks that `decide` is deterministic
        replayed = (input_from_dict(stored["input"]), float(stored["ts"]), str(stored["request_id"]))
        assert replayed == (inp, self.now, request_id), "the audit record does not give back the input"
        if isinstance(inp, PnlSnapshot) and d.world.glob.daily_stop_triggered:
            pending = {a.pending_order_id for a in before.assets.values() if a.pending_order_id}
            assert orders_needed(before, inp) == pending, "a snapshot that flattens was not given the pending orders"
        self._check_new_orders(before, inp, d)
        self._track_positions(before, d)
        self.records.append(stored)
        self.world = d.world
        self.timers.extend((t.kind, t.key, t.at) for t in d.timers)
        return d

    def _check_new_orders(self, before: World, inp: Input, d: Decision) -> None:
        seen = World(glob=before.glob, assets=before.assets).clone()   # orders are not needed: never normalised
        normalise_world(seen, self.now, CONFIG)   # what the decision saw: the same self-healing as decide
        created = [o for oid, o in d.world.orders.items() if oid not in before.orders]
        per_asset: dict[str, int] = {}
        for order in created:
            per_asset[order.asset] = per_asset.get(order.asset, 0) + 1
            a = seen.assets[order.asset]
            if a.pending_order_id is not None:
                assert d.world.orders[a.pending_order_id].status in TERMINAL, "second order while one is live"
            if order.kind == "EXIT":
                assert a.position != 0, "EXIT order created while flat"
                continue
            assert not seen.glob.daily_stop_triggered, "entry created after the daily stop"
            assert not d.world.glob.daily_stop_triggered, "entry created in a daily-stop step"
            if order.source == "SCALE_IN":
                assert a.position != 0
                continue
            assert a.position == 0, "entry created while in a trade"
            if order.source == "UI":
                assert isinstance(inp, PlaceOrder)
                blocked = blocking_gates(seen.glob, a, self.now)
                assert blocked == [], f"entry created while {blocked} block"
            else:
                assert order.source == "PREORDER_TRIGGER", order.source
                g = seen.glob
                assert not (g.trade_lock or a.position_mismatch or g.trades_taken_today >= g.max_trades_per_day)
        assert all(n <= 1 for n in per_asset.values()), per_asset

    def _track_positions(self, before: World, d: Decision) -> None:
        for oid, order in d.world.orders.items():
            old = before.orders.get(oid)
            delta = order.filled_qty - (old.filled_qty if old is not None else 0)
            if delta <= 0:
                continue
            pos = self.model_position[order.asset]
            signed = delta if order.side == "BUY" else -delta
            if order.kind == "ENTRY":
                if order.source != "SCALE_IN" or (pos != 0 and (pos > 0) == (signed > 0)):
                    pos += signed
            elif pos != 0 and (pos > 0) != (signed > 0):
                pos = (1 if pos > 0 else -1) * max(0, abs(pos) - delta)
            self.model_position[order.asset] = pos
        for e in d.events:
            if e.kind == "trade_closed" and e.code == "broker_flat" and e.asset is not None:
                self.model_position[e.asset] = 0

    @invariant()
    def positions_match_the_fills(self) -> None:
        for key in ASSETS:
            assert self.world.assets[key].position == self.model_position[key], key

    @invariant()
    def one_live_order_per_asset_and_it_is_the_pending_one(self) -> None:
        for key in ASSETS:
            a = self.world.assets[key]
            live = [o.id for o in self.world.orders.values() if o.asset == key and o.status not in TERMINAL]
            assert len(live) <= 1, live
            if a.pending_order_id is not None:
                assert live == [a.pending_order_id]
            else:
                assert live == []

    def teardown(self) -> None:
        if self.records:
            assert replay(self.records, CONFIG) == self.world

    # ---- time ----------------------------------------------------------------------------------------------------

    @rule(dt=st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=400.0, allow_nan=False)))
    def tick(self, dt: float) -> None:
        self.now += round(dt, 3)

    # ---- TradingView ---------------------------------------------------------------------------------------------

    @rule(stream=st.sampled_from(STREAMS), asset=asset_st, color=color_st, bar_id=bar_id_st)
    def renko(self, stream: str, asset: str, color: str, bar_id: str | None) -> None:
        self.step(RenkoBar(stream=stream, asset=asset, color=color, bar_id=bar_id))  # type: ignore[arg-type]

    def aligned_structure(self, asset: str, color: str, streams: tuple[str, ...]) -> None:
        for stream in streams:
            self.step(RenkoBar(stream=stream, asset=asset, color=color))  # type: ignore[arg-type]

    @rule(asset=asset_st, color=st.sampled_from(("green", "red")), size=st.sampled_from((None, "9pt")),
          order_type=st.sampled_from(("market", "market", "preorder")), heartbeat=st.booleans(),
          streams=st.sampled_from((("8pt", "12pt", "2.5pt", "6pt"), ("8pt", "12pt", "2.5pt"), ())))
    def try_to_enter(self, asset: str, color: str, size: str | None, order_type: str, heartbeat: bool,
                     streams: tuple[str, ...]) -> None:
        """Optionally a heartbeat and aligned structure, then an entry: makes trades common instead of rare."""
        if heartbeat:
            self.step(TvHeartbeat(asset=asset, price=5000.0))
        self.aligned_structure(asset, color, streams)
        direction = "buy" if color == "green" else "sell"
        self.step(PlaceOrder(asset=asset, order_type=order_type, trade_mode="SCALP", direction=direction,
                             entry_size_mode=size))

    # ---- composite scenarios: each reaches one of the later gates of D2 with every earlier one open -------------

    def enter(self, asset: str, color: str) -> str | None:
        """A heartbeat, aligned 8/12/2.5pt structure, then `attempt`; the entry order's id if one was made."""
        self.step(TvHeartbeat(asset=asset, price=5000.0))
        self.aligned_structure(asset, color, ("8pt", "12pt", "2.5pt"))
        return self.attempt(asset, color)

    def attempt(self, asset: str, color: str) -> str | None:
        """A new 6pt bar (a fresh tempo token) and a market entry on the structure already in place."""
        self.step(RenkoBar(stream="6pt", asset=asset, color=color))  # type: ignore[arg-type]
        d = self.step(PlaceOrder(asset=asset, order_type="market", trade_mode="SCALP",
                                 direction="buy" if color == "green" else "sell"))
        return str(d.body["order"]["id"]) if d.status == 201 else None  # type: ignore[index]

    def fill(self, order_id: str, price: float = 5000.0) -> None:
        self.step(ExecutionReport(order_id=order_id, status="FILLED", fill_price=price))

    def close(self, asset: str, price: float = 5000.0) -> None:
        """A forced manual exit and its fill, if the asset is in a trade with nothing in flight."""
        a = self.world.assets[asset]
        if a.position != 0 and a.pending_order_id is None:
            d = self.step(ManualExit(asset=asset, force=True))
            self.fill(str(d.body["order"]["id"]), price)  # type: ignore[index]

    def settle(self, asset: str) -> None:
        """Fill whatever is in flight for the asset and close its trade, then let the candle and cooldown pass."""
        pending = self.world.assets[asset].pending_order_id
        if pending is not None:
            self.fill(pending)
        self.close(asset)
        self.now += NEXT_CANDLE

    def agreeing_snapshot(self, balance: float | None, **broker: int) -> None:
        """A snapshot in which the broker agrees with every local position except the ones given."""
        symbols = tuple(SymbolPosition(symbol=CONTRACTS[key][0], position=broker.get(key, a.position), open_pnl=0.0)
                        for key, a in self.world.assets.items())
        self.step(PnlSnapshot(account_balance=balance, realized=0.0, unrealized=0.0, symbols=symbols))

    @rule(asset=asset_st, color=st.sampled_from(("green", "red")), broker=st.sampled_from((3, -2)))
    def mismatch_then_entry(self, asset: str, color: str, broker: int) -> None:
        """D10: two snapshots disagreeing with a flat, idle asset block its entries (POSITION_MISMATCH)."""
        self.settle(asset)
        self.agreeing_snapshot(None, **{asset: broker})
        self.agreeing_snapshot(None, **{asset: broker})
        self.enter(asset, color)

    @rule(asset=asset_st, color=st.sampled_from(("green", "red")), limit=st.sampled_from((1, 2)))
    def trades_until_the_limit(self, asset: str, color: str, limit: int) -> None:
        """Whole trades in one trading day until DAILY_TRADE_LIMIT, then one more entry attempt."""
        self.settle(asset)
        self.step(SetRisk(max_trades_per_day=limit))
        for _ in range(limit):
            g = self.world.glob
            if g.trades_taken_today >= g.max_trades_per_day:
                break
            order_id = self.enter(asset, color)
            if order_id is not None:
                self.fill(order_id)
            self.settle(asset)
        self.enter(asset, color)

    @rule(asset=asset_st, color=st.sampled_from(("green", "red")),
          wait=st.floats(min_value=0.0, max_value=CONFIG.post_exit_cooldown_s, exclude_max=True))
    def one_trade_with_entry_attempts(self, asset: str, color: str, wait: float) -> None:
        """Entry attempts in a later candle than the trade's: while its entry is in flight (PENDING_ORDER), while
        in it (POSITION_OPEN), and right after the exit fill, inside the cooldown (POST_EXIT_COOLDOWN, §7.6)."""
        self.settle(asset)
        order_id = self.enter(asset, color)
        if order_id is None:
            return
        self.now += NEXT_CANDLE
        self.attempt(asset, color)
        self.fill(order_id)
        self.attempt(asset, color)
        self.close(asset)
        self.now += round(wait, 3)
        self.attempt(asset, color)

    @rule(asset=asset_st, color=st.sampled_from(("green", "red")))
    def daily_stop_then_entries(self, asset: str, color: str) -> None:
        """D11: a drawdown past the limit stops the day and flattens; entries stay blocked until 18:00."""
        self.agreeing_snapshot(50000.0)
        self.agreeing_snapshot(30000.0)
        self.settle(asset)
        for key in ASSETS:
            self.enter(key, color)

    @rule(asset=asset_st, order_type=st.sampled_from(("market", "market", "preorder", "limit")),
          trade_mode=st.sampled_from(("SCALP", "runner", "SCALP", "bogus")), direction=direction_st,
          override=st.booleans(), size=st.sampled_from((None, "6pt", "9pt")))
    def place_order(self, asset: str, order_type: str, trade_mode: str, direction: str | None, override: bool,
                    size: str | None) -> None:
        self.step(PlaceOrder(asset=asset, order_type=order_type, trade_mode=trade_mode, direction=direction,
                             entry_override=override, entry_size_mode=size))

    @rule(data=st.data(), price=price_st, how=st.sampled_from(("full", "full", "partial", "working", "rejected")))
    def fill_live_order(self, data: st.DataObject, price: float | None, how: str) -> None:
        live = sorted(o.id for o in self.world.orders.values() if o.status not in TERMINAL)
        if not live:
            return
        order_id = data.draw(st.sampled_from(live), label="live")
        if how == "partial":
            self.step(ExecutionReport(order_id=order_id, status="PARTIALLY_FILLED", qty=1, fill_price=price))
        elif how == "working":
            self.step(ExecutionReport(order_id=order_id, status="WORKING"))
        elif how == "rejected":
            self.step(ExecutionReport(order_id=order_id, status="REJECTED"))
        else:
            self.step(ExecutionReport(order_id=order_id, status="FILLED", fill_price=price))

    @rule(asset=asset_st, price=price_st, partial=st.booleans(), bar_id=bar_id_st)
    def level_exit_and_fill(self, asset: str, price: float | None, partial: bool, bar_id: str | None) -> None:
        d = self.step(LevelExit(asset=asset, bar_id=bar_id))
        order_id = self.world.assets[asset].pending_order_id
        if d.body.get("action") == "exit_order_created" and order_id is not None:
            if partial:
                self.step(ExecutionReport(order_id=order_id, status="PARTIALLY_FILLED", qty=1, fill_price=price))
            self.step(ExecutionReport(order_id=order_id, status="FILLED", fill_price=price))

    @rule(data=st.data(), asset=asset_st)
    def operator_control(self, data: st.DataObject, asset: str) -> None:  # noqa: C901 - one branch per command
        """Every other operator command and the TradingView heartbeat, as one rule so the trading rules stay
        frequent."""
        which = data.draw(st.sampled_from((
            "intent", "cancel_intent", "cancel_preorder", "manual_exit", "exit_all", "scale_in", "toggle",
            "take_profit", "protect", "points_tp", "cancel_order", "limit", "env", "risk_tight", "risk_loose",
            "tv_heartbeat")), label="control")
        draw = data.draw
        inp: Input
        if which == "intent":
            inp = CreateIntent(asset=asset, direction=draw(direction_st))
        elif which == "cancel_intent":
            inp = CancelIntent(asset=asset)
        elif which == "cancel_preorder":
            inp = CancelPreorder(asset=asset)
        elif which == "manual_exit":
            inp = ManualExit(asset=asset, force=draw(st.booleans()))
        elif which == "exit_all":
            inp = ExitAll(force=draw(st.booleans()))
        elif which == "scale_in":
            inp = ScaleIn(asset=asset)
        elif which == "toggle":
            inp = ToggleExit(asset=asset, toggle=draw(st.sampled_from(("high_next_bar", "main_flip", "four_pt",
                                                                       "auto_exit"))))
        elif which == "take_profit":
            inp = SetTakeProfit(asset=asset, tp_arm=draw(st.sampled_from(("toggle", None))),
                                tp_target=draw(st.sampled_from((None, 1, 2, 0, "x"))))
        elif which == "protect":
            inp = SetProtect(asset=asset, enabled=draw(st.sampled_from((None, True, False))),
                             threshold=draw(st.sampled_from((None, -2.0, 0.5, -1.0))))
        elif which == "points_tp":
            inp = SetPointsTakeProfit(asset=asset, enabled=draw(st.sampled_from((None, True, False))),
                                      target=draw(st.sampled_from((None, 0.5, 4, 15, 0))))
        elif which == "cancel_order":
            inp = CancelOrder(order_id=draw(st.sampled_from([*sorted(self.world.orders), "bogus"])))
        elif which == "limit":
            inp = ConsumeTradeLimit()
        elif which == "env":
            inp = SetEnv(env="LIVE" if self.world.glob.env == "DEMO" else "demo")
        elif which == "risk_tight":
            inp = SetRisk(max_trades_per_day=2, daily_stop_limit_pct=20.0)
        elif which == "risk_loose":
            inp = SetRisk(max_trades_per_day=8, daily_stop_limit_pct=30.0, daily_stop_enabled=True)
        else:
            inp = TvHeartbeat(asset=asset, price=draw(price_st), client_ts=1.0)
        self.step(inp)

    # ---- bridge --------------------------------------------------------------------------------------------------

    @rule(limit=st.sampled_from((0, 1, 10, None)), owner=st.sampled_from(("bridge-a", "bridge-b")),
          flags=st.sampled_from((0, 1, "yes", None)))
    def poll_or_bridge_heartbeat(self, limit: int | None, owner: str, flags: object) -> None:
        if limit is None:
            self.step(BridgeHeartbeat(info={"tsConnected": bool(flags), "mdConnected": flags, "account": "A1"}))
        else:
            self.step(PollPending(owner=owner, limit=limit))

    @rule(data=st.data(), status=st.sampled_from(STATUSES),
          qty=st.one_of(st.none(), st.none(), st.integers(min_value=0, max_value=6)),
          cum=st.booleans(), price=price_st, fill_id=st.one_of(st.none(), st.sampled_from(("f1", "f2"))))
    def execution_report(self, data: st.DataObject, status: str, qty: int | None, cum: bool, price: float | None,
                         fill_id: str | None) -> None:
        live = sorted(o.id for o in self.world.orders.values() if o.status not in TERMINAL)
        every = sorted(self.world.orders)
        choices = [*live, *live, *every, "bogus"]
        order_id = data.draw(st.sampled_from(choices))
        fields: dict[str, Any] = {"order_id": order_id, "status": status, "fill_price": price, "fill_id": fill_id}
        if cum and qty is not None:
            fields["cum_qty"] = qty
        else:
            fields["qty"] = qty
        self.step(ExecutionReport(**fields))

    @rule(data=st.data(), balance=st.sampled_from((None, 50000.0, 45000.0, 35000.01, 35000.0, 30000.0, 60000.0)),
          open_pnl=st.sampled_from((0.0, 80.0, 400.0, -60.0, -400.0)))
    def snapshot(self, data: st.DataObject, balance: float | None, open_pnl: float) -> None:
        symbols = []
        for key in ASSETS:
            local = self.world.assets[key].position
            broker = data.draw(st.sampled_from((local, local, 0, None, 3, -2)), label=f"broker_{key}")
            if broker is None:
                continue    # not listed: counts as flat
            contract = data.draw(st.sampled_from(CONTRACTS[key]), label=f"contract_{key}")
            symbols.append(SymbolPosition(symbol=contract, position=broker, open_pnl=open_pnl))
        self.step(PnlSnapshot(account_balance=balance, realized=0.0, unrealized=open_pnl, symbols=tuple(symbols)))

    # ---- timers --------------------------------------------------------------------------------------------------

    @rule(starts_in=st.sampled_from((-30.0, 0.0, 20.0, 90.0, 400.0)), lead=st.sampled_from((0, 60, 300)),
          tick=st.sampled_from((None, 0.0, 0.0, 1.0, 61.0)))
    def blackout_then_watchdog(self, starts_in: float, lead: int, tick: float | None) -> None:
        """D22's flatten-before racing everything else: a window whose lead has come or comes soon (its timer joins
        the known ones, so the timer rule delivers it late, early or twice), and the watchdog's tick (D23), which
        flattens too; twice in the same second with tick 0."""
        start = self.now + starts_in
        self.step(AddBlackouts(windows=(BlackoutSpec(kind="once", label="news", start=start, end=start + 120,
                                                     flatten_before_s=lead),)))
        if tick is not None:
            self.now += tick
            self.step(TimerFired(kind="watchdog", key="tick", at=self.now))

    @rule(data=st.data(), late=st.sampled_from((0.0, 0.0, 30.0, -5.0)))
    def timer(self, data: st.DataObject, late: float) -> None:
        if self.timers and data.draw(st.booleans(), label="known"):
            kind, key, at = data.draw(st.sampled_from(self.timers), label="timer")
            self.now = max(self.now, at + late)
        else:
            kind = data.draw(st.sampled_from(("candle_lock_end", "cooldown_end", "intent_expiry", "preorder_expiry",
                                              "lease_end")), label="kind")
            key, at = data.draw(st.sampled_from(("ES:1", "bogus", "1"))), self.now
        self.step(TimerFired(kind=kind, key=key, at=at))  # type: ignore[arg-type]


COMMON = {"deadline": None, "derandomize": True, "database": None,
          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]}
# `make unit` (the inner loop) runs a tenth of the examples: seconds instead of minutes. `make test` and CI run all.
QUICK = os.environ.get("INVARIANTS_QUICK") == "1"


def examples(full: int) -> int:
    return max(10, full // 10) if QUICK else full


TestShortRuns = TradingMachine.TestCase
TestShortRuns.settings = settings(max_examples=examples(1500), stateful_step_count=15,  # type: ignore[arg-type]
                                  **COMMON)


class LongRunMachine(TradingMachine):
    """Fewer, longer runs: whole trades, day rollovers, stop and restart."""


TestLongRuns = LongRunMachine.TestCase
TestLongRuns.settings = settings(max_examples=examples(500), stateful_step_count=40,  # type: ignore[arg-type]
                                 **COMMON)
