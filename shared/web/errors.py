"""Any exception to the HTTP status and JSON body that answer it, and the reason code its log line carries.

The errors a handler raises are `shared.errors` (one hierarchy for every layer); storage trouble arrives as the
store's own exceptions. The router calls `error_response`, so a handler only raises.
"""

from __future__ import annotations

from typing import Any

from shared.errors import WebError
from shared.store.api import Contention, OutcomeUnknown, StorageUnavailable


def error_response(exc: BaseException) -> tuple[dict[str, Any], int]:
    """The JSON body and HTTP status answering `exc`. Unknown exceptions are a bare 500 (details: the log)."""
    if isinstance(exc, WebError):
        return exc.body(), exc.status
    if isinstance(exc, OutcomeUnknown):
        request_id = getattr(exc, "request_id", None)
        return {"ok": False, "code": "OUTCOME_UNKNOWN", "request_id": request_id,
                "error": "storage did not confirm the commit and it could not be checked: it may or may not have "
                         "been applied. Re-send with the same Idempotency-Key (or fill_id) to find out; "
                         f"request {request_id}"}, 503
    if isinstance(exc, Contention):
        return {"ok": False, "error": "storage busy (contention), nothing was written; retry"}, 503
    if isinstance(exc, StorageUnavailable):
        return {"ok": False, "error": "storage unavailable, nothing was written; retry"}, 503
    return {"ok": False, "error": "internal error"}, 500


def error_code(exc: BaseException) -> str:
    """The stable reason code logged for `exc`."""
    if isinstance(exc, WebError):
        return exc.code
    if isinstance(exc, OutcomeUnknown):
        return "OUTCOME_UNKNOWN"
    if isinstance(exc, Contention):
        return "CONTENTION"
    if isinstance(exc, StorageUnavailable):
        return "STORAGE_UNAVAILABLE"
    return "INTERNAL"
