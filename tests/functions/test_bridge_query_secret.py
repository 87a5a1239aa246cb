"""Issue 22, item 7: the bridge secret in a URL (`?secret=`, the original contract) reaches Cloud Run's request
logs, so production refuses it with 400 SECRET_IN_QUERY unless ALLOW_SECRET_IN_QUERY=1 (a legacy bridge, for a
while) or LOCAL_DEV=1 (the local stack). The header and the body keep working; nothing is written on a refusal."""

from __future__ import annotations

import json

import pytest

from shared.logs import _logged_once
from tests.functions.conftest import SECRETS

BRIDGE = SECRETS["BRIDGE_HEARTBEAT_SECRET"]


@pytest.fixture(autouse=True)
def _fresh_log_once() -> None:
    _logged_once.discard("ALLOW_SECRET_IN_QUERY")


def test_production_refuses_the_secret_in_the_url(app) -> None:
    client = app.client("bridge")
    before = json.dumps(app.store.dump(), default=str)
    for response in (client.get(f"/api/orders/pending?secret={BRIDGE}"),
                     client.post(f"/api/bridge/heartbeat?secret={BRIDGE}", json={"tsConnected": True}),
                     # with the right header too: the URL still carried it into the logs
                     client.get(f"/api/orders/pending?secret={BRIDGE}", headers={"X-Bridge-Secret": BRIDGE})):
        assert response.status_code == 400, response.get_data(as_text=True)
        body = response.get_json()
        assert body["ok"] is False and body["code"] == "SECRET_IN_QUERY"
        assert "X-Bridge-Secret" in body["error"] and BRIDGE not in body["error"]
    assert json.dumps(app.store.dump(), default=str) == before, "a refusal writes nothing"
    # the header and the body are the ways in
    assert client.get("/api/orders/pending", headers={"X-Bridge-Secret": BRIDGE}).status_code == 200
    assert client.post("/api/bridge/heartbeat", json={"secret": BRIDGE, "tsConnected": True}).status_code == 200


@pytest.mark.parametrize("name", ["ALLOW_SECRET_IN_QUERY", "LOCAL_DEV"])
def test_a_legacy_bridge_or_the_local_stack_may_still_use_it(app, monkeypatch, capsys, name: str) -> None:
    monkeypatch.setenv(name, "1")
    client = app.client("bridge")
    assert client.get(f"/api/orders/pending?secret={BRIDGE}").status_code == 200
    assert client.get("/api/orders/pending?secret=wrong").status_code == 401
    warned = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "X-Bridge-Secret header" in line]
    # a legacy bridge in the cloud is told, once, to move to the header; the local stack is not nagged
    assert [w["severity"] for w in warned] == (["WARNING"] if name == "ALLOW_SECRET_IN_QUERY" else [])
    for line in warned:
        assert BRIDGE not in json.dumps(line)


def test_anything_but_1_keeps_the_refusal(app, monkeypatch) -> None:
    for value in ("0", "true", "yes", ""):
        monkeypatch.setenv("ALLOW_SECRET_IN_QUERY", value)
        assert app.client("bridge").get(f"/api/orders/pending?secret={BRIDGE}").status_code == 400, value
