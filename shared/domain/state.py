"""The stored state: one global record, one record per asset, and orders. Facts only; flags are derived (view.py).

Every record is a slotted dataclass that a decision copies before it changes it (`clone`, `shallow_copy`; how the
copy is made fast: fast.py). Container fields (dicts/lists) are never mutated in place: a rule that changes one
assigns a new container, so shallow copies stay independent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from . import fast

Color = Literal["green", "red", "neutral"]
Side = Literal["BUY", "SELL"]
COLORS: tuple[str, ...] = ("green", "red", "neutral")


@dataclass(slots=True)
class GlobalState:
    env: str = "DEMO"
    equity: float = 50000.0
    trade_lock: bool = False
    trade_lock_reason: str | None = None
    five_min_trade_bucket: int | None = None
    post_exit_lock_started_ts: float | None = None
    post_exit_lock_expires_ts: float | None = None
    # risk settings in force (D5) and loosening changes waiting for the next trading day
    daily_stop_enabled: bool = True
    daily_stop_limit_pct: float = 30.0
    max_trades_per_day: int = 6
    # the dollar limits (D20; None = off) and each asset's protective stop distance in points (D21; absent = the
    # asset's default)
    daily_loss_limit_usd: float | None = None
    trailing_drawdown_usd: float | None = None
    trailing_mode: str = "intraday"
    trailing_stops_at_usd: float | None = None
    max_loss_per_trade_usd: float | None = None
    warn_at_pct: float = 80.0
    # the operator's own limit on the TradingView price's age for entries (issue 21): at most Config.heartbeat_fresh_s
    max_price_age_s: float = 600.0
    protective_stop_points: dict[str, float] = field(default_factory=dict)
    require_protective_stop: bool = False   # D21: entries only with a bridge that rests stops
    flatten_if_unprotected: bool = False    # D21: a rejected stop flattens the position at once
    # discipline (D22): the loss streak's settings (None = off), the allowed trading hours by weekday ("MON" ->
    # [start, end, …]: [start, end) pairs in minutes of the New York day, flat; empty = every hour allowed) and the
    # blackout windows (at most `windows.MAX_WINDOWS`, each a dict of `windows.py`; a removed one stays in force to
    # the rollover)
    loss_streak_limit: int | None = None
    loss_streak_lock_minutes: int = 30
    trading_hours: dict[str, list[int]] = field(default_factory=dict)
    blackouts: list[dict[str, Any]] = field(default_factory=list)
    blackout_seq: int = 0
    pending_risk: dict[str, Any] = field(default_factory=dict)
    # the trailing drawdown's high-water mark (net liquidation value) persists across days; a breach locks entries
    # until the operator re-baselines the account
    trailing_hwm_usd: float | None = None
    trailing_breached: bool = False
    trailing_breached_equity_usd: float | None = None
    # the trading day (D4) the daily fields below belong to
    trading_day: str | None = None
    daily_start_equity: float | None = None
    daily_stop_triggered: bool = False
    daily_stop_triggered_ts: float | None = None
    daily_stop_triggered_reason: str | None = None
    daily_stop_triggered_equity: float | None = None
    daily_stop_triggered_dd_pct: float | None = None
    daily_stop_code: str | None = None          # DAILY_STOP (percent) or DAILY_LOSS_LIMIT (dollars): the first to hit
    daily_start_netliq_usd: float | None = None  # the day's first snapshot's net liquidation value (D20)
    risk_warned: list[str] = field(default_factory=list)   # the limits whose warning was logged this trading day
    loss_streak_count: int = 0                  # losing trades in a row since the last win, lock or rollover (D22)
    loss_streak_locks_today: int = 0            # locks this trading day: the next one lasts 2^n × the minutes
    loss_streak_lock_until_ts: float | None = None
    trades_taken_today: int = 0
    daily_pnl_usd: float | None = None
    daily_pnl_pct: float | None = None
    daily_stop_remaining_pct: float | None = None
    # bridge
    rithmic_last_ts: float | None = None
    rithmic_snapshot_ts: float | None = None    # the last PnL snapshot: the age of every money figure (issue 21)
    rithmic_realized: float | None = None
    rithmic_unrealized: float | None = None
    rithmic_account_balance: float | None = None
    rithmic_bridge: dict[str, Any] | None = None
    # the watchdog's silence conditions that hold, each with the time it started (D23, issue 20)
    silences: dict[str, Any] | None = None
    # the watchdog's canary timer (TIMERS_FAILING): {key, due, fired}
    timer_canary: dict[str, Any] | None = None


@dataclass(slots=True)
class AssetState:
    symbol: str = "ES"
    # position and P&L
    position: int = 0
    avg_price: float | None = None
    entry_price: float | None = None
    pnl: float = 0.0
    last_entry_ts: float | None = None
    order_count: int = 0
    last_price: float | None = None
    rithmic_symbol: str | None = None
    env: str | None = None
    exit_filled_qty: int = 0
    exit_fill_value: float = 0.0
    realized_points_qty: float = 0.0   # Σ closed qty × (exit − average entry) × side, over the trade's exits
    # TradingView heartbeat (server receive time; the client's timestamp is kept, never trusted)
    last_heartbeat_ts: float | None = None
    heartbeat_client_ts: float | None = None
    # broker view (D10)
    broker_position: int | None = None
    broker_avg_price: float | None = None
    rithmic_open_points: float = 0.0
    rithmic_point_value: float | None = None
    mismatch_streak: int = 0
    position_mismatch: bool = False
    broker_flat_streak: int = 0
    stop_order_id: str | None = None   # the protective stop resting at the broker for the open position (D21)
    unfilled_close_qty: int = 0        # contracts the broker's snapshots closed (D10) whose fill has not arrived
    # renko streams (timestamps are server receive times)
    renko_color: str = "neutral"
    last_renko_ts: float | None = None
    color_changed: bool = False
    small_renko_color: str = "neutral"
    last_small_renko_ts: float | None = None
    one_renko_color: str = "neutral"
    one_renko_ts: float | None = None
    one_renko_color_changed: bool = False
    two_half_renko_color: str = "neutral"
    two_half_renko_ts: float | None = None
    two_half_color_changed: bool = False
    main_renko_color: str = "neutral"
    main_renko_ts: float | None = None
    high_renko_color: str = "neutral"
    high_renko_ts: float | None = None
    macro_renko_color: str = "neutral"
    macro_renko_ts: float | None = None
    recent_bar_ids: dict[str, list[str]] = field(default_factory=dict)
    # tempo token
    tempo_spent_ts: float | None = None
    tempo_4pt_unlock_ts: float | None = None
    last_exit_ts: float | None = None
    last_trade_had_new_main_bar_after_entry: bool = False
    # intent (D8)
    intent_active: bool = False
    intent_direction: str | None = None
    intent_created_ts: float | None = None
    intent_bar_base_ts: float | None = None
    intent_ready_bar_ts: float | None = None
    intent_status: str | None = None
    # pre-order
    preorder_active: bool = False
    preorder_direction: str | None = None
    preorder_qty: int = 0
    preorder_entry_size_mode: str | None = None
    preorder_trade_mode: str | None = None
    preorder_created_ts: float | None = None
    preorder_bar_base_ts: float | None = None
    preorder_status: str | None = None
    # the order in flight
    pending_order_id: str | None = None
    pending_side: str | None = None
    pending_qty: int = 0
    pending_mode: str | None = None
    pending_trade_mode: str | None = None
    pending_kind: str | None = None
    # exit configuration
    exit_mode: str | None = None
    exit_tf: str = "main"
    auto_exit_renko: str = "6pt"
    main_flip_exit_enabled: bool = False
    four_pt_invalidation_enabled: bool = False
    tp_armed: bool = False
    tp_target: int = 3
    tp_count: int = 0
    high_next_bar_exit_enabled: bool = False
    high_next_bar_exit_started_ts: float | None = None
    high_next_bar_exit_base_ts: float | None = None
    # points take-profit and protect
    points_tp_enabled: bool = False
    points_tp_target: float = 15.0
    points_tp_hit_ts: float | None = None
    protect_enabled: bool = False
    protect_threshold_points: float = -2.0
    protect_hit_ts: float | None = None
    # 2.5pt management lock (automatic)
    two_half_tp_lock_enabled: bool = False
    two_half_tp_lock_base_color: str | None = None
    two_half_tp_lock_released: bool = False
    two_half_tp_lock_started_ts: float | None = None
    two_half_tp_lock_released_ts: float | None = None
    # initial exit lock
    initial_exit_lock_active: bool = False
    initial_exit_lock_released: bool = False
    initial_exit_lock_started_ts: float | None = None
    initial_exit_lock_released_ts: float | None = None
    initial_exit_lock_base_main_ts: float | None = None
    # trade context
    trade_mode: str | None = None
    entry_zone: str | None = None
    runner_4pt_unlocked: bool = False
    entry_main_renko_ts: float | None = None
    entry_high_renko_ts: float | None = None
    entry_renko_color: str | None = None
    entry_main_renko_color: str | None = None
    # scale-in
    scale_in_available: bool = False
    scale_in_used: bool = False
    scale_in_stage: str | None = None
    scale_in_last_ts: float | None = None


ORDER_STATUSES = ("PENDING", "CLAIMED", "WORKING", "PARTIALLY_FILLED", "FILLED", "REJECTED", "CANCELLED", "STALE")


@dataclass(slots=True)
class Order:
    id: str
    asset: str
    symbol: str                 # broker contract, e.g. MESZ6
    side: str                   # BUY / SELL
    qty: int
    kind: str                   # ENTRY / EXIT
    source: str
    env: str
    exchange: str = "CME"
    mode: str = "A"
    trade_mode: str | None = None
    status: str = "PENDING"
    created_at: float = 0.0
    updated_at: float = 0.0
    lease_owner: str | None = None
    lease_until: float | None = None
    leased_at: float | None = None
    filled_qty: int = 0
    avg_fill_price: float | None = None
    fill_ids: list[str] = field(default_factory=list)
    reason: str | None = None
    last_report: dict[str, Any] | None = None
    ref_price: float | None = None  # the asset's last price when the order was created: a fill's band (D19)
    late_fill_qty: int = 0          # contracts filled after the desk thought the order dead (D19's LATE_FILL)
    # a STOP (D21): its level, the version the bridge is to apply (PLACE, then MODIFY) and that version's number
    stop_price: float | None = None
    action: str | None = None
    revision: int = 0
    replaces_stop: str | None = None   # an EXIT: the resting stop the bridge cancels before sending it (D21)

    @property
    def remaining_qty(self) -> int:
        return max(0, self.qty - self.filled_qty)


@dataclass(slots=True)
class World:
    """Everything one decision may look at. The shell loads only the parts a command needs."""

    glob: GlobalState = field(default_factory=GlobalState)
    assets: dict[str, AssetState] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)

    def clone(self) -> World:
        """A world a decision may change: every record copied, the given one untouched."""
        orders = fast.copy_values(self.orders, _copy_order) if self.orders else {}   # most decisions load none
        return World(_copy_global(self.glob), fast.copy_values(self.assets, _copy_asset), orders)


R = TypeVar("R", GlobalState, AssetState, Order)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_COPIERS: dict[type, Callable[[Any], Any]] = {}


def shallow_copy(record: R) -> R:
    """A copy of the record of its own (its containers shared: they are replaced, never changed in place)."""
    return _COPIERS[type(record)](record)  # type: ignore[no-any-return]


def field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def to_doc(record: GlobalState | AssetState | Order) -> dict[str, Any]:
    """The record as a plain dict. Containers are copied one level deep: they hold only scalars or lists of
    scalars."""
    out: dict[str, Any] = {}
    for name in field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, dict):
            value = {k: list(v) if isinstance(v, list) else v for k, v in value.items()}
        elif isinstance(value, list):
            value = list(value)
        out[name] = value
    return out


_SCALARS: dict[str, tuple[type, ...]] = {"float": (int, float), "int": (int,), "str": (str,), "bool": (bool,),
                                         "None": (type(None),), "dict": (dict,), "list": (list,)}
_ACCEPTED: dict[type, dict[str, tuple[type, ...]]] = {}


def _accepted(cls: type) -> dict[str, tuple[type, ...]]:
    """Field name -> the Python types a stored value of it may have, read from the annotations ("float | None")."""
    accepted = _ACCEPTED.get(cls)
    if accepted is None:
        accepted = {}
        for f in fields(cls):
            kinds: list[type] = []
            for part in str(f.type).split("|"):
                kinds.extend(_SCALARS.get(part.strip().split("[", 1)[0], ()))
            accepted[f.name] = tuple(kinds)
        _ACCEPTED[cls] = accepted
    return accepted


def _fits(value: Any, kinds: tuple[type, ...]) -> Any:
    """`value` if a field of `kinds` can hold it (a whole float in an int field becomes an int), else _UNFIT."""
    if isinstance(value, bool):
        return value if bool in kinds else _UNFIT
    if isinstance(value, float) and int in kinds and float not in kinds:
        return int(value) if value.is_integer() else _UNFIT  # inf and nan are not whole
    return value if isinstance(value, kinds) else _UNFIT


_UNFIT = object()


def from_doc(cls: type[R], data: dict[str, Any] | None, **defaults: Any) -> R:
    """Build a record from a stored document; unknown keys are ignored, missing ones take their defaults, and so do
    values of the wrong type (a document edited by hand, or written before the input checks, must not break every
    read of the state: a string position would make each comparison raise)."""
    values = dict(defaults)
    if data:
        accepted = _accepted(cls)
        for key, value in data.items():
            kinds = accepted.get(key)
            if kinds is not None:
                fitted = _fits(value, kinds)
                if fitted is not _UNFIT:
                    values[key] = fitted
    return cls(**values)


def new_asset(key: str) -> AssetState:
    return AssetState(symbol=key)


_COPIERS.update({cls: fast.record_copier(cls) for cls in (GlobalState, AssetState, Order)})
_copy_global, _copy_asset, _copy_order = _COPIERS[GlobalState], _COPIERS[AssetState], _COPIERS[Order]
