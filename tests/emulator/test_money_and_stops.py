"""Issues 17 and 18 through the whole local stack (real Firestore, every function behind the router):

- D20: a daily loss limit breached by concurrent PnL snapshots flattens once (one exit order, whatever the race),
  locks entries with DAILY_LOSS_LIMIT, and the trailing drawdown locks until the typed re-baseline;
- D21: the protective stop's contract end to end: entry fill → stop handed out → WORKING → protect moves it (a
  MODIFY with the next revision) → an exit names it → the bridge cancels it; and a stop FILLED closes the trade as
  broker_stop."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shared.store.api import Plan, Reads, Write
from tests.emulator.test_endpoints import BASE, Api, T

pytestmark = pytest.mark.emulator


@pytest.fixture
def api(fresh) -> Api:  # type: ignore[no-untyped-def]
    fresh.set_clock(BASE, tick=True)
    return Api(fresh)


def exits(api: Api) -> list[dict]:
    return [o for o in api.collection("orders").values() if o["kind"] == "EXIT"]


def test_a_loss_limit_breached_by_concurrent_snapshots_flattens_once(api: Api) -> None:
    assert api.post("/api/risk", {"daily_loss_limit_usd": 300}).status_code == 200
    api.ready()
    api.snapshot(balance=50_000.0)                       # the day's start value
    order_id = api.open_long()
    symbol = api.order(order_id)["symbol"]
    losing = {"secret": api.bridge_secret, "accountBalance": 50_000.0, "unrealized": -350.0, "realized": 0.0,
              "symbols": [{"symbol": symbol, "position": 5, "openPnl": -350.0}]}

    def send(_: int) -> int:
        return requests.post(f"{api.url}/api/rithmic/pnl-snapshot", json=losing, timeout=T).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, range(8))) == [200] * 8
    (flatten,) = exits(api)
    assert (flatten["source"], flatten["reason"], flatten["qty"]) == ("DAILY_STOP", "daily_stop", 5)
    g = api.glob()
    assert (g["daily_stop_triggered"], g["daily_stop_code"]) == (True, "DAILY_LOSS_LIMIT")
    refused = api.enter()
    assert refused.status_code == 403 and refused.json()["code"] == "DAILY_LOSS_LIMIT"
    assert "$300.00" in refused.json()["error"]


def test_a_trailing_breach_locks_until_the_typed_re_baseline(api: Api) -> None:
    assert api.post("/api/risk", {"trailing_drawdown_usd": 500}).status_code == 200
    api.ready()
    api.snapshot(balance=50_000.0)
    api.snapshot(balance=49_500.0)
    assert api.glob()["trailing_breached"] is True
    assert api.enter().json()["code"] == "TRAILING_DRAWDOWN"
    assert api.post("/api/risk/account", {"baseline_usd": 49_500.0}).status_code == 400   # the word is required
    done = api.post("/api/risk/account", {"baseline_usd": 49_500.0, "confirm": "REBASELINE"})
    assert done.status_code == 200 and api.glob()["trailing_breached"] is False


def release_the_initial_exit_lock(api: Api) -> None:
    """As the first 6pt bar after the entry would (protect is refused while the initial exit lock holds)."""
    def plan(reads: Reads) -> Plan[None]:
        return Plan([Write("assets/ES", "set", {**dict(reads.get("assets/ES") or {}),
                                                "initial_exit_lock_active": False})])

    api.store.transact(["assets/ES"], plan)


def capable(api: Api) -> None:
    response = requests.post(f"{api.url}/api/bridge/heartbeat",
                             json={"secret": api.bridge_secret, "capabilities": ["protective_stop"]}, timeout=T)
    assert response.status_code == 200


def test_the_protective_stop_contract_end_to_end(api: Api) -> None:
    api.ready()
    capable(api)
    api.open_long(5000.0)
    handed = api.poll().json()["orders"]
    (stop,) = [o for o in handed if o["kind"] == "STOP"]
    assert (stop["side"], stop["qty"], stop["stop_price"], stop["action"], stop["revision"]) == (
        "SELL", 5, 4990.0, "PLACE", 1)
    assert api.poll().json()["orders"] == []                               # claimed once
    assert api.report(stop["id"], "WORKING").status_code == 200
    assert api.order(stop["id"])["status"] == "WORKING"
    assert api.asset()["pending_order_id"] is None                          # not the asset's order in flight

    assert api.asset()["stop_order_id"] == stop["id"]
    release_the_initial_exit_lock(api)
    assert api.post("/api/protect", {"asset": "ES", "enabled": True, "threshold": -2.0}).status_code == 200
    (moved,) = [o for o in api.poll().json()["orders"] if o["id"] == stop["id"]]
    assert (moved["action"], moved["revision"], moved["stop_price"]) == ("MODIFY", 2, 4998.0)
    assert api.report(stop["id"], "WORKING").status_code == 200

    exit_id = api.force_exit()
    (exit_view,) = [o for o in api.poll().json()["orders"] if o["id"] == exit_id]
    assert exit_view["replaces_stop"] == stop["id"]
    assert api.report(stop["id"], "CANCELLED", reason="before the exit").status_code == 200
    api.fill(exit_id, 5001.0)
    assert api.asset()["position"] == 0 and api.order(stop["id"])["status"] == "CANCELLED"
    assert [t["reason"] for t in api.history()] == ["manual_exit"]


def test_a_stop_fill_closes_the_trade_as_broker_stop(api: Api) -> None:
    api.ready()
    capable(api)
    api.open_long(5000.0)
    (stop,) = [o for o in api.poll().json()["orders"] if o["kind"] == "STOP"]
    api.report(stop["id"], "WORKING")
    api.fill(stop["id"], 4989.75, fill_id="S1")
    assert api.asset()["position"] == 0
    (trade,) = api.history()
    assert (trade["reason"], trade["exit_price"]) == ("broker_stop", 4989.75)
    assert api.glob()["post_exit_lock_expires_ts"] is not None
