"""Turning an executed input into the HTTP answer, and the request log annotations that go with it."""

from __future__ import annotations

from typing import Any

from shared.logs import annotate
from shared.service import Outcome


def answer(outcome: Outcome, asset: str | None = None) -> tuple[dict[str, Any], int]:
    decision = outcome.decision
    if decision.duplicate:
        label = "duplicate"
    elif decision.ok:
        label = "applied"
    else:
        label = "refused"
    # an input without an asset of its own (a report, a cancel, a snapshot) logs the assets it touched
    annotate(asset=asset or ",".join(decision.assets) or None, outcome=label, code=decision.code,
             request_id=outcome.request_id)
    return outcome.body(), decision.status
