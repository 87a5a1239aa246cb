"""The dashboard's figures come from the server (issue 16): each asset's contract in GET /api/state, every stream
with its route, brick size and name in GET /api/alert-templates; both from the rules' one source of each
(shared/domain/config.py CONTRACTS, shared/domain/catalog.py STREAMS). A webhook arrives on each stream's route."""

from __future__ import annotations

from typing import Any

from shared.domain.catalog import STREAMS


def test_state_gives_each_asset_its_contract(app) -> None:
    assert app.login().status_code == 200
    assets = app.client("orders").get("/api/state").get_json()["assets"]
    assert assets["ES"]["contract"] == {"root": "MES", "point_value": 5.0, "tick": 0.25}
    assert assets["NQ"]["contract"] == {"root": "MNQ", "point_value": 2.0, "tick": 0.25}


def test_the_templates_list_every_stream_with_its_brick(app) -> None:
    assert app.login().status_code == 200
    body: dict[str, Any] = app.client("orders").get("/api/alert-templates").get_json()
    assert body["streams"] == [{"stream": s.name, "path": s.route, "box": s.box, "label": s.label} for s in STREAMS]


def test_each_stream_arrives_on_its_route(app) -> None:
    assert app.login().status_code == 200
    for s in STREAMS:
        assert app.tv(s.route, asset="ES", color="green", bar_id=f"b-{s.name}").status_code == 200
        bars = app.client("orders").get(f"/api/bars?asset=ES&stream={s.name}").get_json()["bars"]
        assert [b["bar_id"] for b in bars] == [f"b-{s.name}"], s.name
