"""Reading a request: the JSON body whatever its content type, and typed fields with clear 400 messages.

Every helper raises `BadInput` naming the field and what was wrong; pass `error=` to use the original system's
verbatim text instead (behavior.md keeps texts such as "Invalid target" that the dashboard shows).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from typing import Any

from werkzeug.wrappers import Request

from shared.web.errors import BadInput
from shared.web.respond import is_sensitive_key

MAX_BODY_BYTES = 1 << 20  # every payload of this API is a few hundred bytes; a megabyte is not a payload
_MISSING = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN / Infinity are not prices


def json_body(request: Request, *, strict: bool = False) -> dict[str, Any]:
    """The body parsed as a JSON object, whatever the content type (TradingView sends text/plain).

    Lenient (default, the original's behaviour): an empty, unparsable, oversized or non-object body is `{}`.
    Strict: the same cases raise BadInput("body must be a JSON object").
    """
    length = request.content_length
    raw = b"" if length is not None and length > MAX_BODY_BYTES else request.get_data(cache=True)
    parsed: Any = None
    if raw and len(raw) <= MAX_BODY_BYTES:
        try:
            parsed = json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            parsed = None
    if isinstance(parsed, dict):
        return parsed
    if strict:
        raise BadInput("body must be a JSON object")
    return {}


def _shown(name: str, value: object) -> str:
    """How a wrong value appears in an error text: short, and never the value of a sensitive field."""
    if is_sensitive_key(name):
        return f"a {type(value).__name__}"
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(name: str, expected: str, value: object, error: str | None) -> BadInput:
    if error is not None:
        return BadInput(error)
    if value is _MISSING or value is None:
        return BadInput(f"{name}: {expected} is required")
    return BadInput(f"{name}: expected {expected}, got {_shown(name, value)}")


def _present(body: Mapping[str, Any], name: str) -> Any:
    value = body.get(name, _MISSING)
    return _MISSING if value is None else value


def opt_str(
    body: Mapping[str, Any], name: str, default: str | None = None, *, error: str | None = None
) -> str | None:
    """A string field; missing or null gives `default`. Surrounding whitespace is stripped."""
    value = _present(body, name)
    if value is _MISSING:
        return default
    if not isinstance(value, str):
        raise _fail(name, "a string", value, error)
    return value.strip()


def require_str(body: Mapping[str, Any], name: str, *, error: str | None = None) -> str:
    """A non-empty string field."""
    value = opt_str(body, name, error=error)
    if not value:
        raise _fail(name, "a non-empty string", _MISSING, error)
    return value


def to_float(value: object) -> float | None:
    """A finite number from a JSON number or a numeric string; anything else (booleans included) is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def opt_float(
    body: Mapping[str, Any], name: str, default: float | None = None, *, error: str | None = None
) -> float | None:
    """A finite number (JSON number or numeric string, as TradingView sends); missing gives `default`."""
    value = _present(body, name)
    if value is _MISSING:
        return default
    number = to_float(value)
    if number is None:
        raise _fail(name, "a number", value, error)
    return number


def require_float(body: Mapping[str, Any], name: str, *, error: str | None = None) -> float:
    number = opt_float(body, name, error=error)
    if number is None:
        raise _fail(name, "a number", _MISSING, error)
    return number


def opt_int(
    body: Mapping[str, Any], name: str, default: int | None = None, *, error: str | None = None
) -> int | None:
    """A whole number (2, 2.0 or "2"); 2.5 or "two" is a BadInput. Missing gives `default`."""
    value = _present(body, name)
    if value is _MISSING:
        return default
    number = to_float(value)
    if number is None or not number.is_integer():
        raise _fail(name, "a whole number", value, error)
    return int(number)


def require_int(body: Mapping[str, Any], name: str, *, error: str | None = None) -> int:
    number = opt_int(body, name, error=error)
    if number is None:
        raise _fail(name, "a whole number", _MISSING, error)
    return number


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def opt_bool(
    body: Mapping[str, Any], name: str, default: bool | None = None, *, error: str | None = None
) -> bool | None:
    """true/false (also 1/0 and "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off"); missing gives `default`."""
    value = _present(body, name)
    if value is _MISSING:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _fail(name, "true or false", value, error)


def opt_choice(
    body: Mapping[str, Any],
    name: str,
    allowed: Collection[str],
    default: str | None = None,
    *,
    upper: bool = True,
    error: str | None = None,
) -> str | None:
    """One of `allowed` (compared upper-cased unless `upper=False`); missing gives `default`."""
    value = opt_str(body, name, error=error)
    if value is None:
        return default
    if upper:
        value = value.upper()
    if value not in allowed:
        raise _fail(name, "one of " + "/".join(sorted(allowed)), value, error)
    return value


def require_choice(
    body: Mapping[str, Any],
    name: str,
    allowed: Collection[str],
    *,
    upper: bool = True,
    error: str | None = None,
) -> str:
    value = opt_choice(body, name, allowed, upper=upper, error=error)
    if value is None:
        raise _fail(name, "one of " + "/".join(sorted(allowed)), _MISSING, error)
    return value


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """A whole-number query parameter, clamped to [low, high]; absent gives `default`; anything else is a
    BadInput (the original answered 500 to a non-integer `limit`)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name}: expected a whole number, got {raw!r}") from None
    return max(low, min(value, high))


def query_param(request: Request, name: str) -> str | None:
    """A query-string parameter, or None when absent."""
    return request.args.get(name)
