"""One interface to the control plane, two ways to reach it.

- `InProcess`: the pure domain (`shared.domain.decide`) with exactly the documents the service layer would load
  for each input — what the backtest runs, thousands of decisions a second, no emulator.
- `Http`: the real routes of the local or a deployed stack, with the payloads TradingView, the operator's dashboard
  and the bridge send. On the local stack it moves the frozen dev clock to market time (`POST /_dev/clock`).

Both answer `(status, body)` as the HTTP route would, so the session driver (sim/session.py), the paper bridge and
the auto-operator run unchanged on either: that is what lets the lock-step replay prove it yields the backtest's
trades (sim/soak.py, tests/sim).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import requests

from shared.domain import catalog, windows
from shared.domain.config import Config, default_config
from shared.domain.core import apply_pending_risk
from shared.domain.engine import decide, initial_world, orders_needed
from shared.domain.inputs import (
    RISK_SETTINGS,
    AddBlackouts,
    BridgeHeartbeat,
    ExecutionReport,
    Input,
    ManualExit,
    PlaceOrder,
    PnlSnapshot,
    PollPending,
    RenkoBar,
    SetPointsTakeProfit,
    SetProtect,
    SetRisk,
    SymbolPosition,
    TimerFired,
    ToggleExit,
    TvHeartbeat,
)
from shared.domain.money import rooms_cents
from shared.domain.orders import TERMINAL
from shared.domain.state import AssetState, Order, World, field_names
from shared.domain.view import gates_view, state_view
from shared.errors import BadInput
from shared.service.loads import Loads, loads
from shared.web.calendar import parse_trading_hours, parse_window

Answer = tuple[int, dict[str, Any]]

STREAM_ROUTES = catalog.STREAM_ROUTES   # TradingView stream → webhook route
TOGGLE_ROUTES: dict[str, str] = {
    "high_next_bar": "/api/high-next-bar-exit",
    "main_flip": "/api/main-flip-exit",
    "four_pt": "/api/four-pt-invalidation",
    "auto_exit": "/api/auto-exit",
}


@dataclass(frozen=True)
class Fill:
    """One execution report as the bridge sends it."""

    order_id: str
    status: str
    qty: int | None = None
    cum_qty: int | None = None
    fill_price: float | None = None
    fill_id: str | None = None
    reason: str | None = None


class Position(NamedTuple):
    """One broker position of a PnL snapshot (`symbols[]`). A named tuple: a snapshot's positions key the venue's
    input cache, hashed and compared at every tick while a position is open."""

    symbol: str
    position: int
    open_pnl: float
    avg_open_fill: float | None = None


class Venue(Protocol):
    """What the simulator needs of the control plane. Every method answers like the route it stands for."""

    def set_time(self, now: float) -> None: ...
    # TradingView
    def renko(self, asset: str, stream: str, color: str, bar_id: str | None) -> Answer: ...
    def tv_heartbeat(self, asset: str, price: float) -> Answer: ...
    # operator
    def gates(self, asset: str) -> Answer: ...
    def state(self) -> Answer: ...
    def asset(self, asset: str) -> Mapping[str, Any]: ...
    def place_order(self, asset: str, trade_mode: str, direction: str | None, size_mode: str) -> Answer: ...
    def points_take_profit(self, asset: str, target: float) -> Answer: ...
    def protect(self, asset: str, threshold: float) -> Answer: ...
    def toggle(self, asset: str, toggle: str) -> Answer: ...
    def exit(self, asset: str, force: bool) -> Answer: ...
    def risk(self, settings: Mapping[str, Any]) -> Answer: ...   # as POST /api/risk takes them
    def calendar(self, windows: list[Any]) -> Answer: ...        # blackout windows as POST /api/calendar takes them
    # bridge
    def poll(self, owner: str, limit: int, wait: float | None = None) -> Answer: ...
    def report(self, fill: Fill) -> Answer: ...
    def bridge_heartbeat(self, info: dict[str, Any]) -> Answer: ...
    def snapshot(self, balance: float, realized: float, unrealized: float, positions: Iterable[Position]) -> Answer: ...
    # results
    def trades(self) -> list[dict[str, Any]]: ...


# ---------------------------------------------------------------------------------------------------------------
# In process: the domain, loading what the service layer loads
# ---------------------------------------------------------------------------------------------------------------

SNAPSHOT_CACHE = 4096   # distinct snapshot inputs kept (a bound, not a tuning: a day's open trades need far fewer)


class Facts(Mapping[str, Any]):
    """A stored asset record read as its document, field by field: the operator reads a handful of its ~100 fields
    at each look, and copying them all (`to_doc`) cost more than the look. A decision never changes a record the
    venue holds (it changes its own copy, which the venue then stores in its place), so the view keeps showing the
    facts of the moment it was taken."""

    __slots__ = ("_record",)

    def __init__(self, record: AssetState) -> None:
        self._record = record

    def __getitem__(self, name: str) -> Any:
        if name not in _ASSET_FIELDS:
            raise KeyError(name)
        return getattr(self._record, name)

    def __iter__(self) -> Iterator[str]:
        return iter(field_names(AssetState))

    def __len__(self) -> int:
        return len(_ASSET_FIELDS)

    def __repr__(self) -> str:
        return f"Facts({dict(self)!r})"


_ASSET_FIELDS = frozenset(field_names(AssetState))


def _zeros(key: tuple[Any, ...]) -> tuple[bool, bool]:
    """(whether a snapshot key holds a zero, whether each of its zeros is +0.0). -0.0 == 0.0 (and hashes alike),
    yet the domain would store the sign it was given (an open P&L of -0.0 on a short at its entry price), so a key
    holding a negative zero is neither looked up nor kept."""
    balance, realized, unrealized, rows = key
    numbers = [balance, realized, unrealized]
    for row in rows:   # a loop, not generators: asked at every snapshot
        numbers += row.open_pnl, row.avg_open_fill
    if 0 not in numbers:
        return False, True
    return True, all(math.copysign(1.0, n) > 0 for n in numbers if n == 0)


# The route's risk settings (one list: RISK_SETTINGS), the trading hours as its New York "HH:MM" spans
RISK_FIELDS = RISK_SETTINGS
# a settings file's blackout windows (D22), each as `POST /api/calendar` takes it: not a risk setting
BLACKOUTS = "blackouts"


def risk_input(settings: Mapping[str, Any]) -> SetRisk:
    """The risk settings as `POST /api/risk` takes them (a dollar limit's null switches it off; the trading hours
    as {"MON": [["09:30", "16:00"]], …} New York time) as the domain's input; an unknown name or a bad value is a
    ValueError naming it, as the route's 400."""
    unknown = sorted(set(settings) - set(RISK_FIELDS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown risk setting (expected any of {', '.join(RISK_FIELDS)})")
    given = {k: v for k, v in settings.items() if v is not None}
    if "trading_hours" in given:
        given["trading_hours"] = _parsed(parse_trading_hours, given["trading_hours"])
    return SetRisk(**given, off=tuple(k for k, v in settings.items() if v is None))


def blackouts_input(windows: object) -> AddBlackouts:
    """Blackout windows as `POST /api/calendar` takes them (a list of one-off {label, start, end} with ISO 8601
    times, or weekly {label, days, start, end} in New York "HH:MM"; `flatten_before_s` optional) as the domain's
    input; a bad one is a ValueError naming it."""
    if not isinstance(windows, list) or not windows:
        raise ValueError(f"{BLACKOUTS}: expected a list of windows as POST /api/calendar takes them")
    return AddBlackouts(windows=tuple(_parsed(parse_window, w, f"{BLACKOUTS}[{i}]") for i, w in enumerate(windows)))


def _parsed(parse: Callable[..., Any], *args: Any) -> Any:
    try:
        return parse(*args)
    except BadInput as exc:
        raise ValueError(str(exc)) from None


@dataclass
class LimitWatch:
    """How close the session came to each dollar limit (the least room left after any snapshot) and when a limit
    was hit, for the backtest's report."""

    closest_cents: dict[str, int] = field(default_factory=dict)
    breaches: list[tuple[float, str]] = field(default_factory=list)

    def watch(self, decision: Any, now: float) -> None:
        g = decision.world.glob
        if g.daily_loss_limit_usd is None and g.trailing_drawdown_usd is None:
            return
        for limit, room in rooms_cents(g).items():
            if room is not None and (limit not in self.closest_cents or room < self.closest_cents[limit]):
                self.closest_cents[limit] = room
        for event in decision.events:
            if event.code in ("DAILY_LOSS_LIMIT", "TRAILING_DRAWDOWN") and event.kind in (
                    "daily_stop_trigger", "trailing_drawdown_breached"):
                self.breaches.append((now, event.code))


@dataclass
class InProcess:
    """The control plane as a pure function of its inputs. Orders live beside the world, as documents do in the
    store, and each decision sees only the records the service layer loads for that input: the same table
    (`shared.service.loads`: its assets, the orders it names, the poll's PENDING orders) and the same extra orders a
    decision asks for (`engine.orders_needed`), so both venues decide on the same facts by construction."""

    config: Config = field(default_factory=default_config)
    now: float = 0.0
    # the answers that carry the computed state (a placed order, an exit set: engine.WITH_STATE) build it as the
    # service's do; a caller that reads facts only (the backtest's auto-operator) leaves it out: ~0.1 ms an answer
    answers_state: bool = True
    world: World = field(init=False)
    orders: dict[str, Order] = field(default_factory=dict, init=False)
    pending: set[str] = field(default_factory=set, init=False)   # ids of the PENDING orders (the poll's query)
    closed: list[dict[str, Any]] = field(default_factory=list, init=False)
    decisions: int = field(default=0, init=False)
    limits: LimitWatch = field(default_factory=lambda: LimitWatch(), init=False)   # the dollar limits (D20)
    # snapshot inputs by their values: while a position is open the bridge reports the same few prices' P&L over
    # and over, and an input is immutable, so an equal one is built (validated) once
    _snapshots: dict[tuple[Any, ...], tuple[PnlSnapshot, bool]] = field(default_factory=dict, init=False, repr=False)
    _same_snapshot: dict[int, tuple[Any, ...]] = field(default_factory=dict, init=False, repr=False)
    _tv_heartbeats: dict[tuple[str, float], TvHeartbeat] = field(default_factory=dict, init=False, repr=False)
    _last_bridge_heartbeat: tuple[str, BridgeHeartbeat] | None = field(default=None, init=False, repr=False)
    # D22's flatten-before timers, the one kind of timer that acts (the others only tidy up what is derived anyway):
    # delivered when market time reaches them, as Cloud Tasks would; each (key, due time) once, as a named task
    flatten_timers: list[tuple[float, str]] = field(default_factory=list, init=False)
    _timer_names: set[tuple[float, str]] = field(default_factory=set, init=False, repr=False)
    # the watchdog's tick, once a minute of market time as the replay ticks the stack's: it flattens what a
    # window's lead catches after its timer (D22, operator.ensure_flatten); ticked only while a window has a lead
    # (the rest of the tick, D23's silences, changes no trade)
    _watchdog_minute: int | None = field(default=None, init=False, repr=False)
    _set_at: float | None = field(default=None, init=False, repr=False)   # the time of the last set_time

    def __post_init__(self) -> None:
        self.world = initial_world(self.config)

    def set_time(self, now: float) -> None:
        if now == self._set_at == self.now and not (self.flatten_timers and self.flatten_timers[0][0] <= now):
            return   # the time it was set to last, nothing due: the bridge's round sets the session's tick again
        while self.flatten_timers and self.flatten_timers[0][0] <= now:
            at, key = self.flatten_timers.pop(0)
            self.now = max(self.now, at)
            self._decide(TimerFired(kind="blackout_flatten", key=key, at=at))
        self.now = now
        minute = int(now // 60)
        if minute != self._watchdog_minute:
            self._watchdog_minute = minute
            if any(w.get("flatten_before_s") is not None for w in windows.windows(self.world.glob)):
                self._decide(TimerFired(kind="watchdog", key="tick", at=now))
        self._set_at = now

    def _decide(self, inp: Input) -> Answer:
        """One decision on what the service layer loads for it (the global record, the table's assets and orders).
        What the decision returns is written back, as the store does."""
        self.decisions += 1
        current = self.world
        table = loads(inp, self.config)   # what `_loads` answers, without the method call
        # at every decision: a loop rather than a comprehension (a function to create and call on Python 3.11)
        loaded = {}
        for key in table.assets:
            if key in current.assets:
                loaded[key] = current.assets[key]
        orders = self._orders_for(table) if table.order_ids or table.pending_limit is not None else {}
        world = World(current.glob, loaded, orders)
        needed = orders_needed(world, inp)
        if needed:
            world.orders.update({i: self.orders[i] for i in needed - set(world.orders) if i in self.orders})
        decision = decide(world, inp, self.now, self.config, f"sim{self.decisions}")
        if type(inp) is PnlSnapshot:
            self.limits.watch(decision, self.now)
        new = decision.world
        if new is not world:   # a refusal answers the world it was given: nothing to write back
            current.glob = new.glob
            current.assets.update(new.assets)
            for order in new.orders.values() if new.orders else ():   # most decisions load no order
                self.orders[order.id] = order
                (self.pending.add if order.status == "PENDING" else self.pending.discard)(order.id)
        if decision.trades:
            self.closed.extend(dict(row) for row in decision.trades)
        if decision.timers:
            self._keep_flatten_timers(decision.timers)
        if not (decision.include_state and self.answers_state):
            return decision.status, decision.body   # a fresh dict of this decision's own
        body = dict(decision.body)
        body["state"] = state_view(current, self.now, self.config)
        return decision.status, body

    def _keep_flatten_timers(self, timers: Iterable[Any]) -> None:
        for timer in timers:
            name = (timer.at, timer.key)
            if timer.kind == "blackout_flatten" and name not in self._timer_names:
                self._timer_names.add(name)
                self.flatten_timers.append(name)
        self.flatten_timers.sort()

    def _loads(self, inp: Input) -> Loads:
        return loads(inp, self.config)

    def _orders_for(self, table: Loads) -> dict[str, Order]:
        if table.pending_limit is not None:  # the query's order: created_at, ties by document id
            pending = sorted((self.orders[i] for i in self.pending),
                             key=lambda o: (o.created_at, o.id))[: table.pending_limit]
            return {o.id: o for o in pending}
        return {i: self.orders[i] for i in table.order_ids if i in self.orders}

    def renko(self, asset: str, stream: str, color: str, bar_id: str | None) -> Answer:
        return self._decide(RenkoBar(stream=stream, asset=asset, color=color, bar_id=bar_id))  # type: ignore[arg-type]

    def tv_heartbeat(self, asset: str, price: float) -> Answer:
        # an input is immutable: one per (asset, price) is built (validated) once, as `snapshot`'s are; only a
        # non-zero float price (-0.0 == 0.0, and 1 == 1.0, would share a key yet not be the same input)
        key = (asset, price)
        inp = self._tv_heartbeats.get(key) if type(price) is float and price else None
        if inp is None:
            inp = TvHeartbeat(asset=asset, price=price)
            if type(price) is float and price:
                if len(self._tv_heartbeats) >= SNAPSHOT_CACHE:
                    self._tv_heartbeats.clear()
                self._tv_heartbeats[key] = inp
        return self._decide(inp)

    def gates(self, asset: str) -> Answer:
        return 200, gates_view(self.world.clone(), asset, self.now, self.config, None)

    def state(self) -> Answer:
        return 200, state_view(self.world, self.now, self.config)

    def asset(self, asset: str) -> Mapping[str, Any]:
        """The asset's stored facts (the operator reads facts only; no derived flag)."""
        return Facts(self.world.assets[asset])

    def place_order(self, asset: str, trade_mode: str, direction: str | None, size_mode: str) -> Answer:
        return self._decide(PlaceOrder(asset=asset, trade_mode=trade_mode, direction=direction,
                                       entry_size_mode=size_mode))

    def points_take_profit(self, asset: str, target: float) -> Answer:
        return self._decide(SetPointsTakeProfit(asset=asset, enabled=True, target=target))

    def protect(self, asset: str, threshold: float) -> Answer:
        return self._decide(SetProtect(asset=asset, enabled=True, threshold=threshold))

    def toggle(self, asset: str, toggle: str) -> Answer:
        return self._decide(ToggleExit(asset=asset, toggle=toggle))  # type: ignore[arg-type]

    def exit(self, asset: str, force: bool) -> Answer:
        return self._decide(ManualExit(asset=asset, force=force))

    def risk(self, settings: Mapping[str, Any]) -> Answer:
        return self._decide(risk_input(settings))

    def calendar(self, windows: list[Any]) -> Answer:
        return self._decide(blackouts_input(windows))

    def open_account(self, settings: Mapping[str, Any]) -> Answer:
        """A new account starts with all of these settings in force (no ratchet: nothing was looser before), and
        with the blackout windows of `settings["blackouts"]` (D22), if any."""
        risk = {k: v for k, v in settings.items() if k != BLACKOUTS}
        status, body = self.risk(risk)
        if status == 200:
            apply_pending_risk(self.world.glob)
        if status == 200 and BLACKOUTS in settings:
            status, body = self.calendar(settings[BLACKOUTS])
            status = 200 if status == 201 else status
        return status, body

    def poll(self, owner: str, limit: int, wait: float | None = None) -> Answer:
        """`wait` is accepted and ignored: in process, nothing else creates orders while a poll would wait."""
        if not self.pending:
            return 200, {"ok": True, "orders": []}   # an empty poll changes nothing (and writes nothing)
        return self._decide(PollPending(owner=owner, limit=limit))

    def report(self, fill: Fill) -> Answer:
        if fill.order_id not in self.orders:
            return 404, {"ok": False, "error": "Unknown order"}
        return self._decide(ExecutionReport(
            order_id=fill.order_id, status=fill.status, qty=fill.qty, cum_qty=fill.cum_qty,  # type: ignore[arg-type]
            fill_price=fill.fill_price, fill_id=fill.fill_id, reason=fill.reason,
        ))

    def bridge_heartbeat(self, info: dict[str, Any]) -> Answer:
        # the paper bridge sends the same info every time: the input of the last one is reused when the info's
        # text is the same (its repr tells 1 from True and -0.0 from 0.0, which equality does not)
        text = repr(info)
        last = self._last_bridge_heartbeat
        if last is None or last[0] != text:
            last = self._last_bridge_heartbeat = (text, BridgeHeartbeat(info=info))
        return self._decide(last[1])

    def snapshot(self, balance: float, realized: float, unrealized: float, positions: Iterable[Position]) -> Answer:
        # The paper bridge hands over the very objects of the snapshot it reported at this price before (its own
        # cache): the same four objects are the same values, zeros' signs included, so their input is reused
        # without hashing or a look at the zeros.
        same = self._same_snapshot.get(id(positions))
        if same is not None and same[0] is positions and same[1] is balance and same[2] is realized and (
                same[3] is unrealized):
            return self._decide(same[4])
        key = (balance, realized, unrealized, tuple(positions))
        # Only keys without a negative zero are kept (see `_zeros`), each with whether it holds a zero. A kept key
        # without any zero is equal only to an identical one, so a hit on it needs no check; a hit on one with a
        # zero is taken only if this key's zeros are all +0.0 too.
        known = self._snapshots.get(key)
        if known is not None and (not known[1] or _zeros(key)[1]):
            self._remember_same(positions, balance, realized, unrealized, known[0])
            return self._decide(known[0])
        has_zero, exact = _zeros(key)
        symbols = tuple(SymbolPosition(symbol=p.symbol, position=p.position, open_pnl=p.open_pnl,
                                       avg_open_fill=p.avg_open_fill) for p in key[3])
        inp = PnlSnapshot(realized=realized, unrealized=unrealized, account_balance=balance, symbols=symbols)
        if exact:
            if len(self._snapshots) >= SNAPSHOT_CACHE:
                self._snapshots.clear()
            self._snapshots[key] = (inp, has_zero)
        self._remember_same(positions, balance, realized, unrealized, inp)
        return self._decide(inp)

    def _remember_same(self, positions: Iterable[Position], balance: float, realized: float, unrealized: float,
                       inp: PnlSnapshot) -> None:
        """Kept by the positions object's id, which the entry holds (so no other object takes that id meanwhile);
        only a tuple, which nobody can change afterwards."""
        if type(positions) is not tuple:
            return
        if len(self._same_snapshot) >= SNAPSHOT_CACHE:
            self._same_snapshot.clear()
        self._same_snapshot[id(positions)] = (positions, balance, realized, unrealized, inp)

    def trades(self) -> list[dict[str, Any]]:
        return list(self.closed)

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status not in TERMINAL]


# ---------------------------------------------------------------------------------------------------------------
# Over HTTP: the real routes
# ---------------------------------------------------------------------------------------------------------------


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.05, float(response.headers.get("Retry-After", "0.2")))
    except ValueError:
        return 0.2


class VenueError(RuntimeError):
    """The control plane answered something a client cannot go on from (5xx, a refused secret, no route)."""


@dataclass
class Http:
    """A client of the real routes. `tv_secret`/`bridge_secret` as TradingView and the bridge hold them; the
    operator signs in with `password` (an open local dashboard needs none). `dev_clock=True` moves the stack's
    frozen clock to market time before each input (local stack only)."""

    url: str
    tv_secret: str = ""
    bridge_secret: str = ""
    password: str | None = None
    dev_clock: bool = True
    timeout: float = 30.0
    tv_symbol: dict[str, str] = field(default_factory=lambda: {"ES": "CME_MINI:MES1!", "NQ": "CME_MINI:MNQ1!"})
    retries: int = 5
    reconnects: int = 3              # a reset or refused connection is tried again this many times (issue 21)
    reconnect_pause: float = 0.5
    now: float | None = field(default=None, init=False)
    requests_sent: int = field(default=0, init=False)
    retried: int = field(default=0, init=False)
    outcome_unknown: int = field(default=0, init=False)   # 503s that said the commit may have landed (D19)
    reconnected: int = field(default=0, init=False)        # requests sent again after a dropped connection
    # called with the new time once this client moved the stack's clock (the paper bridge heartbeats at once, so a
    # jump of the market's time never reads as a silent bridge)
    clock_listeners: list[Callable[[float], None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.tv = requests.Session()
        self.bridge = requests.Session()
        self.poller = requests.Session()
        self.operator = requests.Session()
        self._clock_at: float | None = None
        self._signed_in = False

    # --- plumbing ---------------------------------------------------------------------------------------------
    def _send(self, session: requests.Session, method: str, path: str, **kwargs: Any) -> Answer:
        """One request; a 503 ("nothing was written; retry", or D19's OUTCOME_UNKNOWN) is sent again, unchanged,
        after its Retry-After, as TradingView and the bridge do, at most `retries` times."""
        for attempt in range(self.retries + 1):
            response = self._request(session, method, path, **kwargs)
            if response.status_code != 503 or attempt == self.retries:
                break
            self.retried += 1
            if '"OUTCOME_UNKNOWN"' in response.text:
                self.outcome_unknown += 1  # re-sent as it was: a fill's id, a command's key make it count once
            time.sleep(min(1.0, _retry_after(response)))
        try:
            body = response.json()
        except ValueError:
            body = {"ok": False, "error": response.text[:200]}
        if not isinstance(body, dict):
            body = {"ok": False, "body": body}
        if response.status_code >= 500 or response.status_code == 401:
            raise VenueError(f"{method} {path} answered {response.status_code}: {body.get('error', body)}")
        return response.status_code, body

    def _request(self, session: requests.Session, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request, sent again (unchanged: its Idempotency-Key, fill id or bar id make it count once) when the
        connection was reset or refused, after a short pause, up to `reconnects` times; then the error stands."""
        for attempt in range(self.reconnects + 1):
            self.requests_sent += 1
            try:
                return session.request(method, self.url + path, **{"timeout": self.timeout, **kwargs})
            except requests.ConnectionError as exc:
                if attempt == self.reconnects:
                    raise VenueError(f"{method} {path}: {exc}") from exc
                self.reconnected += 1
                time.sleep(self.reconnect_pause)
            except requests.RequestException as exc:
                raise VenueError(f"{method} {path}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _tv(self, path: str, body: dict[str, Any]) -> Answer:
        self._sync_clock()
        # TradingView posts the alert message as text/plain (D6)
        data = json.dumps({"secret": self.tv_secret, **body})
        return self._send(self.tv, "POST", path, data=data, headers={"Content-Type": "text/plain"})

    def _op(self, method: str, path: str, body: dict[str, Any] | None = None,
            params: dict[str, Any] | None = None) -> Answer:
        """An operator request; a command carries one Idempotency-Key for all its re-sends (D19), as the dashboard's
        click does: a 503 whose commit landed after all is answered with that first outcome, not applied twice."""
        self._sync_clock()
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
        return self._send(self._operator, method, path, json=body, params=params, headers=headers)

    def _br(self, method: str, path: str, body: dict[str, Any] | None = None,
            params: dict[str, Any] | None = None) -> Answer:
        self._sync_clock()
        headers = {"X-Bridge-Secret": self.bridge_secret}
        payload = None if body is None else {"secret": self.bridge_secret, **body}
        return self._send(self.bridge, method, path, json=payload, params=params, headers=headers)

    @property
    def _operator(self) -> requests.Session:
        """The operator's session, signed in on first use (the dev routes need it too when a password is set)."""
        if not self._signed_in:
            self.sign_in()
        return self.operator

    def sign_in(self) -> None:
        status, body = self._send(self.operator, "POST", "/api/login", json={"password": self.password or ""})
        if status != 200:
            raise VenueError(f"operator sign-in refused ({status}): {body.get('error')}")
        self._signed_in = True

    def set_time(self, now: float) -> None:
        self.now = now

    def _sync_clock(self) -> None:
        if self.dev_clock and self.now is not None and self.now != self._clock_at:
            self._send(self._operator, "POST", "/_dev/clock", json={"now": self.now})
            self._clock_at = self.now
            for listener in self.clock_listeners:
                listener(self.now)

    def release_clock(self) -> None:
        """Give the stack its real clock back."""
        if self.dev_clock:
            self._send(self._operator, "DELETE", "/_dev/clock")
            self._clock_at = None

    # --- TradingView -------------------------------------------------------------------------------------------
    def renko(self, asset: str, stream: str, color: str, bar_id: str | None) -> Answer:
        body: dict[str, Any] = {"asset": self.tv_symbol.get(asset, asset), "color": color}
        if bar_id is not None:
            body["bar_id"] = bar_id
        return self._tv(STREAM_ROUTES[stream], body)

    def tv_heartbeat(self, asset: str, price: float) -> Answer:
        return self._tv("/tv_heartbeat", {"symbol": self.tv_symbol.get(asset, asset), "price": price})

    # --- operator ----------------------------------------------------------------------------------------------
    def gates(self, asset: str) -> Answer:
        return self._op("GET", "/api/gates", params={"asset": asset})

    def state(self) -> Answer:
        return self._op("GET", "/api/state")

    def asset(self, asset: str) -> dict[str, Any]:
        _, body = self.state()
        shown: dict[str, Any] = body["assets"][asset]
        return shown

    def place_order(self, asset: str, trade_mode: str, direction: str | None, size_mode: str) -> Answer:
        body: dict[str, Any] = {"asset": asset, "trade_mode": trade_mode, "order_type": "market",
                                "entry_size_mode": size_mode}
        if direction is not None:
            body["direction"] = direction
        return self._op("POST", "/api/orders", body)

    def points_take_profit(self, asset: str, target: float) -> Answer:
        return self._op("POST", "/api/points-take-profit", {"asset": asset, "enabled": True, "target": target})

    def protect(self, asset: str, threshold: float) -> Answer:
        return self._op("POST", "/api/protect", {"asset": asset, "enabled": True, "threshold": threshold})

    def toggle(self, asset: str, toggle: str) -> Answer:
        return self._op("POST", TOGGLE_ROUTES[toggle], {"asset": asset})

    def exit(self, asset: str, force: bool) -> Answer:
        return self._op("POST", "/api/exit", {"asset": asset, "force": force})

    def risk(self, settings: Mapping[str, Any]) -> Answer:
        return self._op("POST", "/api/risk", dict(settings))

    def calendar(self, windows: list[Any]) -> Answer:
        return self._op("POST", "/api/calendar", {"windows": list(windows)})

    # --- bridge -------------------------------------------------------------------------------------------------
    def poll(self, owner: str, limit: int, wait: float | None = None) -> Answer:
        """The pending poll; with `wait` the long poll (held up to `wait` s until an order is pending), sent on a
        session of its own so a held request never shares a connection with the reports of another thread."""
        if not wait:
            return self._br("GET", "/api/orders/pending", params={"owner": owner, "limit": limit})
        self._sync_clock()
        return self._send(self.poller, "GET", "/api/orders/pending", timeout=wait + self.timeout,
                          params={"owner": owner, "limit": limit, "wait": wait},
                          headers={"X-Bridge-Secret": self.bridge_secret})

    def report(self, fill: Fill) -> Answer:
        body: dict[str, Any] = {"status": fill.status}
        for name in ("qty", "cum_qty", "fill_price", "fill_id", "reason"):
            value = getattr(fill, name)
            if value is not None:
                body[name] = value
        return self._br("POST", f"/api/orders/{fill.order_id}/execution-report", body)

    def bridge_heartbeat(self, info: dict[str, Any]) -> Answer:
        return self._br("POST", "/api/bridge/heartbeat", info)

    def snapshot(self, balance: float, realized: float, unrealized: float, positions: Iterable[Position]) -> Answer:
        symbols = [{"symbol": p.symbol, "position": p.position, "openPnl": p.open_pnl,
                    **({"avgOpenFill": p.avg_open_fill} if p.avg_open_fill is not None else {})} for p in positions]
        return self._br("POST", "/api/rithmic/pnl-snapshot", {"accountBalance": balance, "realized": realized,
                                                               "unrealized": unrealized, "symbols": symbols})

    # --- results ------------------------------------------------------------------------------------------------
    def trades(self) -> list[dict[str, Any]]:
        _, body = self._op("GET", "/api/history", params={"limit": 500})
        return sorted(body.get("history", []), key=lambda row: (row.get("exit_ts") or 0, row.get("asset") or ""))
