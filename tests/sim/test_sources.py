"""Price sources: the importers (formats, every refusal with its line), the sample session and its generator."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import sources
from sim.renko import BOX_SIZES, bricks
from sim.sources import SAMPLE_PATH, SourceError, Tick, load, load_ticks, load_tradingview, make_sample, sample_session

NY = ZoneInfo("America/New_York")
T0 = 1794922200  # 2026-11-17 08:30 New York


def write(tmp_path: Path, text: str | bytes, name: str = "prices.csv") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def refused(p: Path, loader=load) -> SourceError:  # type: ignore[no-untyped-def]
    with pytest.raises(SourceError) as info:
        loader(p)
    err = info.value
    assert err.path == str(p)
    assert str(p) in str(err)
    if err.line:
        assert f"line {err.line}" in str(err)
    return err


# --- tick files ----------------------------------------------------------------------------------------------------


def test_tick_file_loads_with_epoch_and_iso_times_and_equal_timestamps(tmp_path: Path) -> None:
    p = write(tmp_path, f"TS, Price\n{T0},6000.25\n\n{T0},6000.50\n2026-11-17T08:30:07-05:00,6001\n"
                        "2026-11-17T13:30:08Z,5999.75\n")
    assert load(p) == load_ticks(p) == [
        Tick(T0, 6000.25), Tick(T0, 6000.5), Tick(T0 + 7, 6001.0), Tick(T0 + 8, 5999.75),
    ]


def test_crlf_and_a_byte_order_mark_are_fine(tmp_path: Path) -> None:
    p = write(tmp_path, b"\xef\xbb\xbfts,price\r\n1794922200,6000\r\n1794922205,6000.25\r\n")
    assert load(p) == [Tick(T0, 6000.0), Tick(T0 + 5, 6000.25)]


def test_write_ticks_round_trips(tmp_path: Path) -> None:
    ticks = [Tick(T0, 6000.25), Tick(T0 + 2.5, 6000.5), Tick(T0 + 5, 5999.0)]
    p = tmp_path / "out.csv"
    sources.write_ticks(ticks, p)
    assert load_ticks(p) == ticks


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty file"),
        ("\n\n  \n", 1, "empty file"),
        ("ts,price\n", 1, "no data rows"),
        (f"{T0},6000\n{T0 + 5},6001\n", 1, "unknown header"),  # no header line
        ("timestamp,last\n1,2\n", 1, "unknown header"),
        ("ts,price\n" f"{T0},6000\n{T0 + 5},6001,7\n", 3, "3 columns, expected 2"),
        ("ts,price\n" f"{T0},6000\n{T0 + 5}\n", 3, "1 columns, expected 2"),
        ("ts,price\n" f"{T0},6000\n\n{T0 + 5},abc\n", 4, "price 'abc' is not a finite number"),  # blank line counted
        ("ts,price\n" f"{T0},nan\n", 2, "not a finite number"),
        ("ts,price\n" f"{T0},inf\n", 2, "not a finite number"),
        ("ts,price\n" f"{T0},1e999\n", 2, "not a finite number"),
        ("ts,price\n" f"{T0},6_000\n", 2, "not a finite number"),
        ("ts,price\n" f"{T0},\n", 2, "not a finite number"),
        ("ts,price\n" f"{T0},0\n", 2, "must be > 0"),
        ("ts,price\n" f"{T0},-6000\n", 2, "must be > 0"),
        ("ts,price\n" f"{T0},6000\n{T0 + 5},6001\n{T0 + 4},6002\n", 4, "goes backwards"),
        ("ts,price\n" f"{T0 * 1000},6000\n", 2, "milliseconds"),
        ("ts,price\n" "12,6000\n", 2, "between 2000 and 2100"),
        ("ts,price\n" "2026-11-17T08:30:00,6000\n", 2, "no UTC offset"),
        ("ts,price\n" "yesterday,6000\n", 2, "neither epoch seconds nor ISO 8601"),
        ("ts,price\n" f'{T0},6000\n{T0},"6000\n', 3, "not CSV"),  # an unclosed quote
    ],
)
def test_tick_file_refusals_name_the_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    p = write(tmp_path, text)
    err = refused(p)
    assert err.line == line
    assert words in str(err)
    # the same refusal through the format-specific loader (when the header is the tick header)
    if text.startswith("ts,price"):
        assert refused(p, load_ticks).line == line


def test_non_utf8_bytes_are_refused_at_their_line(tmp_path: Path) -> None:
    p = write(tmp_path, b"ts,price\n1794922200,6000\n1794922205,6\xff001\n")
    err = refused(p)
    assert err.line == 3
    assert "not UTF-8" in err.reason


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "ts,price\n" + "".join(f"{T0 + i},6000\n" for i in range(100)))
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 1000)
    err = refused(p)
    assert err.line == 0
    assert "over the" in str(err)
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 50 * 1024 * 1024)
    assert len(load(p)) == 100


def test_a_missing_file_is_a_source_error(tmp_path: Path) -> None:
    err = refused(tmp_path / "nope.csv")
    assert "cannot read" in str(err)


def test_the_format_loaders_refuse_the_other_format(tmp_path: Path) -> None:
    ticks = write(tmp_path, f"ts,price\n{T0},6000\n", "t.csv")
    candles = write(tmp_path, f"time,open,high,low,close\n{T0},1,2,1,2\n", "c.csv")
    assert "time,open,high,low,close" in str(refused(ticks, load_tradingview))
    assert "'ts,price'" in str(refused(candles, load_ticks))


# --- TradingView exports -------------------------------------------------------------------------------------------


def test_candles_become_open_low_high_close_when_green_and_open_high_low_close_when_red(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close,Volume\n"
                        f"{T0},6000,6003,5999,6002,120\n"  # green: 6000 → 5999 → 6003 → 6002
                        f"{T0 + 60},6002,6004,5996,5997,80\n"  # red: 6002 → 6004 → 5996 → 5997
                        f"{T0 + 180},5997,5997,5997,5997,0\n")  # flat (a gap of two minutes before it): one point
    got = load(p)
    # The interval is the smallest gap between candles (60 s); points at 0, 15, 30, 45 s into the candle.
    assert got == [
        Tick(T0, 6000.0), Tick(T0 + 15, 5999.0), Tick(T0 + 30, 6003.0), Tick(T0 + 45, 6002.0),
        Tick(T0 + 60, 6002.0), Tick(T0 + 75, 6004.0), Tick(T0 + 90, 5996.0), Tick(T0 + 105, 5997.0),
        Tick(T0 + 180, 5997.0),
    ]
    assert load_tradingview(p) == got


def test_candle_points_drop_repeats_within_a_candle_and_keep_time_order(tmp_path: Path) -> None:
    p = write(tmp_path, "Time,Open,High,Low,Close\n"
                        "2026-11-17T09:30:00-05:00,6000,6000,5990,5995\n"  # red, open is the high: 6000, 5990, 5995
                        "2026-11-17T14:31:00Z,5995,6001,5995,6001\n")  # green, open is the low: 5995, 6001
    got = load(p)
    assert [t.price for t in got] == [6000.0, 5990.0, 5995.0, 5995.0, 6001.0]
    assert [t.ts for t in got] == sorted(t.ts for t in got)
    assert got[0].ts == datetime(2026, 11, 17, 9, 30, tzinfo=NY).timestamp()
    assert got[-1].ts < got[0].ts + 120


def test_a_single_candle_spreads_over_a_default_minute(tmp_path: Path) -> None:
    got = load(write(tmp_path, f"time,open,high,low,close\n{T0},6000,6002,5998,6001\n"))
    assert [t.ts - T0 for t in got] == [0, 15, 30, 45]


def test_bricks_from_candles_are_time_ordered(tmp_path: Path) -> None:
    rows = "".join(f"{T0 + 60 * i},{6000 + i % 7},{6010 + i % 7},{5990 + i % 7},{6001 + i % 5}\n" for i in range(50))
    got = bricks(load(write(tmp_path, "time,open,high,low,close\n" + rows)), 1.0)
    assert len(got) > 50
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(got))


HEAD = "time,open,high,low,close\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (HEAD, 1, "no data rows"),
        ("time,open,high,low,close,Volume,VWAP\n1,2,3,4,5,6,7\n", 1, "unknown column(s) 'VWAP'"),
        ("time,open,high,low\n1,2,3,4\n", 1, "unknown header"),
        (HEAD + f"{T0},6000,6001,5999,6000,5\n", 2, "6 columns, expected 5"),
        (HEAD + f"{T0},6000,6001,5999,6000\n{T0 + 60},6000,6001\n", 3, "3 columns, expected 5"),
        (HEAD + f"{T0},6000,6001,x,6000\n", 2, "low 'x' is not a finite number"),
        (HEAD + f"{T0},6000,inf,5999,6000\n", 2, "high 'inf' is not a finite number"),
        (HEAD + f"{T0},0,6001,5999,6000\n", 2, "open '0' must be > 0"),
        (HEAD + f"{T0},6000,5998,5999,5999\n", 2, "high 5998 is below low 5999"),
        (HEAD + f"{T0},6002,6001,5999,6000\n", 2, "open 6002 is outside [low, high]"),
        (HEAD + f"{T0},6000,6001,5999,5998.75\n", 2, "close 5998.75 is outside [low, high]"),
        (HEAD + f"{T0},6000,6001,5999,6000\n{T0},6000,6001,5999,6000\n", 3, "does not come after"),
        (HEAD + f"{T0},6000,6001,5999,6000\n{T0 - 60},6000,6001,5999,6000\n", 3, "does not come after"),
        (HEAD + "2026-11-17 09:30,6000,6001,5999,6000\n", 2, "no UTC offset"),
        (HEAD + f"{T0}000,6000,6001,5999,6000\n", 2, "milliseconds"),
    ],
)
def test_tradingview_refusals_name_the_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    p = write(tmp_path, text)
    err = refused(p)
    assert err.line == line
    assert words in str(err)
    if text.startswith(HEAD):
        assert refused(p, load_tradingview).line == line


def test_a_bad_last_row_refuses_the_whole_file(tmp_path: Path) -> None:
    rows = "".join(f"{T0 + 5 * i},{6000 + i / 4}\n" for i in range(1000))
    p = write(tmp_path, "ts,price\n" + rows + f"{T0 + 5000},-1\n")
    err = refused(p)
    assert err.line == 1002  # the header, 1000 good rows, then the bad one: nothing of the 1000 comes back


# --- the sample session --------------------------------------------------------------------------------------------


def test_the_committed_sample_is_make_sample_7() -> None:
    assert sample_session() == make_sample(7) == make_sample()
    assert SAMPLE_PATH.stat().st_size < 300_000


def test_the_generator_is_deterministic_per_seed() -> None:
    assert make_sample(3) == make_sample(3)
    assert make_sample(3) != make_sample(4)


def test_sample_is_mes_like_and_spans_the_open_and_the_trading_day_rollover() -> None:
    ticks = sample_session()
    assert all(b.ts - a.ts == 5 for a, b in itertools.pairwise(ticks) if b.ts - a.ts != 105 * 60 + 5)
    assert all((t.price * 4).is_integer() and 5000 < t.price < 7000 for t in ticks)
    local = [datetime.fromtimestamp(t.ts, NY) for t in ticks]
    assert local[0] == datetime(2026, 11, 17, 8, 30, tzinfo=NY)  # Tuesday, EST (the offset the generator fixes)
    assert local[0].weekday() == 1
    assert local[-1] == datetime(2026, 11, 17, 18, 59, 55, tzinfo=NY)
    minutes = {d.hour * 60 + d.minute for d in local}
    assert 9 * 60 + 30 in minutes and 16 * 60 + 14 in minutes and 18 * 60 in minutes
    assert not any(16 * 60 + 15 <= m < 18 * 60 for m in minutes)  # nothing in the daily break


def test_sample_is_volatile_after_the_open_and_calm_at_midday() -> None:
    ticks = sample_session()

    def one_point_bricks(start: tuple[int, int], end: tuple[int, int]) -> int:
        lo, hi = (datetime(2026, 11, 17, *hm, tzinfo=NY).timestamp() for hm in (start, end))
        return sum(lo <= b.ts < hi for b in bricks(ticks, 1.0))

    opening = one_point_bricks((9, 30), (10, 0))
    midday = one_point_bricks((12, 0), (12, 30))
    assert opening > 4 * midday > 0


def test_sample_brick_counts_fit_the_end_to_end_budget() -> None:
    ticks = sample_session()
    counts = [len(bricks(ticks, box)) for box in BOX_SIZES]
    assert 1500 <= sum(counts) <= 3000
    assert counts == sorted(counts, reverse=True)
    assert min(counts) >= 5  # even the 12-point box moves during the day


def test_make_sample_command_writes_the_file_and_prints_counts(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    done = subprocess.run(
        [sys.executable, "-m", "sim.sources", "--make-sample", "--seed", "7", "--out", str(out)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    )
    assert out.read_bytes() == SAMPLE_PATH.read_bytes()
    for box in BOX_SIZES:
        assert f"box {box:>4}: {len(bricks(sample_session(), box)):5d} bricks" in done.stdout
    assert "all boxes" in done.stdout


def test_sample_session_timestamps_never_go_backwards() -> None:
    ts = [t.ts for t in sample_session()]
    assert ts == sorted(ts)
    assert all(math.isfinite(t) for t in ts)


# Headers, numbers, times and junk in any mix: an importer returns ticks or refuses with SourceError, nothing else.
_cells = st.one_of(
    st.sampled_from(["ts", "price", "time", "open", "high", "low", "close", "Volume", "", " ", '"', "nan", "-0",
                     "1e999", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "2026-11-17T09:30:00Z",
                     str(T0), "6000.25", "\x00", "\ufeff"]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_files = st.lists(st.lists(_cells, min_size=0, max_size=7).map(",".join), min_size=0, max_size=8).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files, st.sampled_from(["", "ts,price\n", "time,open,high,low,close\n", "TIME,Open,High,Low,Close,volume\n"]))
def test_any_text_loads_or_is_refused_with_a_source_error(tmp_path: Path, body: str, header: str) -> None:
    p = write(tmp_path, header + body)
    for loader in (load, load_ticks, load_tradingview):
        try:
            ticks = loader(p)
        except SourceError as err:
            assert err.line >= 0
            continue
        assert ticks and all(math.isfinite(t.price) and t.price > 0 for t in ticks)
        assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)
