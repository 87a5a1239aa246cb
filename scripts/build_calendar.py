"""Compile the CME equity-futures holidays and early closes (D22, for D14's session window) into a small Python data
module, `shared/domain/cme_calendar.py`, from the maintained `exchange-calendars` library (calendar "CMES").

Run: .venv/bin/python scripts/build_calendar.py [--check]
The library (and pandas under it) is a development requirement only: the functions read the compiled module, so a
cold start imports no pandas. `--check` regenerates in memory and fails if the committed module differs (the unit
test `tests/unit/test_cme_calendar.py` does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

FIRST_YEAR, LAST_YEAR = 2024, 2030
TARGET = Path(__file__).resolve().parent.parent / "shared" / "domain" / "cme_calendar.py"


def generate() -> str:
    import warnings

    import exchange_calendars
    import pandas

    with warnings.catch_warnings():   # the library's own use of pandas draws deprecation warnings: not ours
        warnings.simplefilter("ignore")
        return _generate(exchange_calendars, pandas)


def _generate(exchange_calendars: Any, pandas: Any) -> str:
    cal = exchange_calendars.get_calendar("CMES", start=f"{FIRST_YEAR}-01-01", end=f"{LAST_YEAR}-12-31")
    weekdays = pandas.bdate_range(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31")
    closed = sorted(day.date().isoformat() for day in weekdays.difference(cal.sessions))
    early: dict[str, tuple[int, int]] = {}
    for day in cal.early_closes:
        close = cal.schedule.loc[day, "close"].tz_convert("America/New_York")
        early[day.date().isoformat()] = (close.hour, close.minute)
    lines = [
        '"""CME equity-futures holidays and early closes (D22), compiled by `scripts/build_calendar.py` from the',
        f'exchange-calendars library (calendar "CMES", {FIRST_YEAR}-{LAST_YEAR}). Do not edit: regenerate.',
        'Session dates are the CME trade dates (the day a session closes); early-close times are New York',
        'wall-clock times."""',
        "",
        "FIRST_YEAR, LAST_YEAR = " + f"{FIRST_YEAR}, {LAST_YEAR}",
        "",
        "# weekdays without a session",
        "HOLIDAYS: frozenset[str] = frozenset({",
        *[f'    "{day}",' for day in closed],
        "})",
        "",
        "# sessions that close early: (hour, minute) New York",
        "EARLY_CLOSES: dict[str, tuple[int, int]] = {",
        *[f'    "{day}": ({h}, {m}),' for day, (h, m) in sorted(early.items())],
        "}",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed module is not what it compiles to")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if TARGET.read_text() != text:
            print(f"{TARGET} is stale: run scripts/build_calendar.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
