"""Where each record lives in Firestore, and records <-> documents.

    console/global      GlobalState           (one small document)
    console/session     {generation, revoked_at}: the password mode's session generation (shared.service.security)
    assets/{ES}         AssetState            (one per asset)
    orders/{id}         Order                 (everything its reports need, D9)
    events/{request_id} one audit record per input (D13), with `expire_at` for the TTL policy
    trades/{id}         closed-trade history rows

Each state document carries `_rev`, incremented on every write: the commit order of the decisions that wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.domain.state import AssetState, GlobalState, Order, World, from_doc, new_asset, to_doc

GLOBAL_PATH = "console/global"
SESSION_PATH = "console/session"
REV = "_rev"


def asset_path(key: str) -> str:
    return f"assets/{key}"


def order_path(order_id: str) -> str:
    return f"orders/{order_id}"


def event_path(request_id: str) -> str:
    return f"events/{request_id}"


def trade_path(trade_id: str) -> str:
    return f"trades/{trade_id}"


def _clean(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: v for k, v in data.items() if not k.startswith("_")}


def order_from_doc(data: Mapping[str, Any]) -> Order:
    return from_doc(Order, _clean(data))


def load_world(docs: Mapping[str, Mapping[str, Any] | None], asset_keys: list[str], order_ids: list[str]) -> World:
    world = World(glob=from_doc(GlobalState, _clean(docs.get(GLOBAL_PATH))))
    for key in asset_keys:
        data = _clean(docs.get(asset_path(key)))
        world.assets[key] = from_doc(AssetState, data, symbol=key) if data else new_asset(key)
    for order_id in order_ids:
        order_doc = docs.get(order_path(order_id))
        if order_doc is not None:
            world.orders[order_id] = order_from_doc(order_doc)
    return world


def revision(docs: Mapping[str, Mapping[str, Any] | None], path: str) -> int:
    data = docs.get(path)
    return int(data.get(REV, 0)) if data else 0


_DEFAULTS: dict[type, dict[str, Any]] = {GlobalState: to_doc(GlobalState()), AssetState: to_doc(AssetState())}


def stored(record: GlobalState | AssetState | Order) -> dict[str, Any]:
    """The document for a record. State documents keep only the fields that differ from their defaults (loading
    fills the rest back in): most of an asset's ~130 fields sit at their defaults, and the emulator's (and
    Firestore's) cost per write grows with the document. Orders are stored whole: queries filter on their fields."""
    data = to_doc(record)
    defaults = _DEFAULTS.get(type(record))
    if defaults is None:
        return data
    return {key: value for key, value in data.items() if key == "symbol" or value != defaults[key]}


def with_rev(record: GlobalState | AssetState | Order, rev: int) -> dict[str, Any]:
    data = stored(record)
    data[REV] = rev
    return data
