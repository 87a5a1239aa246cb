"""The rules' speed-ups, in one place, so that the rule modules read as rules.

What: every decision copies the records it may change, and a backtest makes ~70,000 decisions, each asking the
same few pure questions again (which trading day, which contract root, what point value). Five helpers make that
cheap, and only this module knows how:

- `record_copier(cls)`: a copy of a slotted record as straight-line code generated from its field names (as
  `dataclasses` generates `__init__`), over ten times faster than `copy.copy`. Plain version: `copy.copy`.
- `copy_values(mapping, copy)`: a dict of copies, in a loop rather than a comprehension (on Python 3.11 each
  comprehension is a function to create and call). Plain version: `{k: copy(v) for k, v in mapping.items()}`.
- `remembered(fn)`: a pure lookup keyed by strings, cached (`functools.lru_cache`). Plain version: `fn` itself.
- `by_span(compute, bounds)`: a function of a moment that is constant over spans (the trading day, D4), answered
  from the last span computed without computing again. Plain version: `compute` itself.
- `later(fn, *args)`: a value worked out when first read rather than at every decision (the audit record's list of
  touched assets: the service reads it, the in-process backtest never does). Plain version: computed at once.

Two idioms stay in the rule modules, with a pointer here:
- `engine.touched_assets` reads an input's own `asset` as `vars(inp).get("asset")`, because
  `getattr(inp, "asset", None)` on a pydantic model without the field raises and catches an AttributeError inside
  pydantic (about half a microsecond a decision that the service reads).
- `engine.decide`, `engine.orders_needed` and `service.loads` tell inputs apart by exact type (`type(inp) is
  PnlSnapshot`), not `isinstance`: an input's class is a pydantic model, whose metaclass is an ABCMeta, and a
  failing `isinstance` against it costs ~50 ns where `is` costs ~5 (measured 2026-12-07; four of them a decision).
  Inputs are final classes (none subclasses another), so both tests answer the same.

Why: the budgets (docs/architecture.md: a decision under 10 µs, the 10,000-brick backtest under 1 s);
docs/benchmarks.md has the figures, bench/bench_sim.py's docstring what each round of speed-ups bought.

Turning them off: set `ON = False` below (read when the rule modules are imported): every helper then gives its
plain version and the rules decide exactly the same (every test of the rules passes either way — not those of
the helpers themselves: tests/unit/test_fast.py and the remembered trading day's test; with them off,
the median decision of bench/bench_domain.py took 25 µs rather than 5, the synthetic backtest 2.3 s rather than
1.0, both measured 2026-12-07 at a load average of ~4). tests/sim/test_backtest_fast.py runs the backtest both
ways and compares every trade; tests/unit/test_fast.py checks each helper against its plain version.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache, partial
from typing import Any, TypeVar

ON = True

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def record_copier(cls: type[T]) -> Callable[[T], T]:
    """A shallow copy of a slotted dataclass record: `new.x = old.x` for every field, generated once per class."""
    if not ON:
        return copy.copy
    lines = "".join(f"    new.{f.name} = old.{f.name}\n" for f in fields(cls))   # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    # the source holds only the class's own field names (identifiers), never data
    exec(f"def copy(old):\n    new = _new(_cls)\n{lines}    return new\n", namespace)  # noqa: S102
    copier: Callable[[T], T] = namespace["copy"]
    return copier


def copy_values(mapping: dict[K, V], copy_one: Callable[[V], V]) -> dict[K, V]:
    """{key: copy_one(value)} for every entry."""
    out: dict[K, V] = {}
    for key, value in mapping.items():
        out[key] = copy_one(value)
    return out


def remembered(fn: F) -> F:
    """`fn` (pure, of a few hashable arguments that recur: contract spellings) with its recent answers kept."""
    return lru_cache(maxsize=256)(fn) if ON else fn  # type: ignore[return-value]


def by_span(compute: Callable[[float, int], str], bounds: Callable[[str, int], tuple[float, float]],
            spans: dict[int, tuple[float, float, str]] | None = None) -> Callable[[float, int], str]:
    """`compute(moment, key)` for a value that holds from `bounds(value, key)[0]` to `[1]` (inclusive): the last
    span computed answers for the moments inside it. A span is kept only once `compute` agrees at both of its ends,
    so the answer is exactly what `compute` would give (the trading day never goes back as time goes on). One
    tuple per key in `spans`, replaced whole: a reader on another thread sees an old span or the new one, each
    true."""
    if not ON:
        return compute
    kept: dict[int, tuple[float, float, str]] = {} if spans is None else spans

    def remembered_span(moment: float, key: int) -> str:
        span = kept.get(key)
        if span is not None and span[0] <= moment <= span[1]:
            return span[2]
        value = compute(moment, key)
        first, last = bounds(value, key)
        if compute(first, key) == value == compute(last, key):
            kept[key] = (first, last, value)
        return value

    remembered_span.__defaults__ = compute.__defaults__   # the same call, defaults included
    remembered_span.__doc__ = compute.__doc__
    return remembered_span


def _at_once(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    value = fn(*args)
    return lambda: value


# `later(fn, *args)`: `fn(*args)`, to be worked out when asked for (each time: what it reads does not change after
# the decision). On, `functools.partial` itself: no call of ours in between.
later: Callable[..., Callable[[], Any]] = partial if ON else _at_once
