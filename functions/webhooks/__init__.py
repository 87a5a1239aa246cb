"""TradingView webhooks (§4, D6): authenticate, parse leniently, apply one bar in one unit of work."""

from __future__ import annotations

from typing import Any

from shared.domain.config import normalise_asset
from shared.domain.inputs import LevelExit, RenkoBar, TvHeartbeat
from shared.service import execute
from shared.service.http import answer
from shared.service.wiring import services
from shared.web.auth import check_shared_secret
from shared.web.errors import BadInput
from shared.web.request import json_body, to_float
from shared.web.routing import Router, annotate

router = Router()

STREAMS = {
    "/tv_renko": "4pt",
    "/tv_renko_two_half": "2.5pt",
    "/tv_renko_main": "6pt",
    "/tv_renko_high": "8pt",
    "/tv_renko_macro": "12pt",
    "/tv_renko_small": "1pt_small",
    "/tv_renko_one": "1pt_one",
}
COLORS = ("green", "red", "neutral")


def _authenticated_body(request: Any) -> dict[str, Any]:
    """A JSON object whatever the content type (D6); anything else is a 400 before the secret is looked at."""
    body = json_body(request, strict=True)
    check_shared_secret(body.get("secret"), "TV_WEBHOOK_SECRET")
    return body


def _asset(body: dict[str, Any]) -> str:
    raw = body.get("asset") or body.get("symbol")
    key = normalise_asset(raw, services().config)
    if key is None:
        shown = str(raw or "").strip().upper().rsplit(":", 1)[-1]
        raise BadInput(f"Unknown asset '{shown}'")
    return key


def _color(body: dict[str, Any]) -> str:
    color = str(body.get("color") or "").strip().lower()
    return color if color in COLORS else "neutral"


def _bar_id(body: dict[str, Any]) -> str | None:
    for name in ("bar_id", "bar_ts"):
        value = body.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()[:200]
    return None



def _renko(request: Any, stream: str) -> tuple[dict[str, Any], int]:
    body = _authenticated_body(request)
    asset = _asset(body)
    inp = RenkoBar(stream=stream, asset=asset, color=_color(body), bar_id=_bar_id(body))  # type: ignore[arg-type]
    return answer(execute(services(), inp, assets=[asset]), asset)


for _path, _stream in STREAMS.items():
    router.route("POST", _path)(lambda request, _s=_stream: _renko(request, _s))


@router.route("POST", "/tv_heartbeat")
def tv_heartbeat(request: Any) -> tuple[dict[str, Any], int]:
    body = _authenticated_body(request)
    raw = body.get("symbol") or body.get("asset")
    asset = normalise_asset(raw, services().config)
    if asset is None:
        raise BadInput(f"Unknown symbol {raw if raw is not None else ''}")
    annotate(asset=asset)
    inp = TvHeartbeat(asset=asset, price=to_float(body.get("price")), client_ts=to_float(body.get("timestamp")))
    return answer(execute(services(), inp, assets=[asset]), asset)


@router.route("POST", "/tv_level_exit")
def tv_level_exit(request: Any) -> tuple[dict[str, Any], int]:
    body = _authenticated_body(request)
    asset = _asset(body)
    return answer(execute(services(), LevelExit(asset=asset, bar_id=_bar_id(body)), assets=[asset]), asset)
