"""The dashboard's chart and alert-templates reads on the whole local stack: GET /api/bars reads one stream's recent
bars back from the audit events, bounded and oldest first; GET /api/alert-templates lists every webhook route and
hands out the TradingView secret only when asked, and its messages, filled in as TradingView would, are accepted."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.emulator

T = 30


def _bars(session: requests.Session, url: str, **params: object) -> requests.Response:
    return session.get(f"{url}/api/bars", params=params, timeout=T)


def test_bars_are_one_streams_recent_bars_oldest_first_and_bounded(fresh) -> None:
    live = fresh
    op = live.operator()
    colors = ["green", "green", "red", "green", "red"]
    for i, color in enumerate(colors):
        assert live.tv("/tv_renko_main", asset="ES", color=color, bar_id=f"b{i}").status_code == 200
    # other streams, the other asset and a replayed bar must not show up in the ES 6pt series
    assert live.tv("/tv_renko_high", asset="ES", color="red", bar_id="h0").status_code == 200
    assert live.tv("/tv_renko_main", asset="NQ", color="red", bar_id="n0").status_code == 200
    assert live.tv("/tv_renko_main", asset="ES", color="red", bar_id="b4").status_code == 200  # duplicate of b4

    answer = _bars(op, live.url, asset="ES", stream="6pt")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] is True and body["asset"] == "ES" and body["stream"] == "6pt"
    assert [b["bar_id"] for b in body["bars"]] == [f"b{i}" for i in range(5)]
    assert [b["color"] for b in body["bars"]] == colors
    times = [b["ts"] for b in body["bars"]]
    assert times == sorted(times)

    # bounded: the newest `limit` bars, still oldest first; a TradingView spelling of the asset is accepted
    last_two = _bars(op, live.url, asset="ES1!", stream="6pt", limit=2).json()["bars"]
    assert [b["bar_id"] for b in last_two] == ["b3", "b4"]
    assert [b["bar_id"] for b in _bars(op, live.url, asset="ES", stream="8pt").json()["bars"]] == ["h0"]
    assert _bars(op, live.url, asset="ES", stream="12pt").json()["bars"] == []


def test_bars_refuse_bad_input_with_the_field_named_and_need_a_session(fresh) -> None:
    live = fresh
    op = live.operator()
    for params, field in (({"asset": "XX", "stream": "6pt"}, "asset"), ({"stream": "6pt"}, "asset"),
                          ({"asset": "ES", "stream": "5pt"}, "stream"), ({"asset": "ES"}, "stream"),
                          ({"asset": "ES", "stream": "6pt", "limit": "many"}, "limit")):
        answer = _bars(op, live.url, **params)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["error"].startswith(field + ":"), answer.text
    assert _bars(requests.Session(), live.url, asset="ES", stream="6pt").status_code == 401


def test_alert_templates_hide_the_secret_until_revealed_and_every_route_accepts_its_message(fresh) -> None:
    live = fresh
    op = live.operator()
    secret = live.secrets["TV_WEBHOOK_SECRET"]
    assert requests.get(f"{live.url}/api/alert-templates", params={"reveal": 1}, timeout=T).status_code == 401

    masked = op.get(f"{live.url}/api/alert-templates", timeout=T)
    assert masked.status_code == 200
    assert secret not in masked.text
    assert masked.json()["revealed"] is False
    assert op.get(f"{live.url}/api/alert-templates", params={"reveal": "yes"}, timeout=T).status_code == 400

    body = op.get(f"{live.url}/api/alert-templates", params={"reveal": 1}, timeout=T).json()
    assert body["secret"] == secret and body["revealed"] is True
    assert set(body["assets"]) >= {"ES", "NQ"}
    streams = {s["stream"]: s["path"] for s in body["streams"]}
    assert len(streams) == 7

    # each route, fed the message the page builds (TradingView fills {{ticker}} and {{time}}), lands in its stream
    for n, (stream, path) in enumerate(streams.items()):
        message = json.dumps({"secret": body["secret"], "asset": "ES1!", "color": "green", "bar_id": f"t{n}"})
        sent = requests.post(f"{live.url}{path}", data=message, headers={"Content-Type": "text/plain"}, timeout=T)
        assert sent.status_code == 200, (path, sent.text)
        bars = _bars(op, live.url, asset="ES", stream=stream).json()["bars"]
        assert [b["bar_id"] for b in bars] == [f"t{n}"], stream
    beat = requests.post(f"{live.url}{body['heartbeat_path']}",
                         data=json.dumps({"secret": secret, "symbol": "ES1!", "price": 6001.5}), timeout=T)
    assert beat.status_code == 200, beat.text
