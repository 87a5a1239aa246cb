"""Schemathesis against the local stack, from the OpenAPI description: no input answers 5xx, every answer matches
the description (status, content type, body schema, Retry-After), no 4xx writes anything (a before/after
comparison of every stored document), and at the end no stored document or log line holds a configured secret.

Bounded and deterministic: FUZZ_EXAMPLES examples per operation (default 10; Schemathesis adds its coverage
cases), positive and negative generation, a fixed seed (derandomized). Only 127.0.0.1 is contacted.
Credentials are valid (the shared secrets are put into the generated requests, the dashboard is open) so that
the inputs reach the parsing and the rules behind them; one case in eight keeps whatever secret was generated,
so the refusals are fuzzed too.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.web.openapi import openapi
from tests.emulator.evidence import SECRET_NAMES, check_writes, log_lines, secret_hits, snapshot

pytestmark = pytest.mark.emulator

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CONFIG = SchemathesisConfig.from_dict({
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True,
                   "database": "none"},
    "phases": {"stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(openapi(), config=CONFIG)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
TOTALS: Counter[str] = Counter()
FIVE_XX: list[str] = []


class Fuzzed:
    def __init__(self, stack: Any, log_dir: Path) -> None:
        self.stack = stack
        self.log_dir = log_dir
        self.http = requests.Session()
        self.firestore = f"127.0.0.1:{stack.firestore_port}"
        self.last_snapshot: dict[str, str] | None = None


# Session-wide: under pytest-xdist a worker may run other modules between two batches of these cases, and a
# module-scoped stack would then be started again for each batch.
@pytest.fixture(scope="session")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    from devstack.run import LocalStack

    log_dir = tmp_path_factory.mktemp("fuzz-stack")
    # LONG_POLL_MAX_S: a fuzzed `wait` (up to 50 s) holds a poll at most 0.2 s, so the run keeps its time
    base = {**os.environ, "DASHBOARD_PASSWORD": "", "LOGIN_MAX_FAILURES_TOTAL": "1000000", "LONG_POLL_MAX_S": "0.2"}
    with LocalStack.on_free_ports(log_dir=log_dir, base_env=base) as stack:
        # No Cloud Tasks: a timer callback would write at a random moment between two snapshots. Enqueueing
        # then fails off the answer path (logged, never fatal), which is fuzzed along the way.
        next(p for p in stack.processes if p.name == "tasks").stop()
        fuzz = Fuzzed(stack, log_dir)
        yield fuzz
        hits = secret_hits({n: stack.env.get(n, "") for n in SECRET_NAMES}, fuzz.firestore, stack.project,
                           log_dir)
        figures = {"requests": TOTALS["requests"], "5xx": len(FIVE_XX), "by_status": dict(sorted(
            (k, v) for k, v in TOTALS.items() if k != "requests")), "secrets_found": len(hits),
            "log_lines_scanned": log_lines(log_dir), "examples_per_operation": EXAMPLES}
        print("\nfuzz figures:", json.dumps(figures))
        (Path(os.environ.get("FUZZ_FIGURES", str(log_dir / "figures.json")))).write_text(json.dumps(figures))
        assert not hits, hits[:20]


def _credentials(case: Any, fuzz: Fuzzed) -> dict[str, str]:
    """Put the valid shared secret where this operation reads it (one case in eight keeps the generated one)."""
    secrets = fuzz.stack.secrets
    path = case.operation.path
    keep_generated = zlib.crc32(repr((path, case.body, case.query)).encode()) % 8 == 0
    if keep_generated:
        return {}
    if path.startswith("/tv_") and isinstance(case.body, dict):
        case.body["secret"] = secrets["TV_WEBHOOK_SECRET"]
    elif path.startswith(("/api/orders/pending", "/api/orders/{order_id}/execution-report", "/api/bridge",
                          "/api/rithmic")):
        return {"X-Bridge-Secret": secrets["BRIDGE_HEARTBEAT_SECRET"]}
    elif path.startswith("/__fn/timers"):
        return {"X-Local-Tasks-Token": secrets["TASKS_LOCAL_TOKEN"]}
    return {}


@schema.parametrize()
def test_no_input_breaks_the_control_plane(case: Any, fuzzed: Fuzzed) -> None:
    headers = _credentials(case, fuzzed)
    # Nothing writes between two cases (no timer callbacks; see the fixture), so the last case's "after" is this
    # one's "before": one listing per request instead of two.
    before = fuzzed.last_snapshot or snapshot(fuzzed.firestore, fuzzed.stack.project)
    fuzzed.last_snapshot = None  # if this case fails half-way, the next one lists afresh
    response = case.call(base_url=fuzzed.stack.url, session=fuzzed.http, headers=headers, timeout=30,
                         allow_redirects=False)
    after = snapshot(fuzzed.firestore, fuzzed.stack.project)
    fuzzed.last_snapshot = after
    TOTALS["requests"] += 1
    TOTALS[str(response.status_code)] += 1
    if response.status_code >= 500:
        FIVE_XX.append(f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:200]}")
    problem = check_writes(response.status_code, before, after)
    assert problem is None, f"{case.method} {case.formatted_path}: {problem}"
    case.validate_response(response, checks=CHECKS, headers=headers)
