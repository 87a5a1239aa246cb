"""The errors that answer a request, grouped by what someone must do about them: one hierarchy for every layer.

Each carries one HTTP status and a JSON body `{ok: false, error: <text>, ...}` (docs/rules.md, "Every refusal
code"). They live below the service and the web layers, so the service raises them too (the long poll's
`HoldsFull`); `shared.web.errors.error_response` is the single place that turns any exception into that body and
status, so a handler only raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")


class WebError(Exception):
    """Base of the errors that answer a request. Nothing was written when one is raised."""

    status: int = 500
    code: str = "INTERNAL"

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error}


class BadInput(WebError):
    """The caller sent something malformed (schema, unknown asset, bad enum): HTTP 400.

    The caller must fix the request; re-sending it unchanged fails again. The text says which field and what
    was wrong (or is the original system's verbatim text, e.g. "Unknown asset 'XX'").
    """

    status = 400
    code = "BAD_INPUT"


class PayloadTooLarge(WebError):
    """The body is larger than any request of this API can be: HTTP 413. Nothing was read further or written."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"


class Unauthorized(WebError):
    """A secret or the operator session is missing or wrong: HTTP 401.

    The caller must authenticate (log in, or send the right shared secret). The text never says which part
    was wrong.
    """

    status = 401
    code = "UNAUTHORIZED"


class NotFound(WebError):
    """The addressed thing (an order id, a path) does not exist: HTTP 404. Nothing changed; do not retry."""

    status = 404
    code = "NOT_FOUND"

    def __init__(self, error: str = "not found") -> None:
        super().__init__(error)


class Refused(WebError):
    """A business rule refused the request (a gate, a lock, a limit): HTTP 403/409/423 as the original gives.

    The request was valid; the operator must wait for the condition to clear or change the state first. `code`
    is a stable UPPER_SNAKE reason (e.g. CANDLE_LOCK_ACTIVE) that clients branch on; `error` is the original
    human text shown verbatim; `extra` adds fields to the body (e.g. seconds remaining).
    """

    def __init__(
        self,
        error: str,
        *,
        code: str,
        status: int = 409,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if not _CODE.match(code):
            raise ValueError(f"Refused code must be UPPER_SNAKE, got {code!r}")
        if not 400 <= status <= 499 or status in (400, 401, 404):
            raise ValueError(f"Refused status must be a 4xx other than 400/401/404, got {status}")
        clash = {"ok", "error", "code"} & set(extra or {})
        if clash:
            raise ValueError(f"Refused extra may not override {sorted(clash)}")
        super().__init__(error)
        self.code = code
        self.status = status
        self.extra: dict[str, Any] = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, "code": self.code, **self.extra}


class Unavailable(WebError):
    """The service cannot answer right now: storage unreachable, contention after retries, or a missing
    secret or setting: HTTP 503.

    Nothing was half-written, so the caller may safely retry (TradingView does on 5xx). A missing secret needs
    the deployer to configure it; the log line says which one.
    """

    status = 503
    code = "UNAVAILABLE"
