"""Every hostile request of issue 7 answers below 500, and one that answers 4xx wrote nothing: every stored document
is compared before and after it (only a refusal by a rule, 403/409/423, may add its one audit line)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.emulator.evidence import AUDIT_ONLY_STATUSES, NO_WRITE_STATUSES, changes, check_writes, snapshot

pytestmark = pytest.mark.emulator
T = 30
SURROGATE = '"\\ud800"'  # a lone surrogate, as JSON text: valid JSON, not valid Unicode


def _raw(session: requests.Session, method: str, url: str, text: str, headers: dict[str, str] | None = None):
    return session.request(method, url, data=text.encode("utf-8", "surrogatepass"), timeout=T,
                           headers={"Content-Type": "application/json", **(headers or {})})


def _cases(live) -> list[tuple[str, object]]:
    """(label, a callable sending one request) for each hostile input."""
    url, tv, bridge = live.url, live.secrets["TV_WEBHOOK_SECRET"], live.secrets["BRIDGE_HEARTBEAT_SECRET"]
    op, anon = live.http, requests.Session()
    bh = {"X-Bridge-Secret": bridge}
    token = {"X-Local-Tasks-Token": live.secrets["TASKS_LOCAL_TOKEN"]}
    order = "ES-20261124-160000-abc123"
    cases: list[tuple[str, object]] = [
        ("deep nesting, before the secret", lambda: _raw(anon, "POST", f"{url}/tv_renko_main", "[" * 100_000)),
        ("deep nesting, operator", lambda: _raw(op, "POST", f"{url}/api/orders", '{"a":' * 50_000 + "1"
                                                 + "}" * 50_000)),
        ("deep nesting, bridge", lambda: _raw(anon, "POST", f"{url}/api/bridge/heartbeat", "[" * 100_000, bh)),
        ("nesting 5000 deep, small", lambda: _raw(anon, "POST", f"{url}/tv_renko_main", "[" * 5_000)),
        ("nesting 2000 deep, bridge", lambda: _raw(anon, "POST", f"{url}/api/rithmic/pnl-snapshot",
                                                   '{"symbols":' + "[" * 2_000 + "]" * 2_000 + "}", bh)),
        ("2 MB body", lambda: _raw(op, "POST", f"{url}/api/protect", json.dumps({"asset": "ES", "x": "y" * 2**21}))),
        ("not JSON", lambda: _raw(anon, "POST", f"{url}/tv_renko_main", "color=green")),
        ("wrong TV secret", lambda: anon.post(f"{url}/tv_renko_main", json={"secret": "x", "asset": "ES"}, timeout=T)),
        ("wrong bridge secret", lambda: anon.get(f"{url}/api/orders/pending", params={"secret": "x"}, timeout=T)),
        ("wrong password", lambda: anon.post(f"{url}/api/login", json={"password": "guess"}, timeout=T)),
        ("no session", lambda: anon.post(f"{url}/api/exit-all", json={}, timeout=T)),
        ("timer key empty", lambda: anon.post(f"{url}/__fn/timers/", json={"kind": "lease_end", "key": "", "at": 1},
                                              headers=token, timeout=T)),
        ("logs asset of 1500 chars", lambda: op.get(f"{url}/api/logs", params={"asset": "E" * 1500}, timeout=T)),
        ("history limit huge", lambda: op.get(f"{url}/api/history", params={"limit": "9" * 40}, timeout=T)),
        ("unknown order cancel", lambda: op.post(f"{url}/api/orders/{order}/cancel", json={}, timeout=T)),
        ("unknown order report", lambda: anon.post(f"{url}/api/orders/{order}/execution-report", headers=bh,
                                                   json={"status": "FILLED", "fill_price": 5000, "qty": 1},
                                                   timeout=T)),
        ("dev clock 1e308", lambda: op.post(f"{url}/_dev/clock", json={"now": 1e308}, timeout=T)),
        ("points TP 10^30", lambda: op.post(f"{url}/api/points-take-profit",
                                            json={"asset": "ES", "enabled": True, "target": 10**30}, timeout=T)),
        ("protect threshold NaN", lambda: _raw(op, "POST", f"{url}/api/protect",
                                               '{"asset":"ES","enabled":true,"threshold":NaN}')),
        ("risk pct 1e308", lambda: op.post(f"{url}/api/risk", json={"daily_stop_limit_pct": 1e308}, timeout=T)),
        ("heartbeat int 2^63", lambda: _raw(anon, "POST", f"{url}/api/bridge/heartbeat",
                                            '{"tsConnected": true, "x": 9223372036854775808}', bh)),
        ("snapshot position 1e308", lambda: anon.post(f"{url}/api/rithmic/pnl-snapshot", headers=bh, timeout=T,
                                                      json={"symbols": [{"symbol": "MESZ6", "position": 1e308}]})),
        ("snapshot balance 1e308", lambda: anon.post(f"{url}/api/rithmic/pnl-snapshot", headers=bh, timeout=T,
                                                     json={"accountBalance": 1e308})),
        ("heartbeat account of 1e6 chars", lambda: anon.post(f"{url}/api/bridge/heartbeat", headers=bh, timeout=T,
                                                             json={"tsConnected": True, "account": "A" * 10**6})),
    ]
    for field in ("secret", "asset", "bar_id", "color"):
        body = json.dumps({"secret": tv, "asset": "ES", "color": "green"})[:-1] + f', "{field}": {SURROGATE}}}'
        cases.append((f"lone surrogate in {field}", lambda body=body: _raw(anon, "POST", f"{url}/tv_renko_main",
                                                                            body)))
    for field in ("fill_id", "reason"):
        body = f'{{"status": "REJECTED", "{field}": {SURROGATE}}}'
        cases.append((f"lone surrogate in {field}", lambda body=body: _raw(
            anon, "POST", f"{url}/api/orders/{order}/execution-report", body, bh)))
    return cases


def test_no_hostile_request_answers_5xx_or_writes_on_4xx(fresh):
    # some state first, so that a write would have something to change
    assert fresh.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
    assert fresh.tv("/tv_renko_main", asset="ES", color="green", bar_id="b1").status_code == 200
    seen: dict[str, int] = {}
    problems: list[str] = []
    for label, send in _cases(fresh):
        before = snapshot(fresh.firestore_address, fresh.project)
        response = send()  # type: ignore[operator]
        after = snapshot(fresh.firestore_address, fresh.project)
        seen[label] = response.status_code
        if response.status_code >= 500:
            problems.append(f"{label}: {response.status_code} {response.text[:200]}")
        problem = check_writes(response.status_code, before, after)
        if problem:
            problems.append(f"{label}: {problem}")
        if response.status_code in NO_WRITE_STATUSES | AUDIT_ONLY_STATUSES:
            assert response.json()["ok"] is False, label
    assert not problems, problems
    assert sum(400 <= status < 500 for status in seen.values()) >= len(seen) - 4, seen  # hostile: mostly refused
    assert seen["logs asset of 1500 chars"] == 400  # bad input, not a retryable 503
    assert seen["2 MB body"] == 413
    assert seen["nesting 5000 deep, small"] == 400 and seen["nesting 2000 deep, bridge"] == 400


def test_the_comparison_sees_a_write(fresh):
    """The evidence itself: a request that writes shows up in the comparison (else the test above proves nothing)."""
    before = snapshot(fresh.firestore_address, fresh.project)
    assert fresh.tv("/tv_renko_main", asset="ES", color="red", bar_id="b2").status_code == 200
    after = snapshot(fresh.firestore_address, fresh.project)
    assert changes(before, after)["created"] or changes(before, after)["changed"]
    assert check_writes(400, before, after) is not None
