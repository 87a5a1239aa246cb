"""D22 for D14: the CME equity-futures holidays and early closes, compiled at build time from exchange-calendars into
`shared/domain/cme_calendar.py` (no pandas at run time), and the session window that reads them."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import pytest
from builders import fresh_world, ny, run

from shared.domain.clock import session_window, trading_day, trading_day_at
from shared.domain.cme_calendar import FIRST_YEAR, LAST_YEAR
from shared.domain.inputs import SetRisk

HOUR = 3600
ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_module_is_what_the_library_compiles_to() -> None:
    pytest.importorskip("exchange_calendars")
    spec = importlib.util.spec_from_file_location("build_calendar", ROOT / "scripts" / "build_calendar.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "shared" / "domain" / "cme_calendar.py").read_text() == module.generate()


def test_the_functions_never_import_pandas_for_it() -> None:
    import shared.domain.clock  # noqa: F401
    assert "pandas" not in sys.modules or "exchange_calendars" in sys.modules


@pytest.mark.parametrize(("moment", "is_open", "until_close", "until_open"), [
    # Thanksgiving 2025 (Thursday 11-27): the session closes early at 13:00, the next opens at 18:00
    ((2025, 11, 27, 12, 59, 59), True, 1, 0),
    ((2025, 11, 27, 13, 0, 0), False, 0, 5 * HOUR),
    # Black Friday: open from Thursday 18:00, early close 13:00 (then the weekend)
    ((2025, 11, 27, 18, 0, 0), True, 19 * HOUR, 0),
    ((2025, 11, 28, 13, 0, 0), False, 0, (2 * 24 + 5) * HOUR),
    # Good Friday 2026 (04-03): no session from Thursday 18:00 to Sunday 18:00
    ((2026, 4, 2, 16, 59, 59), True, 1, 0),
    ((2026, 4, 2, 18, 0, 0), False, 0, 3 * 24 * HOUR),
    ((2026, 4, 3, 10, 0, 0), False, 0, (2 * 24 + 8) * HOUR),
    # Christmas 2025 (Thursday): the 24th closes early at 13:00; the 26th's session opens on the 25th at 18:00
    ((2025, 12, 24, 12, 0, 0), True, HOUR, 0),
    ((2025, 12, 24, 13, 0, 0), False, 0, 29 * HOUR),
    ((2025, 12, 25, 18, 0, 0), True, 23 * HOUR, 0),
    # an ordinary day stays as D14 had it
    ((2026, 1, 13, 10, 0, 0), True, 7 * HOUR, 0),
])
def test_holidays_and_early_closes(moment: tuple[int, int, int, int, int, int], is_open: bool, until_close: int,
                                   until_open: int) -> None:
    assert session_window(ny(*moment)) == {"open": is_open, "seconds_until_close": until_close,
                                           "seconds_until_open": until_open, "calendar_known": True}


@pytest.mark.parametrize(("moment", "is_open", "until_close", "until_open"), [
    # New Year's Day 2024 (a Monday holiday): no Sunday-evening open; its next session opens on the Monday at 18:00
    ((2023, 12, 31, 18, 0, 0), False, 0, 24 * HOUR),
    ((2024, 1, 1, 18, 0, 0), True, 23 * HOUR, 0),
    # Martin Luther King Jr. Day 2026 (01-19): an early close at 13:00, then the next session at 18:00
    ((2026, 1, 19, 12, 59, 0), True, 60, 0),
    ((2026, 1, 19, 13, 0, 0), False, 0, 5 * HOUR),
])
def test_a_monday_holiday_and_an_early_close_on_a_monday(moment: tuple[int, int, int, int, int, int], is_open: bool,
                                                          until_close: int, until_open: int) -> None:
    assert session_window(ny(*moment)) == {"open": is_open, "seconds_until_close": until_close,
                                           "seconds_until_open": until_open, "calendar_known": True}


@pytest.mark.parametrize(("moment", "day"), [
    ((2025, 11, 27, 13, 0, 0), "2025-11-27"),      # Thanksgiving's early close does not end the trading day
    ((2025, 11, 27, 17, 59, 59), "2025-11-27"),
    ((2025, 11, 27, 18, 0, 0), "2025-11-28"),
    ((2026, 4, 2, 18, 0, 0), "2026-04-03"),        # Good Friday has no session, yet a trading day of its own
    ((2026, 4, 3, 18, 0, 0), "2026-04-04"),
    ((2023, 12, 31, 18, 0, 0), "2024-01-01"),      # the holiday's evening rolls as any other
])
def test_the_trading_day_still_rolls_at_18_new_york_on_holidays_and_early_closes(
        moment: tuple[int, int, int, int, int, int], day: str) -> None:
    """D22: the CME calendar shapes D14's session window only; the trading day rolls at 18:00 New York (D4)."""
    assert trading_day(ny(*moment)) == trading_day_at(ny(*moment)) == day


def test_the_rollover_resets_the_day_at_18_even_when_the_exchange_is_closed() -> None:
    """Good Friday 2026: no session from Thursday 18:00, but the daily counters reset then all the same."""
    world = fresh_world(ny(2026, 4, 2, 17, 0))
    world.glob.trades_taken_today, world.glob.loss_streak_count = 4, 2
    before = run(world, SetRisk(), ny(2026, 4, 2, 17, 59, 59)).world
    assert (before.glob.trading_day, before.glob.trades_taken_today) == ("2026-04-02", 4)
    after = run(before, SetRisk(), ny(2026, 4, 2, 18, 0)).world
    assert (after.glob.trading_day, after.glob.trades_taken_today, after.glob.loss_streak_count) == (
        "2026-04-03", 0, 0)
    assert session_window(ny(2026, 4, 2, 18, 0))["open"] is False


def test_a_moment_outside_the_compiled_years_says_the_calendar_does_not_know_it() -> None:
    """Past the years `scripts/build_calendar.py` compiled, the session window keeps D14's weekly hours and says
    so (`calendar_known`), instead of passing weekly hours off as the exchange's calendar."""
    inside, after = session_window(ny(LAST_YEAR, 12, 31, 12)), session_window(ny(LAST_YEAR, 12, 31, 18))
    assert (inside["calendar_known"], after["calendar_known"]) == (True, False)    # 18:00 opens next year's session
    assert session_window(ny(FIRST_YEAR - 1, 12, 29, 12))["calendar_known"] is False


def test_the_compiled_calendar_still_covers_next_year() -> None:
    """A dated check, on purpose: a year before the compiled calendar runs out this fails and says what to do."""
    assert date.today().year < LAST_YEAR, (
        f"shared/domain/cme_calendar.py ends in {LAST_YEAR}: raise LAST_YEAR in scripts/build_calendar.py and run it")
