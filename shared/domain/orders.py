"""The order state machine (one transition table) and the bridge's claim of pending orders (D9)."""

from __future__ import annotations

from typing import Any

from .state import Order

TERMINAL = frozenset({"FILLED", "REJECTED", "CANCELLED"})
# An operator's cancel of a STALE order rests on missing evidence: the bridge may have sent it to the broker after
# all. A fill reported later for such an order is applied, never dropped (fills.py).
STALE_CANCEL_REASON = "cancelled_while_stale"

# (state, trigger) -> next state. Reports for STALE or PENDING orders are accepted: evidence of an execution at the
# broker must never be dropped because a lease ran out or a claim was missed.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("PENDING", "claim"): "CLAIMED",
    ("PENDING", "cancel"): "CANCELLED",
    ("STALE", "cancel"): "CANCELLED",
    ("CLAIMED", "lease_end"): "STALE",
}
for _state in ("PENDING", "CLAIMED", "WORKING", "PARTIALLY_FILLED", "STALE"):
    TRANSITIONS[(_state, "WORKING")] = "PARTIALLY_FILLED" if _state == "PARTIALLY_FILLED" else "WORKING"
    TRANSITIONS[(_state, "PARTIAL_FILL")] = "PARTIALLY_FILLED"
    TRANSITIONS[(_state, "FILL")] = "FILLED"
    TRANSITIONS[(_state, "REJECTED")] = "REJECTED"
    TRANSITIONS[(_state, "CANCELLED")] = "CANCELLED"
# A fill is a fact at the broker (D19): reported after the broker's own CANCELLED or REJECTED (a cancel racing a fill)
# it is applied all the same. The broker ended the rest, so a partial late fill leaves the order where it is; one
# that completes its quantity makes it FILLED. (An operator's cancel of a STALE order is not the broker's word:
# fills.py puts such an order back to STALE first.)
for _state in ("CANCELLED", "REJECTED"):
    TRANSITIONS[(_state, "PARTIAL_FILL")] = _state
    TRANSITIONS[(_state, "FILL")] = "FILLED"
LATE_FILL_STATES = frozenset({"CANCELLED", "REJECTED", "STALE"})


class IllegalTransition(Exception):
    """A report or command that the order's current state does not allow (HTTP 409; nothing changes)."""

    def __init__(self, order: Order, trigger: str) -> None:
        super().__init__(f"order {order.id} is {order.status}: '{trigger}' is not allowed")
        self.order_id = order.id
        self.state = order.status
        self.trigger = trigger


def transition(order: Order, trigger: str, now: float) -> str:
    nxt = TRANSITIONS.get((order.status, trigger))
    if nxt is None:
        raise IllegalTransition(order, trigger)
    order.status = nxt
    order.updated_at = now
    if nxt in TERMINAL:
        order.lease_owner = order.lease_until = order.leased_at = None
    return nxt


LIVE_AT_BROKER = frozenset({"WORKING", "PARTIALLY_FILLED"})


def effective_status(order: Order, now: float) -> str:
    """STALE is derived (D9: a claimed order with NO report): a CLAIMED order whose lease ended is STALE whether or
    not the timer ran, so the operator can cancel an order the bridge never acknowledged. An order with any report
    (WORKING, PARTIALLY_FILLED) is live at the broker: it never turns STALE, however old, and only the broker can
    cancel it."""
    if order.status == "CLAIMED" and order.lease_until is not None and now >= order.lease_until:
        return "STALE"
    return order.status


def renew_lease(order: Order, now: float, lease_s: float) -> None:
    if order.lease_until is not None:
        order.lease_until = now + lease_s


def claim(order: Order, owner: str, now: float, lease_s: float) -> None:
    transition(order, "claim", now)
    order.lease_owner = owner
    order.leased_at = now
    order.lease_until = now + lease_s


def bridge_view(order: Order, global_env: str) -> dict[str, Any]:
    """The shape the C# bridge parses from `GET /api/orders/pending` (§6.2), plus D21's fields where they apply: a
    STOP's `stop_price`, `action` (PLACE / MODIFY) and `revision`; an EXIT's `replaces_stop`."""
    view = {"id": order.id, "asset": order.symbol, "exchange": order.exchange or "CME", "side": order.side,
            "qty": order.remaining_qty if order.kind == "STOP" else order.qty, "mode": order.mode,
            "env": order.env or global_env, "kind": order.kind or "ENTRY", "source": order.source}
    if order.kind == "STOP":
        view.update(stop_price=order.stop_price, action=order.action, revision=order.revision)
    elif order.replaces_stop:
        view["replaces_stop"] = order.replaces_stop
    return view


def order_public(order: Any) -> dict[str, Any]:
    return {
        "id": order.id, "asset": order.asset, "symbol": order.symbol, "exchange": order.exchange, "side": order.side,
        "qty": order.qty, "status": order.status, "source": order.source, "mode": order.mode, "kind": order.kind,
        "env": order.env, "trade_mode": order.trade_mode, "createdAt": order.created_at,
        "updatedAt": order.updated_at, "filled_qty": order.filled_qty, "avg_fill_price": order.avg_fill_price,
        "leaseOwner": order.lease_owner, "leaseUntil": order.lease_until, "late_fill_qty": order.late_fill_qty,
        "stop_price": order.stop_price, "revision": order.revision, "replaces_stop": order.replaces_stop,
    }
