"""Issue 15, item 6: in the password mode (the default) logout ends every copy of the session cookie, on every
instance: the cookie names the session generation stored in `console/session`, logout moves it on. A state-
changing request always checks the stored generation; a read trusts what its instance read in the last 5 s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shared.domain import default_config
from shared.domain.engine import replay
from shared.service import security
from shared.service.security import SessionGenerations
from shared.store.documents import SESSION_PATH
from shared.web import auth


@dataclass
class Monotonic:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def _cookie(response: Any) -> str:
    header = response.headers["Set-Cookie"]
    assert header.startswith("__session=")
    return header.split(";", 1)[0].split("=", 1)[1]


def _as(client: Any, cookie: str | None) -> Any:
    if cookie is None:
        client.delete_cookie("__session")
    else:
        client.set_cookie("__session", cookie)
    return client


def _act(client: Any, cookie: str | None) -> int:
    """A state-changing request: set the daily trade limit."""
    return int(_as(client, cookie).post("/api/risk", json={"max_trades_per_day": 5}).status_code)


def _read(client: Any, cookie: str | None) -> int:
    return int(_as(client, cookie).get("/api/state").status_code)


def test_a_copied_cookie_is_refused_after_logout(app: Any) -> None:
    client = app.client("orders")
    copied = _cookie(app.login())
    assert _act(client, copied) == 200 and _read(client, copied) == 200
    assert _as(client, copied).post("/api/logout").status_code == 200
    assert _act(client, copied) == 401  # it traded for up to 12 h after logout before
    assert _read(client, copied) == 401
    assert _as(client, copied).get("/api/alert-templates?reveal=1").status_code == 401
    fresh = _cookie(app.login())  # signing in again works, with the new generation
    assert fresh != copied and _act(client, fresh) == 200
    assert app.store.dump()[SESSION_PATH]["generation"] == 1


def test_logout_on_one_instance_ends_the_cookie_on_another(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Instance B read the generation before instance A handled the logout: B refuses the copied cookie for any
    state change at once (it reads the stored generation for those), and for reads within 5 s."""
    client = app.client("orders")
    clock = Monotonic()
    instance_a, instance_b = SessionGenerations(), SessionGenerations(clock=clock)
    monkeypatch.setattr(security, "SESSION_GENERATIONS", instance_b)
    copied = _cookie(app.login())
    assert _read(client, copied) == 200  # B now remembers generation 0
    monkeypatch.setattr(security, "SESSION_GENERATIONS", instance_a)
    assert _as(client, copied).post("/api/logout").status_code == 200
    monkeypatch.setattr(security, "SESSION_GENERATIONS", instance_b)
    assert _act(client, copied) == 401
    assert _as(client, copied).get("/api/alert-templates?reveal=1").status_code == 401
    clock.now += 5.0
    assert _read(client, copied) == 401


def test_a_read_within_the_cache_window_may_still_pass_on_an_instance_that_did_not_see_the_logout(
        app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented bound, pinned: reads only, at most 5 s, and only on an instance with a warm cache."""
    client = app.client("orders")
    clock = Monotonic()
    instance_b = SessionGenerations(clock=clock)
    monkeypatch.setattr(security, "SESSION_GENERATIONS", instance_b)
    copied = _cookie(app.login())
    assert _read(client, copied) == 200
    monkeypatch.setattr(security, "SESSION_GENERATIONS", SessionGenerations())
    assert _as(client, copied).post("/api/logout").status_code == 200
    monkeypatch.setattr(security, "SESSION_GENERATIONS", instance_b)
    clock.now += 4.9
    assert _read(client, copied) == 200
    assert _act(client, copied) == 401  # and that state change re-read the generation: reads refuse too now
    assert _read(client, copied) == 401


@pytest.mark.parametrize("cookie", [None, "operator.forged.signature"])
def test_a_logout_without_a_valid_session_ends_nobody_elses(app: Any, cookie: str | None) -> None:
    client = app.client("orders")
    mine = _cookie(app.login())
    assert _as(client, cookie).post("/api/logout").status_code == 200  # it clears its own cookie, nothing more
    assert _as(client, cookie).get("/logout").status_code == 302
    assert _act(client, mine) == 200
    assert SESSION_PATH not in app.store.dump()
    assert not [e for e in app.store.dump().values() if e.get("type") == "sessions_revoked"]


def test_get_logout_ends_every_copy_too(app: Any) -> None:
    client = app.client("orders")
    copied = _cookie(app.login())
    assert _as(client, copied).get("/logout").status_code == 302
    assert _act(client, copied) == 401


def test_logout_is_an_audit_event_naming_the_operator_that_replay_passes_over(app: Any) -> None:
    client = app.client("orders")
    copied = _cookie(app.login())
    assert _act(client, copied) == 200
    app.clock.now += 1
    assert _as(client, copied).post("/api/logout").status_code == 200
    fresh = _cookie(app.login())
    events = _as(client, fresh).get("/api/logs?operator=password").get_json()["events"]
    assert events[0]["type"] == "sessions_revoked"
    assert events[0]["actor"] == {"uid": "password", "email": None, "mode": "password"}
    assert events[0]["detail"] == {"generation": 1}
    stored = [e for path, e in app.store.dump().items() if path.startswith("events/")]
    replay(sorted(stored, key=lambda e: e["ts"]), default_config())  # the event is not an input: skipped


def test_a_cookie_from_before_generations_is_refused(app: Any) -> None:
    """Cookies signed `operator` (no generation) end with this change: one sign-in again after the deploy."""
    client = app.client("orders")
    old = auth._signer(None).sign(b"operator").decode("ascii")
    assert _read(client, old) == 401


def test_what_an_operator_request_costs_in_reads(app: Any) -> None:
    """A read trusts its instance's generation for 5 s (0 extra reads); any other request reads it (1)."""
    client = app.client("orders")
    cookie = _cookie(app.login())
    _read(client, cookie)
    with app.store.counting() as with_session:
        assert _read(client, cookie) == 200
    security.SESSION_GENERATIONS.forget()
    with app.store.counting() as cold:
        assert _read(client, cookie) == 200
    assert cold.reads == with_session.reads + 1
    with app.store.counting() as act:
        assert _act(client, cookie) == 200
    with app.store.counting() as no_cookie:
        assert _act(client, None) == 401
    assert no_cookie.reads == 0  # no valid signature, no read: strangers cost nothing
    assert act.reads >= 1
