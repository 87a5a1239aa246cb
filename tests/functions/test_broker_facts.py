"""D19 through the real entry points over the fake store: a commit whose answer is lost is settled before the
answer (or answered 503 OUTCOME_UNKNOWN, never "nothing was written"), a re-sent fill counts once, and an operator
command's Idempotency-Key answers a repeat with the first outcome."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shared.service.idempotency import KEEP_S
from tests.functions.test_hostile_input import BRIDGE, TASK_TOKEN, assert_400, open_entry, report


@pytest.fixture(autouse=True)
def _callers(app, monkeypatch) -> None:
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("TASKS_LOCAL_TOKEN", TASK_TOKEN)
    assert app.login().status_code == 200


def position(app: Any) -> int:
    return int(app.store.dump()["assets/ES"].get("position", 0))


def fill_events(app: Any, order_id: str) -> list[dict[str, Any]]:
    return [doc for path, doc in app.store.dump().items() if path.startswith("events/")
            and doc["input"].get("order_id") == order_id and doc["input"].get("status") == "FILLED"]


def claimed(app: Any) -> str:
    oid = open_entry(app)
    assert app.client("bridge").get("/api/orders/pending", headers={"X-Bridge-Secret": BRIDGE}).status_code == 200
    return oid


class TestLostCommitAnswers:
    @pytest.mark.parametrize("fault", ["applied", "lost"])
    def test_a_lost_answer_is_settled_and_the_fill_applied_once(self, app, fault) -> None:
        oid = claimed(app)
        app.store.commit_faults.append(fault)
        r = report(app, oid, status="FILLED", fill_price=5001.0, fill_id="F1")
        assert r.status_code == 200 and r.get_json() == {"ok": True}
        assert position(app) == 5 and len(fill_events(app, oid)) == 1

    @pytest.mark.parametrize("fault", ["applied_then_down", "lost_then_down"])
    def test_an_unknown_outcome_says_so_and_the_resent_fill_counts_once(self, app, fault) -> None:
        oid = claimed(app)
        app.store.commit_faults.append(fault)
        r = report(app, oid, status="PARTIALLY_FILLED", cum_qty=2, fill_price=5001.0)
        body = r.get_json()
        assert r.status_code == 503 and body["code"] == "OUTCOME_UNKNOWN"
        assert "nothing was written" not in body["error"] and body["request_id"] in body["error"]
        assert r.headers["Retry-After"]
        app.store.unavailable = False
        again = report(app, oid, status="PARTIALLY_FILLED", cum_qty=2, fill_price=5001.0)
        assert again.status_code == 200
        assert again.get_json() == ({"ok": True, "duplicate": True} if fault == "applied_then_down" else {"ok": True})
        assert position(app) == 2
        order = app.store.dump()[f"orders/{oid}"]
        assert (order["filled_qty"], order["status"]) == (2, "PARTIALLY_FILLED")

    def test_storage_down_before_any_commit_still_says_nothing_was_written(self, app) -> None:
        oid = claimed(app)
        app.store.unavailable = True
        r = report(app, oid, status="FILLED", fill_price=5001.0)
        assert r.status_code == 503 and "nothing was written" in r.get_json()["error"]
        assert "code" not in r.get_json() or r.get_json()["code"] != "OUTCOME_UNKNOWN"


class TestLateFillsOverHttp:
    def test_a_fill_after_the_bridges_own_cancel_opens_the_position_and_can_be_exited(self, app) -> None:
        oid = claimed(app)
        assert report(app, oid, status="CANCELLED").status_code == 200
        r = report(app, oid, status="FILLED", fill_price=5001.0)
        assert r.status_code == 200 and position(app) == 5
        late = [d for doc in app.store.dump().values() for d in doc.get("decisions", [])
                if d["code"] == "LATE_FILL"]
        assert len(late) == 1 and late[0]["detail"]["after"] == "CANCELLED"
        exit_order = app.client("orders").post("/api/exit", json={"asset": "ES", "force": True})
        assert exit_order.status_code == 201, exit_order.get_json()
        assert app.client("orders").post("/api/exit-all", json={}).get_json().get("code") != "NO_POSITION"

    def test_a_filled_report_without_a_price_is_a_400_naming_the_field(self, app) -> None:
        oid = claimed(app)
        before = app.store.dump()
        assert_400(report(app, oid, status="FILLED"), "fill_price: required")
        assert_400(report(app, oid, status="FILLED", extra={"fill_price": None}), "fill_price: required")
        assert app.store.dump() == before

    def test_a_partial_fill_without_fill_id_or_cum_qty_is_a_400(self, app) -> None:
        oid = claimed(app)
        before = app.store.dump()
        assert_400(report(app, oid, status="PARTIALLY_FILLED", qty=2, fill_price=5000.0), "fill_id or cum_qty")
        assert app.store.dump() == before


def post(app: Any, path: str, key: str | None, **body: Any) -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return app.client("orders").post(path, json=body, headers=headers)


def orders_in_store(app: Any) -> list[str]:
    return [p for p in app.store.dump() if p.startswith("orders/")]


def audit_lines(app: Any, type_: str) -> int:
    return sum(1 for p, d in app.store.dump().items() if p.startswith("events/") and d["type"] == type_)


class TestIdempotencyKey:
    def ready(self, app: Any) -> None:
        for path in ("/tv_renko_macro", "/tv_renko_high", "/tv_renko", "/tv_renko_two_half", "/tv_renko_main"):
            assert app.tv(path, asset="ES", color="green").status_code == 200
        assert app.tv("/tv_heartbeat", symbol="ES", price=5000.0).status_code == 200
        assert app.client("bridge").post("/api/bridge/heartbeat",
                                         json={"secret": BRIDGE, "tsConnected": True}).status_code == 200

    def test_a_repeated_entry_answers_the_first_outcome_and_creates_one_order(self, app) -> None:
        self.ready(app)
        first = post(app, "/api/orders", "click-1", asset="ES", trade_mode="SCALP")
        assert first.status_code == 201
        events = audit_lines(app, "place_order")
        again = post(app, "/api/orders", "click-1", asset="ES", trade_mode="SCALP")
        assert (again.status_code, again.get_json()["order"]) == (201, first.get_json()["order"])
        assert len(orders_in_store(app)) == 1 and audit_lines(app, "place_order") == events
        # a new click (a new key) is judged afresh: the pending order now refuses it
        other = post(app, "/api/orders", "click-2", asset="ES", trade_mode="SCALP")
        assert other.status_code in (403, 409, 423) and len(orders_in_store(app)) == 1

    def test_a_refusal_is_answered_again_even_after_the_world_changed(self, app) -> None:
        refused = post(app, "/api/orders", "click-1", asset="ES", trade_mode="SCALP")
        assert refused.status_code in (403, 409, 423)
        self.ready(app)
        again = post(app, "/api/orders", "click-1", asset="ES", trade_mode="SCALP")
        assert (again.status_code, again.get_json()) == (refused.status_code, refused.get_json())
        assert orders_in_store(app) == []

    def test_the_key_is_scoped_to_its_route_and_kept_for_a_day(self, app) -> None:
        assert post(app, "/api/trade-limit/consume", "k").status_code == 200
        assert post(app, "/api/trade-limit/consume", "k").status_code == 200
        assert app.store.dump()["console/global"]["trades_taken_today"] == 1
        assert audit_lines(app, "consume_trade_limit") == 1
        assert post(app, "/api/env", "k", env="DEMO").status_code == 200  # another route, same key: its own
        assert audit_lines(app, "set_env") == 1
        app.clock.now += KEEP_S - 1
        assert post(app, "/api/trade-limit/consume", "k").status_code == 200
        assert audit_lines(app, "consume_trade_limit") == 1
        app.clock.now += 1
        assert post(app, "/api/trade-limit/consume", "k").status_code == 200
        assert audit_lines(app, "consume_trade_limit") == 2

    @pytest.mark.parametrize("key", ["", "x" * 201, "caf\u00e9", " padded ", "tab\there"])
    def test_a_bad_key_is_a_400_naming_the_header_and_writes_nothing(self, app, key) -> None:
        before = app.store.dump()
        assert_400(post(app, "/api/trade-limit/consume", key), "Idempotency-Key")
        assert app.store.dump() == before

    def test_concurrent_clicks_with_one_key_create_one_order(self, app) -> None:
        self.ready(app)
        answers: list[Any] = []

        def click() -> None:
            answers.append(post(app, "/api/orders", "same", asset="ES", trade_mode="SCALP"))

        threads = [threading.Thread(target=click) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [201] * 6
        assert len({a.get_json()["order"]["id"] for a in answers}) == 1 and len(orders_in_store(app)) == 1

    def test_a_lost_answer_then_the_same_key_gives_the_first_outcome(self, app) -> None:
        self.ready(app)
        app.store.commit_faults.append("applied_then_down")
        lost = post(app, "/api/orders", "click-9", asset="ES", trade_mode="SCALP")
        assert lost.status_code == 503 and lost.get_json()["code"] == "OUTCOME_UNKNOWN"
        app.store.unavailable = False
        again = post(app, "/api/orders", "click-9", asset="ES", trade_mode="SCALP")
        assert again.status_code == 201 and len(orders_in_store(app)) == 1


def test_the_log_of_one_frozen_second_comes_back_newest_first(app) -> None:
    """Issue 16 item 6: `ts` is the (here frozen) decision time and ties; the log orders by commit. A record from
    before events carried their sequence still shows, after the sequenced ones."""
    app.store.put("events/old", {"request_id": "old", "ts": app.clock.now - 60, "type": "set_env", "asset": None,
                                 "input": {"type": "set_env", "env": "OLD"}, "status": 200, "decisions": []})
    for n in range(1, 8):
        assert post(app, "/api/env", None, env="DEMO" if n % 2 else "LIVE").status_code == 200
    events = app.client("orders").get("/api/logs?limit=100").get_json()["events"]
    envs = [e["input"]["env"] for e in events if e["type"] == "set_env"]
    assert envs == ["DEMO" if n % 2 else "LIVE" for n in range(7, 0, -1)] + ["OLD"]
    assert len({e["ts"] for e in events[:-1]}) == 1 and "seq" not in events[0]
