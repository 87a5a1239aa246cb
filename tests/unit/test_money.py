"""D20: risk in dollars, judged in whole cents at every boundary: the daily loss limit, the trailing drawdown (its
mark intraday or at the rollover, its cap, its lock surviving the day until a re-baseline), the worst case of an
entry against the per-trade cap and the room left, one warning per limit per day, and the D5 ratchet of each
setting."""

from __future__ import annotations

from typing import Any

import pytest
from builders import CONFIG, T0, assert_refused, fresh_world, in_long_trade, ny, place, ready_to_enter, run

from shared.domain import Decision, World
from shared.domain.inputs import PnlSnapshot, RebaselineAccount, SetRisk, SymbolPosition, TvHeartbeat
from shared.domain.money import cents, usd

NEXT_DAY = ny(2026, 1, 14, 10, 0, 0)   # after the 18:00 New York rollover
DAY_3 = ny(2026, 1, 15, 10, 0, 0)


def snap(world: World, balance: float, unrealized: float = 0.0, now: float = T0, position: int = 0) -> Decision:
    symbols = (SymbolPosition(symbol="MESH6", position=position),) if position else ()
    return run(world, PnlSnapshot(account_balance=balance, unrealized=unrealized, symbols=symbols), now)


def with_risk(world: World | None = None, now: float = T0, **settings: Any) -> World:
    d = run(world or ready_to_enter(fresh_world()), SetRisk(**settings), now)
    assert d.status == 200, d.body
    return d.world


def events(d: Decision, code: str) -> list[dict[str, Any]]:
    return [e.detail for e in d.events if e.code == code]


class TestMoney:
    def test_cents_and_dollars(self) -> None:
        assert (cents(0.1 + 0.2), cents(1000.0049), usd(-120000), usd(123456)) == (
            30, 100000, "-$1,200.00", "$1,234.56")


class TestDailyLossLimit:
    @pytest.mark.parametrize(("net_liq", "triggers"), [(49_000.00, True), (49_000.01, False), (48_000.0, True)])
    def test_exactly_at_the_limit_triggers_one_cent_short_does_not(self, net_liq: float, triggers: bool) -> None:
        world = with_risk(daily_loss_limit_usd=1000.0)
        world = snap(world, 50_000.0).world                     # the day's start value
        d = snap(world, net_liq + 500.0, unrealized=-500.0)     # open losses count (net liquidation value)
        g = d.world.glob
        assert g.daily_stop_triggered is triggers
        if triggers:
            assert (g.daily_stop_code, g.trade_lock_reason) == ("DAILY_LOSS_LIMIT", "DAILY_LOSS_LIMIT")
            assert_refused(place(d.world, T0 + 1), 403, "DAILY_LOSS_LIMIT",
                           "Daily loss limit $1,000.00 reached — entries blocked for today")

    def test_it_flattens_every_open_position_like_the_percent_stop(self) -> None:
        world = with_risk(in_long_trade(fresh_world()), daily_loss_limit_usd=500.0)
        world = snap(world, 50_000.0, position=5).world
        d = snap(world, 50_000.0, unrealized=-500.0, position=5)
        exits = [o for o in d.world.orders.values() if o.kind == "EXIT"]
        assert len(exits) == 1 and exits[0].source == "DAILY_STOP" and exits[0].reason == "daily_stop"
        again = snap(d.world, 50_000.0, unrealized=-600.0, position=5)
        assert len([o for o in again.world.orders.values() if o.kind == "EXIT"]) == 1   # not twice

    def test_the_percent_stop_keeps_its_own_code_when_it_hits_first(self) -> None:
        world = with_risk(daily_loss_limit_usd=40_000.0, daily_stop_limit_pct=10.0)
        world = snap(snap(world, 50_000.0).world, 45_000.0).world
        assert world.glob.daily_stop_code == "DAILY_STOP"
        assert_refused(place(world, T0 + 1), 403, "DAILY_STOP")

    def test_it_resets_at_the_rollover(self) -> None:
        world = with_risk(daily_loss_limit_usd=1000.0)
        world = snap(snap(world, 50_000.0).world, 49_000.0).world
        world = snap(world, 49_000.0, now=NEXT_DAY).world
        g = world.glob
        assert (g.daily_stop_triggered, g.daily_stop_code, g.daily_start_netliq_usd) == (False, None, 49_000.0)


class TestTrailingDrawdown:
    def test_the_intraday_mark_follows_equity_and_the_floor_breaches_at_the_cent(self) -> None:
        world = with_risk(trailing_drawdown_usd=2000.0)
        world = snap(world, 50_000.0).world
        world = snap(world, 50_000.0, unrealized=1500.0).world          # an open profit raises the mark
        assert world.glob.trailing_hwm_usd == 51_500.0
        near = snap(world, 49_500.01).world
        assert near.glob.trailing_breached is False
        d = snap(near, 49_500.0)
        assert d.world.glob.trailing_breached is True and events(d, "TRAILING_DRAWDOWN")
        assert_refused(place(d.world, T0 + 1), 403, "TRAILING_DRAWDOWN",
                       "TRAILING DRAWDOWN BREACHED at $49,500.00 — entries locked until the account is re-baselined")

    def test_end_of_day_moves_the_mark_only_at_the_rollover_from_the_closing_value(self) -> None:
        world = with_risk(trailing_drawdown_usd=2000.0, trailing_mode="end_of_day")
        assert world.glob.pending_risk == {"trailing_mode": "end_of_day"}   # the looser mode: from the next day
        world = snap(world, 50_000.0, now=NEXT_DAY).world
        world = snap(world, 53_000.0, now=NEXT_DAY + 1).world         # a high inside the day
        assert (world.glob.trailing_mode, world.glob.trailing_hwm_usd) == ("end_of_day", 50_000.0)
        world = snap(world, 52_000.0, now=NEXT_DAY + 2).world         # the close
        world = snap(world, 52_500.0, now=DAY_3).world
        assert world.glob.trailing_hwm_usd == 52_000.0

    def test_the_floor_stops_at_the_cap(self) -> None:
        world = with_risk(trailing_drawdown_usd=2000.0)
        world = run(world, SetRisk(trailing_stops_at_usd=50_100.0), T0).world  # a cap lowers the floor: next day
        assert world.glob.pending_risk == {"trailing_stops_at_usd": 50_100.0}
        world = snap(world, 60_000.0, now=NEXT_DAY).world
        view = world.glob
        assert (view.trailing_stops_at_usd, view.trailing_hwm_usd) == (50_100.0, 60_000.0)
        assert snap(world, 50_100.01, now=NEXT_DAY + 1).world.glob.trailing_breached is False
        assert snap(world, 50_100.0, now=NEXT_DAY + 1).world.glob.trailing_breached is True

    def test_a_breach_flattens_survives_the_rollover_and_lifts_only_by_re_baseline(self) -> None:
        world = with_risk(in_long_trade(fresh_world()), trailing_drawdown_usd=1000.0)
        world = snap(world, 50_000.0, position=5).world
        d = snap(world, 50_000.0, unrealized=-1000.0, position=5)
        (exit_order,) = [o for o in d.world.orders.values() if o.kind == "EXIT"]
        assert (exit_order.source, exit_order.reason) == ("TRAILING_DRAWDOWN", "trailing_drawdown")
        world = snap(d.world, 49_000.0, now=NEXT_DAY).world
        assert world.glob.trailing_breached is True
        lifted = run(world, RebaselineAccount(baseline_usd=49_000.0), NEXT_DAY + 1)
        g = lifted.world.glob
        assert (g.trailing_breached, g.trailing_hwm_usd) == (False, 49_000.0) and lifted.status == 200
        assert events(lifted, "TRAILING_DRAWDOWN")[0]["was_breached"] is True


class TestRiskRoom:
    def ready(self, **settings: Any) -> World:
        world = ready_to_enter(fresh_world())
        world = run(world, TvHeartbeat(asset="ES", price=5000.0), T0 - 1).world
        return with_risk(world, **settings)

    # ES: 5 MES × 10 points × $5 = $250 worst case
    @pytest.mark.parametrize(("cap", "ok"), [(250.0, True), (249.99, False)])
    def test_the_worst_case_must_fit_the_per_trade_cap(self, cap: float, ok: bool) -> None:
        d = place(self.ready(max_loss_per_trade_usd=cap), T0)
        if ok:
            assert d.status == 201
        else:
            assert_refused(d, 409, "RISK_ROOM", f"Worst case $250.00 exceeds the ${cap:,.2f} left to the max loss per "
                                                f"trade")
            assert (d.body["worst_case_usd"], d.body["room_usd"]) == (250.0, cap)

    @pytest.mark.parametrize(("lost", "ok"), [(750.0, True), (750.01, False)])
    def test_and_the_room_left_to_the_daily_loss_limit(self, lost: float, ok: bool) -> None:
        world = snap(self.ready(daily_loss_limit_usd=1000.0), 50_000.0).world
        world = snap(world, 50_000.0 - lost).world
        d = place(world, T0)
        assert d.status == (201 if ok else 409)

    def test_and_the_room_to_the_trailing_floor(self) -> None:
        world = snap(self.ready(trailing_drawdown_usd=2000.0), 50_000.0).world
        assert place(snap(world, 48_250.0).world, T0).status == 201      # room $250
        assert_refused(place(snap(world, 48_249.99).world, T0), 409, "RISK_ROOM")

    def test_a_limit_on_without_any_snapshot_refuses(self) -> None:
        assert_refused(place(self.ready(daily_loss_limit_usd=1000.0), T0), 409, "RISK_ROOM",
                       "Worst case $250.00 cannot be checked against the daily loss limit: no account snapshot from "
                       "the bridge yet")

    def test_the_stop_distance_is_a_per_asset_setting(self) -> None:
        world = self.ready(max_loss_per_trade_usd=200.0, protective_stop_points={"ES": 8.0})
        assert world.glob.protective_stop_points == {"ES": 8.0}   # shorter: at once
        assert place(world, T0).status == 201                      # 5 × 8 × $5 = $200

    def test_without_limits_nothing_is_refused(self) -> None:
        assert place(self.ready(), T0).status == 201


class TestWarnings:
    def test_one_warning_per_limit_per_day_at_warn_at_pct(self) -> None:
        world = with_risk(daily_loss_limit_usd=1000.0, warn_at_pct=75.0)
        world = snap(world, 50_000.0).world
        assert not events(snap(world, 49_250.01), "RISK_WARNING")
        d = snap(world, 49_250.0)
        (warning,) = events(d, "RISK_WARNING")
        assert (warning["limit"], warning["used"], warning["allowed"]) == ("daily_loss_limit", 750.0, 1000.0)
        assert not events(snap(d.world, 49_100.0), "RISK_WARNING")
        tomorrow = snap(snap(d.world, 49_000.0, now=NEXT_DAY).world, 48_100.0, now=NEXT_DAY + 1)
        assert events(tomorrow, "RISK_WARNING")


class TestRatchet:
    @pytest.mark.parametrize(("name", "first", "tighter", "looser"), [
        ("daily_loss_limit_usd", 1000.0, 800.0, 1200.0),
        ("trailing_drawdown_usd", 2000.0, 1500.0, 2500.0),
        ("max_loss_per_trade_usd", 300.0, 200.0, 400.0),
        ("trailing_stops_at_usd", 50_100.0, 50_200.0, 50_000.0),
        ("warn_at_pct", 80.0, 70.0, 90.0),
    ])
    def test_tighter_now_looser_next_trading_day(self, name: str, first: float, tighter: float,
                                                 looser: float) -> None:
        world = with_risk(**{name: first}) if name != "trailing_stops_at_usd" else with_risk()
        if name == "trailing_stops_at_usd":   # setting the cap loosens: it waits for the next day
            world = run(world, SetRisk(trailing_stops_at_usd=first), T0).world
            assert world.glob.pending_risk == {name: first}
            world = snap(world, 50_000.0, now=NEXT_DAY).world
        assert getattr(world.glob, name) == first
        now = NEXT_DAY if name == "trailing_stops_at_usd" else T0
        tightened = run(world, SetRisk(**{name: tighter}), now + 1).world
        assert getattr(tightened.glob, name) == tighter and tightened.glob.pending_risk == {}
        loosened = run(tightened, SetRisk(**{name: looser}), now + 2).world
        assert getattr(loosened.glob, name) == tighter and loosened.glob.pending_risk == {name: looser}

    @pytest.mark.parametrize("name", ["daily_loss_limit_usd", "trailing_drawdown_usd", "max_loss_per_trade_usd"])
    def test_switching_a_limit_on_tightens_and_off_loosens(self, name: str) -> None:
        world = with_risk(**{name: 1000.0})
        assert getattr(world.glob, name) == 1000.0
        off = run(world, SetRisk(off=(name,)), T0 + 1).world
        assert getattr(off.glob, name) == 1000.0 and off.glob.pending_risk == {name: None}
        assert getattr(snap(off, 50_000.0, now=NEXT_DAY).world.glob, name) is None

    def test_removing_the_floor_cap_tightens_at_once(self) -> None:
        world = run(with_risk(), SetRisk(trailing_stops_at_usd=50_100.0), T0).world
        world = snap(world, 50_000.0, now=NEXT_DAY).world
        removed = run(world, SetRisk(off=("trailing_stops_at_usd",)), NEXT_DAY + 1).world
        assert removed.glob.trailing_stops_at_usd is None

    def test_intraday_is_the_tighter_trailing_mode(self) -> None:
        world = with_risk(trailing_mode="intraday")
        later = run(world, SetRisk(trailing_mode="end_of_day"), T0 + 1).world
        assert (later.glob.trailing_mode, later.glob.pending_risk) == ("intraday", {"trailing_mode": "end_of_day"})
        back = run(later, SetRisk(trailing_mode="intraday"), T0 + 2).world
        assert (back.glob.trailing_mode, back.glob.pending_risk) == ("intraday", {})

    def test_a_longer_stop_distance_waits_per_asset(self) -> None:
        world = run(with_risk(), SetRisk(protective_stop_points={"ES": 12.0, "NQ": 30.0}), T0).world
        assert world.glob.protective_stop_points == {"NQ": 30.0}
        assert world.glob.pending_risk == {"protective_stop_points": {"ES": 12.0}}
        world = snap(world, 50_000.0, now=NEXT_DAY).world
        assert world.glob.protective_stop_points == {"NQ": 30.0, "ES": 12.0}

    @pytest.mark.parametrize(("settings", "text"), [
        ({"daily_loss_limit_usd": 0.0}, "daily_loss_limit_usd: expected dollars greater than 0"),
        ({"trailing_drawdown_usd": float("nan")}, "trailing_drawdown_usd: expected dollars"),
        ({"max_loss_per_trade_usd": 1e12}, "max_loss_per_trade_usd: expected dollars"),
        ({"trailing_mode": "weekly"}, "trailing_mode: expected one of ['intraday', 'end_of_day']"),
        ({"warn_at_pct": 0.5}, "warn_at_pct: expected a percent between 1 and 100"),
        ({"protective_stop_points": {"GC": 5.0}}, "protective_stop_points.GC: unknown asset"),
        ({"protective_stop_points": {"ES": 0.1}}, "protective_stop_points.ES: expected points between 0.25 and 500"),
        ({"off": ("warn_at_pct",)}, "warn_at_pct: only a dollar limit can be switched off"),
        ({"daily_loss_limit_usd": 500.0, "warn_at_pct": 0.0}, "warn_at_pct"),
    ])
    def test_bad_values_are_a_400_naming_the_field_and_change_nothing(self, settings: dict[str, Any],
                                                                      text: str) -> None:
        world = with_risk()
        d = run(world, SetRisk(**settings), T0 + 1)
        assert (d.status, d.code) == (400, "INVALID_RISK") and str(d.body["error"]).startswith(text)
        assert d.world.glob == world.glob

    def test_a_bad_baseline_is_a_400(self) -> None:
        d = run(with_risk(), RebaselineAccount(baseline_usd=-1.0), T0)
        assert (d.status, d.code) == (400, "INVALID_RISK")


def test_the_money_view_speaks_dollars() -> None:
    world = with_risk(daily_loss_limit_usd=1000.0, trailing_drawdown_usd=2000.0, max_loss_per_trade_usd=300.0)
    world = snap(snap(world, 50_000.0).world, 49_600.0, unrealized=-100.0).world
    from shared.domain.view import state_view

    money = state_view(world, T0, CONFIG)["global"]["money"]
    assert money["net_liq_usd"] == 49_500.0 and money["day_pnl_usd"] == -500.0
    assert money["room_to_daily_loss_limit_usd"] == 500.0
    assert (money["high_water_mark_usd"], money["trailing_floor_usd"], money["room_to_floor_usd"]) == (
        50_000.0, 48_000.0, 1500.0)
    assert money["worst_case_next_entry_usd"] == {"ES": 250.0, "NQ": 400.0}   # NQ: 5 MNQ × 40 points × $2


def test_the_same_stop_distance_changes_nothing() -> None:
    world = with_risk(protective_stop_points={"ES": 8.0})
    d = run(world, SetRisk(protective_stop_points={"ES": 8.0}), T0 + 1)
    assert d.world.glob.protective_stop_points == {"ES": 8.0} and d.world.glob.pending_risk == {}
    assert [e.detail["applied"] for e in d.events if e.kind == "risk_changed"] == [{}]


def test_the_configured_assets_in_load_order() -> None:
    assert CONFIG.asset_keys == ("ES", "NQ")


def test_replay_passes_over_records_without_an_input() -> None:
    """Security events (a sign-out, a revealed secret) are audited beside the inputs but change no rule's state."""
    from shared.domain.engine import initial_world, replay

    records = [{"request_id": "s1", "ts": T0, "type": "sessions_revoked"},
               {"request_id": "r1", "ts": T0, "input": {"type": "set_env", "env": "LIVE"}}]
    assert replay(records, CONFIG).glob.env == "LIVE"
    assert replay(records[:1], CONFIG).glob == initial_world(CONFIG).glob
