"""Issue 7, item 2: whatever Firestore holds (a hostile value written before the input checks, or by hand), every
read route answers 200, and non-finite numbers go out as null. Fake store here; tests/emulator/test_stored_values.py
does the same on the real emulator."""

from __future__ import annotations

import math

import pytest

READS = ["/api/state", "/api/state?include=history,logs", "/api/gates?asset=ES", "/api/gates?asset=NQ",
         "/api/history", "/api/logs", "/api/logs?asset=ES", "/api/orders", "/api/risk", "/api/session-window",
         "/api/auth/status"]
INF = math.inf

SEEDS = {
    "non-finite": {
        "trades/t1": {"id": "t1", "asset": "ES", "pnl_usd": -INF, "exit_ts": 1.0, "pnl_points": math.nan},
        "events/e1": {"ts": 1.0, "asset": "ES", "type": "renko_bar", "status": 200,
                      "input": {"x": INF, "stream": "6pt", "color": "green"}},
        "orders/ES-x-1": {"id": "ES-x-1", "asset": "ES", "status": "WORKING", "created_at": 1.0, "qty": 5,
                          "avg_fill_price": INF, "lease_until": INF, "symbol": "MESZ5", "side": "BUY",
                          "kind": "ENTRY", "source": "UI", "env": "DEMO"},
        "console/global": {"rithmic_account_balance": INF, "equity": -INF, "daily_start_equity": math.nan,
                           "daily_pnl_pct": INF, "rithmic_last_ts": INF},
        "assets/ES": {"last_price": INF, "position": 5, "avg_price": -INF, "pnl": math.nan,
                      "rithmic_open_points": INF, "last_heartbeat_ts": INF, "main_renko_ts": -INF,
                      "points_tp_target": INF},
    },
    "wrong types": {
        "trades/t1": {"id": 5, "asset": ["ES"], "pnl_usd": "x", "exit_ts": "yesterday"},
        "events/e1": {"ts": "x", "asset": "ES", "type": {"a": 1}, "input": "x", "status": "200"},
        "orders/ES-x-1": {"id": "ES-x-1", "asset": "ES", "status": 7, "created_at": "x", "lease_until": "soon",
                          "qty": "abc", "filled_qty": None},
        "console/global": {"rithmic_account_balance": "x", "equity": None, "daily_start_equity": "y",
                           "trades_taken_today": "3", "max_trades_per_day": None, "rithmic_bridge": "nope"},
        "assets/ES": {"last_price": "x", "position": "abc", "avg_price": [], "pnl": {}, "last_heartbeat_ts": "t",
                      "main_renko_ts": "x", "tempo_spent_ts": "y", "intent_active": "yes"},
    },
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
