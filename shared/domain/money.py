"""Risk in dollars, the way a prop account is judged (D20): a daily loss limit, a trailing drawdown from the
high-water mark, a cap on every trade's worst case, and a warning before each limit. Money is compared in whole
cents. Equity here is the net liquidation value: the latest snapshot's balance plus its open P&L.

Settings live on the global record with the others (D5 ratchet, operator.set_risk); this module is the rules:
`on_snapshot` (limits judged at every PnL snapshot), `on_rollover` (the end-of-day mark, the day's start value),
the gates `trailing_drawdown` and `risk_room`, and `money_view` for the screen.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import Config, point_value
from .decision import Refusal
from .state import GlobalState

TRAILING_MODES = ("intraday", "end_of_day")
LIMITS = ("daily_loss_limit", "trailing_drawdown")
# A dollar setting above this is a typo, not a limit (no account of this desk is worth ten million dollars).
MAX_USD_SETTING = 10_000_000.0

Emit = Callable[..., None]   # emit(kind, code, **detail): an audit event of the account (no asset)


def cents(usd: float) -> int:
    return round(usd * 100)


def usd(amount_cents: int) -> str:
    """$1,234.56, or -$12.00."""
    sign = "-" if amount_cents < 0 else ""
    return f"{sign}${abs(amount_cents) / 100:,.2f}"


def net_liq(g: GlobalState) -> float | None:
    if g.rithmic_account_balance is None:
        return None
    return g.rithmic_account_balance + (g.rithmic_unrealized or 0.0)


def floor_cents(g: GlobalState) -> int | None:
    """The trailing floor: min(mark − drawdown, stops_at); None while the drawdown is off or no mark exists yet."""
    if g.trailing_drawdown_usd is None or g.trailing_hwm_usd is None:
        return None
    floor = cents(g.trailing_hwm_usd) - cents(g.trailing_drawdown_usd)
    if g.trailing_stops_at_usd is not None:
        floor = min(floor, cents(g.trailing_stops_at_usd))
    return floor


def daily_loss_cents(g: GlobalState) -> int | None:
    """How much of the day's start value is lost now (negative: a gain); None before the day's first snapshot."""
    equity = net_liq(g)
    if equity is None or g.daily_start_netliq_usd is None:
        return None
    return cents(g.daily_start_netliq_usd) - cents(equity)


def on_snapshot(g: GlobalState, emit: Emit) -> str | None:
    """Judge the dollar limits on the snapshot just stored. Returns the limit that breached now, if any
    ("daily_loss_limit" triggers the daily stop, "trailing_drawdown" the account lock); `emit(kind, code, **detail)`
    logs the warnings and breaches."""
    equity = net_liq(g)
    if equity is None:
        return None
    if g.daily_start_netliq_usd is None:
        g.daily_start_netliq_usd = equity
    if g.trailing_hwm_usd is None or (g.trailing_mode == "intraday" and equity > g.trailing_hwm_usd):
        g.trailing_hwm_usd = equity
    breached = None
    lost = None if g.daily_loss_limit_usd is None else daily_loss_cents(g)
    if g.daily_loss_limit_usd is not None and lost is not None:
        limit = cents(g.daily_loss_limit_usd)
        _warn(g, emit, "daily_loss_limit", lost, limit)
        if lost >= limit and not g.daily_stop_triggered:
            breached = "daily_loss_limit"
    floor = floor_cents(g)
    if floor is not None and not g.trailing_breached:
        mark = cents(g.trailing_hwm_usd)
        _warn(g, emit, "trailing_drawdown", mark - cents(equity), mark - floor)
        if cents(equity) <= floor:
            g.trailing_breached = True
            g.trailing_breached_equity_usd = equity
            breached = breached or "trailing_drawdown"
            emit("trailing_drawdown_breached", "TRAILING_DRAWDOWN", equity=equity, floor=floor / 100,
                 mark=g.trailing_hwm_usd)
    return breached


def _warn(g: GlobalState, emit: Emit, limit: str, used_cents: int, allowed_cents: int) -> None:
    """One `risk_warning` per limit per trading day, when the part used reaches `warn_at_pct` of it."""
    if allowed_cents <= 0 or limit in g.risk_warned:
        return
    if used_cents * 100 >= allowed_cents * g.warn_at_pct:
        g.risk_warned = [*g.risk_warned, limit]
        emit("risk_warning", "RISK_WARNING", limit=limit, used=used_cents / 100, allowed=allowed_cents / 100,
             warn_at_pct=g.warn_at_pct)


def on_rollover(g: GlobalState) -> None:
    """A new trading day: the end-of-day mark moves from the closing equity; the day's start value and warnings
    begin again. A trailing breach outlives the day (a breached prop account is over until re-baselined)."""
    closing = net_liq(g)
    if g.trailing_mode == "end_of_day" and closing is not None and (
            g.trailing_hwm_usd is None or closing > g.trailing_hwm_usd):
        g.trailing_hwm_usd = closing
    g.daily_start_netliq_usd = None
    g.risk_warned = []


def trailing_refusal(g: GlobalState) -> Refusal | None:
    if not g.trailing_breached:
        return None
    equity = g.trailing_breached_equity_usd
    shown = usd(cents(equity)) if equity is not None else "the floor"
    return Refusal(403, "TRAILING_DRAWDOWN",
                   f"TRAILING DRAWDOWN BREACHED at {shown} — entries locked until the account is re-baselined")


def daily_loss_text(g: GlobalState) -> str:
    limit = usd(cents(g.daily_loss_limit_usd or 0.0))
    return f"Daily loss limit {limit} reached — entries blocked for today"


def stop_points(g: GlobalState, asset: str, config: Config) -> float:
    """The asset's protective stop distance in points (D21): the risk setting, else the asset's default."""
    return g.protective_stop_points.get(asset, config.assets[asset].protective_stop_points)


def worst_case_cents(g: GlobalState, asset: str, qty: int, config: Config) -> int:
    """An entry's worst case: qty × protective stop distance × point value (D20, D21)."""
    return cents(qty * stop_points(g, asset, config) * point_value(config.assets[asset].traded_root))


def rooms_cents(g: GlobalState) -> dict[str, int | None]:
    """The room left to each limit that is on (None: on, but no snapshot yet to measure it)."""
    rooms: dict[str, int | None] = {}
    if g.daily_loss_limit_usd is not None:
        lost = daily_loss_cents(g)
        rooms["daily_loss_limit"] = None if lost is None else cents(g.daily_loss_limit_usd) - lost
    if g.trailing_drawdown_usd is not None:
        floor, equity = floor_cents(g), net_liq(g)
        rooms["trailing_drawdown"] = None if floor is None or equity is None else cents(equity) - floor
    return rooms


def risk_room(g: GlobalState, asset: str, qty: int, config: Config) -> Refusal | None:
    """D20: the entry's worst case must fit the per-trade cap and the room left to every dollar limit that is on."""
    worst = worst_case_cents(g, asset, qty, config)
    if g.max_loss_per_trade_usd is not None and worst > cents(g.max_loss_per_trade_usd):
        return _room(worst, cents(g.max_loss_per_trade_usd), "the max loss per trade")
    names = {"daily_loss_limit": "the daily loss limit", "trailing_drawdown": "the trailing drawdown floor"}
    for limit, room in rooms_cents(g).items():
        if room is None:
            return Refusal(409, "RISK_ROOM", f"Worst case {usd(worst)} cannot be checked against {names[limit]}: "
                                             "no account snapshot from the bridge yet", worst_case_usd=worst / 100)
        if worst > room:
            return _room(worst, room, names[limit])
    return None


def _room(worst: int, room: int, what: str) -> Refusal:
    return Refusal(409, "RISK_ROOM", f"Worst case {usd(worst)} exceeds the {usd(room)} left to {what}",
                   worst_case_usd=worst / 100, room_usd=room / 100)


def money_view(g: GlobalState, config: Config, default_qty: int) -> dict[str, object]:
    """The dollar figures for the header and the gate board: None where a figure is off or not known yet."""
    equity, floor, lost = net_liq(g), floor_cents(g), daily_loss_cents(g)
    rooms = rooms_cents(g)
    worst = {key: worst_case_cents(g, key, default_qty, config) / 100 for key in sorted(config.assets)}

    def dollars(value: int | None) -> float | None:
        return None if value is None else value / 100

    return {
        "net_liq_usd": equity, "day_pnl_usd": dollars(None if lost is None else -lost),
        "daily_loss_limit_usd": g.daily_loss_limit_usd, "room_to_daily_loss_limit_usd": dollars(
            rooms.get("daily_loss_limit")),
        "trailing_drawdown_usd": g.trailing_drawdown_usd, "trailing_mode": g.trailing_mode,
        "high_water_mark_usd": g.trailing_hwm_usd, "trailing_floor_usd": dollars(floor),
        "room_to_floor_usd": dollars(rooms.get("trailing_drawdown")), "trailing_breached": g.trailing_breached,
        "max_loss_per_trade_usd": g.max_loss_per_trade_usd, "worst_case_next_entry_usd": worst,
        "warn_at_pct": g.warn_at_pct, "warned": list(g.risk_warned),
    }
