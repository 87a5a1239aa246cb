"""The secret scan: it finds a planted secret (so a clean scan means something), and after the places where
the issue found secrets (a bridge poll's ?secret=, secret-named keys and secret values in a heartbeat, a secret
in a bar id) no stored document and no log line of the stack holds one. The `live` fixture scans the whole
session's documents and logs again at its end."""

from __future__ import annotations

import pytest
import requests

from tests.emulator.evidence import SECRET_NAMES, secret_hits

pytestmark = pytest.mark.emulator
T = 30


def _configured(live) -> dict[str, str]:
    return {name: live.stack.env.get(name, "") for name in SECRET_NAMES}


def test_the_scan_finds_a_planted_secret(fresh, tmp_path):
    secret = fresh.secrets["BRIDGE_HEARTBEAT_SECRET"]
    (tmp_path / "planted.log").write_text(f"line one\npoll ?secret={secret}\n")
    db = fresh.store()._ready_client()
    db.document("planted/doc").set({"note": f"x{secret}x"})
    try:
        hits = secret_hits(_configured(fresh), fresh.firestore_address, fresh.project, tmp_path)
    finally:
        db.document("planted/doc").delete()
    assert "BRIDGE_HEARTBEAT_SECRET in planted.log:2" in hits
    assert any(hit.startswith("BRIDGE_HEARTBEAT_SECRET in ") and "planted/doc" in hit for hit in hits)


def test_no_secret_is_stored_or_logged_where_the_issue_found_them(fresh):
    url, tv, bridge = fresh.url, fresh.secrets["TV_WEBHOOK_SECRET"], fresh.secrets["BRIDGE_HEARTBEAT_SECRET"]
    poll = requests.get(f"{url}/api/orders/pending", params={"secret": bridge, "owner": "bridge-1"}, timeout=T)
    assert poll.status_code == 200
    beat = requests.post(f"{url}/api/bridge/heartbeat", timeout=T, json={
        "secret": bridge, "tsConnected": True, "account": bridge, "password": "hunter2-hunter2",
        "token": tv, "apiKey": tv, "SECRET": tv})
    assert beat.status_code < 500
    assert fresh.tv("/tv_heartbeat", symbol="ES1!", price=5000.25).status_code == 200
    bar = fresh.tv("/tv_renko_main", asset="ES", color="green", bar_id=tv)
    assert bar.status_code < 500
    logs = fresh.http.get(f"{url}/api/logs", timeout=T)
    assert logs.status_code == 200 and tv not in logs.text and bridge not in logs.text
    hits = secret_hits(_configured(fresh), fresh.firestore_address, fresh.project, fresh.stack.logs)
    assert not hits, hits[:20]
