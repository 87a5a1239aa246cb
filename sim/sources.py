"""Price paths for the simulator: the bundled sample session and the user's own files.

Formats (UTF-8 CSV, a header line is required, header names are case-insensitive, blank lines are skipped):

- Tick file, header `ts,price`: one price per row, `ts` non-decreasing.
- TradingView chart export, header `time,open,high,low,close` with an optional `Volume` column (ignored). Export the
  chart without indicators: any other column is refused. Each candle becomes an intra-candle price path, because the
  export does not say in which order the high and the low came: open → low → high → close for a green or flat candle
  (close >= open), open → high → low → close for a red one. The four points are spread over the first three quarters
  of the candle's interval (the smallest gap between two candle times, 60 s for a file of one candle), so their
  timestamps rise and stay before the next candle. A point equal to the previous price of its candle is dropped.

A time is epoch seconds (TradingView's "UNIX timestamp" export), or ISO 8601 with an offset
(`2026-11-17T09:30:00-05:00`, `...Z`); it must fall between 2000 and 2100, which also catches milliseconds.
A price is a plain decimal number, finite and > 0.

Any bad row raises `SourceError` naming the file and the 1-based line, and nothing is returned: a file imports whole
or not at all. Files over 50 MB are refused before reading.

The sample session (`sim/data/sample_session.csv`, a tick file of 5-second rows) is synthetic and MES-like: prices
near 6000 in ticks of 0.25, Tuesday 2026-11-17 08:30–16:15 New York time (a volatile first hour after the 09:30 open,
a calm midday, a livelier close), nothing in the break, then 18:00–19:00, the start of the next trading day.
It is `make_sample(7)`; regenerate it with `python -m sim.sources --make-sample`.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SAMPLE_PATH: Path = Path(__file__).resolve().parent / "data" / "sample_session.csv"
SAMPLE_GATES: Path = SAMPLE_PATH.parent / "sample_gates.json"   # every D22 gate on for the sample day (issue 19)
MAX_FILE_BYTES = 50 * 1024 * 1024
EARLIEST_TS = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST_TS = 4_102_444_800.0  # 2100-01-01T00:00:00Z
DEFAULT_CANDLE_SECONDS = 60.0

TICK_HEADER = ("ts", "price")
TV_HEADER = ("time", "open", "high", "low", "close")
TV_OPTIONAL = "volume"

# Plain decimals only: float() would also take "nan", "inf" and "1_000".
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True, slots=True)
class Tick:
    ts: float  # epoch seconds
    price: float


class SourceError(ValueError):
    """A price file that cannot be imported; `line` is 1-based (0 when the whole file is refused, e.g. too large)."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}, line {line}" if line > 0 else self.path
        super().__init__(f"{where}: {message}")


def load(path: str | Path) -> list[Tick]:
    """A tick file or a TradingView export, told apart by the header line."""
    rows = _read_rows(path)
    header = _header(path, rows)
    if header == TICK_HEADER:
        return _ticks(path, rows)
    if header[:5] == TV_HEADER:
        return _candles(path, rows)
    raise SourceError(
        path, rows[0][0], f"unknown header {','.join(rows[0][1])!r}: expected 'ts,price' or 'time,open,high,low,close'"
    )


def load_tradingview(path: str | Path) -> list[Tick]:
    """A TradingView chart export (`time,open,high,low,close[,Volume]`) as an intra-candle price path."""
    rows = _read_rows(path)
    if _header(path, rows)[:5] != TV_HEADER:
        raise SourceError(path, rows[0][0], f"expected the header 'time,open,high,low,close[,Volume]', got "
                                            f"{','.join(rows[0][1])!r}")
    return _candles(path, rows)


def load_ticks(path: str | Path) -> list[Tick]:
    """A `ts,price` tick file."""
    rows = _read_rows(path)
    if _header(path, rows) != TICK_HEADER:
        raise SourceError(path, rows[0][0], f"expected the header 'ts,price', got {','.join(rows[0][1])!r}")
    return _ticks(path, rows)


def sample_session() -> list[Tick]:
    """The bundled sample session."""
    return load_ticks(SAMPLE_PATH)


def sample_blackouts() -> list[dict[str, Any]]:
    """The sample day's blackout windows (`sim/data/sample_gates.json`), as `POST /api/calendar` takes them."""
    windows: list[dict[str, Any]] = json.loads(SAMPLE_GATES.read_text(encoding="utf-8"))["settings"]["blackouts"]
    return windows


# --- reading ---------------------------------------------------------------------------------------------------------

Row = tuple[int, list[str]]  # (1-based line, fields)


def _read_rows(path: str | Path) -> list[Row]:
    """Every non-blank row with its line number; the header is rows[0]."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(path, 0, f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // (1024 * 1024)} MB "
                                       "limit")
        data = p.read_bytes()
    except OSError as exc:
        raise SourceError(path, 0, f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's BOM is not part of the header
    except UnicodeDecodeError as exc:
        raise SourceError(path, data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from exc
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # an unclosed quote is an error
    line = 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                rows.append((line, fields))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise SourceError(path, line, f"not CSV: {exc}") from exc
    if not rows:
        raise SourceError(path, 1, "empty file: expected a header 'ts,price' or 'time,open,high,low,close'")
    return rows


def _header(path: str | Path, rows: list[Row]) -> tuple[str, ...]:
    line, fields = rows[0]
    names = tuple(f.strip().lower() for f in fields)
    if names[:5] == TV_HEADER and names[5:] not in ((), (TV_OPTIONAL,)):
        extra = ",".join(f.strip() for i, f in enumerate(fields[5:]) if not (i == 0 and names[5] == TV_OPTIONAL))
        raise SourceError(path, line, f"unknown column(s) {extra!r} after close: only an optional Volume column is "
                                      "allowed (export the chart without indicators)")
    return names


def _data(path: str | Path, rows: list[Row]) -> list[Row]:
    if len(rows) == 1:
        raise SourceError(path, rows[0][0], "no data rows after the header")
    return rows[1:]


def _fields(path: str | Path, line: int, fields: list[str], names: tuple[str, ...]) -> list[str]:
    if len(fields) != len(names):
        raise SourceError(path, line, f"{len(fields)} columns, expected {len(names)} ({','.join(names)})")
    return [f.strip() for f in fields]


def _price(path: str | Path, line: int, name: str, text: str) -> float:
    value = float(text) if _NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise SourceError(path, line, f"{name} {text!r} is not a finite number")
    if value <= 0:
        raise SourceError(path, line, f"{name} {text!r} must be > 0")
    return value


def _time(path: str | Path, line: int, name: str, text: str) -> float:
    if _NUMBER.fullmatch(text):
        value = float(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise SourceError(path, line, f"{name} {text!r} is neither epoch seconds nor ISO 8601") from None
        if moment.tzinfo is None:
            raise SourceError(path, line, f"{name} {text!r} has no UTC offset (add Z or e.g. -05:00)")
        value = moment.timestamp()
    if not (EARLIEST_TS <= value < LATEST_TS):
        raise SourceError(path, line, f"{name} {text!r} is not epoch seconds between 2000 and 2100 "
                                      "(milliseconds?)")
    return value


def _ticks(path: str | Path, rows: list[Row]) -> list[Tick]:
    out: list[Tick] = []
    last = -math.inf
    for line, raw in _data(path, rows):
        ts_text, price_text = _fields(path, line, raw, TICK_HEADER)
        ts = _time(path, line, "ts", ts_text)
        if ts < last:
            raise SourceError(path, line, f"ts {ts_text} goes backwards (previous row is later)")
        out.append(Tick(ts, _price(path, line, "price", price_text)))
        last = ts
    return out


def _candles(path: str | Path, rows: list[Row]) -> list[Tick]:
    names = tuple(f.strip().lower() for f in rows[0][1])
    candles: list[tuple[float, float, float, float, float]] = []
    last = -math.inf
    for line, raw in _data(path, rows):
        fields = _fields(path, line, raw, names)
        ts = _time(path, line, "time", fields[0])
        if ts <= last:
            raise SourceError(path, line, f"time {fields[0]} does not come after the previous candle's")
        o, h, low, c = (_price(path, line, n, t) for n, t in zip(TV_HEADER[1:], fields[1:5], strict=True))
        if h < low:
            raise SourceError(path, line, f"high {fields[2]} is below low {fields[3]}")
        if not (low <= o <= h):
            raise SourceError(path, line, f"open {fields[1]} is outside [low, high]")
        if not (low <= c <= h):
            raise SourceError(path, line, f"close {fields[4]} is outside [low, high]")
        candles.append((ts, o, h, low, c))
        last = ts
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(candles)]
    step = (min(gaps) if gaps else DEFAULT_CANDLE_SECONDS) / 4
    out: list[Tick] = []
    for ts, o, h, low, c in candles:
        path_prices = (o, low, h, c) if c >= o else (o, h, low, c)
        previous = math.nan
        for i, price in enumerate(path_prices):
            if price != previous:
                out.append(Tick(ts + i * step, price))
                previous = price
    return out


# --- the sample session --------------------------------------------------------------------------------------------

# 2026-11-17 is a Tuesday in EST (UTC-5, New York's DST ended on 2026-11-01); a fixed offset keeps the generator
# independent of the machine's time zone database.
_NY = timezone(timedelta(hours=-5))
_DAY = datetime(2026, 11, 17, tzinfo=_NY)
_ROW_SECONDS = 5
_SESSIONS = ((8 * 60 + 30, 16 * 60 + 15), (18 * 60, 19 * 60))  # New York minutes of day, end exclusive
_START_PRICE = 6012.0


def _volatility(minute: float) -> float:
    """Standard deviation of one 5-second step, in 0.25 ticks, by New York minute of day."""
    if minute < 9 * 60 + 30:
        return 2.3  # pre-market: thin, quiet
    if minute < 10 * 60 + 30:
        # the open: wild first minutes, calming over an hour
        return 2.6 + 8.3 * math.exp(-(minute - (9 * 60 + 30)) / 22)
    if minute < 15 * 60:
        return 1.95  # midday
    if minute < 16 * 60 + 15:
        return 2.7  # into the cash close
    return 1.55  # the evening session of the next trading day


def _gauss(rng: random.Random) -> float:
    """Box–Muller on rng.random() only: Python promises random()'s sequence per seed, not gauss()'s."""
    u1 = 1.0 - rng.random()  # (0, 1], keeps log() finite
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * rng.random())


def make_sample(seed: int = 7) -> list[Tick]:
    """The deterministic synthetic session; the committed CSV is `make_sample(7)`."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible market path, not a secret
    ticks: list[Tick] = []
    # Prices in 0.25 ticks (integers: exact). The traded price chops around a "fair" level that trends and wanders;
    # the pull keeps the day's range realistic (tens of points) while the chop makes enough small bricks.
    fair = _START_PRICE * 4
    level = round(fair)
    drift = 0.0
    for first_minute, end_minute in _SESSIONS:
        if ticks:
            fair += _gauss(rng) * 6  # the evening reopens a few ticks away from the close
        start = _DAY + timedelta(minutes=first_minute)
        for i in range((end_minute - first_minute) * 60 // _ROW_SECONDS):
            sigma = _volatility(first_minute + i * _ROW_SECONDS / 60)
            drift = 0.995 * drift + 0.012 * _gauss(rng)
            fair += drift + 0.3 * sigma * _gauss(rng)
            step = sigma * _gauss(rng) + 0.1 * (fair - level)
            if rng.random() < 0.004 * sigma:  # rare sharp prints, more of them when it is busy
                step += _gauss(rng) * 6 * sigma
            level += round(step)
            ts = (start + timedelta(seconds=i * _ROW_SECONDS)).timestamp()
            ticks.append(Tick(ts, level / 4))
    return ticks


def _plain(value: float, places: int) -> str:
    """`value` with `places` decimals when that reads back exactly (prices in 0.25 ticks, whole seconds), else repr."""
    text = f"{value:.{places}f}"
    return text if float(text) == value else repr(float(value))


def write_ticks(ticks: list[Tick], path: str | Path) -> None:
    """A tick file in the `ts,price` format (`load_ticks` reads it back to the same ticks)."""
    lines = ["ts,price"]
    lines += [f"{_plain(t.ts, 0)},{_plain(t.price, 2)}" for t in ticks]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sim.sources", description=__doc__.split("\n")[0])
    parser.add_argument("--make-sample", action="store_true", help=f"write make_sample(seed) to {SAMPLE_PATH}")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=SAMPLE_PATH)
    args = parser.parse_args(argv)
    if not args.make_sample:
        parser.print_help()
        return
    from sim.renko import BOX_SIZES, bricks  # sources must not import renko at module level (renko imports Tick)

    ticks = make_sample(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_ticks(ticks, args.out)
    prices = [t.price for t in ticks]
    print(f"{args.out}: {len(ticks)} rows, {args.out.stat().st_size / 1024:.0f} KB, "
          f"prices {min(prices):.2f}–{max(prices):.2f}")
    total = 0
    for box in BOX_SIZES:
        n = len(bricks(ticks, box))
        total += n
        print(f"  box {box:>4}: {n:5d} bricks")
    print(f"  all boxes: {total} bricks")


if __name__ == "__main__":
    main()
