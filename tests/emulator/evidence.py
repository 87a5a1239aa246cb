"""What the hostile-input tests compare and scan: every stored document of a local stack, and its log lines.

`snapshot` lists every document of the project (one kindless query over all collections through the emulator's
REST API) with its update time: two equal snapshots prove that nothing was created, changed or deleted between
them. `secret_hits` scans every stored document and every log file of a stack for the configured secret values;
`check_stack_before_stop` does it for every local stack a test starts, just before it stops.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import requests

# The outcome of a request that must write nothing at all (bad input, credentials, unknown ids, size, throttle,
# method): only refusals by a rule (403/409/423) write their audit line.
NO_WRITE_STATUSES = frozenset({400, 401, 404, 405, 413, 415, 422, 429})
AUDIT_ONLY_STATUSES = frozenset({403, 409, 423})
SECRET_NAMES = ("TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET", "TASKS_LOCAL_TOKEN",
                "DASHBOARD_PASSWORD")
# The local stack's store of destination URLs (shared.service.notify_secrets.FileSecrets, Secret Manager's stand-in,
# in the run's logs folder): where those secrets belong, so not a log to scan; its temporary file likewise.
SECRET_STORE_FILES = ("notify-secrets.json", "notify-secrets.tmp")
URL_PIECE_MIN = 16   # a piece of a destination URL this long is taken for a credential (a token in a path or query)


def _documents(firestore_address: str, project: str, *, names_only: bool,
               timeout: float | tuple[float, float] = 30) -> list[dict[str, Any]]:
    url = f"http://{firestore_address}/v1/projects/{project}/databases/(default)/documents:runQuery"
    query: dict[str, Any] = {"from": [{"allDescendants": True}]}  # no collectionId: every collection
    if names_only:
        query["select"] = {"fields": [{"fieldPath": "__name__"}]}
    response = requests.post(url, json={"structuredQuery": query}, timeout=timeout,
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
        # its audit line, and with an Idempotency-Key the key's record of that first answer (D19)
        events = [p for p in diff["created"] if p.startswith("events/")]
        keys = [p for p in diff["created"] if p.startswith("idempotency/")]
        extra = diff["deleted"] + diff["changed"] + [p for p in diff["created"] if p not in events + keys]
        if extra or len(events) > 1 or len(keys) > 1:
            return f"refusal {status} wrote more than its audit line: {diff}"
    return None


def _scannable(secrets: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in secrets.items() if value and len(value) >= 4}


def _document_hits(values: dict[str, str], docs: list[dict[str, Any]]) -> list[str]:
    hits: list[str] = []
    for doc in docs:
        text = json.dumps(doc, ensure_ascii=False)
        hits += [f"{name} in {doc['name']}" for name, value in values.items() if value in text]
    return hits


def _log_hits(values: dict[str, str], files: list[Path]) -> tuple[list[str], int]:
    hits: list[str] = []
    lines = 0
    for path in files:
        text = path.read_text(errors="replace")
        lines += text.count("\n") + (not text.endswith("\n") and bool(text))
        found = [name for name, value in values.items() if value in text]  # a whole file at once: fast
        for number, line in enumerate(text.splitlines() if found else (), 1):
            hits += [f"{name} in {path.name}:{number}" for name in found if values[name] in line]
    return hits, lines


def _logs(log_dir: Path) -> set[Path]:
    return {p.resolve() for p in log_dir.rglob("*") if p.is_file() and p.name not in SECRET_STORE_FILES}


def secret_hits(secrets: dict[str, str], firestore_address: str, project: str, log_dir: Path) -> list[str]:
    """Where any of `secrets` (name -> value) appears: stored documents and every file under `log_dir`."""
    values = _scannable(secrets)
    files = sorted(_logs(log_dir))
    return (_document_hits(values, _documents(firestore_address, project, names_only=False))
            + _log_hits(values, files)[0])


# ---- every local stack a test starts, scanned before it stops (tests/conftest.py sets devstack's stop check) ----

SCAN_RECORD_ENV = "SECRET_SCAN_RECORD"  # a JSON-lines file: one record per scanned stack, for the run's summary
# A live database answers the scan's one query in milliseconds; these bound it when it does not.
SCAN_CONNECT_TIMEOUT_S = 2.0
SCAN_READ_TIMEOUT_S = 10.0


def configured_secrets(stack: Any) -> dict[str, str]:
    """Every secret a stack runs with: the shared secrets and the dashboard password, the previous value of each
    during a rotation (PREVIOUS_<NAME>), and the local operator's password of a Firebase-mode stack."""
    names = [*SECRET_NAMES, *(f"PREVIOUS_{name}" for name in SECRET_NAMES)]
    found = {name: stack.env.get(name, "") for name in names}
    found["local operator password"] = (stack.operator or {}).get("password", "")
    found.update(destination_urls(stack))
    return _scannable(found)


def destination_urls(stack: Any) -> dict[str, str]:
    """The notification destinations' URLs configured on the stack when it is scanned (its NOTIFY_SECRETS_FILE:
    issue 20 keeps them there, never in Firestore), each whole and each long piece of it (a token in its path or
    query would leak on its own)."""
    path = stack.env.get("NOTIFY_SECRETS_FILE")
    try:
        urls = json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    for dest_id, url in (urls.items() if isinstance(urls, dict) else ()):
        if not isinstance(url, str):
            continue
        found[f"notify destination {dest_id}"] = url
        pieces = [p for p in re.split(r"[/:@?&=#]+", url.split("://", 1)[-1]) if len(p) >= URL_PIECE_MIN]
        found.update({f"notify destination {dest_id} (part {n})": piece for n, piece in enumerate(pieces, 1)})
    return found


def _process_state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("State:")), "")


def database_gone(stack: Any) -> str | None:
    """Why the stack's Firestore cannot be read now (no process, exited, frozen by SIGSTOP), or None."""
    firestore = next((p for p in stack.processes if p.name == "firestore"), None)
    if firestore is None:
        return "no Firestore process"
    if firestore.proc.poll() is not None:
        return f"the Firestore process exited (code {firestore.proc.returncode})"
    if _process_state(firestore.proc.pid).startswith("T"):
        return "the Firestore process is stopped (SIGSTOP)"
    return None


def scan_stack(stack: Any) -> dict[str, Any]:
    """Scan a running stack for its own secrets: every stored document of its project and every line of its log
    files (its log directory, and the log of a process a test restarted elsewhere). Bounded: a database that is
    gone or frozen is skipped with the reason, one that does not answer in time likewise; the logs are still read."""
    started = time.monotonic()
    values = configured_secrets(stack)
    skipped = database_gone(stack)
    docs: list[dict[str, Any]] = []
    if skipped is None:
        try:
            docs = _documents(f"127.0.0.1:{stack.firestore_port}", stack.project, names_only=False,
                              timeout=(SCAN_CONNECT_TIMEOUT_S, SCAN_READ_TIMEOUT_S))
        except requests.RequestException as exc:
            skipped = f"the Firestore emulator did not answer the scan: {type(exc).__name__}"
    logs = Path(stack.logs)
    files = _logs(logs) if logs.is_dir() else set()
    files |= {Path(p.log_path).resolve() for p in stack.processes if Path(p.log_path).is_file()}
    log_hits, lines = _log_hits(values, sorted(files))
    return {"stack": stack.url, "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
            "secrets": sorted(values), "hits": _document_hits(values, docs) + log_hits,
            "documents": None if skipped else len(docs), "documents_skipped": skipped,
            "log_files": len(files), "log_lines": lines, "seconds": round(time.monotonic() - started, 4)}


def document_hits(stack: Any) -> list[str]:
    """The stored documents of a running stack only (before a test wipes them: the stop scan would not see them)."""
    if database_gone(stack):
        return []
    docs = _documents(f"127.0.0.1:{stack.firestore_port}", stack.project, names_only=False,
                      timeout=(SCAN_CONNECT_TIMEOUT_S, SCAN_READ_TIMEOUT_S))
    return _document_hits(configured_secrets(stack), docs)


def check_stack_before_stop(stack: Any) -> str | None:
    """devstack's stop check (DEVSTACK_STOP_CHECK): the secret scan; the hits are the stack's failure."""
    record = scan_stack(stack)
    target = os.environ.get(SCAN_RECORD_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    if record["hits"]:
        return (f"configured secrets found in the stack at {record['stack']} ({record['test']}): "
                f"{record['hits'][:20]}")
    return None


def log_lines(log_dir: Path) -> int:
    return sum(len(p.read_text(errors="replace").splitlines()) for p in log_dir.rglob("*") if p.is_file())
