"""Issue 7, items 1, 3 and 6: what a hostile or broken caller sends, through the real entry points (fake adapters).

Every malformed body, string, number or path parameter answers 400 (413 for size) naming the field and writes
nothing; nothing that names or equals a secret is stored or logged; an order the bridge reported is never STALE.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import env
from shared.service import Services
from shared.service.wiring import config_from_env, install
from tests.functions.conftest import SECRETS

BRIDGE = SECRETS["BRIDGE_HEARTBEAT_SECRET"]
TV = SECRETS["TV_WEBHOOK_SECRET"]
TASK_TOKEN = "local-task-token-for-tests"


def post_raw(app: Any, target: str, path: str, data: str | bytes, **kw: Any) -> Any:
    """POST `data` as the route's legitimate caller would authenticate before the body is read: the operator's
    session (orders), the task token (timers); the shared-secret routes read the body first."""
    headers = {"X-Local-Tasks-Token": TASK_TOKEN} if target == "timers" else {}
    return app.client(target).post(path, data=data, content_type="text/plain", headers=headers, **kw)


@pytest.fixture(autouse=True)
def _callers(app, monkeypatch) -> None:
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("TASKS_LOCAL_TOKEN", TASK_TOKEN)
    # These tests send the bridge secret the original way too (`?secret=`), as a legacy bridge allowed to
    # (ALLOW_SECRET_IN_QUERY=1) does; tests/functions/test_secret_in_query.py holds production's refusal.
    monkeypatch.setenv("ALLOW_SECRET_IN_QUERY", "1")
    assert app.login().status_code == 200


def assert_400(response: Any, field: str | None = None, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] is False
    if field is not None:
        assert field in body["error"], body


def open_entry(app: Any) -> str:
    """A PENDING entry on ES (last price 5000)."""
    for path in ("/tv_renko_macro", "/tv_renko_high", "/tv_renko", "/tv_renko_two_half", "/tv_renko_main"):
        assert app.tv(path, asset="ES", color="green").status_code == 200
    assert app.tv("/tv_heartbeat", symbol="ES", price=5000.0).status_code == 200
    assert app.login().status_code == 200
    assert bridge(app, "/api/bridge/heartbeat", tsConnected=True).status_code == 200
    r = app.client("orders").post("/api/orders", json={"asset": "ES", "trade_mode": "SCALP"})
    assert r.status_code == 201, r.get_json()
    return str(r.get_json()["order"]["id"])


def bridge(app: Any, path: str, **body: Any) -> Any:
    return app.client("bridge").post(path, json={"secret": BRIDGE, **body})


def report(app: Any, order_id: str, **body: Any) -> Any:
    return bridge(app, f"/api/orders/{order_id}/execution-report", **body)


def partial(app: Any, order_id: str, fill_price: float) -> Any:
    """A partial fill of one contract (identified by its fill id, D19) at `fill_price`."""
    return report(app, order_id, status="PARTIALLY_FILLED", extra={"fill_price": fill_price, "qty": 1, "fill_id": "F1"})


ROUTES = [
    ("webhooks", "/tv_renko_main"), ("webhooks", "/tv_heartbeat"), ("webhooks", "/tv_level_exit"),
    ("bridge", "/api/bridge/heartbeat"), ("bridge", "/api/rithmic/pnl-snapshot"),
    ("bridge", "/api/orders/ES-abc-1/execution-report"), ("orders", "/api/login"), ("orders", "/api/risk"),
    ("timers", "/"),
]


class TestParser:
    @pytest.mark.parametrize(("target", "path"), ROUTES)
    def test_deep_nesting_is_a_400_before_the_secret(self, app, target, path) -> None:
        """'[' * 100000 was a RecursionError (500) before the secret was checked."""
        before = app.store.dump()
        assert_400(post_raw(app, target, path, "[" * 100_000), "larger than", status=413)
        assert_400(post_raw(app, target, path, "[" * 60_000), "nested")
        assert_400(post_raw(app, target, path, '{"a":' * 5000 + "1" + "}" * 5000), "nested")
        assert_400(post_raw(app, target, path, json.dumps({"secret": "x", "a": [[[[[[[[[[1]]]]]]]]]]})), "nested")
        assert app.store.dump() == before

    @pytest.mark.parametrize(("target", "path"), ROUTES)
    def test_a_lone_surrogate_is_a_400_naming_the_field(self, app, target, path) -> None:
        for field in ("secret", "asset", "bar_id", "fill_id", "reason", "account"):
            body = '{"' + field + '": "\\ud800", "status": "FILLED"}'
            assert_400(post_raw(app, target, path, body), f"{field}: not valid Unicode text")
        assert_400(post_raw(app, target, path, '{"\\udfff": 1}'), "not valid Unicode text")  # a key
        assert app.store.dump() == {}

    @pytest.mark.parametrize(("target", "path"), ROUTES)
    @pytest.mark.parametrize("number", ["9223372036854775808", "-9223372036854775809", "1e400", "-1e999",
                                        "NaN", "Infinity", "1" * 5000])
    def test_numbers_that_no_field_can_hold_are_a_400(self, app, target, path, number) -> None:
        assert_400(post_raw(app, target, path, '{"secret": "s", "x": ' + number + "}"), None)
        assert app.store.dump() == {}

    @pytest.mark.parametrize(("target", "path"), ROUTES)
    def test_a_body_over_64_kib_is_a_413(self, app, target, path) -> None:
        body = json.dumps({"secret": BRIDGE, "account": "A" * 1_000_000})
        assert_400(post_raw(app, target, path, body), "larger than", status=413)
        assert app.store.dump() == {}

    def test_one_structured_log_line_per_refused_request(self, app, capsys) -> None:
        capsys.readouterr()
        assert_400(post_raw(app, "bridge", "/api/bridge/heartbeat", '{"account": "\\ud800"}'))
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        (line,) = [x for x in lines if x.get("route") == "/api/bridge/heartbeat"]
        assert (line["status"], line["code"], line["outcome"]) == (400, "BAD_INPUT", "bad_input")
        assert line["error"] == "account: not valid Unicode text"  # the field, named in the log line too


class TestBridgeFields:
    def test_explicit_invalid_fill_prices_are_a_400_never_the_last_price(self, app) -> None:
        oid = open_entry(app)
        before = app.store.dump()
        for bad, text in ((1e308, "fill_price: expected a number > 0"), (-5000, "fill_price: expected a number > 0"),
                          ("abc", "fill_price: expected a number"), (0, "fill_price: expected a number > 0"),
                          (True, "fill_price: expected a number")):
            assert_400(report(app, oid, status="FILLED", extra={"fill_price": bad}), text)
        assert_400(report(app, oid, status="FILLED", avg_price="x"), "avg_price")
        assert app.store.dump() == before
        # a price outside the band of the last price (5000 ± 10 %) is a broken bridge, refused by the rule
        far = report(app, oid, status="FILLED", extra={"fill_price": 9000.0})
        assert far.status_code == 400 and far.get_json()["code"] == "FILL_PRICE_OUT_OF_BAND"
        assert app.store.dump() == before
        # D19: a missing price is no longer replaced by the last one (the original's 0.0 booked +$125,000)
        assert_400(report(app, oid, status="FILLED", extra={"qty": 5}), "fill_price: required")
        assert app.store.dump() == before

    @pytest.mark.parametrize(("field", "value", "text"), [
        ("qty", 1e30, "qty: expected a whole number between 1 and 1000"),
        ("cum_qty", 1e30, "cum_qty: expected a whole number between 1 and 1000"),
        ("qty", 0, "qty: expected a whole number between 1 and 1000"),
        ("qty", 2.5, "qty: expected a whole number"),
        ("fill_id", "x" * 201, "fill_id: longer than 200"),
        ("fill_id", ["a"], "fill_id: expected a string"),
        ("reason", "r" * 501, "reason: longer than 500"),
    ])
    def test_report_fields_are_bounded(self, app, field, value, text) -> None:
        oid = open_entry(app)
        before = app.store.dump()
        assert_400(report(app, oid, status="PARTIALLY_FILLED", extra={"fill_price": 5000.0, field: value}), text)
        assert app.store.dump() == before

    @pytest.mark.parametrize(("first", "fields", "text"), [
        (None, {"qty": 6}, "qty: 6 exceeds the 5 remaining on order "),
        (None, {"cum_qty": 6}, "cum_qty: 6 means a fill of 6, more than the 5 remaining on order "),
        (3, {"qty": 3}, "qty: 3 exceeds the 2 remaining on order "),
        (3, {"cum_qty": 6}, "cum_qty: 6 means a fill of 3, more than the 2 remaining on order "),
    ])
    def test_a_qty_beyond_the_remaining_is_a_400_naming_the_field(self, app, first, fields, text) -> None:
        # D15: a bad value (400 naming the field, nothing written, not even the audit line), no longer a 409
        oid = open_entry(app)
        if first:
            assert report(app, oid, status="PARTIALLY_FILLED", extra={"fill_price": 5000.0, "qty": first,
                                                                      "fill_id": "F1"}).status_code == 200
        before = app.store.dump()
        over = report(app, oid, status="PARTIALLY_FILLED", extra={"fill_price": 5000.0, "fill_id": "F2", **fields})
        assert_400(over)
        assert over.get_json()["code"] == "OVERFILL"
        assert over.get_json()["error"].startswith(text + oid), over.get_json()
        assert app.store.dump() == before
        # what remains is still accepted
        left = 5 - (first or 0)
        assert report(app, oid, status="FILLED", extra={"fill_price": 5000.0, "qty": left}).status_code == 200
        assert app.store.dump()["assets/ES"]["position"] == 5

    @staticmethod
    def _configure_band(app, monkeypatch, raw: str | None) -> None:
        """The deployment's FILL_PRICE_BAND_PCT as a function instance reads it at its first request."""
        if raw is None:
            monkeypatch.delenv("FILL_PRICE_BAND_PCT", raising=False)
        else:
            monkeypatch.setenv("FILL_PRICE_BAND_PCT", raw)
        install(Services(store=app.store, config=config_from_env(), clock=app.clock, scheduler=app.scheduler))

    @pytest.mark.parametrize(("raw", "inside", "outside"), [
        ("2", 5099.0, 5101.0),          # tighter than the default: 5101 (2.02 %) is refused, 10 % would take it
        ("2.5", 4875.0, 4874.0),        # fractional percent, below the last price
        ("20", 5999.0, 6001.0),         # wider: 5999 (19.98 %) is taken, the default would refuse it
        ("1", 5050.0, 5050.5),          # the tightest allowed
        ("25", 6250.0, 6251.0),         # the widest allowed
    ])
    def test_the_fill_price_band_is_configured_by_the_deployment(self, app, monkeypatch, raw, inside,
                                                                 outside) -> None:
        oid = open_entry(app)  # last price 5000
        self._configure_band(app, monkeypatch, raw)
        before = app.store.dump()
        far = partial(app, oid, outside)
        assert_400(far, f"fill_price: {outside:g} is more than {float(raw):g}% away from the last known price 5000")
        assert far.get_json()["code"] == "FILL_PRICE_OUT_OF_BAND"
        assert app.store.dump() == before
        near = partial(app, oid, inside)
        assert near.status_code == 200, near.get_json()
        assert app.store.dump()["assets/ES"]["avg_price"] == inside

    @pytest.mark.parametrize("raw", ["10 %", "abc", "0", "-3", "0.5", "26", "1e9", "nan", "inf", "-inf"])
    def test_a_bad_band_setting_keeps_the_default_and_is_logged(self, app, monkeypatch, caplog, raw) -> None:
        # a typo or an absurd value must not lift the bound (nor tighten it into refusing real fills)
        env._reported.discard(("FILL_PRICE_BAND_PCT", raw))
        with caplog.at_level(logging.WARNING, logger="shared.env"):
            self._configure_band(app, monkeypatch, raw)
        assert f"FILL_PRICE_BAND_PCT={raw!r} is not a valid value: using its default 10" in caplog.text
        oid = open_entry(app)  # last price 5000: the default 10 % band is 4500..5500
        before = app.store.dump()
        assert_400(partial(app, oid, 5501.0), "fill_price: 5501 is more than 10% away from the last known price 5000")
        assert app.store.dump() == before
        assert partial(app, oid, 5499.0).status_code == 200

    def test_no_band_setting_is_the_default(self, app, monkeypatch) -> None:
        self._configure_band(app, monkeypatch, None)
        oid = open_entry(app)
        assert_400(partial(app, oid, 4499.0), "fill_price: 4499 is more than 10% away")
        assert partial(app, oid, 4501.0).status_code == 200

    @pytest.mark.parametrize("order_id", ["ES-" + "a" * 1500, "ES-", "ES-a%20b", "es-abc-1", "...",
                                          "ES", "ES-a.b", "ES-" + "a" * 101])
    def test_malformed_order_ids_are_a_400_naming_the_field(self, app, order_id) -> None:
        # D15: an id that cannot be an order id of this deployment is a bad value; the caller's text is not echoed
        r = report(app, order_id, status="FILLED")
        assert_400(r)
        assert r.get_json()["error"].startswith("order_id: expected <asset>-<id> with the asset one of ES, NQ")
        assert "aaaa" not in r.get_json()["error"]
        assert app.login().status_code == 200
        cancel = app.client("orders").post(f"/api/orders/{order_id}/cancel")
        assert_400(cancel)
        assert cancel.get_json()["error"].startswith("order_id: ")
        assert app.store.dump() == {}

    @pytest.mark.parametrize("order_id", ["ES-abc-1", "NQ-r1-1", "ES-" + "a" * 100, "GC-abc-1", "ZZ-123"])
    def test_well_formed_unknown_order_ids_stay_404(self, app, order_id) -> None:
        # D9: a report (or a cancel) for an order that does not exist answers 404 and changes nothing
        r = report(app, order_id, status="FILLED")
        assert r.status_code == 404 and r.get_json()["error"] == "Unknown order"
        assert app.login().status_code == 200
        cancel = app.client("orders").post(f"/api/orders/{order_id}/cancel")
        assert cancel.status_code == 404 and cancel.get_json()["error"] == "Unknown order"
        assert app.store.dump() == {}

    @pytest.mark.parametrize(("entry", "text"), [
        ({"symbol": "MESZ5", "position": 1e308}, "symbols[0].position: expected a whole number"),
        ({"symbol": "MESZ5", "position": 1001}, "symbols[0].position: expected a whole number between"),
        ({"symbol": "MESZ5", "position": "abc"}, "symbols[0].position: expected a whole number"),
        ({"symbol": "MESZ5", "openPnl": 1e30}, "symbols[0].openPnl: expected a number"),
        ({"symbol": "MESZ5", "avgOpenFill": -1}, "symbols[0].avgOpenFill: expected a number > 0"),
        ({"symbol": "M" * 33}, "symbols[0].symbol: longer than 32"),
        ({"symbol": 5}, "symbols[0].symbol: expected a string"),
        ("MESZ5", "symbols[0]: expected an object"),
    ])
    def test_snapshot_symbols_are_broker_plausible(self, app, entry, text) -> None:
        assert_400(bridge(app, "/api/rithmic/pnl-snapshot", symbols=[entry]), text)
        assert app.store.dump() == {}

    @pytest.mark.parametrize(("field", "value"), [("accountBalance", 1e308), ("accountBalance", -1e308),
                                                  ("accountBalance", 2e9), ("realized", "abc"),
                                                  ("unrealized", 1e10), ("symbols", "MESZ5")])
    def test_snapshot_money_is_broker_plausible(self, app, field, value) -> None:
        """1e308 then -1e308 used to trigger the daily stop ("Drawdown inf%")."""
        assert_400(bridge(app, "/api/rithmic/pnl-snapshot", **{field: value}), field)
        assert app.store.dump() == {}

    def test_too_many_symbols(self, app) -> None:
        assert_400(bridge(app, "/api/rithmic/pnl-snapshot", symbols=[{"symbol": "MESZ5"}] * 65), "symbols")


class TestWebhooksAndOperator:
    @pytest.mark.parametrize(("field", "value", "text"), [
        ("price", "abc", "price: expected a number"), ("price", -1, "price: expected a number > 0"),
        ("price", 1e30, "price: expected a number"), ("timestamp", "x", "timestamp: expected a number"),
        ("symbol", "S" * 65, "symbol: longer than 64"),
    ])
    def test_tv_heartbeat_fields(self, app, field, value, text) -> None:
        assert_400(app.tv("/tv_heartbeat", **{"symbol": "ES", "price": 5000.0, field: value}), text)
        assert app.store.dump() == {}

    @pytest.mark.parametrize(("field", "value", "text"), [
        ("bar_id", "b" * 201, "bar_id: longer than 200"), ("bar_id", {"a": 1}, "bar_id: expected a string"),
        ("color", ["green"], "color: expected a string"), ("asset", "A" * 65, "asset: longer than 64"),
    ])
    def test_renko_fields(self, app, field, value, text) -> None:
        assert_400(app.tv("/tv_renko_main", **{"asset": "ES", "color": "green", field: value}), text)
        assert app.store.dump() == {}

    @pytest.mark.parametrize(("path", "body", "text"), [
        ("/api/points-take-profit", {"asset": "ES", "enabled": True, "target": 10**30}, "target: number out of range"),
        ("/api/points-take-profit", {"asset": "ES", "enabled": True, "target": 1e30}, "target: expected"),
        ("/api/points-take-profit", {"asset": "ES", "target": [1]}, "target: expected"),
        ("/api/points-take-profit", {"asset": "ES", "target": "9" * 40}, "target: longer than 32"),
        ("/api/points-take-profit", {"asset": "ES", "enabled": "maybe"}, "enabled: expected true or false"),
        ("/api/protect", {"asset": "ES", "threshold": -1e300}, "threshold: expected"),
        ("/api/take-profit", {"asset": "ES", "tp_target": 1e20}, "tp_target: expected"),
        ("/api/orders", {"asset": "ES", "direction": "B" * 33}, "direction: longer than 32"),
        ("/api/orders", {"asset": "ES", "trade_mode": {"a": 1}}, "trade_mode: expected a string"),
        ("/api/intent", {"asset": "E" * 33, "direction": "BUY"}, "asset: longer than 32"),
        ("/api/env", {"env": "L" * 33}, "env: longer than 32"),
        ("/api/exit-all", {"force": "maybe"}, "force: expected true or false"),
        ("/api/exit", {"asset": "ES", "force": [1]}, "force: expected true or false"),
        ("/api/take-profit", {"asset": "ES", "tp_target": 3, "reset": "x"}, "reset: expected true or false"),
        ("/api/orders", {"asset": "ES", "entry_override": {"a": 1}}, "entry_override: expected true or false"),
    ])
    def test_operator_fields_are_a_400_even_when_flat(self, app, path, body, text) -> None:
        """The integer target 10^30 was a 500 even when flat (it reached the audit record)."""
        assert app.login().status_code == 200
        assert_400(app.client("orders").post(path, json=body), text)
        assert app.store.dump() == {}

    def test_logs_asset_filter_is_checked(self, app) -> None:
        """A 1,500-character asset answered 503 "retry": bad input labelled retryable."""
        assert app.login().status_code == 200
        r = app.client("orders").get("/api/logs?asset=" + "A" * 1500)
        assert_400(r, "asset")
        assert_400(app.client("orders").get("/api/logs?asset=GC"), "asset: unknown asset")
        assert app.client("orders").get("/api/logs?asset=es").status_code == 200


class TestTimers:
    def fire(self, app: Any, body: Any) -> Any:
        return app.client("timers").post("/", json=body, headers={"X-Local-Tasks-Token": TASK_TOKEN})

    @pytest.mark.parametrize("body", [
        {"kind": "lease_end", "key": "", "at": 1},
        {"kind": "lease_end", "key": "ES-" + "a" * 300, "at": 1},
        {"kind": "lease_end", "key": "orders/x", "at": 1},
        {"kind": "lease_end", "key": "GC-abc-1", "at": 1},
        {"kind": "candle_lock_end", "key": "a/b", "at": 1},
        {"kind": "cooldown_end", "key": "1", "at": True},
        {"kind": "cooldown_end", "key": "1", "at": 1e300},
        {"kind": "cooldown_end", "key": "1", "at": -5},
    ])
    def test_malformed_timer_callbacks_are_a_400(self, app, body) -> None:
        assert_400(self.fire(app, body))
        assert app.store.dump() == {}

    def test_a_well_formed_callback_still_runs(self, app) -> None:
        r = self.fire(app, {"kind": "lease_end", "key": "ES-abc-1", "at": 1})
        assert r.status_code == 200, r.get_json()


class TestSecrets:
    def test_heartbeat_keeps_known_fields_and_drops_secret_named_ones(self, app) -> None:
        r = bridge(app, "/api/bridge/heartbeat", tsConnected=True, account="A1", password="hunter2-hunter2",
                   token="tok-123456", apiKey="key-123456", SECRET="s-123456", bridge="rithmic-unified-bridge",
                   version="v1", x=1)
        assert r.status_code == 200
        stored = app.store.dump()
        info = stored["console/global"]["rithmic_bridge"]
        assert set(info) <= {"tsConnected", "mdConnected", "repoOk", "account", "tradeRoute", "exchange",
                             "lastRapiEventUtc", "lastOrdersPollUtc", "lastOrdersOkUtc", "lastPnlMsgUtc", "note",
                             "server_received_ts", "capabilities"}
        assert info["account"] == "A1" and info["tsConnected"] is True
        text = json.dumps(stored, default=str)
        for value in ("hunter2-hunter2", "tok-123456", "key-123456", "s-123456", "rithmic-unified-bridge"):
            assert value not in text

    @pytest.mark.parametrize(("field", "value"), [("account", "A" * 101), ("note", "n" * 501),
                                                  ("tsConnected", "maybe"), ("account", 5)])
    def test_heartbeat_fields_are_bounded(self, app, field, value) -> None:
        """A 1,000,000-character account was stored on console/global (then /api/state weighed 1 MB)."""
        assert_400(bridge(app, "/api/bridge/heartbeat", **{field: value}), field)
        assert app.store.dump() == {}

    def test_a_secret_value_in_any_field_is_masked_before_it_is_stored(self, app) -> None:
        oid = open_entry(app)
        assert bridge(app, "/api/bridge/heartbeat", account=BRIDGE, note=f"x {TV} y").status_code == 200
        assert app.client("bridge").get(f"/api/orders/pending?owner={BRIDGE}",
                                         headers={"X-Bridge-Secret": BRIDGE}).status_code == 200
        assert report(app, oid, status="WORKING", fill_id=BRIDGE, reason=TV).status_code == 200
        assert app.tv("/tv_renko_small", asset="ES", color="red", bar_id=TV).status_code == 200
        refused = app.client("orders").post("/api/intent", json={"asset": "ES",
                                                                 "direction": SECRETS["DASHBOARD_PASSWORD"]})
        assert 400 <= refused.status_code < 500
        again = app.client("orders").post("/api/orders", json={"asset": "ES", "trade_mode": "SCALP",
                                                                "direction": SECRETS["SESSION_SECRET"]})
        assert 400 <= again.status_code < 500
        text = json.dumps(app.store.dump(), default=str)
        for name, secret in SECRETS.items():
            assert secret not in text, name
        assert "[REDACTED]" in text

    def test_the_bridge_may_send_its_secret_in_a_header(self, app) -> None:
        oid = open_entry(app)
        client = app.client("bridge")
        headers = {"X-Bridge-Secret": BRIDGE}
        assert client.get("/api/orders/pending", headers=headers).get_json()["orders"][0]["id"] == oid
        assert client.post("/api/bridge/heartbeat", json={"tsConnected": True}, headers=headers).status_code == 200
        r = client.post(f"/api/orders/{oid}/execution-report", json={"status": "WORKING"}, headers=headers)
        assert r.status_code == 200
        assert client.post("/api/rithmic/pnl-snapshot", json={}, headers=headers).status_code == 200
        wrong = client.post("/api/bridge/heartbeat", json={}, headers={"X-Bridge-Secret": "nope"})
        assert wrong.status_code == 401
        # the query string still works (the original's poll)
        assert client.get(f"/api/orders/pending?secret={BRIDGE}").status_code == 200

    def test_no_secret_reaches_a_log_line(self, app, capsys) -> None:
        oid = open_entry(app)
        client = app.client("bridge")
        client.get(f"/api/orders/pending?secret={BRIDGE}&owner={BRIDGE}")
        client.post(f"/api/orders/{oid}/execution-report?secret={BRIDGE}",
                    json={"status": "WORKING", "fill_id": TV, "password": BRIDGE})
        client.post("/api/bridge/heartbeat", json={"secret": BRIDGE, "account": BRIDGE, "token": TV})
        post_raw(app, "bridge", "/api/bridge/heartbeat", '{"secret": "' + BRIDGE + '", "account": "\\ud800"}')
        out = capsys.readouterr().out
        assert out.strip()
        for name, secret in SECRETS.items():
            assert secret not in out, name


class TestOrderLifecycle:
    def test_a_working_order_is_never_stale_and_not_cancellable_locally(self, app) -> None:
        oid = open_entry(app)
        client = app.client("bridge")
        assert client.get(f"/api/orders/pending?secret={BRIDGE}").status_code == 200
        assert report(app, oid, status="WORKING").status_code == 200
        app.clock.now += 10_000
        orders = app.client("orders")
        assert app.login().status_code == 200
        (row,) = [o for o in orders.get("/api/orders").get_json()["orders"] if o["id"] == oid]
        assert row["status"] == "WORKING"
        r = orders.post(f"/api/orders/{oid}/cancel")
        assert r.status_code == 409 and r.get_json()["code"] == "ORDER_LIVE_AT_BROKER"
        assert "at the broker" in r.get_json()["error"]
        assert app.store.dump()[f"orders/{oid}"]["status"] == "WORKING"

    def test_a_claimed_order_without_report_still_goes_stale(self, app) -> None:
        oid = open_entry(app)
        assert app.client("bridge").get(f"/api/orders/pending?secret={BRIDGE}").status_code == 200
        app.clock.now += 201
        orders = app.client("orders")
        assert app.login().status_code == 200
        (row,) = [o for o in orders.get("/api/orders").get_json()["orders"] if o["id"] == oid]
        assert row["status"] == "STALE"
        assert orders.post(f"/api/orders/{oid}/cancel").status_code == 200

    def test_the_asset_filter_of_the_log_shows_reports_cancels_and_snapshots(self, app, capsys) -> None:
        oid = open_entry(app)
        assert report(app, oid, status="PARTIALLY_FILLED", extra={"qty": 2, "fill_price": 5000.0,
                                                                         "fill_id": "F1"}).status_code == 200
        assert report(app, oid, status="REJECTED", reason="no margin").status_code == 200
        snap = bridge(app, "/api/rithmic/pnl-snapshot", accountBalance=50_000,
                      symbols=[{"symbol": "MESZ5", "position": 2}, {"symbol": "MNQZ5", "position": 0}])
        assert snap.status_code == 200
        assert app.login().status_code == 200
        es = app.client("orders").get("/api/logs?asset=ES").get_json()["events"]
        types = [e["type"] for e in es]
        assert types.count("execution_report") == 2 and "pnl_snapshot" in types and "place_order" in types
        statuses = {e["input"]["status"] for e in es if e["type"] == "execution_report"}
        assert statuses == {"PARTIALLY_FILLED", "REJECTED"}
        nq = app.client("orders").get("/api/logs?asset=NQ").get_json()["events"]
        assert [e["type"] for e in nq] == ["pnl_snapshot"]  # the snapshot listed NQ too
        assert all("ES" in e["assets"] for e in es)
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
        request_assets = {x["route"]: x["asset"] for x in lines if "route" in x}
        assert request_assets["/api/orders/<order_id>/execution-report"] == "ES"
        assert request_assets["/api/rithmic/pnl-snapshot"] == "ES,NQ"  # the request log line names them too


# ---- random bodies (property): no input is a 5xx, and bad input writes nothing ------------------------------------

FIELDS = ["asset", "symbol", "color", "bar_id", "bar_ts", "price", "timestamp", "status", "qty", "cum_qty",
          "fill_price", "avg_price", "fill_id", "reason", "extra", "tsConnected", "account", "note", "realized",
          "unrealized", "accountBalance", "symbols", "position", "openPnl", "avgOpenFill", "enabled", "target",
          "threshold", "tp_target", "tp_arm", "reset", "force", "direction", "trade_mode", "order_type",
          "entry_size_mode", "entry_override", "env", "max_trades_per_day", "daily_stop_limit_pct",
          "daily_stop_enabled", "kind", "key", "at", "password", "token"]
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
           | st.sampled_from(["ES", "MESZ5", "green", "FILLED", "WORKING", "PARTIALLY_FILLED", "\ud800", "1e308",
                              "x" * 300, "", " ", "true", "5000"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4),
                      max_leaves=12)
BODIES = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6)
POSTS = [("webhooks", p) for p in ("/tv_renko", "/tv_renko_main", "/tv_heartbeat", "/tv_level_exit")] + [
    ("bridge", p) for p in ("/api/bridge/heartbeat", "/api/rithmic/pnl-snapshot",
                            "/api/orders/ES-abc-1/execution-report")] + [
    ("orders", p) for p in ("/api/orders", "/api/intent", "/api/exit", "/api/exit-all", "/api/protect",
                            "/api/points-take-profit", "/api/take-profit", "/api/env", "/api/risk",
                            "/api/orders/ES-abc-1/cancel", "/api/scale-in")] + [("timers", "/")]
NOTHING_WRITTEN = {400, 401, 404, 413}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(POSTS), body=BODIES)
def test_random_bodies_never_answer_5xx(app, route, body) -> None:
    target, path = route
    secret = BRIDGE if target == "bridge" else TV
    data = json.dumps({"secret": secret, **body}, ensure_ascii=True)  # NaN/Infinity tokens and \ud800 escapes
    before = app.store.dump()
    r = post_raw(app, target, path, data)
    assert r.status_code < 500, (path, data[:300], r.get_data(as_text=True)[:300])
    if r.status_code in NOTHING_WRITTEN:
        assert app.store.dump() == before, (path, data[:300])
