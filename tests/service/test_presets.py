"""The risk presets file is data a deployment ships: a malformed one is named precisely, never half-used."""

from __future__ import annotations

import json

import pytest

from shared.service import presets as module


@pytest.fixture
def presets_file(tmp_path, monkeypatch):
    path = tmp_path / "risk_presets.json"
    monkeypatch.setattr(module, "PRESETS_FILE", path)
    module.presets.cache_clear()
    yield path
    module.presets.cache_clear()


GOOD = {"id": "p", "name": "P", "source": "S", "settings": {"daily_loss_limit_usd": 500}}


@pytest.mark.parametrize(("data", "error"), [
    ({"note": "n", "presets": [{**GOOD, "source": ""}]}, "presets[0].source: required"),
    ({"note": "n", "presets": [GOOD, GOOD]}, "presets[1].id: 'p' twice"),
    ({"note": "n", "presets": [{**GOOD, "settings": {"max_trades_per_day": 2}}]},
     "presets[0].settings.max_trades_per_day: not a preset setting"),
    ({"presets": [GOOD]}, "note: required"),
])
def test_a_malformed_file_is_named(presets_file, data, error) -> None:
    presets_file.write_text(json.dumps(data))
    with pytest.raises(module.PresetError, match=error.replace("[", r"\[").replace("]", r"\]")):
        module.presets()


def test_the_shipped_file_loads_and_a_preset_is_found_by_id() -> None:
    module.presets.cache_clear()
    assert module.preset("50k-eval-intraday")["settings"]["trailing_mode"] == "intraday"
    assert module.preset("nope") is None
