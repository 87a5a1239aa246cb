"""The time a request may spend on storage, counted from its arrival.

TradingView gives a webhook 3 s and never re-sends after a timeout, so a stuck database must turn into a 503
well before that: the router opens a budget when a request arrives (`request_budget()`), and every Firestore
RPC of that request gets at most what is left of it as its deadline, retries of the commit protocol included.
Outside a request (scripts, tests of the store itself) there is no budget and the store's own limits apply.

STORE_REQUEST_BUDGET_S sets the budget (default 1.5 s: a 503 answered within 2 s of arrival even when every
RPC hangs, with room for the rest of the request).
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

BUDGET_ENV = "STORE_REQUEST_BUDGET_S"
DEFAULT_BUDGET_S = 1.5

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("store_request_deadline", default=None)


def budget_seconds() -> float:
    """STORE_REQUEST_BUDGET_S when it is a positive number, else the default (a typo must not remove the bound)."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_BUDGET_S
    except ValueError:
        return DEFAULT_BUDGET_S
    return value if 0 < value < 60 else DEFAULT_BUDGET_S


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
