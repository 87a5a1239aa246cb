"""The control plane over HTTP through the one local address (Hosting rewrites), on the real Firestore and Cloud
Tasks emulators: the slice, contention, de-duplication, claiming, replay equivalence, auth and timers."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shared.domain import default_config, replay
from shared.store.documents import stored

pytestmark = pytest.mark.emulator

CONFIG = default_config()


def ready_for_entry(live, session=None) -> None:
    for path, body in (("/tv_heartbeat", {"symbol": "ES", "price": 5000.0}),
                       ("/tv_renko_high", {"asset": "ES", "color": "green"}),
                       ("/tv_renko_macro", {"asset": "ES", "color": "green"}),
                       ("/tv_renko_two_half", {"asset": "ES", "color": "green"}),
                       ("/tv_renko_main", {"asset": "ES", "color": "green"})):
        assert live.tv(path, session, **body).status_code == 200



def state_documents(live) -> dict[str, dict]:
    """What the state collections hold (a wiped stack: nothing but console/session, the session generation)."""
    docs = {c: live.docs(c) for c in ("assets", "console", "events", "orders")}
    assert set(docs["console"]) <= {"console/session"}, docs["console"]
    return docs

class TestSlice:
    def test_heartbeat_bar_login_state_logout(self, fresh):
        assert fresh.tv("/tv_heartbeat", symbol="MES1!", price=5001.5, timestamp=12).json() == {"ok": True}
        bar = fresh.tv("/tv_renko_main", asset="CME_MINI:ES1!", color="Green", bar_id="t1")
        assert bar.status_code == 200 and bar.json()["main_renko_color"] == "green"
        anonymous = requests.get(f"{fresh.url}/api/state", timeout=30)
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "Authentication required"
        operator = fresh.operator()
        cookie = next(c for c in operator.cookies if c.name == "__session")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.secure is False  # localhost: not Secure
        state = operator.get(f"{fresh.url}/api/state", timeout=30).json()
        es = state["assets"]["ES"]
        assert es["last_price"] == 5001.5 and es["heartbeat_client_ts"] == 12 and es["tempo_ready"] is True
        assert state["global"]["tradingview_connected"] is True
        assert operator.get(f"{fresh.url}/api/auth/status", timeout=30).json() == {
            "authenticated": True, "password_required": True}
        assert operator.post(f"{fresh.url}/api/logout", timeout=30).json() == {"ok": True}
        assert operator.get(f"{fresh.url}/api/state", timeout=30).status_code == 401

    def test_only_the_session_cookie_reaches_the_functions(self, fresh):
        operator = fresh.operator()
        value = operator.cookies.get("__session")
        jar = {"__session": value, "tracking": "x"}
        assert requests.get(f"{fresh.url}/api/state", cookies=jar, timeout=30).status_code == 200
        renamed = {"session": value}
        assert requests.get(f"{fresh.url}/api/state", cookies=renamed, timeout=30).status_code == 401


class TestBadInput:
    @pytest.mark.parametrize(("body", "status", "error"), [
        ({"secret": "wrong", "asset": "ES", "color": "green"}, 401, "unauthorized"),
        ({"asset": "ES", "color": "green"}, 401, "unauthorized"),
        ({"secret": None, "asset": "GC1!", "color": "green"}, 400, "Unknown asset 'GC1!'"),
        ({"secret": None, "color": "green"}, 400, "Unknown asset ''"),
    ])
    def test_refused_webhooks_write_nothing(self, fresh, body, status, error):
        if body.get("secret", "") is None:
            body["secret"] = fresh.secrets["TV_WEBHOOK_SECRET"]
        before = state_documents(fresh)   # a wiped stack keeps only the operators' session generation (console/session)
        response = requests.post(f"{fresh.url}/tv_renko_main", json=body, timeout=30)
        assert response.status_code == status and response.json() == {"ok": False, "error": error}
        assert state_documents(fresh) == before

    def test_non_json_is_400_and_writes_nothing(self, fresh):
        response = requests.post(f"{fresh.url}/tv_renko_main", data="color=green", timeout=30,
                                 headers={"Content-Type": "text/plain"})
        assert response.status_code == 400 and response.json()["ok"] is False
        assert fresh.docs("assets") == {} and fresh.docs("events") == {}


class TestConcurrency:
    def test_fifty_concurrent_bars_are_each_applied_exactly_once(self, fresh):
        fresh.tv("/tv_heartbeat", symbol="ES")  # the day's first input: dates the global document
        colors = ["green", "red"]

        def post(i):
            with requests.Session() as session:
                return fresh.tv("/tv_renko_main", session, asset="ES", color=colors[i % 2], bar_id=f"bar-{i}")

        with ThreadPoolExecutor(max_workers=16) as pool:
            responses = list(pool.map(post, range(50)))
        assert [r.status_code for r in responses] == [200] * 50
        assert not any(r.json().get("duplicate") for r in responses)
        asset = fresh.docs("assets")["assets/ES"]
        assert asset["_rev"] == 51  # heartbeat + 50 bars, none lost
        revs = sorted(e["revs"]["assets/ES"] for e in fresh.docs("events").values() if e["type"] == "renko_bar")
        assert revs == list(range(2, 52))

    def test_the_same_bar_five_times_at_once_applies_once(self, fresh):
        def post(_):
            with requests.Session() as session:
                return fresh.tv("/tv_renko_main", session, asset="ES", color="green", bar_id="same-bar")

        with ThreadPoolExecutor(max_workers=5) as pool:
            bodies = [r.json() for r in pool.map(post, range(5))]
        assert sum(1 for b in bodies if b.get("duplicate")) == 4
        assert sum(1 for b in bodies if b.get("main_renko_color") == "green") == 1
        applied = [e for e in fresh.docs("events").values() if not e["duplicate"]]
        assert len(applied) == 1

    def test_two_bridges_polling_two_hundred_orders_get_each_exactly_once(self, fresh):
        store = fresh.store()
        base = time.time()
        for i in range(200):
            order = {"id": f"ES-seed-{i:03d}", "asset": "ES", "symbol": "MESZ6", "side": "BUY", "qty": 1,
                     "kind": "EXIT", "source": "TEST", "env": "DEMO", "status": "PENDING",
                     "created_at": base + i / 1000, "updated_at": base}
            store.transact([], lambda reads, o=order: _create(o))
        secret = fresh.secrets["BRIDGE_HEARTBEAT_SECRET"]

        def drain(owner):
            got = []
            with requests.Session() as session:
                for _ in range(100):
                    response = session.get(f"{fresh.url}/api/orders/pending",
                                           params={"secret": secret, "limit": 10, "owner": owner}, timeout=30)
                    assert response.status_code == 200, response.text
                    orders = response.json()["orders"]
                    if not orders:
                        break
                    got += [o["id"] for o in orders]
            return got

        with ThreadPoolExecutor(max_workers=2) as pool:
            a, b = pool.map(drain, ["bridge-a", "bridge-b"])
        assert len(a) + len(b) == 200 and len(set(a) | set(b)) == 200
        assert a and b  # both bridges really competed
        statuses = {d["status"] for d in fresh.docs("orders").values()}
        assert statuses == {"CLAIMED"}

    def test_thirty_mixed_inputs_equal_a_serial_replay(self, fresh):
        ready_for_entry(fresh)
        operator = fresh.operator()
        colors = ["green", "red", "green"]
        jobs = []
        for i in range(30):
            kind = i % 5
            if kind == 0:
                jobs.append(("op", "/api/orders", {"asset": "ES", "trade_mode": "SCALP"}))
            elif kind == 1:
                jobs.append(("op", "/api/intent", {"asset": "ES", "direction": "BUY"}))
            elif kind == 2:
                jobs.append(("tv", "/tv_renko_main", {"asset": "ES", "color": colors[i % 3], "bar_id": f"m{i}"}))
            elif kind == 3:
                jobs.append(("tv", "/tv_renko_two_half", {"asset": "ES", "color": colors[(i + 1) % 3]}))
            else:
                jobs.append(("tv", "/tv_heartbeat", {"symbol": "ES", "price": 5000 + i}))

        def run(job):
            who, path, body = job
            if who == "tv":
                with requests.Session() as session:
                    return fresh.tv(path, session, **body).status_code
            return operator.post(f"{fresh.url}{path}", json=body, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(run, jobs))
        assert all(s in (200, 201, 403, 409) for s in statuses), statuses
        assert 201 in statuses and 403 in statuses  # some entries went through, others were refused
        events = list(fresh.docs("events").values())
        # serial order: by the ES revision each input read; a writer of rev r+1 after the readers of r
        events.sort(key=lambda e: (e["read_revs"].get("assets/ES", 0), "assets/ES" in e["revs"]))
        replayed = replay(events, CONFIG)
        es_doc = fresh.docs("assets")["assets/ES"]
        es_doc.pop("_rev")
        assert stored(replayed.assets["ES"]) == es_doc
        glob = fresh.docs("console")["console/global"]
        glob.pop("_rev")
        assert stored(replayed.glob) == glob
        orders = {p.split("/", 1)[1] for p in fresh.docs("orders")}
        assert orders == set(replayed.orders)


def _create(order):
    from shared.store.api import Plan, Write

    return Plan([Write(f"orders/{order['id']}", "create", order)], None)


class TestAuth:
    OPERATOR_ROUTES = (
        ("GET", "/api/state"), ("GET", "/api/gates?asset=ES"), ("GET", "/api/risk"), ("POST", "/api/risk"),
        ("GET", "/api/session-window"), ("GET", "/api/history"), ("GET", "/api/logs"), ("GET", "/api/orders"),
        ("POST", "/api/orders"), ("POST", "/api/exit"), ("POST", "/api/exit-all"), ("POST", "/api/scale-in"),
        ("POST", "/api/protect"), ("POST", "/api/points-take-profit"), ("POST", "/api/take-profit"),
        ("POST", "/api/high-next-bar-exit"), ("POST", "/api/main-flip-exit"), ("POST", "/api/four-pt-invalidation"),
        ("POST", "/api/auto-exit"), ("POST", "/api/intent"), ("POST", "/api/intent/cancel"),
        ("POST", "/api/preorder/cancel"), ("POST", "/api/two-half-tp-lock"), ("POST", "/api/trade-limit/consume"),
        ("POST", "/api/env"), ("POST", "/api/orders/ES-x-1/cancel"),
    )
    BRIDGE_ROUTES = (
        ("GET", "/api/orders/pending?secret=wrong"), ("POST", "/api/orders/ES-x-1/execution-report"),
        ("POST", "/api/bridge/heartbeat"), ("POST", "/api/rithmic/pnl-snapshot"),
    )

    def test_every_authenticated_route_refuses_without_credentials_and_writes_nothing(self, fresh):
        before = state_documents(fresh)
        for method, path in self.OPERATOR_ROUTES + self.BRIDGE_ROUTES:
            response = requests.request(method, f"{fresh.url}{path}", timeout=30,
                                        json={"secret": "wrong", "asset": "ES", "status": "FILLED", "env": "LIVE"})
            assert response.status_code == 401, (method, path, response.status_code, response.text)
            assert response.json()["ok"] is False
        timers = requests.post(f"{fresh.url}/__fn/timers/", json={"kind": "cooldown_end", "key": "k", "at": 1},
                               timeout=30)
        assert timers.status_code == 401
        assert state_documents(fresh) == before

    def test_no_response_or_stored_document_contains_a_secret(self, fresh):
        ready_for_entry(fresh)
        operator = fresh.operator()
        bridge = fresh.secrets["BRIDGE_HEARTBEAT_SECRET"]
        requests.post(f"{fresh.url}/api/bridge/heartbeat", json={"secret": bridge, "account": "A1",
                                                                  "token": "t"}, timeout=30)
        requests.post(f"{fresh.url}/api/rithmic/pnl-snapshot", json={"secret": bridge, "accountBalance": 50000},
                      timeout=30)
        texts = [operator.post(f"{fresh.url}/api/orders", json={"asset": "ES", "trade_mode": "SCALP"},
                               timeout=30).text]
        texts += [operator.get(f"{fresh.url}{p}", timeout=30).text
                  for p in ("/api/state", "/api/logs", "/api/orders", "/api/gates?asset=ES")]
        texts.append(requests.get(f"{fresh.url}/api/orders/pending", params={"secret": bridge}, timeout=30).text)
        for collection in ("assets", "console", "events", "orders", "trades"):
            texts.append(json.dumps(fresh.docs(collection), default=str))
        blob = "\n".join(texts)
        for name in ("TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET", "TASKS_LOCAL_TOKEN"):
            assert fresh.secrets[name] not in blob, name
        assert "live-test-password" not in blob


class TestTimers:
    def test_a_candle_lock_end_fires_through_the_tasks_emulator_and_tidies_up(self, fresh):
        boundary = (int(time.time() // 300) + 10) * 300.0
        fresh.set_clock(boundary - 2.0, tick=True)  # the task arrives 2 real seconds later: time must move
        ready_for_entry(fresh)
        operator = fresh.operator()
        placed = operator.post(f"{fresh.url}/api/orders", json={"asset": "ES", "trade_mode": "SCALP"}, timeout=30)
        assert placed.status_code == 201, placed.text
        assert fresh.docs("console")["console/global"]["five_min_trade_bucket"] == int(boundary // 300) - 1
        deadline = time.time() + 15
        fired = []
        while time.time() < deadline and not fired:
            fired = [e for e in fresh.docs("events").values() if e["type"] == "timer_fired"]
            time.sleep(0.2)
        assert fired, "the candle_lock_end task never arrived"
        assert fired[0]["decisions"][0]["detail"]["outcome"] == "released"
        assert fresh.docs("console")["console/global"].get("five_min_trade_bucket") is None


class TestDevRoutes:
    def test_dev_clock_freezes_moves_ticks_and_returns(self, fresh):
        http, url = fresh.http, fresh.url
        assert http.post(f"{url}/_dev/clock", json={"now": 1_800_000_000}, timeout=30).json()["frozen"] is True
        time.sleep(0.3)
        assert http.get(f"{url}/_dev/clock", timeout=30).json() == {"ok": True, "now": 1_800_000_000, "frozen": True}
        # every function decides at the frozen time: a bar's stored time is exactly it
        body = {"secret": fresh.secrets["TV_WEBHOOK_SECRET"], "asset": "ES", "color": "green"}
        assert http.post(f"{url}/tv_renko_main", json=body, timeout=30).json()["main_renko_ts"] == 1_800_000_000
        assert http.post(f"{url}/_dev/clock", json={"advance": 600}, timeout=30).json()["now"] == 1_800_000_600
        ticking = http.post(f"{url}/_dev/clock", json={"now": 1_800_000_000, "tick": True}, timeout=30).json()
        assert ticking["frozen"] is False and 1_800_000_000 <= ticking["now"] < 1_800_000_005
        real = http.delete(f"{url}/_dev/clock", timeout=30).json()["now"]
        assert abs(real - time.time()) < 5
        assert http.post(f"{url}/_dev/clock", json={"now": 1e308}, timeout=30).status_code == 400
        assert http.post(f"{url}/_dev/clock", json={"later": 1}, timeout=30).status_code == 400
