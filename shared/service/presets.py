"""Named risk presets (D20): data, not code. `risk_presets.json` beside this file holds each preset's settings with
the source of its figures and a note that firms change their rules; nothing in the code knows a firm. The Risk tab
applies one through `POST /api/risk` (the same ratchet as any change) and `sim.backtest --risk` reads them too."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

PRESETS_FILE = Path(__file__).with_name("risk_presets.json")
# What a preset may set: the dollar limits and their companions (the other risk settings are the trader's own).
PRESET_SETTINGS = frozenset({"daily_loss_limit_usd", "trailing_drawdown_usd", "trailing_mode", "trailing_stops_at_usd",
                             "max_loss_per_trade_usd", "warn_at_pct"})


class PresetError(ValueError):
    """The presets file is malformed: a deployment bug, named precisely."""


@lru_cache(maxsize=1)
def presets() -> dict[str, Any]:
    """The file, checked: every preset has an id, a name, a source and only known settings."""
    data = json.loads(PRESETS_FILE.read_text(encoding="utf-8"))
    seen: set[str] = set()
    for i, preset in enumerate(data.get("presets", [])):
        where = f"{PRESETS_FILE.name}: presets[{i}]"
        for key in ("id", "name", "source", "settings"):
            if not preset.get(key):
                raise PresetError(f"{where}.{key}: required")
        if preset["id"] in seen:
            raise PresetError(f"{where}.id: {preset['id']!r} twice")
        seen.add(preset["id"])
        unknown = sorted(set(preset["settings"]) - PRESET_SETTINGS)
        if unknown:
            raise PresetError(f"{where}.settings.{unknown[0]}: not a preset setting")
    if not data.get("note"):
        raise PresetError(f"{PRESETS_FILE.name}: note: required (firms change their rules)")
    return dict(data)


def preset(preset_id: str) -> dict[str, Any] | None:
    return next((p for p in presets()["presets"] if p["id"] == preset_id), None)
