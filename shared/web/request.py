"""Reading a request: the JSON body whatever its content type, and typed fields with clear 400 messages.

Every helper raises `BadInput` naming the field and what was wrong; pass `error=` to use the original system's
verbatim text instead (docs/rules.md keeps texts such as "Invalid target" that the dashboard shows).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from werkzeug.wrappers import Request

from shared.errors import BadInput, PayloadTooLarge
from shared.logs import is_sensitive_key

MAX_BODY_BYTES = 64 * 1024  # every payload of this API is a few hundred bytes; 64 KiB is not a payload
MAX_DEPTH = 8  # the deepest legitimate body is a snapshot: {symbols: [{...}]}
MAX_STRING = 4096  # no field of this API is longer; each field has its own, tighter bound
INT64 = 1 << 63  # Firestore stores 64-bit integers: anything wider cannot be written (it was a 500)
_MISSING = object()
_NOT_JSON = object()


def field_label(name: object) -> str:
    """A field name as an error text may show it: printable, short (the name is caller input too)."""
    text = str(name).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 40 else text[:37] + "..."


def _join(where: str, key: str) -> str:
    return f"{where}.{field_label(key)}" if where else field_label(key)


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") is valid JSON but no text: it cannot be stored
        raise BadInput(f"{where or 'body'}: not valid Unicode text") from None
    if len(text) > MAX_STRING:
        raise BadInput(f"{where or 'body'}: longer than {MAX_STRING} characters")


def check_json_value(value: Any, where: str = "", depth: int = 0) -> None:
    """Reject what parsed as JSON but no field of this API can hold: nesting deeper than MAX_DEPTH, text that is
    not valid Unicode, numbers that are not finite or do not fit 64 bits. The message names the field."""
    if depth > MAX_DEPTH:
        raise BadInput(f"{where or 'body'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise BadInput(f"{where or 'body'}: number out of range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(f"{where or 'body'}: number out of range")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, _join(where, "(key)"))
            check_json_value(item, _join(where, key), depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json_value(item, f"{where or 'body'}[{i}]", depth + 1)


def parse_json(raw: bytes) -> Any:
    """`raw` parsed as JSON with the limits above; `_NOT_JSON` when it is not JSON at all (empty, not UTF-8 text,
    a syntax error). Size is the caller's check. Hostile JSON (too deep, a lone surrogate, a number out of range)
    raises BadInput: it is never silently turned into something else."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _NOT_JSON
    try:
        # NaN, Infinity and 1e400 parse to non-finite floats here; check_json_value refuses them naming the field
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return _NOT_JSON
    except RecursionError:  # '[' * 100000: the C scanner gives up before we could count
        raise BadInput(f"body: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # an integer of more than 4300 digits (Python's int parsing limit)
        raise BadInput("body: number out of range") from None
    check_json_value(parsed)
    return parsed


def json_body(request: Request, *, strict: bool = False) -> dict[str, Any]:
    """The body parsed as a JSON object, whatever the content type (TradingView sends text/plain).

    A body over MAX_BODY_BYTES is a 413; hostile JSON (see `parse_json`) is a 400 naming the field, in both modes.
    Lenient (default, the original's behaviour): an empty, unparsable or non-object body is `{}`.
    Strict: the same cases raise BadInput("body must be a JSON object").
    """
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body: larger than {MAX_BODY_BYTES} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body: larger than {MAX_BODY_BYTES} bytes")
    parsed = parse_json(raw) if raw else _NOT_JSON
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


def _label(name: str, where: str) -> str:
    return f"{where}.{name}" if where else name


def bounded_str(body: Mapping[str, Any], name: str, limit: int, *, where: str = "") -> str | None:
    """A string field of at most `limit` characters (stripped); missing or null gives None. Another type or a
    longer text is a 400 naming the field: it is never truncated or converted silently."""
    value = _present(body, name)
    if value is _MISSING:
        return None
    label = _label(name, where)
    if not isinstance(value, str):
        raise BadInput(f"{label}: expected a string, got a {type(value).__name__}")
    _check_text(value, label)
    value = value.strip()
    if len(value) > limit:
        raise BadInput(f"{label}: longer than {limit} characters")
    return value


def _range_text(low: float, high: float, low_open: bool) -> str:
    return f"{'>' if low_open else '>='} {low:g} and <= {high:g}"


def bounded_number(
    body: Mapping[str, Any], name: str, *, low: float, high: float, low_open: bool = False, where: str = ""
) -> float | None:
    """A finite number (JSON number or numeric string) within [low, high] (`low_open`: (low, high]); missing or
    null gives None; anything else is a 400 naming the field and the range."""
    value = _present(body, name)
    if value is _MISSING:
        return None
    label = _label(name, where)
    number = to_float(value)
    if number is None:
        raise BadInput(f"{label}: expected a number, got {_shown(name, value)}")
    if number > high or number < low or (low_open and number == low):
        raise BadInput(f"{label}: expected a number {_range_text(low, high, low_open)}")
    return number


# A price of an index future is positive and far below ten million points: anything else is broken or hostile.
MAX_PRICE = 1e7


def price(body: Mapping[str, Any], name: str, *, where: str = "") -> float | None:
    """A price: a number in (0, MAX_PRICE]; missing or null gives None; anything else is a 400 naming the field."""
    return bounded_number(body, name, low=0.0, high=MAX_PRICE, low_open=True, where=where)


def whole_number(body: Mapping[str, Any], name: str, *, low: int, high: int, where: str = "") -> int | None:
    """A whole number (2, 2.0 or "2") within [low, high]; missing or null gives None; anything else is a 400."""
    value = _present(body, name)
    if value is _MISSING:
        return None
    label = _label(name, where)
    number = to_float(value)
    if number is None or not number.is_integer():
        raise BadInput(f"{label}: expected a whole number, got {_shown(name, value)}")
    if not low <= number <= high:
        raise BadInput(f"{label}: expected a whole number between {low} and {high}")
    return int(number)


def id_text(body: Mapping[str, Any], name: str, limit: int, *, where: str = "") -> str | None:
    """An identifier field (a bar id, a fill id): a string, or a whole number sent as one (TradingView's `bar_ts`,
    a broker's numeric fill id); at most `limit` characters; missing gives None. Anything else is a 400."""
    value = _present(body, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return bounded_str({name: str(value)}, name, limit, where=where)
    return bounded_str(body, name, limit, where=where) or None


# An order id as the domain makes them (`Ctx.next_order_id`: "<ASSET>-<request id>-<n>"); anything else names no
# order, and must not reach a Firestore path (an empty or 1,500-byte id was a 500).
ORDER_ID = re.compile(r"[A-Z0-9]{1,12}-[A-Za-z0-9_-]{1,100}")


def is_order_id(value: object) -> bool:
    return isinstance(value, str) and ORDER_ID.fullmatch(value) is not None


def order_id_param(value: str, assets: Collection[str]) -> str:
    """The order id of a route's path. One that cannot be an order id at all (malformed or too long) is a bad
    value, a 400 naming the field (D15); a well-formed id that names no order stays the rule's 404 (D9), also when
    its asset is not configured (an asset removed from the configuration leaves the bridge's reports for its
    orders unknown, not malformed). The caller's text is not echoed: it may be 1,500 characters."""
    if not is_order_id(value):
        raise BadInput(f"order_id: expected <asset>-<id> with the asset one of {', '.join(sorted(assets))} and "
                       "at most 100 letters, digits, '-' or '_' after it")
    return value


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
