"""Where the notification destinations' URLs live (issue 20): never in Firestore, never served back, never logged.

- `NOTIFY_URL_STORE=file` (the default; the local stack): a JSON file `{dest_id: url}` at `NOTIFY_SECRETS_FILE`
  (default `~/.config/operatorlock/notify-secrets.json`, outside the repository), written with mode 0600.
- `NOTIFY_URL_STORE=cloud` (Terraform sets it): the Secret Manager secret NOTIFY_DESTINATIONS of
  GOOGLE_CLOUD_PROJECT, read as `versions/latest` and written as a new version through the REST API with the
  function's own service account (google-auth, already a dependency of Firestore's client); Terraform creates it
  and lets orders read, add and destroy versions, timers read (deploy/terraform/notify.tf).

  Why `latest` here when every other secret is mounted at a pinned version (tests/unit/test_deploy_config.py): the
  others are credentials fixed at deploy time, compared with every request, so two instances of a revision must see
  the same one (a pin; a rotation is a deploy). This one is data the operator edits through the API at run time:
  pinned, a destination added on the dashboard would reach no function until the next deploy. Instances may
  disagree for at most `CACHE_S` after an edit (a replaced URL may still be sent to for that long); a destination
  missing from the cache is read again at once, so a new one misses nothing.

The process keeps what it read for `CACHE_S`, so a burst of deliveries costs one read per destination.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from shared.errors import Unavailable

CACHE_S = 60.0


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
        """The file's entries; none while it does not exist. One that cannot be read (a hand edit that broke the
        JSON) raises: read as empty, the next put would overwrite every URL and the VAPID key with one entry."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise Unavailable(f"{self.path}: unreadable ({type(exc).__name__}); fix it or move it away") from None
        if not isinstance(data, dict):
            raise Unavailable(f"{self.path}: expected a JSON object {{id: url}}")
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

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
    """The secret NOTIFY_DESTINATIONS (a JSON object {id: url}) over Secret Manager's REST API: read as
    `versions/latest`, written as a new version (read-modify-write: two operators saving destinations in the same
    instant may lose one edit; the list shows what stuck), the version it replaced then destroyed, so a deleted
    destination's URL is not kept in the secret's history. No emulator exists: tests/unit/test_notify_secrets.py
    plays Secret Manager's REST API."""

    API = "https://secretmanager.googleapis.com/v1"
    SECRET = "NOTIFY_DESTINATIONS"  # noqa: S105 - the secret's name

    def __init__(self, project: str, session: Any = None) -> None:
        self.project = project
        self._session = session
        self._cache: tuple[float, dict[str, str]] | None = None
        self._version: str | None = None   # the version last read: destroyed once a newer one replaces it

    def _http(self) -> Any:
        if self._session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            self._session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        return self._session

    def access(self, secret: str) -> tuple[bytes, str | None] | None:
        """The latest version of the project's secret `secret` as (payload, version name); None while it has none."""
        import base64

        name = f"projects/{self.project}/secrets/{secret}"
        answer = self._http().get(f"{self.API}/{name}/versions/latest:access", timeout=5)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise Unavailable(f"Secret Manager answered {answer.status_code} for {secret}")
        read = answer.json()
        return base64.b64decode(read["payload"]["data"]), read.get("name")

    def latest(self, secret: str) -> bytes | None:
        """The latest version's payload of `secret` (the Web Push key, shared.service.push)."""
        found = self.access(secret)
        return None if found is None else found[0]

    def _all(self, fresh: bool = False) -> dict[str, str]:
        if not fresh and self._cache is not None and time.monotonic() - self._cache[0] < CACHE_S:
            return self._cache[1]
        found = self.access(self.SECRET)   # no version yet: no destination
        data = json.loads(found[0]) if found is not None else {}
        urls = {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
        if found is not None:
            self._version = found[1]
        self._cache = (time.monotonic(), urls)
        return urls

    def _save(self, urls: dict[str, str]) -> None:
        import base64

        name = f"projects/{self.project}/secrets/{self.SECRET}"
        added = self._http().post(f"{self.API}/{name}:addVersion", timeout=5,
                                  json={"payload": {"data": base64.b64encode(json.dumps(urls).encode()).decode()}})
        if added.status_code != 200:
            raise Unavailable(f"Secret Manager refused the new version of {self.SECRET} ({added.status_code})")
        self._cache = (time.monotonic(), urls)
        previous, self._version = self._version, added.json().get("name")
        if previous and previous != self._version:
            # a removed destination's URL must not stay readable in an old version (every reader asks for latest)
            gone = self._http().post(f"{self.API}/{previous}:destroy", json={}, timeout=5)
            if gone.status_code != 200:
                from shared.logs import log_json

                log_json("WARNING", "an old version of the destinations' secret was not destroyed",
                         version=previous.rsplit("/", 1)[-1], status=gone.status_code)

    def get(self, dest_id: str) -> str | None:
        """A cached hit, else a fresh read: a destination another instance just added is listed at once (Firestore),
        and a miss ends its delivery as `no_destination` (never retried)."""
        found = self._all().get(dest_id)
        return found if found is not None else self._all(fresh=True).get(dest_id)

    def put(self, dest_id: str, url: str) -> None:
        self._save({**self._all(fresh=True), dest_id: url})

    def delete(self, dest_id: str) -> None:
        urls = self._all(fresh=True)
        if urls.pop(dest_id, None) is not None:
            self._save(urls)


_lock = threading.Lock()
_current: Any = None


def secrets() -> Any:
    global _current
    with _lock:
        if _current is None:
            if os.environ.get("NOTIFY_URL_STORE", "file") == "cloud":
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
