"""`decide(world, input, now, config) -> Decision`: the one entry point of the rules, and `replay` of a day's log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import bridge, fast, fills, operator, streams, timers, windows
from .config import Config, normalise_asset
from .core import Ctx, order_asset
from .decision import Decision, Event, Refusal
from .inputs import (
    AddBlackouts,
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
    RebaselineAccount,
    RemoveBlackout,
    RenkoBar,
    ScaleIn,
    SetEnv,
    SetPointsTakeProfit,
    SetProtect,
    SetRisk,
    SetTakeProfit,
    TimerFired,
    ToggleExit,
    TvHeartbeat,
    input_from_dict,
)
from .state import World, new_asset
from .view import normalise_world

Handler = Callable[[Ctx, Any], tuple[int, dict[str, object]]]

HANDLERS: dict[type[Input], Handler] = {
    RenkoBar: streams.renko_bar,
    TvHeartbeat: streams.heartbeat,
    LevelExit: streams.level_exit,
    PlaceOrder: operator.place_order,
    ManualExit: operator.manual_exit,
    ExitAll: lambda ctx, cmd: operator.exit_all(ctx, cmd.force),
    ScaleIn: operator.scale_in,
    SetProtect: operator.set_protect,
    SetPointsTakeProfit: operator.set_points_take_profit,
    SetTakeProfit: operator.set_take_profit,
    ToggleExit: operator.toggle_exit,
    CreateIntent: operator.create_intent,
    CancelIntent: operator.cancel_intent,
    CancelPreorder: operator.cancel_preorder,
    CancelOrder: operator.cancel_order,
    ConsumeTradeLimit: operator.consume_trade_limit,
    SetEnv: operator.set_env,
    SetRisk: operator.set_risk,
    RebaselineAccount: operator.rebaseline_account,
    AddBlackouts: operator.add_blackouts,
    RemoveBlackout: operator.remove_blackout,
    PollPending: bridge.poll_pending,
    ExecutionReport: fills.execution_report,
    BridgeHeartbeat: bridge.bridge_heartbeat,
    PnlSnapshot: bridge.pnl_snapshot,
    TimerFired: timers.timer_fired,
}

# Answers that carry the computed state, as the original's did (§5.1, §7.4, §8.4, §8.5, §8.8, §8.9).
WITH_STATE: frozenset[type[Input]] = frozenset({PlaceOrder, ScaleIn, SetProtect, SetPointsTakeProfit})
WITH_STATE_TOGGLES = frozenset({"high_next_bar", "main_flip"})


def initial_world(config: Config) -> World:
    return World(assets={key: new_asset(key) for key in config.assets})


def decide(world: World, inp: Input, now: float, config: Config, request_id: str = "r") -> Decision:
    """Decide one input. Pure: the given world is not modified; a refusal returns it unchanged."""
    kind = type(inp)
    handler = HANDLERS[kind]
    new = world.clone()
    normalise_world(new, now, config)
    ctx = Ctx(new, now, config, request_id)
    try:
        status, body = handler(ctx, inp)
    except Refusal as refusal:
        events = [Event("refused", getattr(inp, "asset", None), refusal.code, {"status": refusal.status})]
        return Decision(world=world, status=refusal.status, body=refusal.body(), code=refusal.code, events=events,
                        touched=fast.later(touched_assets, inp, events, world, config))
    include_state = kind in WITH_STATE or (
        kind is ToggleExit and inp.toggle in WITH_STATE_TOGGLES)  # type: ignore[attr-defined]
    code = body.get("code")
    return Decision(
        world=new, status=status, body=body, code=code if isinstance(code, str) else None, events=ctx.events,
        timers=ctx.timers, trades=ctx.trades, include_state=include_state and 200 <= status < 300,
        duplicate=bool(body.get("duplicate")),
        touched=fast.later(touched_assets, inp, ctx.events, new, config),
    )


def touched_assets(inp: Input, events: Iterable[Event], world: World, config: Config) -> tuple[str, ...]:
    """The assets an input touched (D13: the log's asset filter must show every fill, reject and cancel): its own
    asset, the asset of the order or timer key it names, the assets of a snapshot's symbols, and those of the
    events it caused."""
    named = {vars(inp).get("asset")}   # the input's own asset, when it has the field (fast.py: why not getattr)
    for event in events:
        named.add(event.asset)
    if isinstance(inp, PnlSnapshot):
        for entry in inp.symbols:
            named.add(normalise_asset(entry.symbol, config))
    elif isinstance(inp, NAMES_AN_ORDER):
        named.add(order_asset(inp.order_id))
    elif isinstance(inp, TimerFired):
        named.add(order_asset(inp.key) if inp.kind == "lease_end" else inp.key.split(":", 1)[0])
    return tuple(sorted(world.assets.keys() & named))


NAMES_AN_ORDER = (ExecutionReport, CancelOrder)


def orders_needed(world: World, inp: Input) -> set[str]:
    """Orders a decision must see besides what the input names: an asset's in-flight order for the daily-stop
    cancellation on a snapshot (D11), for the blackout flatten's (D22: its timer, and the watchdog's tick while a
    window has a lead) and for the operator's view of it; the resting protective stop of the asset a fill or
    protect changes, which follows the position (D21)."""
    kind = type(inp)   # the exact type, as `loads` tells inputs apart (fast.py: why not isinstance)
    if (kind is PnlSnapshot and _may_flatten(world, inp)) or (  # type: ignore[arg-type]
            kind is TimerFired and _may_flatten_before(world, inp)):  # type: ignore[arg-type]
        return {a.pending_order_id for a in world.assets.values() if a.pending_order_id}
    if kind is ExecutionReport or kind is SetProtect:
        return {a.stop_order_id for a in world.assets.values() if a.stop_order_id}
    return set()


def _may_flatten_before(world: World, timer: TimerFired) -> bool:
    """Whether this timer can flatten before a blackout (operator.flatten_all): its own timer, or the watchdog's
    tick while a stored window has a lead (operator.ensure_flatten)."""
    if timer.kind == "blackout_flatten":
        return True
    return timer.kind == "watchdog" and any(windows.flattens_before(w) for w in windows.windows(world.glob))


def _may_flatten(world: World, snap: PnlSnapshot) -> bool:
    """Whether this snapshot can find the daily stop triggered (conservative: a rollover may still clear it)."""
    g = world.glob
    if g.daily_stop_triggered:
        return True
    start, balance = g.daily_start_equity, snap.account_balance
    if not g.daily_stop_enabled or start is None or balance is None or start <= 0:
        return False
    return (start - balance) / start * 100 >= g.daily_stop_limit_pct


def audit_record(inp: Input, now: float, request_id: str, decision: Decision) -> dict[str, Any]:
    """The audit event of one input (D13): what came in, when, and what was decided. `replay` reads it back.
    Inputs carry no secrets (the shell checks and drops them before it builds one), so the input is logged whole."""
    data = inp.model_dump(mode="json")
    return {
        "request_id": request_id,
        "ts": now,
        "type": data["type"],
        "asset": getattr(inp, "asset", None) or (",".join(decision.assets) or None),
        "assets": list(decision.assets),
        "input": data,
        "status": decision.status,
        "code": decision.code,
        "duplicate": decision.duplicate,
        "decisions": [
            {"kind": e.kind, "asset": e.asset, "code": e.code, "detail": e.detail} for e in decision.events
        ],
    }


def replay(records: Iterable[Mapping[str, Any]], config: Config, world: World | None = None) -> World:
    """Rebuild the state from a log of inputs (audit records in commit order)."""
    current = world if world is not None else initial_world(config)
    for record in records:
        if "input" not in record:  # a security event (sign-out, a secret revealed): no input of the domain
            continue
        inp = input_from_dict(dict(record["input"]))
        current = decide(current, inp, float(record["ts"]), config, str(record["request_id"])).world
    return current

