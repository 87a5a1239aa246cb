"""The time a request may spend on storage, counted from its arrival.

TradingView gives a webhook 3 s and never re-sends after a timeout, so a stuck database must turn into a 503
well before that: the router opens a budget when a request arrives (`open_budget()`), and every Firestore call
of that request ends within it, the commit protocol's re-reads after a conflict included. Inside the budget one
RPC may wait at most `rpc_cap_seconds()`: a frozen database (its port still accepting connections, nothing
answering) is noticed that fast, while a burst of conflicting writes may keep retrying until the budget ends.
Outside a request (scripts, tests of the store itself) there is no budget and the store's own limits apply.

STORE_REQUEST_BUDGET_S sets the budget (default 4 s: a burst of conflicting writes on a busy machine needs more
than TradingView's 3 s now and then, and a late commit still applies the alert, which TradingView would not send
again); STORE_RPC_CAP_S the longest one RPC of a request may wait (default 1.5 s: a frozen database answers 503
within 2 s of arrival).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

from shared.env import env_number

BUDGET_ENV = "STORE_REQUEST_BUDGET_S"
DEFAULT_BUDGET_S = 4.0
RPC_CAP_ENV = "STORE_RPC_CAP_S"
DEFAULT_RPC_CAP_S = 1.5

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("store_request_deadline", default=None)


def _seconds(name: str, default: float) -> float:
    """A positive number of seconds below a minute from the environment, else the default."""
    return env_number(name, default, lambda value: 0 < value < 60)


def budget_seconds() -> float:
    return _seconds(BUDGET_ENV, DEFAULT_BUDGET_S)


def rpc_cap_seconds() -> float:
    return _seconds(RPC_CAP_ENV, DEFAULT_RPC_CAP_S)


@contextmanager
def request_budget(arrived: float | None = None, budget_s: float | None = None) -> Iterator[float]:
    """Storage calls inside this block end by `arrived` (time.monotonic(), default now) + the budget."""
    start = time.monotonic() if arrived is None else arrived
    deadline = start + (budget_seconds() if budget_s is None else budget_s)
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left of the current request's budget (may be <= 0), or None outside a request."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def rpc_deadline() -> float | None:
    """How long the next RPC of the current request may wait: what is left of the budget, at most the RPC cap;
    None outside a request."""
    left = remaining()
    return None if left is None else min(left, rpc_cap_seconds())


def open_budget(arrived: float | None = None) -> contextvars.Token[float | None]:
    """`request_budget` for code that cannot wrap its body in a `with` (the router): pair with `close_budget`."""
    start = time.monotonic() if arrived is None else arrived
    return _deadline.set(start + budget_seconds())


def close_budget(token: contextvars.Token[float | None]) -> None:
    _deadline.reset(token)


def lift() -> None:
    """Remove the current request's budget for the rest of the request (its storage calls then use the store's
    own timeouts): for the first request of a process, which opens the connection."""
    _deadline.set(None)
