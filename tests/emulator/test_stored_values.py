"""Issue 7, item 2 on the real emulator: hostile documents written straight to Firestore (as a value written before
the input checks, or by hand in the console, would be) never break a read: every read route answers 200 with valid
JSON, and non-finite numbers go out as null."""

from __future__ import annotations

import datetime

import pytest

from shared.store.api import Plan, Write
from tests.emulator.test_endpoints import BASE, Api
from tests.hostile_documents import NON_FINITE, READS, WRONG_TYPES, with_fields

pytestmark = pytest.mark.emulator
WHEN = datetime.datetime(2026, 4, 15, tzinfo=datetime.UTC)

# the fake-store tier's documents, plus what only Firestore can hold: a huge finite float and timestamps
SEEDS = {
    "non-finite": with_fields(NON_FINITE, {"trades/t1": {"exit_price": 1e308}, "orders/ES-x-1": {"symbol": "MESM6"}}),
    "wrong types": with_fields(WRONG_TYPES, {
        "trades/t1": {"when": WHEN}, "events/e1": {"when": WHEN}, "orders/ES-x-1": {"created_at": WHEN},
        "console/global": {"post_exit_lock_expires_ts": WHEN},
        "assets/ES": {"last_heartbeat_ts": WHEN, "position_mismatch": 1},
    }),
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
