"""Issue 15 on the real store: password-mode logout ends every copy of the cookie (the generation in
`console/session`), the reveal of the TradingView secret is an audit event, and the local wipe keeps ended
sessions ended."""

from __future__ import annotations

import requests

T = 30


def _copy(session: requests.Session) -> requests.Session:
    copied = requests.Session()
    copied.cookies.set("__session", session.cookies.get("__session"))
    return copied


def test_logout_ends_a_copied_cookie_and_both_are_audited(fresh) -> None:
    live = fresh
    operator = live.operator()
    copied = _copy(operator)
    assert copied.post(f"{live.url}/api/risk", json={"max_trades_per_day": 4}, timeout=T).status_code == 200
    shown = operator.get(f"{live.url}/api/alert-templates", params={"reveal": 1}, timeout=T)
    assert shown.status_code == 200 and shown.json()["revealed"] is True

    assert operator.post(f"{live.url}/api/logout", timeout=T).json() == {"ok": True}
    assert copied.post(f"{live.url}/api/risk", json={"max_trades_per_day": 3}, timeout=T).status_code == 401
    assert copied.get(f"{live.url}/api/state", timeout=T).status_code == 401
    assert live.docs("console")["console/session"]["generation"] == 1
    kinds = {e["type"]: e for e in live.docs("events").values()}
    assert kinds["secret_revealed"]["actor"]["uid"] == "password"
    assert kinds["secret_revealed"]["detail"] == {"secret": "TV_WEBHOOK_SECRET"}
    assert kinds["sessions_revoked"]["detail"] == {"generation": 1}
    assert live.secrets["TV_WEBHOOK_SECRET"] not in str(kinds)

    live.reset()  # the wipe writes the generation back: the ended cookie stays ended
    assert live.docs("console")["console/session"]["generation"] == 1
    assert copied.post(f"{live.url}/api/risk", json={"max_trades_per_day": 3}, timeout=T).status_code == 401
    again = live.operator()
    assert again.post(f"{live.url}/api/risk", json={"max_trades_per_day": 3}, timeout=T).status_code == 200
