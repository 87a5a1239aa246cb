"""Time (candles, trading day D4, session window D14, countdowns) and configuration (D6 assets, D7 contracts)."""

from __future__ import annotations

from datetime import date

import pytest
from builders import CONFIG, T0, fresh_world, ny, place, ready_to_enter, run

from shared.domain import World, clock, default_config, fast
from shared.domain.clock import candle_bucket, mmss, seconds_to_next_candle, session_window, trading_day
from shared.domain.config import contract_for, front_month, normalise_asset, point_value, third_friday
from shared.domain.inputs import ConsumeTradeLimit

HOUR = 3600

# ---- candles and countdowns --------------------------------------------------------------------------------------


def test_candle_bucket_is_floor_of_epoch_over_300() -> None:
    assert candle_bucket(T0) == 1768316400 // 300
    assert candle_bucket(T0 + 299.999) == candle_bucket(T0)
    assert candle_bucket(T0 + 300) == candle_bucket(T0) + 1
    assert candle_bucket(T0 - 0.001) == candle_bucket(T0) - 1


@pytest.mark.parametrize(("offset", "left"), [(0, 300), (1, 299), (299, 1), (299.9, 1), (300, 300)])
def test_seconds_to_next_candle_is_1_to_300(offset: float, left: int) -> None:
    assert seconds_to_next_candle(T0 + offset) == left


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00"), (1, "00:01"), (59.9, "00:59"), (60, "01:00"),
                                               (180, "03:00"), (300, "05:00"), (3600, "60:00"), (-5, "00:00")])
def test_mmss(seconds: float, text: str) -> None:
    assert mmss(seconds) == text


# ---- trading day (D4): starts 18:00 New York, named by its closing date --------------------------------------

@pytest.mark.parametrize(("moment", "day"), [
    ((2026, 1, 13, 0, 0, 0), "2026-01-13"),
    ((2026, 1, 13, 17, 59, 59), "2026-01-13"),
    ((2026, 1, 13, 18, 0, 0), "2026-01-14"),
    ((2026, 7, 14, 17, 59, 59), "2026-07-14"),             # EDT
    ((2026, 7, 14, 18, 0, 0), "2026-07-15"),
    ((2026, 3, 8, 17, 59, 59), "2026-03-08"),              # the day DST starts
    ((2026, 3, 8, 18, 0, 0), "2026-03-09"),
    ((2026, 11, 1, 17, 59, 59), "2026-11-01"),             # the day DST ends
    ((2026, 11, 1, 18, 0, 0), "2026-11-02"),
    ((2026, 12, 31, 18, 0, 0), "2027-01-01"),
])
def test_trading_day(moment: tuple[int, int, int, int, int, int], day: str) -> None:
    assert trading_day(ny(*moment)) == day


def test_trading_day_boundary_is_new_york_not_utc() -> None:
    # 18:00 EST is 23:00 UTC and 18:00 EDT is 22:00 UTC
    assert trading_day(ny(2026, 1, 13, 18)) != trading_day(ny(2026, 1, 13, 18) - 1)
    assert trading_day(ny(2026, 7, 14, 18)) != trading_day(ny(2026, 7, 14, 18) - 1)
    assert ny(2026, 1, 13, 18) % 86400 == 23 * HOUR
    assert ny(2026, 7, 14, 18) % 86400 == 22 * HOUR


@pytest.mark.parametrize("start_hour", [18, 0, 1, 2, 23])
def test_the_remembered_trading_day_is_the_computed_one(start_hour: int) -> None:
    """Moments around every half hour of the two DST days, in order and back, up to half a microsecond off (where
    the New York time rounds to the next second): the span of the last day answers what the computation does."""
    spans: dict[int, tuple[float, float, str]] = {}
    trading_day = fast.by_span(clock.trading_day_at, clock.trading_day_span, spans)
    days = [ny(2026, 3, 7), ny(2026, 10, 31), ny(2026, 7, 14)]
    moments = [day + k * 1800 + off for day in days for k in range(-50, 150)
               for off in (0.0, 1e-7, -1e-7, 5e-7, -5e-7, 6e-7, -6e-7, 0.5, -0.5)]
    for now in moments + moments[::-1]:
        assert trading_day(now, start_hour) == clock.trading_day_at(now, start_hour)
    last = trading_day(days[-1], start_hour)
    assert spans[start_hour][2] == last   # the span was kept


def test_an_hour_the_day_never_reaches_is_computed_every_time() -> None:
    spans: dict[int, tuple[float, float, str]] = {}
    trading_day = fast.by_span(clock.trading_day_at, clock.trading_day_span, spans)
    assert trading_day(ny(2026, 1, 13, 20), 25) == "2026-01-13"
    assert trading_day(ny(2026, 1, 13, 20), -1) == "2026-01-14"
    assert spans == {}


def _stopped_world() -> World:
    world = fresh_world(T0)
    g = world.glob
    g.daily_stop_triggered, g.daily_stop_triggered_ts, g.daily_stop_triggered_reason = True, T0, "Drawdown"
    g.daily_stop_triggered_equity, g.daily_stop_triggered_dd_pct = 35000.0, 30.0
    g.trade_lock, g.trade_lock_reason = True, "DAILY_STOP"
    g.trades_taken_today, g.daily_start_equity = 6, 50000.0
    g.daily_pnl_usd, g.daily_pnl_pct, g.daily_stop_remaining_pct = -15000.0, -0.3, 0.0
    return world


def test_rollover_not_before_18_00() -> None:
    g = run(_stopped_world(), ConsumeTradeLimit(), ny(2026, 1, 13, 17, 59, 59)).world.glob
    assert (g.daily_stop_triggered, g.trade_lock, g.trades_taken_today, g.daily_start_equity) == (True, True, 6,
                                                                                                  50000.0)
    assert g.trading_day == "2026-01-13"


def test_rollover_at_18_00_resets_the_day() -> None:
    decision = run(_stopped_world(), ConsumeTradeLimit(), ny(2026, 1, 13, 18, 0, 0))
    g = decision.world.glob
    assert g.trading_day == "2026-01-14"
    assert (g.daily_stop_triggered, g.daily_stop_triggered_ts, g.daily_stop_triggered_reason,
            g.daily_stop_triggered_equity, g.daily_stop_triggered_dd_pct) == (False, None, None, None, None)
    assert (g.trade_lock, g.trade_lock_reason) == (False, None)
    assert g.daily_start_equity is None                       # taken from the day's first snapshot (D4)
    assert (g.daily_pnl_usd, g.daily_pnl_pct, g.daily_stop_remaining_pct) == (None, None, None)
    assert decision.body["trades_taken_today"] == 1           # reset to 0, then this consume


def test_entries_reopen_after_the_rollover() -> None:
    world = ready_to_enter(_stopped_world(), ny(2026, 1, 13, 18, 0, 5))
    assert place(world, ny(2026, 1, 13, 17, 59, 59)).code == "DAILY_STOP"
    assert place(world, ny(2026, 1, 13, 18, 0, 5)).status == 201


def test_first_ever_decision_only_records_the_day() -> None:
    from shared.domain import initial_world
    world = initial_world(CONFIG)
    world.glob.trades_taken_today = 2
    g = run(world, ConsumeTradeLimit(), T0).world.glob
    assert (g.trading_day, g.trades_taken_today) == ("2026-01-13", 3)


# ---- session window (D14) ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("moment", "is_open", "until_close", "until_open"), [
    ((2026, 1, 13, 10, 0, 0), True, 7 * HOUR, 0),                    # Tuesday 10:00 → closes 17:00
    ((2026, 1, 13, 16, 59, 59), True, 1, 0),
    ((2026, 1, 13, 17, 0, 0), False, 0, HOUR),                       # daily break
    ((2026, 1, 13, 17, 59, 59), False, 0, 1),
    ((2026, 1, 13, 18, 0, 0), True, 23 * HOUR, 0),                   # reopens until Wednesday 17:00
    ((2026, 1, 16, 16, 59, 59), True, 1, 0),                         # Friday
    ((2026, 1, 16, 17, 0, 0), False, 0, 49 * HOUR),                  # weekend: until Sunday 18:00
    ((2026, 1, 16, 18, 0, 0), False, 0, 48 * HOUR),                  # Friday 18:00 stays closed
    ((2026, 1, 17, 12, 0, 0), False, 0, 30 * HOUR),                  # Saturday
    ((2026, 1, 18, 17, 59, 59), False, 0, 1),                        # Sunday just before the open
    ((2026, 1, 18, 18, 0, 0), True, 19 * HOUR, 0),                   # Sunday open → Monday 13:00 (MLK day's
                                                                     # early close, D22's CME calendar)
    ((2026, 1, 15, 23, 0, 0), True, 18 * HOUR, 0),                   # Thursday night → Friday 17:00
])
def test_session_window(moment: tuple[int, int, int, int, int, int], is_open: bool, until_close: int,
                        until_open: int) -> None:
    assert session_window(ny(*moment)) == {"open": is_open, "seconds_until_close": until_close,
                                           "seconds_until_open": until_open, "calendar_known": True}


def test_session_window_across_the_spring_dst_weekend() -> None:
    # Saturday 2026-03-07 12:00 EST → Sunday 2026-03-08 18:00 EDT is 30 wall-clock hours but 29 real hours
    assert session_window(ny(2026, 3, 7, 12))["seconds_until_open"] == 29 * HOUR


def test_session_window_across_the_autumn_dst_weekend() -> None:
    assert session_window(ny(2026, 10, 31, 12))["seconds_until_open"] == 31 * HOUR


# ---- contracts (D7) ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("year", "month", "day"), [(2026, 3, 20), (2026, 6, 19), (2026, 9, 18), (2026, 12, 18),
                                                    (2027, 3, 19), (2025, 8, 15)])
def test_third_friday(year: int, month: int, day: int) -> None:
    assert third_friday(year, month) == date(year, month, day)


@pytest.mark.parametrize(("day", "front"), [
    (date(2026, 1, 13), (2026, "H")),
    (date(2026, 3, 11), (2026, "H")), (date(2026, 3, 12), (2026, "M")),     # H6 expires Fri 20 Mar; roll Thu 12
    (date(2026, 6, 10), (2026, "M")), (date(2026, 6, 11), (2026, "U")),
    (date(2026, 9, 9), (2026, "U")), (date(2026, 9, 10), (2026, "Z")),
    (date(2026, 12, 9), (2026, "Z")), (date(2026, 12, 10), (2027, "H")),   # Z6 expires Fri 18 Dec; roll Thu 10
    (date(2026, 12, 31), (2027, "H")),
])
def test_front_month_rolls_8_calendar_days_before_the_third_friday(day: date, front: tuple[int, str]) -> None:
    assert front_month(day) == front


@pytest.mark.parametrize(("asset", "day", "symbol"), [
    ("ES", date(2026, 12, 9), "MESZ6"), ("ES", date(2026, 12, 10), "MESH7"),
    ("NQ", date(2026, 12, 9), "MNQZ6"), ("NQ", date(2026, 12, 10), "MNQH7"),
    ("ES", date(2029, 6, 1), "MESM9"),
])
def test_contract_for(asset: str, day: date, symbol: str) -> None:
    assert contract_for(asset, day, CONFIG) == symbol


def test_contract_override_per_asset() -> None:
    config = default_config({"ES": "MESM6"})
    assert contract_for("ES", date(2026, 12, 10), config) == "MESM6"
    assert contract_for("NQ", date(2026, 12, 10), config) == "MNQH7"


def test_entry_contract_uses_the_override() -> None:
    from shared.domain import decide
    from shared.domain.inputs import PlaceOrder
    config = default_config({"ES": "MESU6"})
    world = ready_to_enter(fresh_world(), T0)
    decision = decide(world, PlaceOrder(asset="ES", trade_mode="SCALP"), T0, config)
    assert decision.body["order"]["symbol"] == "MESU6"


@pytest.mark.parametrize(("contract", "value"), [
    ("MESZ6", 5.0), ("MES", 5.0), ("MNQH7", 2.0), ("ESZ6", 50.0), ("NQM6", 20.0), ("ES", 50.0),
    ("mesz6", 5.0), (None, 1.0), ("", 1.0), ("GCZ6", 1.0), ("ESX", 50.0), ("ESPX", 1.0),
])
def test_point_value_by_contract_root(contract: str | None, value: float) -> None:
    assert point_value(contract) == value


# ---- asset normalisation (D6) -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["ES", "MES", "ES1!", "MES1!", "CME_MINI:ES1!", "CME_MINI:MESZ2026", "MESZ6",
                                 "es", " es1! ", "CME:ESH6", "MESH2027"])
def test_es_spellings(raw: str) -> None:
    assert normalise_asset(raw, CONFIG) == "ES"


@pytest.mark.parametrize("raw", ["NQ", "MNQ", "NQ1!", "MNQ1!", "CME_MINI:NQ1!", "CME_MINI:MNQZ2026", "MNQZ6",
                                 "MNQM6", "nq"])
def test_nq_spellings(raw: str) -> None:
    assert normalise_asset(raw, CONFIG) == "NQ"


@pytest.mark.parametrize("raw", ["GC", "YM1!", "RTY", "SPX", "ESM", "", "   ", "CME_MINI:", None, 5, "E S",
                                 "ES1", "MES!"])
def test_unknown_assets(raw: object) -> None:
    assert normalise_asset(raw, CONFIG) is None


def test_default_config_numbers() -> None:
    c = CONFIG
    assert (c.heartbeat_fresh_s, c.rithmic_fresh_s, c.post_exit_cooldown_s, c.candle_s, c.order_lease_s,
            c.intent_max_age_s) == (600.0, 60.0, 180.0, 300, 200.0, 900.0)
    assert (c.entry_qty_default, c.entry_qty_9pt, c.scale_in_qty, c.max_trades_per_day) == (5, 3, 5, 6)
    assert (c.daily_stop_enabled, c.daily_stop_limit_pct, c.trading_day_start_hour) == (True, 30.0, 18)
    assert {k: (s.traded_root, s.roots, s.exchange) for k, s in c.assets.items()} == {
        "ES": ("MES", ("ES", "MES"), "CME"), "NQ": ("MNQ", ("NQ", "MNQ"), "CME")}
