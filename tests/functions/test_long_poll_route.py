"""`GET /api/orders/pending?wait=` through the real bridge entry point over the FakeStore: the deployment's cap
(LONG_POLL_MAX_S, below the function's timeout) ends a hold whatever `wait` asks, a bad `wait` is a 400 naming it
before anything is read, and a wrong secret is refused before any wait."""

from __future__ import annotations

import time

import pytest

from tests.functions.conftest import SECRETS

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
