"""One source for each list (issue 16): the timer kinds and the streams (shared/domain/catalog.py), the contracts'
figures (shared/domain/config.py CONTRACTS). Everything in Python derives from them; these tests hold the rules'
own tables to them, and the copies that cannot import Python (the docs, the Terraform, the dashboard's JavaScript)
too: each failure names the copy that drifted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from shared.domain import catalog, streams, timers
from shared.domain.catalog import STREAM_NAMES, STREAMS, TASK_KINDS, TIMER_KINDS
from shared.domain.config import CONTRACTS, contract_root, contract_view, default_config, point_value, tick_size
from shared.domain.inputs import RenkoBar, TimerFired

REPO = Path(__file__).resolve().parents[2]


def text(path: str) -> str:
    return (REPO / path).read_text(encoding="utf-8")


class TestTimerKinds:
    def test_every_kind_has_its_handler_and_no_handler_is_unknown(self) -> None:
        assert set(timers._HANDLERS) == set(TIMER_KINDS)
        assert len(TIMER_KINDS) == len(set(TIMER_KINDS))

    def test_an_input_takes_exactly_those_kinds(self) -> None:
        for kind in TIMER_KINDS:
            assert TimerFired(kind=kind, key="k", at=1.0).kind == kind
        for kind in (catalog.NOTIFY, "nope"):
            with pytest.raises(ValidationError):
                TimerFired(kind=kind, key="k", at=1.0)  # type: ignore[arg-type]

    def test_the_tasks_are_the_rules_kinds_and_the_delivery(self) -> None:
        assert (*TIMER_KINDS, "notify") == TASK_KINDS and get_args(catalog.DeliveryKind) == ("notify",)

    def test_the_api_document_names_every_kind(self) -> None:
        paragraph = text("docs/api.md").split("**Timers**", 1)[1].split("\n\n", 1)[0]
        named = set(re.findall(r"`([a-z][a-z_]*)`", paragraph)) - {"timers", "tick"}
        assert named == set(TASK_KINDS), "docs/api.md **Timers** lists other kinds than catalog.TASK_KINDS"

    @pytest.mark.parametrize("path", ["deploy/terraform/notify.tf", "devstack/run.py"])
    def test_the_tasks_sent_by_terraform_and_the_local_ticker_are_known_kinds(self, path: str) -> None:
        kinds = re.findall(r"""kind"?\s*[=:]\s*"(\w+)\"""", text(path))
        assert kinds and set(kinds) <= set(TASK_KINDS), (path, kinds)


class TestStreams:
    def test_the_names_the_table_and_the_handlers_agree(self) -> None:
        assert tuple(s.name for s in STREAMS) == STREAM_NAMES
        assert set(streams._STREAMS) == set(STREAM_NAMES)
        assert len({s.route for s in STREAMS}) == len(STREAMS)
        assert [s.box for s in STREAMS] == sorted(s.box for s in STREAMS)

    def test_the_derived_maps(self) -> None:
        assert {s.name: s.route for s in STREAMS} == catalog.STREAM_ROUTES
        assert {v: k for k, v in catalog.STREAM_BY_ROUTE.items()} == catalog.STREAM_ROUTES
        assert catalog.BOX_SIZES == (1.0, 2.5, 4.0, 6.0, 8.0, 12.0)
        assert catalog.STREAM_BY_BOX == {1.0: "1pt_one", 2.5: "2.5pt", 4.0: "4pt", 6.0: "6pt", 8.0: "8pt",
                                         12.0: "12pt"}

    @pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
    def test_each_streams_bar_sets_the_colour_and_time_fields_it_names(self, spec: catalog.StreamSpec) -> None:
        from builders import T0, fresh_world, run

        world = fresh_world()
        before = {name: getattr(world.assets["ES"], name) for name in (spec.color_field, spec.ts_field)}
        assert before[spec.color_field] != "green" and before[spec.ts_field] != T0
        d = run(world, RenkoBar(stream=spec.name, asset="ES", color="green", bar_id="b1"), T0)
        assert d.status == 200, d.body
        a = d.world.assets["ES"]
        assert (getattr(a, spec.color_field), getattr(a, spec.ts_field)) == ("green", T0)
        others = [s for s in STREAMS if s.color_field != spec.color_field]
        assert all(getattr(a, s.color_field) == getattr(world.assets["ES"], s.color_field) for s in others)

    def test_the_card_shows_the_first_stream_of_each_size_from_the_state_view(self) -> None:
        from builders import CONFIG, T0, fresh_world, run

        from shared.domain.view import state_view

        assert [s.name for s in catalog.CARD_STREAMS] == list(catalog.STREAM_BY_BOX.values())
        assert [s.size for s in catalog.CARD_STREAMS] == ["1pt", "2.5pt", "4pt", "6pt", "8pt", "12pt"]
        d = run(fresh_world(), RenkoBar(stream="8pt", asset="ES", color="red", bar_id="b1"), T0)
        cells = state_view(d.world, T0 + 5, CONFIG)["assets"]["ES"]["streams"]
        assert [c["size"] for c in cells] == ["1pt", "2.5pt", "4pt", "6pt", "8pt", "12pt"]
        assert cells[4] == {"stream": "8pt", "size": "8pt", "color": "red", "ts": T0}
        assert {c["color"] for c in cells[:4] + cells[5:]} == {"neutral"}

    def test_a_bar_takes_exactly_those_streams(self) -> None:
        for name in STREAM_NAMES:
            assert RenkoBar(stream=name, asset="ES", color="green").stream == name
        with pytest.raises(ValidationError):
            RenkoBar(stream="3pt", asset="ES", color="green")  # type: ignore[arg-type]

    def test_the_api_document_gives_each_route_its_brick(self) -> None:
        rows = [line for line in text("docs/api.md").splitlines() if line.startswith("| `POST /tv_renko")]
        documented: dict[str, float] = {}
        for row in rows:
            size = re.search(r"\((\d+(?:\.\d+)?)pt", row)
            assert size, row
            for route in re.findall(r"/tv_renko\w*", row.split("|")[1]):
                documented[route] = float(size.group(1))
        assert documented == {s.route: s.box for s in STREAMS}

    def test_the_glossary_gives_each_route_its_brick(self) -> None:
        entry = text("docs/glossary.md").split("**Bar / brick.**", 1)[1].split("\n\n", 1)[0]
        documented = {route: float(size) for size, routes in re.findall(r"(\d+(?:\.\d+)?)pt[^(]*\(([^)]*)\)", entry)
                      for route in re.findall(r"/tv_renko\w*", routes)}
        assert documented == {s.route: s.box for s in STREAMS}


class TestContracts:
    def test_each_asset_trades_a_contract_with_figures(self) -> None:
        config = default_config()
        for spec in config.assets.values():
            assert spec.traded_root in CONTRACTS and set(spec.roots) <= set(CONTRACTS)

    def test_roots_and_figures(self) -> None:
        assert (contract_root("MESZ6"), contract_root("ESZ6"), contract_root("mnq"), contract_root("ESA")) == (
            "MES", "ES", "MNQ", None)
        assert contract_root(None) is None and contract_root("") is None
        assert (point_value("MESZ6"), point_value("NQH7"), point_value("XYZ"), point_value(None)) == (
            5.0, 20.0, 1.0, 1.0)
        assert (tick_size("MNQZ6"), tick_size("XYZ")) == (0.25, 0.01)

    def test_what_the_dashboard_is_shown(self) -> None:
        es = default_config().assets["ES"]
        assert contract_view(es, None) == {"root": "MES", "point_value": 5.0, "tick": 0.25}
        assert contract_view(es, "ESZ6") == {"root": "ES", "point_value": 50.0, "tick": 0.25}
        odd = type(es)("XX", "Other", ("XX",), "XX")
        assert contract_view(odd, None) == {"root": "XX", "point_value": None, "tick": None}

    def test_the_documents_quote_the_point_values(self) -> None:
        quoted: list[tuple[str, str, str]] = []
        for path in ("docs/decisions.md", "docs/rules.md"):
            for root, dollars in re.findall(r"\b(M?ES|M?NQ),? \$(\d+(?:\.\d+)?)", text(path)):
                quoted.append((path, root, dollars))
        assert {root for _, root, _ in quoted} == set(CONTRACTS)
        for path, root, dollars in quoted:
            assert float(dollars) == CONTRACTS[root].point_value, (path, root, dollars)

    @pytest.mark.parametrize("path", sorted(p.name for p in (REPO / "hosting/public/js").glob("*.js")))
    def test_the_dashboard_keeps_no_table_of_its_own(self, path: str) -> None:
        """It reads each asset's `contract` and its card's colour cells (`streams`) from GET /api/state, and the
        streams' webhooks from GET /api/alert-templates."""
        source = text(f"hosting/public/js/{path}")
        for s in STREAMS:   # the card's cells: no list of the fields that hold each stream's colour and time
            assert not re.search(rf"""['"]{s.color_field}['"]\s*,\s*['"]{s.ts_field}['"]""", source), (path, s.name)
        for root, figures in CONTRACTS.items():
            assert not re.search(rf"\b{root}\s*:\s*{figures.point_value:g}\b", source), (path, root)
        for s in STREAMS:
            assert not re.search(rf"""['"]{re.escape(s.name)}['"]\s*:\s*{s.box:g}\b""", source), (path, s.name)
            assert not re.search(rf"""['"]{re.escape(s.name)}['"]\s*:\s*['"]""", source), (path, s.name)
