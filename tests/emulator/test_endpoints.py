"""Every endpoint of docs/api.md (plus the dashboard's extra reads) over HTTP through the one local address, on
the real Firestore and Cloud Tasks emulators: success shapes, every refusal with the spec's exact text, code and
status, the stored documents read back, and whole trade flows driven by the dev clock."""

from __future__ import annotations

import re

import pytest
import requests

from shared.domain.state import AssetState, GlobalState, to_doc
from shared.store.api import Plan, Query, Write

pytestmark = pytest.mark.emulator

# Wednesday 2026-04-15 10:00:10 New York (EDT): mid-session, 10 s into a 5-minute candle, front month MESM6.
BASE = 1776261610.0
CONTRACT = "MESM6"
DAILY_STOP_TEXT = "Daily stop TRIGGERED — entries blocked for today"
COOLDOWN_RE = re.compile(r"^POST-EXIT COOLDOWN ACTIVE \((\d\d):(\d\d) remaining\)$")
CANDLE_RE = re.compile(r"^5 MIN LOCK ACTIVE — one trade already used this candle \((\d\d):(\d\d) remaining\)$")
T = 30  # request timeout


class Api:
    """One operator session, the bridge and TradingView, plus read-back of the stored documents."""

    def __init__(self, live) -> None:
        self.live = live
        self.url = live.url
        self.op = live.operator()
        self.bridge_secret = live.secrets["BRIDGE_HEARTBEAT_SECRET"]
        self.store = live.store()

    # ---- HTTP -----------------------------------------------------------------------------------------------
    def get(self, path: str, **params):
        return self.op.get(f"{self.url}{path}", params=params, timeout=T)

    def post(self, path: str, body=None):
        return self.op.post(f"{self.url}{path}", json={} if body is None else body, timeout=T)

    def tv(self, path: str, **body):
        return self.live.tv(path, **body)

    def bar(self, stream: str, color: str, asset: str = "ES"):
        response = self.tv(stream, asset=asset, color=color)
        assert response.status_code == 200, response.text
        return response.json()

    def enter(self, **body):
        return self.post("/api/orders", {"asset": "ES", "trade_mode": "SCALP", **body})

    def poll(self, **params):
        return requests.get(f"{self.url}/api/orders/pending", params={"secret": self.bridge_secret, **params},
                            timeout=T)

    def report(self, order_id: str, status: str, *, secret: str | None = "body", **extra):  # noqa: S107
        body: dict = {"status": status, "extra": extra}
        params = {}
        if secret == "body":
            body["secret"] = self.bridge_secret
        elif secret == "query":
            params["secret"] = self.bridge_secret
        elif secret is not None:
            body["secret"] = secret
        return requests.post(f"{self.url}/api/orders/{order_id}/execution-report", json=body, params=params,
                             timeout=T)

    def snapshot(self, balance=None, symbols=(), **extra):
        body = {"secret": self.bridge_secret, "realized": 0.0, "unrealized": 0.0, "symbols": list(symbols), **extra}
        if balance is not None:
            body["accountBalance"] = balance
        response = requests.post(f"{self.url}/api/rithmic/pnl-snapshot", json=body, timeout=T)
        assert response.status_code == 200, response.text
        assert response.json() == {"ok": True}
        return response

    def clock(self, now: float) -> None:
        self.live.set_clock(now, tick=True)  # these scenarios let time run between their requests

    def advance(self, seconds: float) -> None:
        response = self.live.http.post(f"{self.url}/_dev/clock", json={"advance": seconds}, timeout=T)
        assert response.status_code == 200

    # ---- stored documents -----------------------------------------------------------------------------------
    def doc(self, path: str) -> dict:
        data = self.store.get([path])[path]
        assert data is not None, f"{path} does not exist"
        return dict(data)

    def asset(self, key: str = "ES") -> dict:
        """The stored asset document with every field (a store may leave fields at their defaults out)."""
        return {**to_doc(AssetState(symbol=key)), **self.doc(f"assets/{key}")}

    def glob(self) -> dict:
        return {**to_doc(GlobalState()), **self.doc("console/global")}

    def order(self, order_id: str) -> dict:
        return self.doc(f"orders/{order_id}")

    def collection(self, name: str) -> dict[str, dict]:
        return {path: dict(data) for path, data in self.store.query(Query(name))}

    def written(self) -> dict:
        """Everything a request could have written (timer callbacks of earlier tests may add their own events)."""
        out = {name: self.collection(name) for name in ("assets", "console", "orders", "trades")}
        out["events"] = {p: e for p, e in self.collection("events").items() if e.get("type") != "timer_fired"}
        return out

    def history(self) -> list[dict]:
        response = self.get("/api/history")
        assert response.status_code == 200
        return response.json()["history"]

    def gates(self, asset: str = "ES", **params) -> dict[str, dict]:
        response = self.get("/api/gates", asset=asset, **params)
        assert response.status_code == 200, response.text
        return {row["gate"]: row for row in response.json()["gates"]}

    # ---- scenarios ------------------------------------------------------------------------------------------
    def ready(self, asset: str = "ES", *, high="green", macro="green", two_half="green", main="green",
              price=5000.0) -> None:
        assert self.tv("/tv_heartbeat", symbol=asset, price=price).status_code == 200
        self.bar("/tv_renko_high", high, asset)
        self.bar("/tv_renko_macro", macro, asset)
        self.bar("/tv_renko_two_half", two_half, asset)
        self.bar("/tv_renko_main", main, asset)

    def placed(self, **body) -> str:
        response = self.enter(**body)
        assert response.status_code == 201, response.text
        return response.json()["order"]["id"]

    def claim(self, order_id: str) -> None:
        response = self.poll()
        assert response.status_code == 200, response.text
        assert order_id in [o["id"] for o in response.json()["orders"]]

    def fill(self, order_id: str, price: float, status: str = "FILLED", **extra) -> None:
        response = self.report(order_id, status, fill_price=price, **extra)
        assert response.status_code == 200, response.text
        assert response.json() == {"ok": True}

    def open_long(self, price: float = 5000.0) -> str:
        order_id = self.placed()
        self.claim(order_id)
        self.fill(order_id, price)
        assert self.asset()["position"] == 5
        return order_id

    def force_exit(self) -> str:
        response = self.post("/api/exit", {"asset": "ES", "force": True})
        assert response.status_code == 201, response.text
        return response.json()["order"]["id"]

    def seed_global(self, **changes) -> None:
        data = {k: v for k, v in self.glob().items() if k != "_rev"}
        data.update(changes)
        self.store.transact(["console/global"], lambda reads: Plan([Write("console/global", "set", data)], None))


BAD_ORDER_ID = ("order_id: expected <asset>-<id> with the asset one of ES, NQ and at most 100 letters, digits, '-' "
                "or '_' after it")


def refused(response, status: int, error: str, code: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert body["ok"] is False and body["error"] == error, body
    if code is not None:
        assert body["code"] == code, body
    return body


def refused_like(response, status: int, regex: re.Pattern[str], code: str) -> int:
    """A refusal whose text carries a MM:SS countdown; returns the seconds it shows (and checks remaining_s)."""
    body = response.json()
    assert response.status_code == status and body["ok"] is False and body["code"] == code, body
    match = regex.match(body["error"])
    assert match, body["error"]
    shown = int(match.group(1)) * 60 + int(match.group(2))
    assert body["remaining_s"] == shown, body
    return shown


@pytest.fixture
def api(fresh) -> Api:
    fresh.set_clock(BASE, tick=True)  # the scenarios let time run between their requests
    return Api(fresh)


# ---- auth --------------------------------------------------------------------------------------------------------

class TestAuth:
    def test_login_status_logout_and_the_logout_page(self, api):
        anonymous = requests.Session()
        assert anonymous.get(f"{api.url}/api/auth/status", timeout=T).json() == {
            "authenticated": False, "password_required": True}
        wrong = anonymous.post(f"{api.url}/api/login", json={"password": "nope"}, timeout=T)
        refused(wrong, 401, "Invalid password")
        assert anonymous.cookies.get("__session") is None
        assert anonymous.get(f"{api.url}/api/state", timeout=T).json() == {
            "ok": False, "error": "Authentication required"}
        # POST /api/login → {"ok": true} + the session cookie
        assert anonymous.post(f"{api.url}/api/login", json={"password": "live-test-password"},
                              timeout=T).json() == {"ok": True}
        assert anonymous.cookies.get("__session")
        issued = api.op.post(f"{api.url}/api/login", json={"password": "live-test-password"},
                             timeout=T).headers["Set-Cookie"]
        assert "HttpOnly" in issued and "SameSite=Strict" in issued and "Path=/" in issued, issued
        assert "Secure" not in issued  # D12: not Secure on localhost only
        assert anonymous.get(f"{api.url}/api/auth/status", timeout=T).json() == {
            "authenticated": True, "password_required": True}
        # GET /logout: redirect to the login page and the cookie cleared
        page = anonymous.get(f"{api.url}/logout", allow_redirects=False, timeout=T)
        assert page.status_code == 302 and page.headers["Location"].endswith("/login.html")
        cleared = page.headers["Set-Cookie"]
        assert cleared.startswith("__session=") and ("Max-Age=0" in cleared or "1970" in cleared), cleared
        assert anonymous.cookies.get("__session") is None
        assert anonymous.get(f"{api.url}/api/state", timeout=T).status_code == 401
        # POST /api/logout
        assert api.post("/api/logout").json() == {"ok": True}
        assert api.get("/api/state").status_code == 401


# ---- TradingView webhooks -----------------------------------------------------------------------------------------

class TestWebhooks:
    def test_every_stream_answers_its_shape_and_stores_the_bar(self, api):
        hb = api.tv("/tv_heartbeat", symbol="ES", price=5250.25, timestamp=1705329120)
        assert hb.status_code == 200 and hb.json() == {"ok": True}
        es = api.asset()
        assert es["last_price"] == 5250.25 and es["heartbeat_client_ts"] == 1705329120
        assert abs(es["last_heartbeat_ts"] - BASE) < 30  # server receive time, not the client's
        assert api.tv("/tv_renko", asset="ES", color="green", bar_id="2024-01-15T14:30:00").json() == {"ok": True}
        two = api.bar("/tv_renko_two_half", "red")
        assert {k: two[k] for k in ("ok", "asset", "two_half_renko_color", "two_half_tp_lock_enabled",
                                    "two_half_tp_lock_released")} == {
            "ok": True, "asset": "ES", "two_half_renko_color": "red", "two_half_tp_lock_enabled": False,
            "two_half_tp_lock_released": False}
        main = api.bar("/tv_renko_main", "GREEN")
        assert main["ok"] is True and main["asset"] == "ES" and main["main_renko_color"] == "green"
        high = api.bar("/tv_renko_high", "green")
        assert high["high_renko_color"] == "green" and high["high_renko_ts"] >= main["main_renko_ts"]
        macro = api.bar("/tv_renko_macro", "red")
        assert macro["macro_renko_color"] == "red" and macro["zone_type"] == "FREE"
        assert api.bar("/tv_renko_macro", "green")["zone_type"] == "NORMAL"
        assert api.bar("/tv_renko_small", "red") == {"ok": True}
        one = api.bar("/tv_renko_one", "purple")  # anything else is neutral
        assert one["one_renko_color"] == "neutral"
        es = api.asset()
        assert (es["renko_color"], es["two_half_renko_color"], es["main_renko_color"], es["high_renko_color"],
                es["macro_renko_color"], es["small_renko_color"], es["one_renko_color"]) == (
            "green", "red", "green", "green", "green", "red", "neutral")
        assert api.tv("/tv_level_exit", asset="ES").json() == {"ok": True, "ignored": "no_position"}
        # a repeated bar id is a no-op (D6)
        rev = api.asset()["_rev"]
        again = api.tv("/tv_renko", asset="ES", color="red", bar_id="2024-01-15T14:30:00")
        assert again.status_code == 200 and again.json() == {"ok": True, "duplicate": True}
        assert api.asset()["_rev"] == rev and api.asset()["renko_color"] == "green"

    def test_webhook_refusals_write_nothing(self, api):
        api.tv("/tv_heartbeat", symbol="ES")
        before = api.written()
        for path in ("/tv_renko", "/tv_renko_two_half", "/tv_renko_main", "/tv_renko_high", "/tv_renko_macro",
                     "/tv_renko_small", "/tv_renko_one", "/tv_level_exit", "/tv_heartbeat"):
            bad = requests.post(f"{api.url}{path}", json={"secret": "wrong", "asset": "ES", "symbol": "ES"},
                                timeout=T)
            refused(bad, 401, "unauthorized")
            if path != "/tv_heartbeat":
                refused(api.tv(path, asset="GC", color="green"), 400, "Unknown asset 'GC'")
        refused(api.tv("/tv_heartbeat", symbol="GC", price=1.0), 400, "Unknown symbol GC")
        assert api.written() == before


# ---- bridge ------------------------------------------------------------------------------------------------------

class TestBridge:
    def test_heartbeat_snapshot_and_pending_poll(self, api):
        url = api.url
        refused(requests.post(f"{url}/api/bridge/heartbeat", json={"secret": "x"}, timeout=T), 401, "unauthorized")
        refused(requests.post(f"{url}/api/rithmic/pnl-snapshot", json={}, timeout=T), 401, "unauthorized")
        refused(requests.get(f"{url}/api/orders/pending", params={"secret": "x"}, timeout=T), 401, "unauthorized")
        refused(requests.get(f"{url}/api/orders/pending", timeout=T), 401, "unauthorized")
        heartbeat = {"secret": api.bridge_secret, "tsConnected": True, "mdConnected": True, "repoOk": True,
                     "account": "U12345", "tradeRoute": "PAPER", "lastRapiEventUtc": "2024-01-15T14:32:00Z"}
        response = requests.post(f"{url}/api/bridge/heartbeat", json=heartbeat, timeout=T)
        assert response.status_code == 200 and response.json() == {"ok": True}
        bridge = api.glob()["rithmic_bridge"]
        assert bridge["account"] == "U12345" and bridge["tradeRoute"] == "PAPER" and bridge["tsConnected"] is True
        assert "secret" not in bridge
        assert api.get("/api/state").json()["global"]["rithmic_connected"] is True
        api.snapshot(50125.0, [{"symbol": CONTRACT, "position": 0, "openPnl": 0.0}], realized=250.0,
                     unrealized=-125.0)
        g = api.glob()
        assert g["equity"] == 50125.0 and g["rithmic_unrealized"] == -125.0 and g["daily_start_equity"] == 50125.0
        bad = requests.post(f"{url}/api/rithmic/pnl-snapshot",
                            json={"secret": api.bridge_secret, "symbols": [{"position": 1}]}, timeout=T)
        assert bad.status_code == 400 and bad.json()["ok"] is False
        assert api.poll(limit="ten").status_code == 400
        empty = api.poll()
        assert empty.status_code == 200 and empty.json() == {"ok": True, "orders": []}


# ---- POST /api/orders: input validation and the gate chain (D2) ----------------------------------------------------

class TestEntryGates:
    def test_input_validation_is_400_and_writes_nothing(self, api):
        api.tv("/tv_heartbeat", symbol="ES")
        before = api.written()
        refused(api.enter(order_type="limit", asset="GC"), 400, "Invalid order_type", "INVALID_ORDER_TYPE")
        refused(api.enter(asset="GC"), 400, "Unknown asset", "UNKNOWN_ASSET")
        refused(api.enter(trade_mode=None), 400, "Invalid trade_mode", "INVALID_TRADE_MODE")
        refused(api.enter(trade_mode="SWING"), 400, "Invalid trade_mode", "INVALID_TRADE_MODE")
        missing = api.post("/api/orders", {"trade_mode": "SCALP"})
        assert missing.status_code == 400 and missing.json()["error"].startswith("asset:")
        assert api.written() == before

    def test_each_gate_in_order_then_a_market_entry(self, api):
        refused(api.enter(), 403, "Heartbeat stale or missing – cannot trade", "HEARTBEAT_STALE")
        api.tv("/tv_heartbeat", symbol="ES", price=5000.0)
        refused(api.enter(), 403, "Tempo token WAIT — need a new 6pt bar", "TEMPO_WAIT")
        api.bar("/tv_renko_main", "green")
        refused(api.enter(), 403, "8pt/12pt structure unavailable – cannot trade", "STRUCTURE_UNAVAILABLE")
        api.bar("/tv_renko_high", "green")
        api.bar("/tv_renko_macro", "red")
        refused(api.enter(), 403, "Free zone: choose direction=BUY/SELL", "FREE_ZONE_DIRECTION_REQUIRED")
        blocked = refused(api.enter(direction="SELL"), 409, "Blocked by 2.5pt Renko: neutral", "ZONE_BLOCKED")
        assert {k: blocked[k] for k in ("zone_type", "main_renko_color", "high_renko_color", "macro_renko_color",
                                        "two_half_renko_color")} == {
            "zone_type": "FREE", "main_renko_color": "green", "high_renko_color": "green",
            "macro_renko_color": "red", "two_half_renko_color": "neutral"}
        api.bar("/tv_renko_macro", "green")
        refused(api.enter(entry_override=True), 403, "Override entry requires direction=BUY/SELL (or green/red)",
                "OVERRIDE_DIRECTION_REQUIRED")
        refused(api.enter(entry_override=True, direction="SELL"), 409, "Blocked by 8/12 structure", "ZONE_BLOCKED")
        refused(api.enter(), 409, "Blocked by 2.5pt Renko: neutral", "ZONE_BLOCKED")
        assert api.collection("orders") == {}
        audit = [(e["type"], e["status"], e["code"]) for e in api.collection("events").values()]
        assert ("place_order", 403, "TEMPO_WAIT") in audit and ("place_order", 409, "ZONE_BLOCKED") in audit  # D13
        api.bar("/tv_renko_two_half", "green")
        gates = api.gates()
        assert all(row["pass"] for row in gates.values()), gates
        assert list(gates) == ["daily_stop", "trailing_drawdown", "post_exit_cooldown", "loss_streak", "candle_lock",
                               "trade_lock", "daily_trade_limit", "blackout", "trading_window", "open_position",
                               "pending_order", "position_mismatch", "heartbeat", "tempo", "structure",
                               "protective_stop", "risk_room"]
        # NORMAL zone: the direction is the 8pt colour whatever the body says
        response = api.enter(direction="SELL", trade_mode="runner")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["ok"] is True and set(body["state"]) >= {"global", "assets"}
        order = body["order"]
        assert {k: order[k] for k in ("symbol", "side", "qty")} == {"symbol": CONTRACT, "side": "BUY", "qty": 5}
        stored = api.order(order["id"])
        assert {k: stored[k] for k in ("asset", "symbol", "exchange", "side", "qty", "status", "kind", "source",
                                       "mode", "env", "trade_mode")} == {
            "asset": "ES", "symbol": CONTRACT, "exchange": "CME", "side": "BUY", "qty": 5, "status": "PENDING",
            "kind": "ENTRY", "source": "UI", "mode": "A", "env": "DEMO", "trade_mode": "RUNNER"}
        es = api.asset()
        assert (es["pending_order_id"], es["pending_side"], es["pending_qty"], es["exit_tf"],
                es["rithmic_symbol"]) == (order["id"], "BUY", 5, "high", CONTRACT)
        assert es["tempo_spent_ts"] is not None and es["position"] == 0
        assert api.glob()["five_min_trade_bucket"] == int(BASE // 300)
        # the same candle: the candle lock answers before the pending order
        locked = refused_like(api.enter(), 403, CANDLE_RE, "CANDLE_LOCK_ACTIVE")
        assert 280 <= locked <= 290
        api.advance(300)
        refused(api.enter(), 403, "Pending order already exists", "PENDING_ORDER")
        api.claim(order["id"])
        api.fill(order["id"], 5000.0)
        refused(api.enter(), 403, "Asset already in a trade", "POSITION_OPEN")
        gates = api.gates()
        assert [name for name, row in gates.items() if not row["pass"]] == ["open_position", "tempo"]
        assert gates["open_position"]["code"] == "POSITION_OPEN"
        assert gates["open_position"]["reason"] == "Asset already in a trade"
        assert len(api.collection("orders")) == 1

    def test_global_trade_lock_blocks_entries_and_intents(self, api):
        api.ready()
        api.seed_global(trade_lock=True, trade_lock_reason="TEST")
        refused(api.enter(), 403, "Global trade lock active", "TRADE_LOCK")
        refused(api.post("/api/intent", {"asset": "ES"}), 403, "Global trade lock active", "TRADE_LOCK")
        assert api.collection("orders") == {}


# ---- full trade flows ---------------------------------------------------------------------------------------------

class TestTradeFlow:
    def test_entry_claim_working_fill_flip_exit_history_cooldown(self, api):
        api.ready()
        order_id = api.placed()
        poll = api.poll(owner="bridge-a", limit=10)
        assert poll.status_code == 200
        assert poll.json() == {"ok": True, "orders": [{
            "id": order_id, "asset": CONTRACT, "exchange": "CME", "side": "BUY", "qty": 5, "mode": "A",
            "env": "DEMO", "kind": "ENTRY", "source": "UI"}]}
        claimed = api.order(order_id)
        assert claimed["status"] == "CLAIMED" and claimed["lease_owner"] == "bridge-a"
        assert claimed["lease_until"] == pytest.approx(claimed["leased_at"] + 200)
        assert api.poll().json()["orders"] == []  # handed out once (D9)
        working = api.report(order_id, "WORKING")
        assert working.status_code == 200 and working.json() == {"ok": True}
        assert api.order(order_id)["status"] == "WORKING"
        assert api.report(order_id, "WORKING").json() == {"ok": True, "duplicate": True}
        filled = api.report(order_id, "FILLED", secret="query", fill_price=5000.25, symbol=CONTRACT, side="BUY",
                            qty=5)
        assert filled.status_code == 200 and filled.json() == {"ok": True}
        stored = api.order(order_id)
        assert (stored["status"], stored["filled_qty"], stored["avg_fill_price"], stored["lease_owner"]) == (
            "FILLED", 5, 5000.25, None)
        es = api.asset()
        assert (es["position"], es["avg_price"], es["entry_price"], es["pending_order_id"]) == (
            5, 5000.25, 5000.25, None)
        assert es["initial_exit_lock_active"] is True and es["initial_exit_lock_released"] is False
        assert (es["points_tp_enabled"], es["points_tp_target"], es["rithmic_point_value"]) == (True, 15.0, 5.0)
        assert (es["exit_mode"], es["trade_mode"], es["order_count"]) == ("A", "SCALP", 1)
        assert api.glob()["trades_taken_today"] == 1
        # the same report again is a no-op
        rev = es["_rev"]
        again = api.report(order_id, "FILLED", fill_price=5000.25)
        assert again.status_code == 200 and again.json() == {"ok": True, "duplicate": True}
        assert api.asset()["_rev"] == rev and api.glob()["trades_taken_today"] == 1
        refused(api.post("/api/exit", {"asset": "ES"}), 409,
                "INITIAL_EXIT_LOCK_ACTIVE — wait for fresh 6pt bar after entry", "INITIAL_EXIT_LOCK_ACTIVE")
        # an 8pt bar against the position: EXIT_ENGINE_HIGH for the whole position, even inside the initial lock
        api.bar("/tv_renko_high", "red")
        exit_id = api.asset()["pending_order_id"]
        assert exit_id and exit_id != order_id
        exit_order = api.order(exit_id)
        assert {k: exit_order[k] for k in ("kind", "side", "qty", "source", "status", "symbol")} == {
            "kind": "EXIT", "side": "SELL", "qty": 5, "source": "EXIT_ENGINE_HIGH", "status": "PENDING",
            "symbol": CONTRACT}
        assert [o["kind"] for o in api.poll().json()["orders"]] == ["EXIT"]
        api.fill(exit_id, 5008.25)
        es = api.asset()
        assert (es["position"], es["avg_price"], es["pending_order_id"], es["initial_exit_lock_active"]) == (
            0, None, None, False)
        history = api.history()
        assert len(history) == 1
        row = history[0]
        assert {k: row[k] for k in ("asset", "side", "size", "symbol", "entry_price", "exit_price", "reason")} == {
            "asset": "ES", "side": "LONG", "size": 5, "symbol": CONTRACT, "entry_price": 5000.25,
            "exit_price": 5008.25, "reason": "renko_high_flip"}
        assert row["pnl_points"] == pytest.approx(8.0) and row["pnl_usd"] == pytest.approx(200.0)  # $5/pt × 5
        assert len(api.collection("trades")) == 1
        # the next entry: post-exit cooldown (D1 text), 180 s
        assert 170 <= refused_like(api.enter(), 403, COOLDOWN_RE, "POST_EXIT_COOLDOWN") <= 180
        row = api.gates()["post_exit_cooldown"]
        assert row["pass"] is False and 170 <= row["remaining_s"] <= 180
        assert 170 <= refused_like(api.post("/api/intent", {"asset": "ES"}), 403, COOLDOWN_RE,
                                   "POST_EXIT_COOLDOWN") <= 180
        listed = api.get("/api/orders").json()
        assert listed["ok"] is True
        assert [(o["id"], o["status"]) for o in listed["orders"]] == [(exit_id, "FILLED"), (order_id, "FILLED")]
        api.advance(300)  # cooldown and candle over; the token was spent and no 6pt bar came since
        refused(api.enter(), 403, "Tempo token WAIT — need a new 6pt bar", "TEMPO_WAIT")

    def test_partial_fills_accumulate_and_average(self, api):
        api.ready()
        order_id = api.placed()
        api.claim(order_id)
        api.fill(order_id, 5000.0, status="PARTIALLY_FILLED", qty=2, fill_id="F1")
        stored = api.order(order_id)
        assert (stored["status"], stored["filled_qty"], stored["avg_fill_price"]) == ("PARTIALLY_FILLED", 2, 5000.0)
        es = api.asset()
        assert (es["position"], es["avg_price"], es["pending_order_id"]) == (2, 5000.0, order_id)
        repeat = api.report(order_id, "PARTIALLY_FILLED", fill_price=5000.0, cum_qty=2)
        assert repeat.status_code == 200 and repeat.json() == {"ok": True, "duplicate": True}
        api.fill(order_id, 5001.0)  # the rest: qty defaults to the remaining 3
        stored = api.order(order_id)
        assert (stored["status"], stored["filled_qty"]) == ("FILLED", 5)
        assert stored["avg_fill_price"] == pytest.approx(5000.6)
        es = api.asset()
        assert es["position"] == 5 and es["avg_price"] == pytest.approx(5000.6) and es["pending_order_id"] is None
        assert api.glob()["trades_taken_today"] == 1
        # a partially filled exit reduces, the rest closes at the weighted exit price
        exit_id = api.force_exit()
        api.claim(exit_id)
        api.fill(exit_id, 5004.0, status="PARTIALLY_FILLED", qty=2, fill_id="X1")
        assert api.asset()["position"] == 3 and api.history() == []
        api.fill(exit_id, 5006.0)
        assert api.asset()["position"] == 0
        row = api.history()[0]
        assert row["size"] == 5 and row["exit_price"] == pytest.approx(5005.2)
        assert row["pnl_points"] == pytest.approx(4.6) and row["pnl_usd"] == pytest.approx(115.0)

    def test_execution_report_auth_errors_and_rejection(self, api):
        api.ready()
        order_id = api.placed()
        before = api.written()
        refused(api.report(order_id, "FILLED", secret=None, fill_price=1.0), 401, "unauthorized")
        refused(api.report(order_id, "FILLED", secret="wrong", fill_price=1.0), 401, "unauthorized")
        wrong_query = requests.post(f"{api.url}/api/orders/{order_id}/execution-report", params={"secret": "x"},
                                    json={"status": "FILLED"}, timeout=T)
        refused(wrong_query, 401, "unauthorized")
        refused(api.report(order_id, "DONE"), 400, "invalid status")
        refused(api.report(order_id, "filled"), 400, "invalid status")
        refused(api.report("ES-doesnotexist-1", "FILLED", fill_price=1.0), 404, "Unknown order")
        refused(api.report("ZZ-123", "WORKING"), 404, "Unknown order")  # D9: well-formed, names no order
        refused(api.report("ZZ 123", "WORKING"), 400, BAD_ORDER_ID)  # D15: cannot be an order id
        assert api.written() == before
        # REJECTED: pending cleared, tempo re-armed, the candle freed (same bucket), a new entry goes at once
        rejected = api.report(order_id, "REJECTED", secret="query", reason="No trade route for exchange=CME")
        assert rejected.status_code == 200 and rejected.json() == {"ok": True}
        assert api.order(order_id)["status"] == "REJECTED"
        es = api.asset()
        assert es["pending_order_id"] is None and es["tempo_spent_ts"] is None and es["position"] == 0
        assert api.glob()["five_min_trade_bucket"] is None
        assert api.report(order_id, "REJECTED").json() == {"ok": True, "duplicate": True}
        assert api.report(order_id, "WORKING").json() == {"ok": True, "ignored": "late_working_report"}
        second = api.placed()
        assert second != order_id


# ---- PnL snapshots: points TP, daily stop (D11), reconciliation (D10) ------------------------------------------------

class TestSnapshots:
    def test_points_take_profit_at_fifteen_points(self, api):
        api.ready()
        api.open_long(5000.0)
        api.snapshot(50000.0, [{"symbol": CONTRACT, "position": 5, "openPnl": 350.0}])
        es = api.asset()
        assert es["rithmic_open_points"] == pytest.approx(14.0) and es["pending_order_id"] is None
        api.snapshot(50025.0, [{"symbol": CONTRACT, "position": 5, "openPnl": 375.0}])
        es = api.asset()
        assert es["rithmic_open_points"] == pytest.approx(15.0) and es["points_tp_hit_ts"] is not None
        exit_order = api.order(es["pending_order_id"])
        assert (exit_order["kind"], exit_order["side"], exit_order["qty"], exit_order["source"]) == (
            "EXIT", "SELL", 5, "TAKE_PROFIT_POINTS")
        api.claim(exit_order["id"])
        api.fill(exit_order["id"], 5015.0)
        row = api.history()[0]
        assert row["reason"] == "points_take_profit" and row["pnl_usd"] == pytest.approx(375.0)

    def test_daily_stop_flattens_cancels_pending_entries_and_blocks(self, api):
        api.ready()
        entry = api.open_long(5000.0)
        api.advance(300)
        api.ready("NQ", price=18000.0)
        nq_order = api.placed(asset="NQ")
        position = [{"symbol": CONTRACT, "position": 5, "openPnl": 0.0}]
        api.snapshot(50000.0, position)
        assert api.glob()["daily_stop_triggered"] is False and api.asset()["pending_order_id"] is None
        api.snapshot(34000.0, position)
        g = api.glob()
        assert g["daily_stop_triggered"] is True and g["trade_lock"] is True
        assert g["daily_stop_triggered_reason"] == "Drawdown 32.00% >= limit 30.00%"
        assert g["daily_stop_triggered_equity"] == 34000.0
        stop_exit = api.order(api.asset()["pending_order_id"])
        assert (stop_exit["kind"], stop_exit["side"], stop_exit["qty"], stop_exit["source"]) == (
            "EXIT", "SELL", 5, "DAILY_STOP")
        cancelled = api.order(nq_order)
        assert cancelled["status"] == "CANCELLED" and api.asset("NQ")["pending_order_id"] is None
        refused(api.enter(), 403, DAILY_STOP_TEXT, "DAILY_STOP")
        refused(api.post("/api/intent", {"asset": "ES"}), 403, DAILY_STOP_TEXT, "DAILY_STOP")
        refused(api.post("/api/scale-in", {"asset": "ES"}), 403, "Daily stop TRIGGERED — scale-in blocked",
                "DAILY_STOP")
        gates = api.gates()
        assert gates["daily_stop"]["pass"] is False and gates["trade_lock"]["pass"] is False
        # D11: the broker rejects the stop's exit; the next snapshot fires another one
        api.claim(stop_exit["id"])
        assert api.report(stop_exit["id"], "REJECTED").json() == {"ok": True}
        assert api.asset()["pending_order_id"] is None
        api.snapshot(34000.0, position)
        retry = api.asset()["pending_order_id"]
        assert retry not in (None, stop_exit["id"], entry)
        assert api.order(retry)["source"] == "DAILY_STOP"
        api.claim(retry)
        api.fill(retry, 4990.0)
        assert api.asset()["position"] == 0 and api.history()[0]["reason"] == "daily_stop"

    def test_position_mismatch_after_two_disagreeing_snapshots(self, api):
        api.ready()
        broker_long = [{"symbol": CONTRACT, "position": 5, "openPnl": 0.0}]
        api.snapshot(50000.0, broker_long)
        es = api.asset()
        assert es["broker_position"] == 5 and es["position_mismatch"] is False and es["position"] == 0
        assert api.gates()["position_mismatch"]["pass"] is True
        api.snapshot(50000.0, broker_long)
        es = api.asset()
        assert es["position_mismatch"] is True and es["position"] == 0  # a snapshot never moves the position
        refused(api.enter(), 409, "Broker position does not match the local position – entries blocked",
                "POSITION_MISMATCH")
        assert api.get("/api/state").json()["assets"]["ES"]["position_mismatch"] is True
        api.snapshot(50000.0, [{"symbol": CONTRACT, "position": 0, "openPnl": 0.0}])
        assert api.asset()["position_mismatch"] is False
        api.placed()


# ---- the dev clock: candle lock and the 18:00 rollover -----------------------------------------------------------

class TestClock:
    def test_candle_lock_across_the_bucket_boundary(self, api):
        boundary = (int(BASE // 300) + 1) * 300.0  # 10:05:00 New York
        api.clock(boundary - 60)
        api.ready()
        api.clock(boundary - 2)  # HH:04:58
        order_id = api.placed()
        api.clock(boundary - 1)  # HH:04:59
        locked = refused(api.enter(), 403,
                         "5 MIN LOCK ACTIVE — one trade already used this candle (00:01 remaining)",
                         "CANDLE_LOCK_ACTIVE")
        assert locked["remaining_s"] == 1
        api.advance(2)  # past the boundary (the clock keeps ticking)
        refused(api.enter(), 403, "Pending order already exists", "PENDING_ORDER")
        gates = api.gates()
        assert gates["candle_lock"]["pass"] is True and gates["pending_order"]["pass"] is False
        g = api.get("/api/state").json()["global"]
        assert g["five_min_trade_lock_active"] is False and g["five_min_trade_lock_remaining_s"] == 0
        assert api.order(order_id)["status"] == "PENDING"

    def test_new_york_rollover_resets_the_day_and_applies_loosened_risk(self, api):
        api.clock(1776290100.0)  # 17:55:00 New York
        risk = api.get("/api/risk").json()
        assert {k: risk[k] for k in PERCENT_RISK} == {
            "ok": True, "max_trades_per_day": 6, "daily_stop_enabled": True, "daily_stop_limit_pct": 30.0,
            "pending": {}, "pending_effective_trading_day": None, "trades_remaining_today": 6}
        assert risk["daily_loss_limit_usd"] is None and risk["money"]["trailing_breached"] is False   # D20: off
        refused(api.post("/api/risk", {"max_trades_per_day": 0}), 400, "max_trades_per_day must be between 1 and 100",
                "INVALID_RISK")
        refused(api.post("/api/risk", {"daily_stop_limit_pct": 150}), 400,
                "daily_stop_limit_pct must be greater than 0 and at most 100", "INVALID_RISK")
        assert api.post("/api/risk", {"max_trades_per_day": "many"}).status_code == 400
        bad = api.op.post(f"{api.url}/api/risk", data="max=3", timeout=T)
        refused(bad, 400, "body must be a JSON object")
        tightened = api.post("/api/risk", {"max_trades_per_day": 4})
        assert tightened.status_code == 200
        assert tightened.json()["max_trades_per_day"] == 4 and tightened.json()["pending"] == {}
        loosened = api.post("/api/risk", {"max_trades_per_day": 8, "daily_stop_enabled": False}).json()
        assert loosened["max_trades_per_day"] == 4 and loosened["daily_stop_enabled"] is True
        assert loosened["pending"] == {"max_trades_per_day": 8, "daily_stop_enabled": False}
        assert loosened["pending_effective_trading_day"] == "next"
        assert api.post("/api/trade-limit/consume").json()["trades_remaining_today"] == 3
        api.ready()
        api.snapshot(50000.0)
        api.snapshot(34000.0)
        assert api.glob()["daily_stop_triggered"] is True
        refused(api.enter(), 403, DAILY_STOP_TEXT, "DAILY_STOP")
        assert api.get("/api/state").json()["global"]["trading_day"] == "2026-04-15"
        api.clock(1776290405.0)  # 18:00:05 New York: the next trading day
        risk = api.get("/api/risk").json()
        assert {k: risk[k] for k in PERCENT_RISK} == {
            "ok": True, "max_trades_per_day": 8, "daily_stop_enabled": False, "daily_stop_limit_pct": 30.0,
            "pending": {}, "pending_effective_trading_day": None, "trades_remaining_today": 8}
        g = api.get("/api/state").json()["global"]
        assert (g["daily_stop_triggered"], g["trade_lock"], g["trades_taken_today"], g["trading_day"]) == (
            False, False, 0, "2026-04-16")
        api.placed()  # heartbeat (5 min old) and tempo still good; nothing blocks any more
        g = api.glob()
        assert (g["trading_day"], g["daily_stop_triggered"], g["trade_lock"], g["trades_taken_today"],
                g["max_trades_per_day"], g["daily_start_equity"], g["pending_risk"]) == (
            "2026-04-16", False, False, 0, 8, None, {})
        api.snapshot(40000.0)  # the new day's start equity comes from its first snapshot (D4)
        assert api.glob()["daily_start_equity"] == 40000.0


# ---- intents and pre-orders (D8) -------------------------------------------------------------------------------------

class TestIntentsAndPreorders:
    def test_intent_refusals_ready_expiry_and_cancel(self, api):
        refused(api.post("/api/intent", {"asset": "GC"}), 400, "Unknown asset", "UNKNOWN_ASSET")
        refused(api.post("/api/intent", {"asset": "ES"}), 403, "Heartbeat stale or missing – cannot set intent",
                "HEARTBEAT_STALE")
        refused(api.post("/api/intent/cancel", {"asset": "ES"}), 409, "No active intent", "NO_INTENT")
        api.ready()
        created = api.post("/api/intent", {"asset": "ES", "direction": "BUY"})
        assert created.status_code == 201 and created.json() == {"ok": True}
        es = api.asset()
        assert (es["intent_active"], es["intent_status"], es["intent_direction"]) == (True, "PENDING", "BUY")
        refused(api.post("/api/intent", {"asset": "ES"}), 403, "Intent already active", "INTENT_ACTIVE")
        api.bar("/tv_renko_main", "green")
        assert api.asset()["intent_status"] == "READY"
        api.bar("/tv_renko_main", "green")
        es = api.asset()
        assert (es["intent_active"], es["intent_status"]) == (False, "EXPIRED")
        assert api.post("/api/intent", {"asset": "ES", "direction": "BUY"}).status_code == 201
        cancelled = api.post("/api/intent/cancel", {"asset": "ES"})
        assert cancelled.status_code == 200 and cancelled.json() == {"ok": True}
        assert (api.asset()["intent_active"], api.asset()["intent_status"]) == (False, "CANCELLED_BY_USER")
        # the time expiry (INTENT_MAX_AGE_S = 900 s) does not wait for its task
        assert api.post("/api/intent", {"asset": "ES", "direction": "BUY"}).status_code == 201
        api.advance(901)
        api.tv("/tv_heartbeat", symbol="ES", price=5000.0)
        view = api.get("/api/state").json()["assets"]["ES"]
        assert (view["intent_active"], view["intent_status"]) == (False, "EXPIRED")
        assert api.post("/api/intent", {"asset": "ES", "direction": "SELL"}).status_code == 201
        assert api.asset()["intent_direction"] == "SELL"

    def test_a_ready_intent_passes_the_structure_gate_and_is_consumed(self, api):
        api.ready(two_half="red")  # NORMAL zone long, but the 2.5pt says red
        refused(api.enter(), 409, "Blocked by 2.5pt Renko: red", "ZONE_BLOCKED")
        assert api.post("/api/intent", {"asset": "ES", "direction": "BUY"}).status_code == 201
        assert api.gates()["structure"]["pass"] is False
        api.bar("/tv_renko_main", "green")
        assert api.asset()["intent_status"] == "READY"
        assert api.gates()["structure"]["pass"] is True
        response = api.enter()
        assert response.status_code == 201, response.text
        assert response.json()["order"]["side"] == "BUY"
        es = api.asset()
        assert (es["intent_active"], es["intent_status"]) == (False, "CONSUMED")
        refused(api.post("/api/intent", {"asset": "ES"}), 403, "Pending order already exists", "PENDING_ORDER")
        api.claim(response.json()["order"]["id"])
        api.fill(response.json()["order"]["id"], 5000.0)
        refused(api.post("/api/intent", {"asset": "ES"}), 403, "Asset already in a trade", "POSITION_OPEN")

    def test_preorders_create_cancel_mismatch_and_trigger(self, api):
        refused(api.post("/api/preorder/cancel", {"asset": "GC"}), 400, "Unknown asset", "UNKNOWN_ASSET")
        api.ready()
        refused(api.enter(order_type="preorder"), 403, "Pre-order requires direction=BUY/SELL",
                "PREORDER_DIRECTION_REQUIRED")
        created = api.enter(order_type="PREORDER", direction="sell", entry_size_mode="9pt")
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["ok"] is True and body["preorder"] is True and "order" not in body and "state" in body
        es = api.asset()
        assert (es["preorder_active"], es["preorder_direction"], es["preorder_qty"], es["preorder_status"],
                es["preorder_trade_mode"]) == (True, "SELL", 3, "PENDING", "SCALP")
        assert api.collection("orders") == {}
        refused(api.enter(order_type="preorder", direction="SELL"), 403, "Pre-order already active", "PREORDER_ACTIVE")
        refused(api.post("/api/intent", {"asset": "ES"}), 403, "Pre-order already active", "PREORDER_ACTIVE")
        assert api.post("/api/preorder/cancel", {"asset": "ES"}).json() == {"ok": True}
        assert api.asset()["preorder_status"] == "CANCELLED_BY_USER"
        refused(api.post("/api/preorder/cancel", {"asset": "ES"}), 409, "No active pre-order", "NO_PREORDER")
        # the next 6pt bar in the other colour cancels it
        assert api.enter(order_type="preorder", direction="BUY").status_code == 201
        api.bar("/tv_renko_main", "red")
        es = api.asset()
        assert (es["preorder_active"], es["preorder_status"]) == (False, "CANCELLED")
        assert api.collection("orders") == {}
        # the time expiry (D8: INTENT_MAX_AGE_S, 900 s) ends a pre-order no bar has come for
        assert api.enter(order_type="preorder", direction="BUY").status_code == 201
        api.advance(901)
        view = api.get("/api/state").json()["assets"]["ES"]
        assert (view["preorder_active"], view["preorder_status"]) == (False, "EXPIRED")
        api.tv("/tv_heartbeat", symbol="ES", price=5000.0)
        # the next 6pt bar in its colour enters
        assert api.enter(order_type="preorder", direction="BUY", trade_mode="RUNNER").status_code == 201
        api.bar("/tv_renko_main", "green")
        es = api.asset()
        assert (es["preorder_active"], es["preorder_status"]) == (False, "FILLED")
        orders = list(api.collection("orders").values())
        assert len(orders) == 1
        order = orders[0]
        assert {k: order[k] for k in ("kind", "side", "qty", "source", "status", "trade_mode")} == {
            "kind": "ENTRY", "side": "BUY", "qty": 5, "source": "PREORDER_TRIGGER", "status": "PENDING",
            "trade_mode": "RUNNER"}
        assert es["pending_order_id"] == order["id"]
        assert api.glob()["five_min_trade_bucket"] is not None  # the trigger takes the candle


# ---- scale-in, exits and the trade-management toggles -----------------------------------------------------------

class TestPositionControls:
    def test_scale_in(self, api):
        api.ready()
        refused(api.post("/api/scale-in", {"asset": "GC"}), 400, "Unknown asset", "UNKNOWN_ASSET")
        refused(api.post("/api/scale-in", {"asset": "ES"}), 409, "No open position to scale into", "NO_POSITION")
        api.open_long(5000.0)
        refused(api.post("/api/scale-in", {"asset": "ES"}), 403, "Scale-in not available yet",
                "SCALE_IN_NOT_AVAILABLE")
        api.bar("/tv_renko_main", "green")  # a 6pt continuation bar after the fill
        es = api.asset()
        assert (es["scale_in_available"], es["scale_in_stage"]) == (True, "READY_6PT")
        response = api.post("/api/scale-in", {"asset": "ES"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["ok"] is True and "state" in body
        assert {k: body["order"][k] for k in ("side", "qty", "symbol", "source", "kind")} == {
            "side": "BUY", "qty": 5, "symbol": CONTRACT, "source": "SCALE_IN", "kind": "ENTRY"}
        refused(api.post("/api/scale-in", {"asset": "ES"}), 409, "Pending order already exists", "PENDING_ORDER")
        api.claim(body["order"]["id"])
        api.fill(body["order"]["id"], 5004.0)
        es = api.asset()
        assert es["position"] == 10 and es["avg_price"] == pytest.approx(5002.0)
        assert (es["scale_in_used"], es["scale_in_available"]) == (True, False)
        assert api.glob()["trades_taken_today"] == 1  # a scale-in is not a new trade
        refused(api.post("/api/scale-in", {"asset": "ES"}), 409, "Scale-in already used for this trade",
                "SCALE_IN_USED")

    def test_exit_exit_all_and_level_exit(self, api):
        api.ready()
        refused(api.post("/api/exit", {"asset": "GC"}), 400, "Unknown asset", "UNKNOWN_ASSET")
        refused(api.post("/api/exit", {"asset": "ES"}), 409, "No open position", "NO_POSITION")
        none = refused(api.post("/api/exit-all", {"force": True}), 409, "No open positions available to exit",
                       "NO_POSITIONS")
        assert none["skipped"] == [{"asset": "ES", "reason": "no_open_position"},
                                   {"asset": "NQ", "reason": "no_open_position"}]
        api.open_long(5000.0)
        locked = refused(api.post("/api/exit-all", {"force": False}), 409, "No open positions available to exit")
        assert {"asset": "ES", "reason": "initial_exit_lock_active"} in locked["skipped"]
        response = api.post("/api/exit-all", {})  # force defaults to true
        assert response.status_code == 201, response.text
        body = response.json()
        exit_id = api.asset()["pending_order_id"]
        assert body == {"ok": True, "orders": [{"asset": "ES", "order_id": exit_id, "side": "SELL", "qty": 5}],
                        "skipped": [{"asset": "NQ", "reason": "no_open_position"}]}
        assert api.order(exit_id)["source"] == "MANUAL_EXIT_ALL_FORCE"
        refused(api.post("/api/exit", {"asset": "ES", "force": True}), 409, "Pending order already exists",
                "PENDING_ORDER")
        assert api.tv("/tv_level_exit", asset="ES").json() == {"ok": True, "ignored": "pending_exit_exists"}
        api.claim(exit_id)
        assert api.report(exit_id, "CANCELLED").json() == {"ok": True}
        assert api.asset()["position"] == 5 and api.asset()["pending_order_id"] is None
        # a fresh 6pt bar releases the initial lock: a plain manual exit goes
        api.bar("/tv_renko_main", "green")
        manual = api.post("/api/exit", {"asset": "ES"})
        assert manual.status_code == 201, manual.text
        assert manual.json()["ok"] is True and api.order(manual.json()["order"]["id"])["source"] == "MANUAL_EXIT"
        assert api.report(manual.json()["order"]["id"], "REJECTED").json() == {"ok": True}
        level = api.tv("/tv_level_exit", symbol="CME_MINI:MES1!")
        assert level.json() == {"ok": True, "action": "exit_order_created"}
        level_order = api.order(api.asset()["pending_order_id"])
        assert (level_order["source"], level_order["side"], level_order["qty"]) == ("TV_LEVEL_EXIT", "SELL", 5)

    def test_every_toggle_endpoint(self, api):
        api.ready()
        toggles = ("/api/protect", "/api/points-take-profit", "/api/take-profit", "/api/high-next-bar-exit",
                   "/api/main-flip-exit", "/api/four-pt-invalidation", "/api/auto-exit")
        for path in toggles:
            refused(api.post(path, {"asset": "ES"}), 409, "No open position", "NO_POSITION")
            unknown = "Unknown asset GC" if path == "/api/main-flip-exit" else "Unknown asset"
            refused(api.post(path, {"asset": "GC"}), 400, unknown, "UNKNOWN_ASSET")
        api.open_long(5000.0)  # 2.5pt green: the 2.5pt management lock is on
        assert api.asset()["two_half_tp_lock_enabled"] is True
        # protect
        refused(api.post("/api/protect", {"asset": "ES", "enabled": True, "threshold": "x"}), 400,
                "Invalid protect threshold", "INVALID_THRESHOLD")
        refused(api.post("/api/protect", {"asset": "ES", "enabled": True, "threshold": 1.0}), 400,
                "Protect threshold must be either -2.0 or 0.5 points", "INVALID_THRESHOLD")
        on = api.post("/api/protect", {"asset": "ES", "enabled": True, "threshold": 0.5})
        assert on.status_code == 200
        assert {k: on.json()[k] for k in ("ok", "asset", "protect_enabled", "protect_threshold_points",
                                          "rithmic_open_points", "pending_order_id")} == {
            "ok": True, "asset": "ES", "protect_enabled": True, "protect_threshold_points": 0.5,
            "rithmic_open_points": 0.0, "pending_order_id": None}  # dormant while the 2.5pt lock is on
        assert "state" in on.json()
        assert api.post("/api/protect", {"asset": "ES"}).json()["protect_enabled"] is False  # toggled off
        # points take-profit
        refused(api.post("/api/points-take-profit", {"asset": "ES", "target": 10}), 423,
                "TP target changes locked until 2.5pt management unlocks", "TWO_HALF_LOCK")
        off = api.post("/api/points-take-profit", {"asset": "ES", "enabled": False}).json()
        assert (off["points_tp_enabled"], off["points_tp_target"]) == (False, 15.0)
        api.bar("/tv_renko_two_half", "red")  # opposite: unlocked
        refused(api.post("/api/points-take-profit", {"asset": "ES", "target": "x"}), 400, "Invalid target",
                "INVALID_TARGET")
        refused(api.post("/api/points-take-profit", {"asset": "ES", "target": 250}), 400,
                "Target must be between 0 and 200 points", "INVALID_TARGET")
        tp = api.post("/api/points-take-profit", {"asset": "ES", "enabled": True, "target": 20})
        assert tp.status_code == 200
        assert {k: tp.json()[k] for k in ("ok", "asset", "points_tp_enabled", "points_tp_target",
                                          "pending_order_id")} == {
            "ok": True, "asset": "ES", "points_tp_enabled": True, "points_tp_target": 20.0,
            "pending_order_id": None}
        assert "state" in tp.json() and api.asset()["points_tp_target"] == 20.0
        # signal-count take-profit ("6PT NEXT")
        refused(api.post("/api/take-profit", {"asset": "ES"}), 400, "No tp_arm or tp_target provided",
                "INVALID_TARGET")
        refused(api.post("/api/take-profit", {"asset": "ES", "tp_target": "x"}), 400, "Invalid value")
        refused(api.post("/api/take-profit", {"asset": "ES", "tp_target": 51}), 400,
                "TP target must be between 1 and 50")
        assert api.post("/api/take-profit", {"asset": "ES", "tp_target": 4, "reset": True}).json() == {
            "ok": True, "asset": "ES", "tp_armed": False, "tp_target": 4, "tp_count": 0}
        assert api.post("/api/take-profit", {"asset": "ES", "tp_arm": "toggle"}).json() == {
            "ok": True, "asset": "ES", "tp_armed": True, "tp_target": 1, "tp_count": 0}
        assert api.post("/api/take-profit", {"asset": "ES", "tp_arm": "toggle"}).json()["tp_armed"] is False
        # 8pt next-bar exit
        armed = api.post("/api/high-next-bar-exit", {"asset": "ES"})
        assert armed.status_code == 200
        assert armed.json()["high_next_bar_exit_enabled"] is True
        assert armed.json()["high_next_bar_exit_base_ts"] == api.asset()["high_renko_ts"]
        assert {"next_bar_exit_allowed", "high_next_bar_exit_allowed", "state"} <= set(armed.json())
        assert api.post("/api/high-next-bar-exit", {"asset": "ES"}).json()["high_next_bar_exit_enabled"] is False
        # the 2.5pt realigns and fresh 6pt / 8pt bars come: both next-bar arms are locked (423)
        api.bar("/tv_renko_two_half", "green")
        api.bar("/tv_renko_main", "green")
        api.bar("/tv_renko_high", "green")
        refused(api.post("/api/take-profit", {"asset": "ES", "tp_arm": "toggle"}), 423,
                "6pt next-bar exit locked until 2.5pt management unlocks", "TWO_HALF_LOCK")
        refused(api.post("/api/high-next-bar-exit", {"asset": "ES"}), 423,
                "8pt next-bar exit locked until 2.5pt management unlocks", "TWO_HALF_LOCK")
        # 6pt flip, 4pt invalidation, auto-exit
        flip = api.post("/api/main-flip-exit", {"asset": "ES"}).json()
        assert flip["ok"] is True and flip["main_flip_exit_enabled"] is True and "state" in flip
        assert api.post("/api/main-flip-exit", {"asset": "ES"}).json()["main_flip_exit_enabled"] is False
        assert api.post("/api/four-pt-invalidation", {"asset": "ES"}).json() == {
            "ok": True, "asset": "ES", "four_pt_invalidation_enabled": True}
        assert api.asset()["four_pt_invalidation_enabled"] is True
        assert api.post("/api/four-pt-invalidation", {"asset": "ES"}).json()["four_pt_invalidation_enabled"] is False
        assert api.post("/api/auto-exit", {"asset": "ES"}).json() == {
            "ok": True, "asset": "ES", "auto_exit_renko": "6pt"}
        assert api.asset()["pending_order_id"] is None and api.asset()["position"] == 5
        # while an order is pending
        api.force_exit()
        refused(api.post("/api/protect", {"asset": "ES"}), 409, "Pending order already exists", "PENDING_ORDER")
        refused(api.post("/api/high-next-bar-exit", {"asset": "ES"}), 409, "Pending order already exists",
                "PENDING_ORDER")
        refused(api.post("/api/main-flip-exit", {"asset": "ES"}), 409,
                "Cannot change exit toggle while order is pending", "PENDING_ORDER")


# ---- global controls ---------------------------------------------------------------------------------------------

class TestGlobalControls:
    def test_two_half_lock_env_and_trade_limit(self, api):
        lock = api.post("/api/two-half-tp-lock", {"asset": "ES", "enabled": True})
        refused(lock, 423, "Manual 2.5 lock is disabled. 2.5 lock is automatic only.")
        refused(api.post("/api/two-half-tp-lock"), 423, "Manual 2.5 lock is disabled. 2.5 lock is automatic only.")
        refused(api.post("/api/env", {"env": "PAPER"}), 400, "Invalid env value", "INVALID_ENV")
        assert api.op.post(f"{api.url}/api/env", data="LIVE", timeout=T).status_code == 400
        live = api.post("/api/env", {"env": "live"})
        assert live.status_code == 200
        assert live.json() == {"ok": True, "env": "LIVE", "rithmic_connected": False,
                               "message": "Rithmic connection OK (handled by C# bridge)."}
        assert api.glob()["env"] == "LIVE"
        api.ready()
        order_id = api.placed()
        assert api.order(order_id)["env"] == "LIVE"
        assert api.poll().json()["orders"][0]["env"] == "LIVE"
        demo = api.post("/api/env", {"env": "DEMO"}).json()
        assert demo == {"ok": True, "env": "DEMO", "rithmic_connected": False,
                        "message": "Demo mode enabled. All trades are simulated."}
        assert api.report(order_id, "REJECTED").json() == {"ok": True}
        # the daily trade limit (D3)
        for taken in range(1, 7):
            consumed = api.post("/api/trade-limit/consume")
            assert consumed.status_code == 200
            assert consumed.json() == {"ok": True, "max_trades_per_day": 6, "trades_taken_today": taken,
                                       "trades_remaining_today": 6 - taken, "daily_trade_limit_date": "2026-04-15"}
        refused(api.post("/api/trade-limit/consume"), 409, "Daily trade limit already reached", "DAILY_TRADE_LIMIT")
        assert api.glob()["trades_taken_today"] == 6
        refused(api.enter(), 409, "Daily trade limit reached", "DAILY_TRADE_LIMIT")
        assert api.gates()["daily_trade_limit"]["pass"] is False

    def test_lease_expiry_shows_stale_and_the_operator_cancels(self, api):
        api.ready()
        order_id = api.placed()
        refused(api.post("/api/orders/ES-nothing-1/cancel"), 404, "Unknown order", "UNKNOWN_ORDER")
        refused(api.post("/api/orders/XX-1/cancel"), 404, "Unknown order")  # D9: well-formed, names no order
        refused(api.post("/api/orders/XX.1/cancel"), 400, BAD_ORDER_ID)  # D15: cannot be an order id
        api.claim(order_id)
        assert api.order(order_id)["lease_owner"] == "bridge"  # the default owner
        assert api.get("/api/orders").json()["orders"][0]["status"] == "CLAIMED"
        refused(api.post(f"/api/orders/{order_id}/cancel"), 409,
                "Order is CLAIMED; only PENDING or STALE orders can be cancelled", "ORDER_NOT_CANCELLABLE")
        api.advance(201)
        listed = api.get("/api/orders").json()["orders"]
        assert [(o["id"], o["status"]) for o in listed] == [(order_id, "STALE")]
        assert api.poll().json()["orders"] == []  # never re-delivered
        cancelled = api.post(f"/api/orders/{order_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["ok"] is True and cancelled.json()["order"]["status"] == "CANCELLED"
        assert api.order(order_id)["status"] == "CANCELLED"
        assert api.asset()["pending_order_id"] is None
        # a PENDING order can be cancelled too; a FILLED one cannot
        api.bar("/tv_renko_main", "green")
        api.advance(100)
        second = api.placed()
        assert api.post(f"/api/orders/{second}/cancel").json()["order"]["status"] == "CANCELLED"
        third = api.placed()
        api.claim(third)
        api.fill(third, 5000.0)
        refused(api.post(f"/api/orders/{third}/cancel"), 409,
                "Order is FILLED; only PENDING or STALE orders can be cancelled", "ORDER_NOT_CANCELLABLE")


# ---- reads -------------------------------------------------------------------------------------------------------

class TestReads:
    def test_state_gates_session_window_history_logs_orders(self, api):
        api.ready()
        state = api.get("/api/state").json()
        assert set(state) >= {"global", "assets"} and set(state["assets"]) == {"ES", "NQ"}
        es = state["assets"]["ES"]
        assert (es["zone_type"], es["tempo_ready"], es["heartbeat_fresh"]) == ("NORMAL", True, True)
        gates = api.get("/api/gates", asset="MES1!", direction="BUY").json()
        assert gates["ok"] is True and gates["asset"] == "ES" and gates["can_enter"] is True
        assert all(set(row) == {"gate", "pass", "code", "reason", "remaining_s"} for row in gates["gates"])
        refused(api.get("/api/gates", asset="GC"), 400, "Unknown asset")
        # session window (D14): Wednesday 10:00 open, 17:30 in the daily break, Saturday closed
        window = api.get("/api/session-window").json()
        assert window["open"] is True and window["seconds_until_open"] == 0
        assert abs(window["seconds_until_close"] - (7 * 3600 - 10)) <= 3
        api.clock(1776288600.0)  # 17:30 New York
        window = api.get("/api/session-window").json()
        assert window["open"] is False and window["seconds_until_close"] == 0
        assert abs(window["seconds_until_open"] - 1800) <= 3
        api.clock(1776528000.0)  # Saturday 12:00 New York
        window = api.get("/api/session-window").json()
        assert window["open"] is False and abs(window["seconds_until_open"] - 30 * 3600) <= 3
        for moment, is_open, until_close, until_open in (
                (1776459540.0, True, 60, 0),            # Friday 16:59 New York
                (1776459600.0, False, 0, 49 * 3600),    # Friday 17:00: the weekend
                (1776635940.0, False, 0, 60),           # Sunday 17:59
                (1776636030.0, True, 23 * 3600 - 30, 0)):  # Sunday 18:00:30 until Monday 17:00
            api.clock(moment)
            window = api.get("/api/session-window").json()
            assert window["open"] is is_open, (moment, window)
            assert abs(window["seconds_until_close"] - until_close) <= 3, (moment, window)
            assert abs(window["seconds_until_open"] - until_open) <= 3, (moment, window)
        api.clock(BASE + 30)
        # orders, history and the audit log, newest first and bounded
        first = api.placed()
        api.claim(first)
        api.fill(first, 5000.0)
        exit_id = api.force_exit()
        api.claim(exit_id)
        api.fill(exit_id, 4998.0)
        row = api.history()[0]
        assert row["side"] == "LONG" and row["pnl_usd"] == pytest.approx(-50.0)
        orders = api.get("/api/orders", limit=1).json()
        assert orders["ok"] is True and [o["id"] for o in orders["orders"]] == [exit_id]
        assert api.get("/api/orders", limit="x").status_code == 400
        logs = api.get("/api/logs").json()
        assert logs["ok"] is True
        times = [e["ts"] for e in logs["events"]]
        assert times == sorted(times, reverse=True) and len(times) >= 10
        assert all("expire_at" not in e and "revs" not in e for e in logs["events"])
        types = {e["type"] for e in logs["events"]}
        assert {"place_order", "execution_report", "renko_bar", "poll_pending"} <= types, types
        limited = api.get("/api/logs", limit=3, asset="ES").json()["events"]
        assert len(limited) == 3 and all(e["asset"] == "ES" for e in limited)


class TestAutomaticExits:
    def test_each_armed_rule_fires_its_exit(self, api):
        api.ready()
        order_id = api.placed(entry_size_mode="9pt")
        assert api.order(order_id)["qty"] == 3
        api.claim(order_id)
        api.fill(order_id, 5000.0)
        assert api.asset()["position"] == 3

        def fired(source: str) -> None:
            es = api.asset()
            exit_order = api.order(es["pending_order_id"])
            assert (exit_order["source"], exit_order["kind"], exit_order["side"], exit_order["qty"]) == (
                source, "EXIT", "SELL", 3)
            assert api.report(exit_order["id"], "CANCELLED").json() == {"ok": True}
            assert api.asset()["pending_order_id"] is None and api.asset()["position"] == 3

        api.post("/api/four-pt-invalidation", {"asset": "ES"})
        api.bar("/tv_renko", "red")
        fired("EXIT_ENGINE_4PT")
        api.post("/api/four-pt-invalidation", {"asset": "ES"})
        assert api.post("/api/high-next-bar-exit", {"asset": "ES"}).json()["high_next_bar_exit_enabled"] is True
        api.bar("/tv_renko_high", "green")  # any colour: the next 8pt bar
        fired("HIGH_NEXT_BAR_EXIT")
        assert api.asset()["high_next_bar_exit_enabled"] is False
        assert api.post("/api/take-profit", {"asset": "ES", "tp_arm": "toggle"}).json()["tp_armed"] is True
        api.bar("/tv_renko_main", "green")  # releases the initial lock, then counts 1 of 1
        fired("TAKE_PROFIT")
        api.post("/api/take-profit", {"asset": "ES", "tp_arm": "toggle"})
        assert api.post("/api/main-flip-exit", {"asset": "ES"}).json()["main_flip_exit_enabled"] is True
        api.bar("/tv_renko_main", "red")
        fired("EXIT_ENGINE")
        api.post("/api/main-flip-exit", {"asset": "ES"})
        api.bar("/tv_renko_two_half", "red")  # the 2.5pt lock releases: protect may fire
        api.snapshot(50000.0, [{"symbol": CONTRACT, "position": 3, "openPnl": -30.0}])
        assert api.asset()["rithmic_open_points"] == pytest.approx(-2.0)
        protect = api.post("/api/protect", {"asset": "ES", "enabled": True, "threshold": -2.0}).json()
        assert protect["protect_enabled"] is True and protect["pending_order_id"] == api.asset()["pending_order_id"]
        fired("PROTECT")

    def test_broker_flat_twice_closes_the_trade(self, api):
        api.ready()
        api.open_long(5000.0)
        api.tv("/tv_heartbeat", symbol="ES", price=5003.0)
        api.snapshot(50000.0, [{"symbol": CONTRACT, "position": 0, "openPnl": 0.0}])
        assert api.asset()["position"] == 5 and api.history() == []  # one snapshot never moves the position
        api.snapshot(50000.0, [])  # a contract not listed counts as flat
        es = api.asset()
        assert es["position"] == 0 and es["position_mismatch"] is False
        row = api.history()[0]
        assert (row["reason"], row["exit_price"]) == ("broker_flat", 5003.0)
        assert row["pnl_usd"] == pytest.approx(75.0)
        assert 170 <= refused_like(api.enter(), 403, COOLDOWN_RE, "POST_EXIT_COOLDOWN") <= 180


PERCENT_RISK = ("ok", "max_trades_per_day", "daily_stop_enabled", "daily_stop_limit_pct", "pending",
                "pending_effective_trading_day", "trades_remaining_today")   # the original's risk settings


class TestSpecGaps:
    def test_state_carries_history_and_logs_on_request(self, api):
        """The 1 s poll stays a handful of reads; `?include=history,logs` gives the original's full shape."""
        api.ready()
        lean = api.get("/api/state").json()
        assert sorted(lean) == ["assets", "dev_clock", "global", "timers"]   # dev_clock: the local stack only
        full = api.get("/api/state?include=history,logs").json()
        assert full["history"] == [] and sorted(full["logs"]) == ["rithmic", "tradingview"]
        assert {e["type"] for e in full["logs"]["tradingview"]} <= {"renko_bar", "tv_heartbeat", "level_exit"}
        assert full["logs"]["tradingview"], "the webhooks of api.ready() are in the TradingView log"
        assert api.get("/api/state?include=secrets").status_code == 400

    def test_an_intent_set_before_any_6pt_bar_is_ready_on_the_first_one(self, api):
        api.tv("/tv_heartbeat", symbol="ES", price=5000.0)
        assert api.post("/api/intent", {"asset": "ES", "direction": "BUY"}).status_code == 201
        api.bar("/tv_renko_main", "green")
        assert api.asset()["intent_status"] == "READY"  # D8: READY on the next 6pt bar

    def test_front_month_roll_and_nq_point_value(self, api):
        api.clock(1781100000.0)  # 2026-06-10 10:00 New York: still June
        api.ready()
        june = api.placed()
        assert api.order(june)["symbol"] == "MESM6"
        assert api.post(f"/api/orders/{june}/cancel").status_code == 200
        api.clock(1781186400.0)  # 2026-06-11 10:00: 8 days before the 19 June expiry, September is front
        api.ready()
        assert api.order(api.placed())["symbol"] == "MESU6"
        api.ready("NQ", price=20000.0)
        api.advance(300)
        nq = api.placed(asset="NQ")
        assert api.order(nq)["symbol"] == "MNQU6"
        api.claim(nq)
        api.fill(nq, 20000.0)
        exit_id = api.post("/api/exit", {"asset": "NQ", "force": True}).json()["order"]["id"]
        api.claim(exit_id)
        api.fill(exit_id, 20010.0)
        row = api.history()[0]
        assert row["symbol"] == "MNQU6" and row["pnl_usd"] == pytest.approx(10 * 2.0 * 5)  # MNQ $2/pt
