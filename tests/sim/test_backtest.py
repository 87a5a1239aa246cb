"""The backtest (issue 8, item 8): the pure domain through a whole sample day with an auto-operator profile and
the paper bridge; deterministic outputs, a summary that adds up, every profile exercising its rules."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sim import backtest
from sim.paper import PaperConfig
from sim.session import PROFILES
from sim.sources import sample_session

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def results():
    ticks = sample_session()
    return {name: backtest.run(ticks, profile) for name, profile in PROFILES.items()}


def test_the_same_input_gives_byte_identical_outputs(tmp_path):
    ticks = sample_session()[:2000]
    first = backtest.write_outputs(backtest.run(ticks, PROFILES["tp8-flip"]), tmp_path / "a")
    second = backtest.write_outputs(backtest.run(ticks, PROFILES["tp8-flip"]), tmp_path / "b")
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name
    page = first[1].read_text()
    assert "LightweightCharts" in page and "https://" not in page.split("<script>")[0]
    assert "<script src" not in page   # inlined: the report opens offline


def test_the_summary_adds_up(results):
    result = results["tp8-flip"]
    rows = list(csv.DictReader(io.StringIO(backtest.trades_csv(result))))
    assert len(rows) == len(result.trades) > 0
    assert sum(float(r["pnl_usd"]) for r in rows) == pytest.approx(result.pnl_usd)
    curve = [total for _, total in result.curve()]
    assert curve[-1] == pytest.approx(result.pnl_usd)
    peak, deepest = 0.0, 0.0
    for total in curve:
        peak = max(peak, total)
        deepest = max(deepest, peak - total)
    assert result.max_drawdown == pytest.approx(deepest)
    # every trade is worth its points at MES's $5 a point
    for t in result.trades:
        assert t["pnl_usd"] == pytest.approx(t["pnl_points"] * 5 * t["size"])


def test_an_operator_who_never_hesitates_meets_every_gate(results):
    result = results["tp8-flip"]
    assert result.entries > 0
    # each entry waited for what the gates ask: the cooldown after an exit and the day's trade limit
    assert result.blocked["POST_EXIT_COOLDOWN"] > 0 and result.blocked["DAILY_TRADE_LIMIT"] > 0
    assert {t["reason"] for t in result.trades} >= {"points_take_profit", "renko_main_flip"}


def test_the_daily_stop_profile_trips_the_stop_and_the_rollover_opens_a_new_day(results):
    result = results["daily-stop"]
    reasons = [t["reason"] for t in result.trades]
    assert "daily_stop" in reasons and result.blocked["DAILY_LOSS_LIMIT"] > 0   # the dollar limit fired first
    # after 18:00 New York the stop is cleared (D4): the operator trades again on the next trading day
    after_stop = [t for t in result.trades[reasons.index("daily_stop") + 1:]]
    assert after_stop and all(datetime.fromtimestamp(t["entry_ts"], NY).hour >= 18 for t in after_stop)


def test_the_runner_profile_uses_its_own_exit_set(results):
    reasons = {t["reason"] for t in results["runner"].trades}
    assert reasons <= {"protect", "high_next_bar_exit", "points_take_profit"} and "high_next_bar_exit" in reasons


def test_the_seed_changes_partial_fills_not_the_trades():
    ticks = sample_session()[:2000]
    plain = backtest.run(ticks, PROFILES["tp8-flip"])
    partial = backtest.run(ticks, PROFILES["tp8-flip"], PaperConfig(partial_rate=1.0, seed=9))
    assert [t["exit_ts"] for t in partial.trades] == [t["exit_ts"] for t in plain.trades]


def test_the_command_prints_the_summary_and_refuses_a_bad_file(tmp_path, capsys):
    assert backtest.main(["--out", str(tmp_path / "out"), "--profile", "runner"]) == 0
    printed = capsys.readouterr().out
    assert "win rate" in printed and (tmp_path / "out" / "report.html").is_file()
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,price\n1794922200,6000\n1794922205,abc\n")
    assert backtest.main(["--csv", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "line 3" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_risk_from_a_preset_shows_each_limits_closest_approach_and_breach(tmp_path, capsys):
    """Issue 17: `--risk` (a preset id or a JSON file) starts the account with the limits in force; the summary
    tells how close each came and when one was hit; the auto-operator is held by the same gates."""
    assert backtest.main(["--out", str(tmp_path / "a"), "--profile", "daily-stop", "--risk",
                          "50k-eval-intraday"]) == 0
    printed = capsys.readouterr().out
    assert "closest approach" in printed and "trailing drawdown" in printed and "daily loss limit" in printed
    tight = tmp_path / "tight.json"
    tight.write_text('{"settings": {"daily_loss_limit_usd": 100, "protective_stop_points": {"ES": 3}}}')
    result = backtest.run(sample_session()[:3000], PROFILES["tp8-flip"], risk=backtest.load_risk(str(tight)))
    assert result.risk == {"daily_loss_limit_usd": 100, "protective_stop_points": {"ES": 3}}
    rows = dict(backtest.summary_rows(result))
    # the first trade's open loss reaches $100: the daily stop flattens it at once, and entries stay blocked
    assert rows["daily loss limit"].startswith("closest approach: $0.00 left; BREACHED at ")
    assert [t["reason"] for t in result.trades] == ["daily_stop"] and result.blocked["DAILY_LOSS_LIMIT"] > 0


@pytest.mark.parametrize(("content", "error"), [
    ('{"daily_loss_limit_usd": 1000, "max_trades_per_dya": 2}', "max_trades_per_dya: unknown risk setting"),
    ('{"daily_loss_limit_usd": -5}', "daily_loss_limit_usd: expected dollars greater than 0"),
    ("[1, 2]", "expected a JSON object of risk settings"),
    ('{"trading_hours": {"TUE": [["09:30", "25:00"]]}}', 'trading_hours.TUE[0][1]: expected a New York time'),
    ('{"blackouts": [{"label": "x", "start": "2026-11-17T09:00:00"}]}', "blackouts[0].start: expected ISO 8601"),
    ('{"blackouts": {"label": "x"}}', "blackouts: expected a list of windows"),
])
def test_a_bad_risk_file_is_refused_naming_the_setting(tmp_path, capsys, content, error):
    bad = tmp_path / "risk.json"
    bad.write_text(content)
    assert backtest.main(["--out", str(tmp_path / "out"), "--risk", str(bad)]) == 2
    assert error in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_an_unknown_preset_or_file_is_refused(tmp_path, capsys):
    assert backtest.main(["--out", str(tmp_path / "out"), "--risk", "no-such-preset"]) == 2
    assert "--risk:" in capsys.readouterr().err


def test_a_loss_streak_from_a_risk_file_is_counted_in_the_report(tmp_path):
    """Issue 19: the D22 loss streak enabled by `--risk`; the report counts the entries it held back by code."""
    streak = tmp_path / "streak.json"
    streak.write_text('{"loss_streak_limit": 1, "loss_streak_lock_minutes": 600}')
    result = backtest.run(sample_session(), PROFILES["tp8-flip"], risk=backtest.load_risk(str(streak)))
    assert result.risk == {"loss_streak_limit": 1, "loss_streak_lock_minutes": 600}
    losses = [t for t in result.trades if t["pnl_usd"] < 0]
    assert losses, "the sample session has a losing trade"
    assert result.blocked["LOSS_STREAK_LOCK"] + result.refused["LOSS_STREAK_LOCK"] > 0


def test_every_discipline_gate_from_the_sample_settings_file(capsys):
    """Issue 19: `--risk sim/data/sample_gates.json` turns on the trading hours, the sample day's blackout (with a
    flatten-before) and the loss streak; the report counts the entries each held back, by its code."""
    risk = backtest.load_risk(str(backtest.ROOT / "sim" / "data" / "sample_gates.json"))
    result = backtest.run(sample_session(), PROFILES["tp8-flip"], risk=risk)
    for code in ("OUTSIDE_TRADING_WINDOW", "BLACKOUT", "LOSS_STREAK_LOCK"):
        assert result.blocked[code] > 0, (code, result.blocked)
    first = result.trades[0]
    flattened_at = datetime(2026, 11, 17, 8, 58, tzinfo=NY).timestamp()   # 2 minutes before the 09:00 blackout
    assert (first["reason"], first["exit_ts"]) == ("blackout_flatten", flattened_at)
    window = (datetime(2026, 11, 17, 9, 0, tzinfo=NY).timestamp(), datetime(2026, 11, 17, 9, 15, tzinfo=NY).timestamp())
    for trade in result.trades:
        local = datetime.fromtimestamp(trade["entry_ts"], NY)
        assert not window[0] <= trade["entry_ts"] < window[1]
        assert (8, 45) <= (local.hour, local.minute) < (15, 30), local
    rows = dict(backtest.summary_rows(result))
    assert rows["blackout windows"] == ("Fed speech: 2026-11-17T09:00:00-05:00 to 2026-11-17T09:15:00-05:00, "
                                        "flatten 120 s before")
    assert "BLACKOUT 7" in rows["entry blocked by gate"] and "OUTSIDE_TRADING_WINDOW" in rows["entry blocked by gate"]
    assert "blackouts" not in rows["risk settings"] and "trading_hours" in rows["risk settings"]


def test_risk_windows_are_added_at_the_datas_first_tick_as_the_replay_adds_them(tmp_path, capsys, monkeypatch):
    """`--risk`'s blackout windows are added at the data's time (sim.replay sets its clock to the first tick
    first): a weekly chain is not walked from 1970, and a one-off over before the data is the same 400 as on the
    replay, said clearly rather than a window that silently protects nothing."""
    from sim.venue import InProcess

    ticks = sample_session()[:600]
    seen: list[float] = []
    real = InProcess._decide

    def decide(self, inp):
        seen.append(self.now)
        return real(self, inp)

    monkeypatch.setattr(InProcess, "_decide", decide)
    weekly = {"blackouts": [{"label": "open", "days": ["MON", "WED"], "start": "09:30", "end": "09:45",
                             "flatten_before_s": 300}]}
    result = backtest.run(ticks, PROFILES["tp8-flip"], risk=weekly)
    assert min(seen) == ticks[0].ts and result.decisions == len(seen) < 5000
    over = tmp_path / "over.json"
    over.write_text('{"blackouts": [{"label": "CPI", "start": "2026-11-16T08:30:00-05:00", '
                    '"end": "2026-11-16T08:45:00-05:00"}]}')
    with pytest.raises(ValueError, match=r"blackouts: windows\[0\]\.end: expected an end in the future"):
        backtest.run(ticks, PROFILES["tp8-flip"], risk=backtest.load_risk(str(over)))
    assert backtest.main(["--out", str(tmp_path / "out"), "--risk", str(over)]) == 2
    err = capsys.readouterr().err
    assert "expected an end in the future" in err and "the data's first tick, 2026-11-17" in err, err
    assert not (tmp_path / "out").exists()
