"""Every input the control plane reacts to, as an immutable typed command or event.

The shell builds these from requests (after authentication and the 400-level checks it can do alone); fields that
the spec validates *after* a state check (e.g. a protect threshold, checked after "No open position") are carried
raw (`object`) and validated by the rule, so refusals come in the spec's order.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_serializer, field_validator

from .catalog import Stream, TimerKind


class Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---- TradingView ---------------------------------------------------------------------------------------------

class RenkoBar(Input):
    type: Literal["renko_bar"] = "renko_bar"
    stream: Stream
    asset: str
    color: Literal["green", "red", "neutral"]
    bar_id: str | None = None


class TvHeartbeat(Input):
    type: Literal["tv_heartbeat"] = "tv_heartbeat"
    asset: str
    price: float | None = None
    client_ts: float | None = None


class LevelExit(Input):
    type: Literal["level_exit"] = "level_exit"
    asset: str
    bar_id: str | None = None


# ---- operator --------------------------------------------------------------------------------------------------

class PlaceOrder(Input):
    type: Literal["place_order"] = "place_order"
    asset: str
    order_type: str = "market"
    trade_mode: str | None = None
    direction: str | None = None          # raw: buy/long/green/g, sell/short/red/r
    entry_override: bool = False
    entry_size_mode: str | None = None


class ManualExit(Input):
    type: Literal["manual_exit"] = "manual_exit"
    asset: str
    force: bool = False


class ExitAll(Input):
    type: Literal["exit_all"] = "exit_all"
    force: bool = True


class ScaleIn(Input):
    type: Literal["scale_in"] = "scale_in"
    asset: str


class SetProtect(Input):
    type: Literal["set_protect"] = "set_protect"
    asset: str
    enabled: bool | None = None           # None = toggle
    threshold: Any = None                 # validated after the position checks


class SetPointsTakeProfit(Input):
    type: Literal["set_points_tp"] = "set_points_tp"
    asset: str
    enabled: bool | None = None           # None = keep
    target: Any = None


class SetTakeProfit(Input):
    type: Literal["set_take_profit"] = "set_take_profit"
    asset: str
    tp_arm: str | None = None
    tp_target: Any = None
    reset: bool = False


class ToggleExit(Input):
    """The one-click toggles: 8PT NEXT, 6PT FLIP, 4PT INVALIDATION, and the no-op auto-exit."""

    type: Literal["toggle_exit"] = "toggle_exit"
    asset: str
    toggle: Literal["high_next_bar", "main_flip", "four_pt", "auto_exit"]


class CreateIntent(Input):
    type: Literal["create_intent"] = "create_intent"
    asset: str
    direction: str | None = None


class CancelIntent(Input):
    type: Literal["cancel_intent"] = "cancel_intent"
    asset: str


class CancelPreorder(Input):
    type: Literal["cancel_preorder"] = "cancel_preorder"
    asset: str


class CancelOrder(Input):
    """Operator cancels an order the bridge has not started (PENDING) or that went STALE."""

    type: Literal["cancel_order"] = "cancel_order"
    order_id: str


class ConsumeTradeLimit(Input):
    type: Literal["consume_trade_limit"] = "consume_trade_limit"


class SetEnv(Input):
    type: Literal["set_env"] = "set_env"
    env: str


class SetRisk(Input):
    """None = unchanged; a dollar limit named in `off` is switched off (the request's `null`, D20)."""

    type: Literal["set_risk"] = "set_risk"
    max_trades_per_day: int | None = None
    daily_stop_enabled: bool | None = None
    daily_stop_limit_pct: float | None = None
    daily_loss_limit_usd: float | None = None
    trailing_drawdown_usd: float | None = None
    trailing_mode: str | None = None
    trailing_stops_at_usd: float | None = None
    max_loss_per_trade_usd: float | None = None
    warn_at_pct: float | None = None
    protective_stop_points: dict[str, float] | None = None
    require_protective_stop: bool | None = None
    flatten_if_unprotected: bool | None = None
    loss_streak_limit: int | None = None
    loss_streak_lock_minutes: int | None = None
    trading_hours: dict[str, tuple[tuple[int, int], ...]] | None = None   # "MON" -> [(start_min, end_min)]
    max_price_age_s: float | None = None
    off: tuple[str, ...] = ()

    @field_serializer("trading_hours")
    def _flat_hours(self, hours: dict[str, tuple[tuple[int, int], ...]] | None) -> dict[str, list[int]] | None:
        """Stored in the audit record as [start, end, start, end, …] per day: Firestore holds no array in an array."""
        return None if hours is None else {day: [m for span in spans for m in span] for day, spans in hours.items()}

    @field_validator("trading_hours", mode="before")
    @classmethod
    def _paired_hours(cls, raw: object) -> object:
        """Read back a stored record's flat spans (and still take pairs)."""
        if not isinstance(raw, dict):
            return raw
        return {day: [spans[i:i + 2] for i in range(0, len(spans), 2)]
                if isinstance(spans, list) and all(isinstance(m, int) for m in spans) else spans
                for day, spans in raw.items()}


class BlackoutSpec(Input):
    """One blackout window as the shell parsed it (D22): a one-off in epoch seconds, or weekly in minutes of the New
    York day (`days` 0 = Monday)."""

    kind: Literal["once", "weekly"]
    label: str
    start: float | None = None
    end: float | None = None
    days: tuple[int, ...] = ()
    start_min: int | None = None
    end_min: int | None = None
    flatten_before_s: int | None = None
    source: str = "manual"


class AddBlackouts(Input):
    type: Literal["add_blackouts"] = "add_blackouts"
    windows: tuple[BlackoutSpec, ...]


class RemoveBlackout(Input):
    type: Literal["remove_blackout"] = "remove_blackout"
    window_id: str


# Every risk setting, in the order of SetRisk: the one list the route and `sim.backtest --risk` accept names from.
RISK_SETTINGS: tuple[str, ...] = tuple(name for name in SetRisk.model_fields if name not in ("type", "off"))


class RebaselineAccount(Input):
    """D20: after a trailing-drawdown breach (or to start afresh), the account's new baseline: the high-water mark
    becomes `baseline_usd` and the lock lifts. `confirm` must be the typed word (the shell checks it)."""

    type: Literal["rebaseline_account"] = "rebaseline_account"
    baseline_usd: float


# ---- bridge ------------------------------------------------------------------------------------------------------

class PollPending(Input):
    type: Literal["poll_pending"] = "poll_pending"
    owner: str = "bridge"
    limit: int = 20


class ExecutionReport(Input):
    type: Literal["execution_report"] = "execution_report"
    order_id: str
    status: Literal["WORKING", "FILLED", "PARTIALLY_FILLED", "REJECTED", "CANCELLED"]
    qty: int | None = None                # this fill's quantity; None = the order's remaining quantity
    cum_qty: int | None = None            # cumulative filled quantity, when the bridge knows it
    fill_price: float | None = None
    fill_id: str | None = None
    reason: str | None = None


class BridgeHeartbeat(Input):
    type: Literal["bridge_heartbeat"] = "bridge_heartbeat"
    info: dict[str, Any] = Field(default_factory=dict)


class SymbolPosition(Input):
    symbol: str
    position: int = 0
    open_pnl: float = 0.0
    avg_open_fill: float | None = None


class PnlSnapshot(Input):
    type: Literal["pnl_snapshot"] = "pnl_snapshot"
    realized: float = 0.0
    unrealized: float = 0.0
    account_balance: float | None = None
    symbols: tuple[SymbolPosition, ...] = ()


# ---- timers ------------------------------------------------------------------------------------------------------

class TimerFired(Input):
    type: Literal["timer_fired"] = "timer_fired"
    kind: TimerKind
    key: str
    at: float
    # how far the clock `now` stands ahead of the real one (the local stack's dev clock; 0 in production): the
    # watchdog judges its canary, a Cloud Task that travels in real seconds, in real seconds (`now - offset`)
    offset: float = 0.0


AnyInput = Annotated[
    RenkoBar | TvHeartbeat | LevelExit | PlaceOrder | ManualExit | ExitAll | ScaleIn | SetProtect
    | SetPointsTakeProfit | SetTakeProfit | ToggleExit | CreateIntent | CancelIntent | CancelPreorder | CancelOrder
    | ConsumeTradeLimit | SetEnv | SetRisk | RebaselineAccount | AddBlackouts | RemoveBlackout | PollPending
    | ExecutionReport | BridgeHeartbeat
    | PnlSnapshot | TimerFired,
    Field(discriminator="type"),
]

_ADAPTER: list[TypeAdapter[AnyInput]] = []


def input_from_dict(data: dict[str, Any]) -> AnyInput:
    """Rebuild an input from its logged form (`model_dump()`), for replay. The union's validator is built on first
    use: it is the costliest part of importing this module, and no request path needs it."""
    if not _ADAPTER:
        _ADAPTER.append(TypeAdapter(AnyInput))
    return _ADAPTER[0].validate_python(data)
