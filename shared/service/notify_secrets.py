"""Where the notification destinations' URLs live (issue 20): never in Firestore, never served back, never logged.

- `NOTIFY_SECRETS=file` (the default; the local stack): a JSON file `{dest_id: url}` at `NOTIFY_SECRETS_FILE`
  (default `~/.config/operatorlock/notify-secrets.json`, outside the repository), written with mode 0600.
- `NOTIFY_SECRETS=secret-manager` (the cloud): one Secret Manager secret per destination,
  `notify-dest-<id>`, in GOOGLE_CLOUD_PROJECT, read as `versions/latest` and written as a new version, through
  the REST API with the function's own service account (google-auth, already a dependency of Firestore's client).
  Terraform gives the functions' service account the roles to do that (deploy/terraform/notify.tf).

The process keeps what it read for `CACHE_S`, so a burst of deliveries costs one read per destination.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

CACHE_S = 60.0
SECRET_PREFIX = "notify-dest-"  # noqa: S105 - a name prefix, not a secret


class MemorySecrets:
    """Tests, and the base of the others' cache."""

    def __init__(self, urls: dict[str, str] | None = None) -> None:
        self.urls = dict(urls or {})

    def get(self, dest_id: str) -> str | None:
        return self.urls.get(dest_id)

    def put(self, dest_id: str, url: str) -> None:
        self.urls[dest_id] = url

    def delete(self, dest_id: str) -> None:
        self.urls.pop(dest_id, None)


class FileSecrets:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} \
            if isinstance(data, dict) else {}

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
        os.replace(tmp, self.path)

    def get(self, dest_id: str) -> str | None:
        return self._read().get(dest_id)

    def put(self, dest_id: str, url: str) -> None:
        with self._lock:
            data = self._read()
            data[dest_id] = url
            self._write(data)

    def delete(self, dest_id: str) -> None:
        with self._lock:
            data = self._read()
            if data.pop(dest_id, None) is not None:
                self._write(data)


class SecretManagerSecrets:
    """Secret Manager over REST. Not exercised by the test tiers (no emulator exists): a fake stands in for it."""

    API = "https://secretmanager.googleapis.com/v1"

    def __init__(self, project: str, session: Any = None) -> None:
        self.project = project
        self._session = session
        self._cache: dict[str, tuple[float, str | None]] = {}

    def _http(self) -> Any:
        if self._session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            self._session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        return self._session

    def _name(self, dest_id: str) -> str:
        return f"projects/{self.project}/secrets/{SECRET_PREFIX}{dest_id}"

    def get(self, dest_id: str) -> str | None:
        hit = self._cache.get(dest_id)
        if hit is not None and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
        import base64

        answer = self._http().get(f"{self.API}/{self._name(dest_id)}/versions/latest:access", timeout=5)
        url = base64.b64decode(answer.json()["payload"]["data"]).decode() if answer.status_code == 200 else None
        self._cache[dest_id] = (time.monotonic(), url)
        return url

    def put(self, dest_id: str, url: str) -> None:
        import base64

        http = self._http()
        created = http.post(f"{self.API}/projects/{self.project}/secrets", params={"secretId": SECRET_PREFIX + dest_id},
                            json={"replication": {"automatic": {}}, "labels": {"app": "operatorlock"}}, timeout=5)
        if created.status_code not in (200, 409):
            raise RuntimeError(f"Secret Manager refused to create the destination's secret ({created.status_code})")
        added = http.post(f"{self.API}/{self._name(dest_id)}:addVersion", timeout=5,
                          json={"payload": {"data": base64.b64encode(url.encode()).decode()}})
        if added.status_code != 200:
            raise RuntimeError(f"Secret Manager refused the destination's URL ({added.status_code})")
        self._cache[dest_id] = (time.monotonic(), url)

    def delete(self, dest_id: str) -> None:
        self._http().delete(f"{self.API}/{self._name(dest_id)}", timeout=5)
        self._cache.pop(dest_id, None)


_lock = threading.Lock()
_current: Any = None


def secrets() -> Any:
    global _current
    with _lock:
        if _current is None:
            if os.environ.get("NOTIFY_SECRETS", "file") == "secret-manager":
                _current = SecretManagerSecrets(os.environ.get("GOOGLE_CLOUD_PROJECT", ""))
            else:
                _current = FileSecrets(os.environ.get("NOTIFY_SECRETS_FILE")
                                       or "~/.config/operatorlock/notify-secrets.json")
        return _current


def install(custom: Any) -> None:
    """Tests swap the secrets (a MemorySecrets); None rebuilds from the environment."""
    global _current
    with _lock:
        _current = custom
