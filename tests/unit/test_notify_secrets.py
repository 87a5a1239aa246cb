"""The destinations' URLs in Secret Manager (issue 20), against a stand-in for its REST API (no emulator exists):
read as `versions/latest` and cached, written as a new version, and the version it replaced destroyed so a deleted
destination's URL is not kept in the secret's history."""

from __future__ import annotations

import base64
import json
from typing import Any

from shared.service.notify_secrets import SecretManagerSecrets

NAME = "projects/p/secrets/NOTIFY_DESTINATIONS"


class Answer:
    def __init__(self, status_code: int, body: dict[str, Any] | None = None) -> None:
        self.status_code = status_code
        self._body = body or {}

    def json(self) -> dict[str, Any]:
        return self._body


class SecretManager:
    """Versions of one secret, as its REST API serves them."""

    def __init__(self) -> None:
        self.versions: dict[int, dict[str, str] | None] = {}   # None: destroyed
        self.calls: list[str] = []
        self.refuse_destroy = False

    def get(self, url: str, timeout: float) -> Answer:
        self.calls.append("access")
        live = [n for n, v in self.versions.items() if v is not None]
        if not live:
            return Answer(404)
        n = max(live)
        data = base64.b64encode(json.dumps(self.versions[n]).encode()).decode()
        return Answer(200, {"name": f"{NAME}/versions/{n}", "payload": {"data": data}})

    def post(self, url: str, json: dict[str, Any], timeout: float) -> Answer:
        if url.endswith(":addVersion"):
            self.calls.append("add")
            n = max(self.versions, default=0) + 1
            self.versions[n] = _decode(json["payload"]["data"])
            return Answer(200, {"name": f"{NAME}/versions/{n}"})
        assert url.endswith(":destroy")
        self.calls.append("destroy " + url.rsplit("/", 1)[-1])
        if self.refuse_destroy:
            return Answer(403)
        self.versions[int(url.rsplit("/", 1)[-1].split(":")[0])] = None
        return Answer(200)


def _decode(data: str) -> dict[str, str]:
    decoded: dict[str, str] = json.loads(base64.b64decode(data))
    return decoded


def test_put_adds_a_version_and_destroys_the_one_it_replaced() -> None:
    api = SecretManager()
    secrets = SecretManagerSecrets("p", session=api)
    assert secrets.get("hook") is None                                   # no version yet
    secrets.put("hook", "json://h/token-1")
    secrets.put("phone", "ntfy://n/topic")
    assert secrets.get("hook") == "json://h/token-1"
    secrets.delete("hook")
    assert {n: v for n, v in api.versions.items() if v is not None} == {3: {"phone": "ntfy://n/topic"}}
    assert "json://h/token-1" not in json.dumps(api.versions), "the deleted URL is in no version left"
    assert api.calls.count("destroy 1:destroy") == 1 and api.calls.count("destroy 2:destroy") == 1
    secrets.delete("nobody")                                             # nothing removed: no new version
    assert max(api.versions) == 3


def test_a_refused_destroy_keeps_the_new_version(capsys) -> None:
    api = SecretManager()
    secrets = SecretManagerSecrets("p", session=api)
    secrets.put("hook", "json://h/a")
    api.refuse_destroy = True
    secrets.put("hook", "json://h/b")
    assert SecretManagerSecrets("p", session=api).get("hook") == "json://h/b"
    assert "was not destroyed" in capsys.readouterr().out


def test_a_destination_added_on_another_instance_is_found_within_the_cache_time() -> None:
    """The timers instance cached the secret before the orders instance added `hook`: the list (Firestore) names
    hook at once, so a miss must read again — a None here ends the delivery as `no_destination` (200, never
    retried), and the new destination would lose every notification of its first minute."""
    api = SecretManager()
    timers, orders = SecretManagerSecrets("p", session=api), SecretManagerSecrets("p", session=api)
    assert timers.get("hook") is None
    orders.put("hook", "json://h/token-1")
    assert timers.get("hook") == "json://h/token-1"
    reads = api.calls.count("access")
    assert timers.get("hook") == "json://h/token-1" and api.calls.count("access") == reads, "a hit stays cached"


def test_an_unreadable_local_file_is_not_overwritten(tmp_path) -> None:
    """A hand edit that broke the JSON: a put must not replace every URL (and the VAPID key every browser
    subscribed with) by a file of one entry."""
    import pytest

    from shared.errors import Unavailable
    from shared.service.notify_secrets import FileSecrets

    path = tmp_path / "notify-secrets.json"
    path.write_text('{"hook": "json://h/token-1", "_vapid": "key",')   # a trailing comma: not JSON
    secrets = FileSecrets(path)
    with pytest.raises(Unavailable, match=r"notify-secrets\.json") as refused:     # a 503 naming the file
        secrets.put("phone", "ntfy://n/topic")
    assert "token-1" not in str(refused.value)
    with pytest.raises(Unavailable):
        secrets.delete("hook")
    assert path.read_text() == '{"hook": "json://h/token-1", "_vapid": "key",'
