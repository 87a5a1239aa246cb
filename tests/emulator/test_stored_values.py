"""Issue 7, item 2 on the real emulator: hostile documents written straight to Firestore (as a value written before
the input checks, or by hand in the console, would be) never break a read: every read route answers 200 with valid
JSON, and non-finite numbers go out as null."""

from __future__ import annotations

import datetime
import math

import pytest

from shared.store.api import Plan, Write
from tests.emulator.test_endpoints import BASE, Api

pytestmark = pytest.mark.emulator
INF = math.inf
READS = ["/api/state", "/api/state?include=history,logs", "/api/gates?asset=ES", "/api/gates?asset=NQ",
         "/api/history", "/api/logs", "/api/logs?asset=ES", "/api/orders", "/api/risk", "/api/session-window",
         "/api/auth/status"]
WHEN = datetime.datetime(2026, 4, 15, tzinfo=datetime.UTC)

SEEDS = {
    "non-finite": {
        "trades/t1": {"id": "t1", "asset": "ES", "pnl_usd": -INF, "exit_ts": 1.0, "pnl_points": math.nan,
                      "exit_price": 1e308},
        "events/e1": {"ts": 1.0, "asset": "ES", "type": "renko_bar", "status": 200,
                      "input": {"x": INF, "stream": "6pt", "color": "green"}},
        "orders/ES-x-1": {"id": "ES-x-1", "asset": "ES", "status": "WORKING", "created_at": 1.0, "qty": 5,
                          "avg_fill_price": INF, "lease_until": INF, "symbol": "MESM6", "side": "BUY",
                          "kind": "ENTRY", "source": "UI", "env": "DEMO"},
        "console/global": {"rithmic_account_balance": INF, "equity": -INF, "daily_start_equity": math.nan,
                           "daily_pnl_pct": INF, "rithmic_last_ts": INF},
        "assets/ES": {"last_price": INF, "position": 5, "avg_price": -INF, "pnl": math.nan,
                      "rithmic_open_points": INF, "last_heartbeat_ts": INF, "main_renko_ts": -INF,
                      "points_tp_target": INF},
    },
    "wrong types": {
        "trades/t1": {"id": 5, "asset": ["ES"], "pnl_usd": "x", "exit_ts": "yesterday", "when": WHEN},
        "events/e1": {"ts": "x", "asset": "ES", "type": {"a": 1}, "input": "x", "status": "200", "when": WHEN},
        "orders/ES-x-1": {"id": "ES-x-1", "asset": "ES", "status": 7, "created_at": WHEN, "lease_until": "soon",
                          "qty": "abc", "filled_qty": None},
        "console/global": {"rithmic_account_balance": "x", "equity": None, "daily_start_equity": "y",
                           "trades_taken_today": "3", "max_trades_per_day": None, "rithmic_bridge": "nope",
                           "post_exit_lock_expires_ts": WHEN},
        "assets/ES": {"last_price": "x", "position": "abc", "avg_price": [], "pnl": {}, "last_heartbeat_ts": WHEN,
                      "main_renko_ts": "x", "tempo_spent_ts": "y", "intent_active": "yes", "position_mismatch": 1},
    },
    "huge": {
        "trades/t1": {"id": "t1", "asset": "ES", "note": "x" * 900_000, "exit_ts": 1.0},
        "console/global": {"rithmic_bridge": {"account": "A" * 900_000}},
        "assets/ES": {"rithmic_symbol": "M" * 100_000, "symbol": "ES"},
    },
}


@pytest.fixture
def api(fresh) -> Api:
    fresh.set_clock(BASE, tick=True)
    return Api(fresh)


def seed(api: Api, docs: dict[str, dict]) -> None:
    paths = list(docs)
    api.store.transact(paths, lambda reads: Plan([Write(p, "set", d) for p, d in docs.items()], None))


@pytest.mark.parametrize("variant", SEEDS)
def test_every_read_route_answers_whatever_firestore_holds(api, variant) -> None:
    seed(api, SEEDS[variant])
    for route in READS:
        r = api.op.get(f"{api.url}{route}", timeout=30)
        assert r.status_code == 200, (variant, route, r.text[:300])
        assert "Infinity" not in r.text and "NaN" not in r.text
        r.json()  # strict JSON


def test_non_finite_numbers_go_out_as_null(api) -> None:
    seed(api, SEEDS["non-finite"])
    (trade,) = api.history()
    assert (trade["pnl_usd"], trade["pnl_points"], trade["exit_price"]) == (None, None, 1e308)
    state = api.get("/api/state").json()
    assert state["global"]["rithmic_account_balance"] is None and state["assets"]["ES"]["last_price"] is None
    (order,) = api.get("/api/orders").json()["orders"]
    assert (order["status"], order["avg_fill_price"]) == ("WORKING", None)
