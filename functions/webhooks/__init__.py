"""TradingView webhooks (§4, D6): authenticate, parse leniently, apply one bar in one unit of work."""

from __future__ import annotations

from typing import Any

from shared.domain.catalog import STREAM_BY_ROUTE
from shared.domain.config import normalise_asset
from shared.domain.inputs import LevelExit, RenkoBar, TvHeartbeat
from shared.errors import BadInput
from shared.logs import annotate, mask_secrets
from shared.service import execute
from shared.service.http import answer
from shared.service.wiring import services
from shared.web.auth import check_shared_secret
from shared.web.request import bounded_number, bounded_str, id_text, json_body, price
from shared.web.routing import Router

router = Router()

STREAMS = STREAM_BY_ROUTE   # webhook route → stream
COLORS = ("green", "red", "neutral")
MAX_ASSET = 64  # "CME_MINI:MESZ2026" and the like
MAX_EPOCH = 1e13  # TradingView's {{timenow}} in seconds or milliseconds


def _authenticated_body(request: Any) -> dict[str, Any]:
    """A JSON object whatever the content type (D6); anything else is a 400 before the secret is looked at. What
    the handlers read next is masked: a caller's secret in `bar_id` is never stored."""
    body = json_body(request, strict=True)
    check_shared_secret(body.get("secret"), "TV_WEBHOOK_SECRET")
    return mask_secrets(body)  # type: ignore[no-any-return]


def _raw_asset(body: dict[str, Any], *names: str) -> str | None:
    for name in names:
        if body.get(name):
            return bounded_str(body, name, MAX_ASSET)
    return None


def _asset(body: dict[str, Any]) -> str:
    raw = _raw_asset(body, "asset", "symbol")
    key = normalise_asset(raw, services().config)
    if key is None:
        shown = str(raw or "").strip().upper().rsplit(":", 1)[-1]
        raise BadInput(f"Unknown asset '{shown}'")
    return key


def _color(body: dict[str, Any]) -> str:
    """§4: any colour but green or red is neutral (the original's rule); only its type and size are checked."""
    color = (bounded_str(body, "color", 32) or "").lower()
    return color if color in COLORS else "neutral"


def _bar_id(body: dict[str, Any]) -> str | None:
    bar_id = id_text(body, "bar_id", 200)
    return bar_id if bar_id else id_text(body, "bar_ts", 200)


def _renko(request: Any, stream: str) -> tuple[dict[str, Any], int]:
    body = _authenticated_body(request)
    asset = _asset(body)
    inp = RenkoBar(stream=stream, asset=asset, color=_color(body), bar_id=_bar_id(body))  # type: ignore[arg-type]
    return answer(execute(services(), inp), asset)


for _path, _stream in STREAMS.items():
    router.route("POST", _path)(lambda request, _s=_stream: _renko(request, _s))


@router.route("POST", "/tv_heartbeat")
def tv_heartbeat(request: Any) -> tuple[dict[str, Any], int]:
    body = _authenticated_body(request)
    raw = _raw_asset(body, "symbol", "asset")
    asset = normalise_asset(raw, services().config)
    if asset is None:
        raise BadInput(f"Unknown symbol {raw if raw is not None else ''}")
    annotate(asset=asset)
    inp = TvHeartbeat(asset=asset, price=price(body, "price"),
                      client_ts=bounded_number(body, "timestamp", low=0.0, high=MAX_EPOCH))
    return answer(execute(services(), inp), asset)


@router.route("POST", "/tv_level_exit")
def tv_level_exit(request: Any) -> tuple[dict[str, Any], int]:
    body = _authenticated_body(request)
    asset = _asset(body)
    return answer(execute(services(), LevelExit(asset=asset, bar_id=_bar_id(body))), asset)
