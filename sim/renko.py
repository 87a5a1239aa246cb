"""TradingView "traditional" Renko bricks from a price path, for the six box sizes the strategy watches.

The rules (one builder per box size, box `b`):

- Grid: the first price `p0` anchors the grid at `floor(p0 / b) * b`; every brick opens and closes on a multiple of
  `b`. The builder keeps brick edges as integer levels (`level * b`), so a 2.5 box never drifts off its grid.
- The first brick forms when price reaches the anchor + one box (a green brick anchor → anchor + b) or the anchor -
  one box (a red brick anchor → anchor - b). An anchor that sits below `p0` therefore needs a little more than one box
  of fall for the first red brick; that is TradingView's behaviour for a chart that starts mid-box too.
- Continuation: a new brick in the trend's direction when price reaches the last brick's close ± one box.
- Reversal: only when price goes one box beyond the last brick's *open* (two boxes from its close); the reversal
  brick opens at the last brick's open.
- A fast move (one price jumping several boxes) emits every brick it crosses, in order, all with that price's ts.
  Prices that do not complete a brick emit nothing.

A price exactly on an edge completes the brick (TradingView's "reaches").

`merged` feeds one path to every box size at once: the market replay iterates it, and posts one webhook per brick.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain import catalog

if TYPE_CHECKING:
    from sim.sources import Tick

BOX_SIZES = catalog.BOX_SIZES   # every stream's brick size

# A single price that crosses this many boxes is a broken file or a unit mix-up (cents for points), not a market move:
# refusing it keeps a bad input from allocating millions of bricks.
MAX_BRICKS_PER_PRICE = 10_000


@dataclass(frozen=True, slots=True)
class Brick:
    """One completed brick. `open`/`close` are exact multiples of `box`; `abs(close - open) == box`."""

    box: float
    index: int
    open: float
    close: float
    ts: float

    @property
    def color(self) -> str:
        return "green" if self.close > self.open else "red"

    @property
    def bar_id(self) -> str:
        """`"<epoch seconds of completion>-<index>"`: the same path gives the same ids, unique within one box's series.

        TradingView's `{{time}}` for a Renko brick is the brick's bar time (ISO 8601 UTC, e.g. "2026-11-17T14:31:05Z"),
        and several bricks of one fast move share it, so it is not unique on its own; the index makes ours unique
        (D6 de-duplicates on (stream, asset, bar id)).
        """
        return f"{int(self.ts)}-{self.index}"


class RenkoBuilder:
    """Turns prices into bricks for one box size; `update` returns the bricks each price completes."""

    __slots__ = ("_box", "_close", "_down", "_index", "_trend", "_up")

    def __init__(self, box: float) -> None:
        if not (isinstance(box, int | float) and math.isfinite(box) and box > 0):
            raise ValueError(f"box must be a positive finite number of points, got {box!r}")
        self._box = float(box)
        self._index = 0
        self._close: int | None = None  # level of the last brick's close (the anchor before the first brick)
        self._trend = 0  # +1 after a green brick, -1 after a red one, 0 before the first brick
        # Prices strictly between these complete nothing: the per-price fast path is two float comparisons.
        self._up = math.nan
        self._down = math.nan

    @property
    def box(self) -> float:
        return self._box

    @property
    def count(self) -> int:
        """Bricks emitted so far."""
        return self._index

    def update(self, ts: float, price: float) -> list[Brick]:
        """The bricks this price completes, in order (empty for most prices)."""
        if self._down < price < self._up:
            return []
        return self._advance(ts, price)

    def _advance(self, ts: float, price: float) -> list[Brick]:
        if not math.isfinite(price):
            raise ValueError(f"price must be finite, got {price!r}")
        if not math.isfinite(ts):
            raise ValueError(f"ts must be finite, got {ts!r}")
        box = self._box
        if self._close is None:
            self._close = self._floor_level(price)
            self._set_thresholds(self._close)
            return []
        close, trend = self._close, self._trend
        start: int  # level the first new brick opens at
        if price >= self._up:
            start = close if trend >= 0 else close + 1
            end = self._floor_level(price)
            step = 1
        else:
            start = close if trend <= 0 else close - 1
            end = self._ceil_level(price)
            step = -1
        count = (end - start) * step
        if count > MAX_BRICKS_PER_PRICE:
            raise ValueError(
                f"price {price} at ts {ts} jumps {count} boxes of {box} from {close * box}; over {MAX_BRICKS_PER_PRICE}"
            )
        out = []
        index = self._index
        for level in range(start, end, step):
            out.append(Brick(box, index, level * box, (level + step) * box, ts))
            index += 1
        self._index = index
        self._close = end
        self._trend = step
        self._set_thresholds(end)
        return out

    def _set_thresholds(self, close: int) -> None:
        box = self._box
        # After a green brick (open close-1) a red one needs close-2; after a red one a green needs close+2.
        self._up = (close + (2 if self._trend < 0 else 1)) * box
        self._down = (close - (2 if self._trend > 0 else 1)) * box

    def _floor_level(self, price: float) -> int:
        """Largest level k with k * box <= price, exact against the edges the bricks use (k * box)."""
        box = self._box
        k = math.floor(price / box)
        if k * box > price:
            k -= 1
        elif (k + 1) * box <= price:
            k += 1
        return k

    def _ceil_level(self, price: float) -> int:
        """Smallest level k with k * box >= price."""
        box = self._box
        k = math.ceil(price / box)
        if k * box < price:
            k += 1
        elif (k - 1) * box >= price:
            k -= 1
        return k


def bricks(ticks: Iterable[Tick], box: float) -> list[Brick]:
    """Every brick of one box size over a path, in order."""
    builder = RenkoBuilder(box)
    out: list[Brick] = []
    update = builder._advance
    down = up = math.nan
    for tick in ticks:
        price = tick.price
        if down < price < up:  # the common case, kept out of a method call
            continue
        out.extend(update(tick.ts, price))
        down, up = builder._down, builder._up
    return out


def merged(ticks: Iterable[Tick], boxes: Iterable[float] = BOX_SIZES) -> Iterator[tuple[Tick, list[Brick]]]:
    """One pass over the path: each tick with every brick of every box it completes (box ascending, then index).

    Yields every tick, also those that complete nothing (an empty list), so the replay sees the price path too.
    """
    sizes = sorted(float(b) for b in boxes)
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"box sizes repeat: {sizes}")
    builders = [RenkoBuilder(b) for b in sizes]
    # A price strictly inside every builder's band completes nothing: most ticks cost two comparisons, not a call
    # per box size. The bands only move when a builder advances.
    down = up = math.nan
    for tick in ticks:
        price = tick.price
        if down < price < up:
            yield tick, []
            continue
        done: list[Brick] = []
        for builder in builders:
            done.extend(builder.update(tick.ts, price))
        down, up = max(b._down for b in builders), min(b._up for b in builders)
        yield tick, done
