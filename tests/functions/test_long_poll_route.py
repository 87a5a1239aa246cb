"""`GET /api/orders/pending?wait=` through the real bridge entry point over the FakeStore: the deployment's cap
(LONG_POLL_MAX_S, below the function's timeout) ends a hold whatever `wait` asks, a bad `wait` is a 400 naming it
before anything is read, a wrong secret is refused before any wait, and a client that hung up before the first
claim (gunicorn's `gunicorn.socket`, here a real socket whose peer is closed) claims nothing."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from shared.service.long_poll import watch_for
from shared.service.wiring import services
from tests.functions.conftest import SECRETS
from tests.service.test_long_poll import _place, _ready
from tests.waiting import until

HEADERS = {"X-Bridge-Secret": SECRETS["BRIDGE_HEARTBEAT_SECRET"]}


def test_the_cap_ends_a_hold_before_the_function_times_out(app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONG_POLL_MAX_S", "0.4")
    client = app.client("bridge")
    client.get("/api/orders/pending", headers=HEADERS)  # the trading day exists
    started = time.monotonic()
    response = client.get("/api/orders/pending?wait=50", headers=HEADERS)
    took = time.monotonic() - started
    assert response.status_code == 200 and response.get_json() == {"ok": True, "orders": []}
    assert 0.35 <= took < 2.0


@pytest.mark.parametrize("wait", ["-0.5", "50.001", "soon", "NaN", "-inf"])
def test_a_bad_wait_is_a_400_naming_it_and_reads_nothing(app, wait: str) -> None:
    client = app.client("bridge")
    with app.store.counting() as stats:
        response = client.get(f"/api/orders/pending?wait={wait}", headers=HEADERS)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("wait: expected seconds between 0 and 50")
    assert stats.reads == 0 and stats.writes == 0


def test_a_wrong_secret_is_refused_at_once(app) -> None:
    started = time.monotonic()
    response = app.client("bridge").get("/api/orders/pending?wait=30", headers={"X-Bridge-Secret": "nope"})
    assert response.status_code == 401 and time.monotonic() - started < 2.0


def test_a_client_gone_before_the_first_claim_leaves_the_order_pending(app) -> None:
    client = app.client("bridge")
    _ready(services())
    order_id = _place(services())
    server_end, client_end = socket.socketpair()
    client_end.close()  # the bridge hung up while its request waited for a thread
    try:
        gone = client.get("/api/orders/pending?wait=20&owner=gone", headers=HEADERS,
                          environ_overrides={"gunicorn.socket": server_end})
    finally:
        server_end.close()
    assert gone.status_code == 499 and "orders" not in gone.get_json()
    assert app.store.dump()[f"orders/{order_id}"]["status"] == "PENDING"
    live_end, peer = socket.socketpair()  # a client still connected is served as before
    try:
        got = client.get("/api/orders/pending?wait=20&owner=bridge-b", headers=HEADERS,
                         environ_overrides={"gunicorn.socket": live_end})
    finally:
        live_end.close()
        peer.close()
    assert [o["id"] for o in got.get_json()["orders"]] == [order_id]
    assert app.store.dump()[f"orders/{order_id}"]["lease_owner"] == "bridge-b"


def test_a_poll_beyond_the_held_bound_is_a_429_at_once_and_reads_nothing(app, monkeypatch) -> None:
    monkeypatch.setenv("LONG_POLL_MAX_HELD", "1")
    client = app.client("bridge")
    client.get("/api/orders/pending", headers=HEADERS)  # the trading day exists
    watch = watch_for(services().store)
    first: dict = {}
    holder = threading.Thread(target=lambda: first.update(r=app.client("bridge").get(
        "/api/orders/pending?wait=3&owner=held", headers=HEADERS)))
    holder.start()
    assert until(lambda: watch.waiters == 1)
    with app.store.counting() as stats:
        refused = client.get("/api/orders/pending?wait=20&owner=extra", headers=HEADERS)
    assert refused.status_code == 429 and refused.get_json()["code"] == "TOO_MANY_HELD"
    assert refused.get_json()["error"].startswith("wait:") and int(refused.headers["Retry-After"]) >= 1
    assert stats.reads == 0 and stats.writes == 0
    assert client.get("/api/orders/pending", headers=HEADERS).status_code == 200  # the plain poll is not bounded
    holder.join(30)
    assert first["r"].status_code == 200 and first["r"].get_json()["orders"] == []
