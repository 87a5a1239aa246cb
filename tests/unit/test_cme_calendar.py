"""D22 for D14: the CME equity-futures holidays and early closes, compiled at build time from exchange-calendars into
`shared/domain/cme_calendar.py` (no pandas at run time), and the session window that reads them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from builders import ny

from shared.domain.clock import session_window

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
                                           "seconds_until_open": until_open}
