"""Issue 7 against the whole local stack (real Firestore, gunicorn, the Hosting router): every hostile case the
review found answers 4xx and writes nothing, one bad fill no longer poisons the store, secrets are never stored or
written to the access log, and an order the bridge reported never goes STALE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.emulator.conftest import STACK_PASSWORD
from tests.emulator.test_endpoints import BASE, Api

pytestmark = pytest.mark.emulator
T = 30


@pytest.fixture
def api(fresh) -> Api:
    fresh.set_clock(BASE, tick=True)
    return Api(fresh)


def raw(api: Api, path: str, data: str | bytes, *, session: requests.Session | None = None,
        headers: dict | None = None) -> requests.Response:
    return (session or requests).post(f"{api.url}{path}", data=data, headers={"Content-Type": "text/plain",
                                                                              **(headers or {})}, timeout=T)


def hostile_requests(api: Api) -> list[tuple[str, requests.Response]]:
    """Every hostile case of the issue, sent as the legitimate caller would send it (right secrets)."""
    bridge, tv = api.bridge_secret, api.live.secrets["TV_WEBHOOK_SECRET"]
    timers_token = {"X-Local-Tasks-Token": api.live.secrets["TASKS_LOCAL_TOKEN"]}
    out: list[tuple[str, requests.Response]] = []
    routes = ["/tv_renko_main", "/tv_heartbeat", "/api/bridge/heartbeat", "/api/rithmic/pnl-snapshot",
              "/api/orders/ES-abc-1/execution-report", "/api/login"]
    for path in routes:
        out.append((f"{path} deep", raw(api, path, "[" * 60_000)))
        out.append((f"{path} huge", raw(api, path, "[" * 100_000)))
        for field in ("secret", "asset", "symbol", "bar_id", "fill_id", "reason", "account", "note", "owner"):
            body = '{"secret": "' + (bridge if "bridge" in path or "orders" in path else tv) + '", "' + field
            out.append((f"{path} surrogate {field}", raw(api, path, body + '": "\\ud800", "status": "FILLED"}')))
    out.append(("deep operator", raw(api, "/api/risk", "[" * 60_000, session=api.op)))
    out.append(("deep timer", raw(api, "/__fn/timers/", "[" * 60_000, headers=timers_token)))
    out.append(("heartbeat 2^63", requests.post(f"{api.url}/api/bridge/heartbeat",
                                                json={"secret": bridge, "x": 2**63}, timeout=T)))
    out.append(("heartbeat 1 MB account", requests.post(f"{api.url}/api/bridge/heartbeat",
                                                        json={"secret": bridge, "account": "A" * 1_000_000},
                                                        timeout=T)))
    out.append(("snapshot position 1e308", requests.post(
        f"{api.url}/api/rithmic/pnl-snapshot",
        json={"secret": bridge, "symbols": [{"symbol": "MESM6", "position": 1e308}]}, timeout=T)))
    for balance in (1e308, -1e308):
        out.append((f"balance {balance}", requests.post(f"{api.url}/api/rithmic/pnl-snapshot",
                                                        json={"secret": bridge, "accountBalance": balance},
                                                        timeout=T)))
    out.append(("points tp 10^30 flat", api.post("/api/points-take-profit",
                                                 {"asset": "ES", "enabled": True, "target": 10**30})))
    out.append(("points tp 1e30 flat", api.post("/api/points-take-profit", {"asset": "ES", "target": 1e30})))
    for field in ("qty", "cum_qty"):
        out.append((f"report {field} 1e30", api.report("ES-abc-1", "PARTIALLY_FILLED", **{field: 1e30})))
    out.append(("timer lease_end ''", requests.post(f"{api.url}/__fn/timers/",
                                                    json={"kind": "lease_end", "key": "", "at": 1},
                                                    headers=timers_token, timeout=T)))
    out.append(("logs asset 1500", api.get("/api/logs", asset="A" * 1500)))
    out.append(("order id 1500", api.report("ES-" + "a" * 1500, "FILLED")))
    out.append(("cancel id 1500", api.post("/api/orders/ES-" + "a" * 1500 + "/cancel")))
    return out


def test_every_hostile_case_is_a_4xx_and_writes_nothing(api) -> None:
    api.ready()
    before = api.written()
    answers = hostile_requests(api)
    wrong = [(name, r.status_code, r.text[:120]) for name, r in answers if not 400 <= r.status_code < 500]
    assert wrong == []
    assert api.written() == before
    by_name = dict(answers)
    assert by_name["/api/bridge/heartbeat huge"].status_code == 413
    assert by_name["logs asset 1500"].status_code == 400  # was 503 "retry"
    assert "not valid Unicode text" in by_name["/api/bridge/heartbeat surrogate account"].json()["error"]


def test_one_bad_fill_no_longer_poisons_the_store(api) -> None:
    """A FILLED at 1e308 was a 200; the forced exit then stored pnl_usd -Infinity and four read routes answered 500
    until someone edited the database."""
    api.ready()
    order_id = api.placed()
    api.claim(order_id)
    for bad in (1e308, -5000, "abc", 0):
        r = api.report(order_id, "FILLED", fill_price=bad)
        assert r.status_code == 400 and "fill_price" in r.json()["error"], (bad, r.text)
    assert api.order(order_id)["status"] == "CLAIMED" and api.asset()["position"] == 0
    api.fill(order_id, 5000.0)
    exit_id = api.force_exit()
    api.claim(exit_id)
    api.fill(exit_id, 5010.0)
    assert api.history()[0]["pnl_usd"] == pytest.approx(250.0)
    for path in ("/api/history", "/api/logs", "/api/orders", "/api/state?include=history,logs"):
        assert api.op.get(f"{api.url}{path}", timeout=T).status_code == 200, path


def test_secrets_are_never_stored_nor_in_the_access_log(api) -> None:
    live = api.live
    secrets = {**live.secrets, "DASHBOARD_PASSWORD": STACK_PASSWORD}
    bridge = api.bridge_secret
    api.ready()
    order_id = api.placed()
    poll = requests.get(f"{api.url}/api/orders/pending", params={"secret": bridge, "owner": bridge}, timeout=T)
    assert poll.status_code == 200
    header = requests.post(f"{api.url}/api/bridge/heartbeat", headers={"X-Bridge-Secret": bridge},
                           json={"account": bridge, "note": STACK_PASSWORD, "password": "pw-123456",
                                 "token": live.secrets["SESSION_SECRET"], "apiKey": "k-123456", "SECRET": bridge},
                           timeout=T)
    assert header.status_code == 200
    assert api.report(order_id, "WORKING", fill_id=live.secrets["TV_WEBHOOK_SECRET"],
                      reason=live.secrets["TASKS_LOCAL_TOKEN"]).status_code == 200
    assert requests.post(f"{api.url}/api/orders/{order_id}/execution-report", params={"secret": bridge},
                         json={"status": "WORKING"}, timeout=T).status_code == 200
    api.tv("/tv_renko_small", asset="ES", color="red", bar_id=live.secrets["SESSION_SECRET"])
    stored = json.dumps({name: api.collection(name) for name in ("assets", "console", "orders", "trades",
                                                                  "events")}, default=str)
    found = [name for name, value in secrets.items() if value in stored]
    assert found == []
    info = api.glob()["rithmic_bridge"]
    assert "password" not in info and "token" not in info and "apiKey" not in info and "SECRET" not in info
    log = (Path(live.stack.logs) / "web.log").read_text(errors="replace")
    assert "/api/orders/pending?secret=[REDACTED]" in log  # the poll was logged, its secret masked
    assert [name for name, value in secrets.items() if value in log] == []


def test_an_order_the_bridge_reported_is_never_stale(api) -> None:
    api.ready()
    order_id = api.placed()
    api.claim(order_id)
    assert api.report(order_id, "WORKING").status_code == 200
    api.advance(3600)
    (row,) = [o for o in api.get("/api/orders").json()["orders"] if o["id"] == order_id]
    assert row["status"] == "WORKING"
    cancel = api.post(f"/api/orders/{order_id}/cancel")
    assert cancel.status_code == 409 and cancel.json()["code"] == "ORDER_LIVE_AT_BROKER"
    assert api.order(order_id)["status"] == "WORKING"
    assert api.report(order_id, "CANCELLED", reason="operator at broker").status_code == 200
    events = api.get("/api/logs", asset="ES").json()["events"]
    reports = [e["input"]["status"] for e in events if e["type"] == "execution_report"]
    assert reports == ["CANCELLED", "WORKING"]
    assert any(e["type"] == "cancel_order" and e["status"] == 409 for e in events)
