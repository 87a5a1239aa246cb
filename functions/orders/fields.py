"""The operator's fields as the routes read them: an asset, a short text, a flag, a raw number."""

from __future__ import annotations

from typing import Any

from shared.domain.config import normalise_asset
from shared.errors import BadInput
from shared.service.wiring import services
from shared.web.request import bounded_str, field_label, opt_bool

MAX_TEXT = 32  # an asset, a direction, a mode: short words
# A threshold or target arrives raw: its meaning (and the order of refusals) is the rule's. Here only what no rule
# can mean is refused: another type, a long text, or a number far outside every range the dashboard offers.
RAW_NUMBER_BOUND = 1e6


def asset_key(body: dict[str, Any], default: str | None = None) -> str:
    raw = body.get("asset", default)
    if raw is not None:
        raw = bounded_str({"asset": raw}, "asset", MAX_TEXT)
    key = normalise_asset(raw, services().config)
    if key is not None:
        return key
    return str(raw or "").strip().upper()


def truthy(body: dict[str, Any], *names: str) -> bool:
    """Any of these flags set; each must be a boolean (or 1/0, "true"/"false"): bool("false") was True."""
    return any(opt_bool(body, name) for name in names)


def first(body: dict[str, Any], *names: str) -> tuple[str, Any]:
    for name in names:
        if body.get(name):
            return name, body.get(name)
    return names[0], None


def short_text(value: Any, name: str) -> str | None:
    """A short text field (a number or boolean is taken as its text, as before); anything else is a 400."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return str(value)
    return bounded_str({name: value}, name, MAX_TEXT)


def raw_number(body: dict[str, Any], *names: str, expected: str) -> Any:
    name, value = next(((n, body[n]) for n in names if body.get(n) is not None), (names[0], None))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return bounded_str({name: value}, name, MAX_TEXT)
    if isinstance(value, int | float) and abs(value) <= RAW_NUMBER_BOUND:
        return value
    raise BadInput(f"{name}: expected {expected}")


def known_fields(body: dict[str, Any], allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    """The body, if it names only `allowed` fields: an unknown one (a typo) is a 400 naming it, never ignored."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadInput(f"{field_label(unknown[0])}: unknown {what} (expected any of {', '.join(allowed)})")
    return body
