"""What each input's decision loads: the one table both shells read.

The cloud's service layer (`execute`) reads these documents in one consistent unit of work; the in-process backtest
venue (`sim.venue.InProcess`) hands the domain the same records from memory. So the backtest and the cloud decide
on the same facts by construction, and a new input is added here once.

| input                                              | assets                | orders                          |
|----------------------------------------------------|-----------------------|---------------------------------|
| a Renko bar, a price heartbeat, a level exit       | its asset             | -                               |
| an execution report                                | its order's asset     | the order                       |
| the bridge's poll                                  | -                     | the oldest PENDING, up to limit |
| the bridge's heartbeat                             | -                     | -                               |
| a PnL snapshot, every operator command             | every asset           | a cancel: the order it names    |
| a timer                                            | the asset of its key  | lease_end: its order            |
| the blackout flatten-before timer, the watchdog    | every asset           | each asset's in-flight order *  |

A decision may ask for more orders than these (`engine.orders_needed`: a snapshot that may flatten, the blackout
flatten-before timer and the watchdog's tick while a window has a lead (*: they cancel an entry not yet handed to the
bridge, D11, D22) need each asset's in-flight order, known only once the assets are read); both shells then load
those as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from shared.domain.config import Config
from shared.domain.core import order_asset
from shared.domain.inputs import (
    BridgeHeartbeat,
    CancelOrder,
    ExecutionReport,
    Input,
    LevelExit,
    PnlSnapshot,
    PollPending,
    RenkoBar,
    TimerFired,
    TvHeartbeat,
)
from shared.store.api import Query

_KEYED_BY_ASSET = frozenset({"intent_expiry", "preorder_expiry"})


@dataclass(frozen=True, slots=True)
class Loads:
    """The documents one decision reads: asset keys, order ids, and how many PENDING orders (the poll's query)."""

    assets: tuple[str, ...]
    order_ids: tuple[str, ...] = ()
    pending_limit: int | None = None

    @property
    def queries(self) -> tuple[Query, ...]:
        if self.pending_limit is None:
            return ()
        return (pending_orders(self.pending_limit),)


_NOTHING = Loads(())


def pending_orders(limit: int) -> Query:
    """The bridge's poll: the oldest PENDING orders first (`firestore.indexes.json` has its composite index)."""
    return Query("orders", where=(("status", "==", "PENDING"),), order_by="created_at", limit=limit)


def loads(inp: Input, config: Config) -> Loads:
    """The table of the module docstring. The input is already validated (an order id names a configured asset).
    Inputs are told apart by their exact type, the commonest first, and the tables without an order are shared
    values: the backtest asks at every decision (isinstance against a pydantic model class is a slower ABCMeta
    check, and building a frozen dataclass costs more than the lookup)."""
    kind = type(inp)
    if kind is RenkoBar or kind is TvHeartbeat or kind is LevelExit:
        return _one(inp.asset)  # type: ignore[attr-defined]  # each of these three has one
    if kind is PnlSnapshot:
        return _every(config.asset_keys)
    if type(inp) is ExecutionReport:
        return Loads((order_asset(inp.order_id),), (inp.order_id,))
    if type(inp) is PollPending:
        return Loads((), pending_limit=inp.limit)
    if kind is BridgeHeartbeat:
        return _NOTHING
    if type(inp) is TimerFired:
        return _timer(inp, config)
    if type(inp) is CancelOrder:
        return Loads(config.asset_keys, (inp.order_id,))
    return _every(config.asset_keys)  # every operator command


@lru_cache(maxsize=64)
def _one(asset: str) -> Loads:
    return Loads((asset,))


@lru_cache(maxsize=8)
def _every(asset_keys: tuple[str, ...]) -> Loads:
    return Loads(asset_keys)


def _timer(inp: TimerFired, config: Config) -> Loads:
    if inp.kind == "lease_end":
        return Loads((order_asset(inp.key),), (inp.key,))
    if inp.kind in _KEYED_BY_ASSET:
        return _one(inp.key.split(":", 1)[0])
    if inp.kind in ("blackout_flatten", "watchdog"):   # flattens every open position (D22); watches them (D23)
        return _every(config.asset_keys)
    return _NOTHING
