"""Issue 17 through the real entry points: the dollar settings of POST /api/risk (an unknown name is a 400, a null
switches a limit off, bad values name the field and write nothing), the presets, and the re-baseline."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain import default_config
from shared.domain.engine import decide, initial_world
from shared.domain.inputs import SetRisk
from shared.service.presets import presets
from tests.functions.test_hostile_input import assert_400


@pytest.fixture(autouse=True)
def _signed_in(app) -> None:
    assert app.login().status_code == 200


def risk(app: Any, **body: Any) -> Any:
    return app.client("orders").post("/api/risk", json=body)


def test_a_typo_in_a_setting_is_a_400_naming_it_and_changes_nothing(app) -> None:
    before = app.store.dump()
    r = risk(app, daily_loss_limit_usd=1000, max_trades_per_dya=2)
    assert_400(r, "max_trades_per_dya: unknown setting")
    assert app.store.dump() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"daily_loss_limit_usd": "lots"}, "daily_loss_limit_usd"),
    ({"trailing_drawdown_usd": 0}, "trailing_drawdown_usd"),
    ({"trailing_mode": "hourly"}, "trailing_mode"),
    ({"protective_stop_points": [1, 2]}, "protective_stop_points"),
    ({"protective_stop_points": {"ES": None}}, "protective_stop_points.ES"),
    ({"warn_at_pct": 101}, "warn_at_pct"),
])
def test_bad_values_name_the_field_and_write_nothing(app, body, field) -> None:
    before = app.store.dump()
    assert_400(risk(app, **body), field)
    assert app.store.dump() == before


def test_limits_on_at_once_off_from_the_next_day_and_shown_in_dollars(app) -> None:
    r = risk(app, daily_loss_limit_usd=1000, trailing_drawdown_usd=2500, max_loss_per_trade_usd=400)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["daily_loss_limit_usd"], body["trailing_drawdown_usd"], body["max_loss_per_trade_usd"]) == (
        1000.0, 2500.0, 400.0)
    off = risk(app, daily_loss_limit_usd=None).get_json()
    assert off["daily_loss_limit_usd"] == 1000.0 and off["pending"] == {"daily_loss_limit_usd": None}
    money = app.client("orders").get("/api/state").get_json()["global"]["money"]
    assert money["daily_loss_limit_usd"] == 1000.0 and money["worst_case_next_entry_usd"] == {"ES": 250.0,
                                                                                              "NQ": 400.0}
    gates = app.client("orders").get("/api/gates?asset=ES").get_json()["gates"]
    assert [g["gate"] for g in gates][-1] == "risk_room"


def test_the_presets_each_name_their_source_and_the_domain_accepts_their_settings(app) -> None:
    served = app.client("orders").get("/api/risk/presets").get_json()
    assert served["presets"] == presets()["presets"] and "firms change their limits" in served["note"]
    config = default_config()
    for preset in served["presets"]:
        assert preset["source"] and preset["name"]
        d = decide(initial_world(config), SetRisk(**preset["settings"]), 1_764_000_000.0, config)
        assert d.status == 200, (preset["id"], d.body)


def test_re_baseline_needs_the_typed_word(app) -> None:
    orders = app.client("orders")
    before = app.store.dump()
    assert_400(orders.post("/api/risk/account", json={"baseline_usd": 50_000}), "confirm: type REBASELINE")
    assert_400(orders.post("/api/risk/account", json={"confirm": "REBASELINE"}), "baseline_usd: required")
    assert app.store.dump() == before
    done = orders.post("/api/risk/account", json={"baseline_usd": 50_000, "confirm": "REBASELINE"})
    assert done.status_code == 200 and done.get_json()["money"]["high_water_mark_usd"] == 50_000.0
