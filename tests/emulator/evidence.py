"""What the hostile-input tests compare and scan: every stored document of a local stack, and its log lines.

`snapshot` lists every document of the project (one kindless query over all collections through the emulator's
REST API) with its update time: two equal snapshots prove that nothing was created, changed or deleted between
them. `secret_hits` scans every stored document and every log file of a stack for the configured secret values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

# The outcome of a request that must write nothing at all (bad input, credentials, unknown ids, size, throttle,
# method): only refusals by a rule (403/409/423) write their audit line.
NO_WRITE_STATUSES = frozenset({400, 401, 404, 405, 413, 415, 422, 429})
AUDIT_ONLY_STATUSES = frozenset({403, 409, 423})
SECRET_NAMES = ("TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET", "TASKS_LOCAL_TOKEN",
                "DASHBOARD_PASSWORD")


def _documents(firestore_address: str, project: str, *, names_only: bool) -> list[dict[str, Any]]:
    url = f"http://{firestore_address}/v1/projects/{project}/databases/(default)/documents:runQuery"
    query: dict[str, Any] = {"from": [{"allDescendants": True}]}  # no collectionId: every collection
    if names_only:
        query["select"] = {"fields": [{"fieldPath": "__name__"}]}
    response = requests.post(url, json={"structuredQuery": query}, timeout=30,
                             headers={"Authorization": "Bearer owner"})  # the emulator's admin bypass of rules
    response.raise_for_status()
    return [row["document"] for row in response.json() if "document" in row]


# Written off the answer path by the timer scheduler of an earlier request (its de-duplication keys), so they may
# change between any two snapshots; no request ever writes them on a 4xx (nothing is committed, nothing scheduled).
BACKGROUND_COLLECTIONS = ("task_keys/",)


def snapshot(firestore_address: str, project: str) -> dict[str, str]:
    """{document path: update time} of every document (but the scheduler's background bookkeeping)."""
    prefix = f"projects/{project}/databases/(default)/documents/"
    paths = ((doc["name"].removeprefix(prefix), doc["updateTime"])
             for doc in _documents(firestore_address, project, names_only=True))
    return {path: updated for path, updated in paths if not path.startswith(BACKGROUND_COLLECTIONS)}


def changes(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    return {
        "created": sorted(set(after) - set(before)),
        "deleted": sorted(set(before) - set(after)),
        "changed": sorted(p for p in set(before) & set(after) if before[p] != after[p]),
    }


def check_writes(status: int, before: dict[str, str], after: dict[str, str]) -> str | None:
    """What is wrong with the writes of a request answered `status`, or None."""
    diff = changes(before, after)
    if status in NO_WRITE_STATUSES and any(diff.values()):
        return f"{status} wrote {diff}"
    if status in AUDIT_ONLY_STATUSES:
        extra = diff["deleted"] + diff["changed"] + [p for p in diff["created"] if not p.startswith("events/")]
        if extra or len(diff["created"]) > 1:
            return f"refusal {status} wrote more than its audit line: {diff}"
    return None


def secret_hits(secrets: dict[str, str], firestore_address: str, project: str, log_dir: Path) -> list[str]:
    """Where any of `secrets` (name -> value) appears: stored documents and every file under `log_dir`."""
    values = {name: value for name, value in secrets.items() if value and len(value) >= 4}
    hits: list[str] = []
    for doc in _documents(firestore_address, project, names_only=False):
        text = json.dumps(doc, ensure_ascii=False)
        hits += [f"{name} in {doc['name']}" for name, value in values.items() if value in text]
    for path in sorted(p for p in log_dir.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            hits += [f"{name} in {path.name}:{number}" for name, value in values.items() if value in line]
    return hits


def log_lines(log_dir: Path) -> int:
    return sum(len(p.read_text(errors="replace").splitlines()) for p in log_dir.rglob("*") if p.is_file())
