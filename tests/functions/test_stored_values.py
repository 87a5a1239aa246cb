"""Issue 7, item 2: whatever Firestore holds (a hostile value written before the input checks, or by hand), every
read route answers 200, and non-finite numbers go out as null. Fake store here; tests/emulator/test_stored_values.py
does the same on the real emulator."""

from __future__ import annotations

import pytest

from tests.hostile_documents import NON_FINITE, READS, WRONG_TYPES

SEEDS = {
    "non-finite": NON_FINITE,
    "wrong types": WRONG_TYPES,
    "huge and broken text": {
        "trades/t1": {"id": "t1", "asset": "ES", "note": "x" * 1_000_000, "exit_ts": 1.0, "bad": "\ud800"},
        "events/e1": {"ts": 2.0, "asset": "ES", "type": "\udfff", "input": {"\ud800": 1}},
        "console/global": {"rithmic_bridge": {"account": "A" * 1_000_000}, "x": "\udfff"},
        "assets/ES": {"symbol": "\ud800", "rithmic_symbol": "M" * 100_000},
    },
}


@pytest.mark.parametrize("variant", SEEDS)
def test_every_read_route_answers_whatever_is_stored(app, variant) -> None:
    for path, data in SEEDS[variant].items():
        app.store.put(path, data)
    assert app.login().status_code == 200
    orders = app.client("orders")
    for route in READS:
        r = orders.get(route)
        assert r.status_code == 200, (variant, route, r.get_data(as_text=True)[:300])
        assert r.get_json() is not None  # valid JSON (no NaN / Infinity tokens, no lone surrogates)
        text = r.get_data(as_text=True)
        assert "Infinity" not in text and "NaN" not in text


def test_non_finite_numbers_go_out_as_null(app) -> None:
    for path, data in SEEDS["non-finite"].items():
        app.store.put(path, data)
    assert app.login().status_code == 200
    orders = app.client("orders")
    (trade,) = orders.get("/api/history").get_json()["history"]
    assert (trade["pnl_usd"], trade["pnl_points"]) == (None, None)
    (event,) = orders.get("/api/logs?asset=ES").get_json()["events"]
    assert event["input"]["x"] is None
    state = orders.get("/api/state").get_json()
    assert state["global"]["rithmic_account_balance"] is None and state["assets"]["ES"]["last_price"] is None
    (order,) = orders.get("/api/orders").get_json()["orders"]
    assert (order["status"], order["avg_fill_price"]) == ("WORKING", None)
