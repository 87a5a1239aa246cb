"""What the trader must hear (D23, issue 20): a decision's audit events turned into notifications, the destinations'
level filter, and the watchdog's silence conditions. Pure: no clock, no I/O.

A notification is `{kind, code, asset, level, title, text, order_id}`; `level` is `critical`, `important` or `info`.
A destination listens at `critical` (critical only), `important` (critical and important) or `all`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .clock import session_window
from .config import Config
from .decision import Event, Timer
from .state import GlobalState, World

LEVELS = ("critical", "important", "info")
DESTINATION_LEVELS = ("critical", "important", "all")
_HEARD_AT = {"critical": {"critical"}, "important": {"critical", "important"}, "all": set(LEVELS)}

# exit sources the operator did not click: an automatic exit is news, a manual one is not
MANUAL_EXIT_SOURCES = frozenset({"MANUAL_EXIT", "MANUAL_EXIT_FORCE", "MANUAL_EXIT_ALL", "MANUAL_EXIT_ALL_FORCE"})
CRITICAL_EXIT_SOURCES = frozenset({"UNPROTECTED", "DAILY_STOP", "DAILY_LOSS_LIMIT", "TRAILING_DRAWDOWN"})

# the watchdog's conditions (D23): code -> (level, what it means when it starts, when it clears)
SILENCES: dict[str, tuple[str, str, str]] = {
    "PRICE_SILENCE": ("important", "No TradingView price heartbeat for {s:.0f} s while the session is open",
                      "TradingView price heartbeats are back"),
    "BRIDGE_SILENCE": ("important", "No bridge heartbeat for {s:.0f} s", "The bridge's heartbeats are back"),
    "UNWATCHED_POSITION": ("critical", "A position is open ({assets}) while the bridge is silent",
                           "The open position is watched by the bridge again (or closed)"),
    "TIMERS_FAILING": ("important", "Timers are failing: the watchdog's canary timer is {s:.0f} s past its due time "
                       "and has not fired (Cloud Tasks, its queue or the timers function)",
                       "Timers fire again: the watchdog's canary timer fired"),
}
# The canary (TIMERS_FAILING): each watchdog tick arms a Cloud Task due this long after it, unless the last one is
# still on its way; a canary that has not fired `Config.timer_late_s` after its due time means timers are failing.
CANARY_DELAY_S = 5.0

# kind -> (level, title); None: not worth a notification. Codes refine some kinds below.
_SIMPLE: dict[str, tuple[str, str]] = {
    "late_fill": ("critical", "Late fill"),
    "stop_rejected": ("critical", "Protective stop rejected: position unprotected"),
    "stop_cancelled": ("critical", "Protective stop cancelled: position unprotected"),
    "double_exit_fill": ("critical", "Stop and exit both filled: position at the broker"),
    "daily_stop_trigger": ("critical", "Daily stop hit: flattening, entries locked"),
    "trailing_drawdown_breached": ("critical", "Trailing drawdown breached: account locked"),
    "position_mismatch": ("critical", "Position mismatch with the broker"),
    "exit_fill_beyond_position": ("critical", "Exit overfilled: position reversed at the broker"),
    "risk_warning": ("important", "Risk warning"),
    "position_mismatch_cleared": ("important", "Position mismatch cleared"),
    "order_stale": ("important", "Order stale: no report from the bridge"),
    "trade_limit_exceeded": ("important", "Daily trade limit exceeded"),
    "exit_fill_while_flat": ("important", "Exit filled while flat"),
    "scale_in_mismatch": ("important", "Scale-in fill against the position"),
    "blackout_flatten": ("important", "Blackout: flattening before the window"),
    "stop_placed": ("info", "Protective stop placed"),
    "trade_closed": ("info", "Trade closed"),
}
_LOCKS = {"LOSS_STREAK_LOCK": "important", "CANDLE_LOCK_ACTIVE": "info", "POST_EXIT_COOLDOWN": "info"}


def heard_at(destination_level: str, level: str) -> bool:
    """Whether a destination listening at `destination_level` gets a notification of `level`."""
    return level in _HEARD_AT.get(destination_level, set())


def notice(event: Event) -> dict[str, Any] | None:
    """The notification of one audit event, or None when the trader need not hear about it."""
    level_title = _level_title(event)
    if level_title is None:
        return None
    level, title = level_title
    where = f"{event.asset}: " if event.asset else ""
    return {"kind": event.kind, "code": event.code, "asset": event.asset, "level": level,
            "title": f"{where}{title}", "text": _text(event), "order_id": event.detail.get("order_id")}


def notices(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The notifications of a decision, in the order of its events."""
    return [n for n in map(notice, events) if n is not None]


def _level_title(event: Event) -> tuple[str, str] | None:
    kind, code = event.kind, event.code
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind == "fill":
        return ("important", f"{code or 'Order'} fill")
    if kind == "order_ended":
        return ("critical", "Order rejected") if code == "REJECTED" else None
    if kind == "exit_fired":
        if code in MANUAL_EXIT_SOURCES:
            return None
        return ("critical" if code in CRITICAL_EXIT_SOURCES else "important", f"Automatic exit ({code})")
    if kind == "lock_set" and code in _LOCKS:
        return (_LOCKS[code], f"Lock set: {code}")
    if kind in ("silence_started", "silence_cleared") and code in SILENCES:
        level = SILENCES[code][0]
        return (level if kind == "silence_started" else "important",
                f"{code} {'started' if kind == 'silence_started' else 'cleared'}")
    return None


def _text(event: Event) -> str:
    """A plain sentence from the event's details (numbers only; never anything the caller typed freely)."""
    d = event.detail
    if event.kind in ("silence_started", "silence_cleared"):
        return str(d.get("text", ""))
    parts = [f"{k}={d[k]}" for k in ("qty", "price", "position", "reason", "limit", "used", "allowed",
                                     "loss", "equity", "broker", "local", "pnl_usd", "stop_price", "until")
             if d.get(k) is not None]
    return ", ".join(parts) or (event.code or event.kind)


# ---- the watchdog ------------------------------------------------------------------------------------------------

def silences(world: World, now: float, config: Config, offset: float = 0.0) -> dict[str, str]:
    """The silence conditions that hold at `now`, each with its sentence (D23). `offset`: how far `now` stands
    ahead of the real clock (a dev clock's; 0 in production): the canary is judged in real seconds."""
    g = world.glob
    held: dict[str, str] = {}
    last_price = max((a.last_heartbeat_ts for a in world.assets.values() if a.last_heartbeat_ts is not None),
                     default=None)
    if _in_session_for(now, config.price_silence_s) and (
            last_price is None or now - last_price > config.price_silence_s):
        held["PRICE_SILENCE"] = SILENCES["PRICE_SILENCE"][1].format(s=config.price_silence_s)
    canary = canary_state(g.timer_canary, now, config.timer_late_s, offset)
    if canary == "late" or (canary == "waiting" and "TIMERS_FAILING" in (g.silences or {})):
        late = max(now - offset - _real_due(g.timer_canary or {}, now - offset), config.timer_late_s)
        held["TIMERS_FAILING"] = SILENCES["TIMERS_FAILING"][1].format(s=late)
    if g.rithmic_last_ts is None or now - g.rithmic_last_ts > config.bridge_silence_s:
        held["BRIDGE_SILENCE"] = SILENCES["BRIDGE_SILENCE"][1].format(s=config.bridge_silence_s)
        open_assets = sorted(k for k, a in world.assets.items() if a.position != 0)
        if open_assets:
            held["UNWATCHED_POSITION"] = SILENCES["UNWATCHED_POSITION"][1].format(assets=", ".join(open_assets))
    return held


def _in_session_for(now: float, seconds: float) -> bool:
    """The CME session has been open for the whole of the last `seconds` (a silence counts in session only: at the
    reopening, a heartbeat from before the close is not late yet)."""
    then = session_window(now - seconds)
    until_close = then["seconds_until_close"]
    return bool(session_window(now)["open"] and then["open"]) and isinstance(until_close, int) and (
        until_close >= seconds)


def watch(world: World, now: float, config: Config, offset: float = 0.0) -> list[Event]:
    """One watchdog tick: compare the conditions that hold with those stored on the global document
    (`silences`: code -> since), store the new set, and return one event per condition that started or cleared —
    so each condition is announced once when it starts and once when it clears, however often the tick runs."""
    g = world.glob
    before: Mapping[str, Any] = g.silences or {}
    held = silences(world, now, config, offset)
    events = [Event("silence_started", None, code, {"text": text, "since": now})
              for code, text in held.items() if code not in before]
    events += [Event("silence_cleared", None, code, {"text": SILENCES[code][2], "since": before[code]})
               for code in sorted(before) if code in SILENCES and code not in held]
    g.silences = {code: before.get(code, now) for code in held}
    return events


# ---- the canary timer (TIMERS_FAILING) ----------------------------------------------------------------------------
#
# The canary's task travels in real seconds, whatever the clock `now` says: on the local stack a dev clock may stand
# still, jump or run at a replay's pace. So a canary is judged in real seconds: it keeps the offset of the clock it
# was armed under (`offset`, kept only when not 0: the clock ahead of the real one by that much), and the tick that
# judges it passes its own. In production both are 0 and the real time is `now`.

def _real_due(canary: Mapping[str, Any], default: float) -> float:
    """The real time a canary is due at (its `due` is in the time of the clock it was armed under)."""
    return float(canary.get("due") or default) - float(canary.get("offset") or 0.0)


def canary_state(canary: Mapping[str, Any] | None, now: float, late_s: float, offset: float = 0.0) -> str:
    """`none` (never armed), `fired`, `waiting` (not fired, not yet `late_s` real seconds past its due time) or
    `late`. `offset`: how far `now` stands ahead of the real clock.

    What the store honestly knows about timers: a timer it asked for and whether it came back. A canary that is
    `waiting` says nothing new, so TIMERS_FAILING keeps whatever it was (it starts when one is late and clears when
    one fires)."""
    if not canary:
        return "none"
    if canary.get("fired") is not None:
        return "fired"
    return "late" if (now - offset) - _real_due(canary, 0.0) > late_s else "waiting"


def arm_canary(glob: GlobalState, now: float, late_s: float, offset: float = 0.0) -> Timer | None:
    """The tick's canary: a new one when none is on its way (never armed, fired, or late: a lost task must not
    keep the condition forever), else None. Its key names its due millisecond, so a re-run arms the same task.
    One due later than a new one would be (in real seconds) was armed by a clock whose offset it did not keep (one
    stored before canaries kept it): replaced too, or it would wait that long."""
    canary = glob.timer_canary or {}
    real_now = now - offset
    if canary_state(canary, now, late_s, offset) == "waiting" and (
            _real_due(canary, 0.0) <= real_now + CANARY_DELAY_S):
        return None
    due = now + CANARY_DELAY_S
    key = f"canary:{round(due * 1000)}"
    glob.timer_canary = {"key": key, "due": due, "fired": None, **({"offset": offset} if offset else {})}
    return Timer("timer_canary", key, due, {})


def canary_fired(glob: GlobalState, key: str, now: float) -> str:
    """The canary's task came back: mark it (a superseded or repeated one changes nothing)."""
    canary = glob.timer_canary
    if not canary or canary.get("key") != key:
        return "superseded"
    if canary.get("fired") is not None:
        return "nothing_to_do"
    glob.timer_canary = {**canary, "fired": now}
    return "fired"
