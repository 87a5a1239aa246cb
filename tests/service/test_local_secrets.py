"""Issue 7, item 3 on the local stack: gunicorn's access log masks `?secret=` (and every configured secret value);
the start-up banner prints only the secrets the stack generated, never one the user exported."""

from __future__ import annotations

import datetime
import logging
from types import SimpleNamespace

import pytest

from devstack.access_log import MaskingLogger
from devstack.run import GENERATED_SECRETS, LocalStack, describe
from shared.logs import mask_url_secrets

MINE = "my-own-exported-tv-secret"


def test_the_banner_prints_only_generated_secrets(tmp_path) -> None:
    stack = LocalStack(port=1, firestore_port=2, tasks_port=3, log_dir=tmp_path,
                       base_env={"TV_WEBHOOK_SECRET": MINE, "DASHBOARD_PASSWORD": "operator-passphrase"})
    stack.env = stack._environment()
    banner = describe(stack)
    assert MINE not in banner and "operator-passphrase" not in banner
    assert "TV_WEBHOOK_SECRET: set from your environment" in banner
    assert stack.secrets["TV_WEBHOOK_SECRET"] == MINE  # the functions still get the user's value
    for name in GENERATED_SECRETS:
        if name != "TV_WEBHOOK_SECRET":
            assert f"{name}={stack.secrets[name]}" in banner  # generated: printed once, the user needs it


@pytest.mark.parametrize(("text", "expected"), [
    ("GET /api/orders/pending?secret=abc123&owner=b1 HTTP/1.1",
     "GET /api/orders/pending?secret=[REDACTED]&owner=b1 HTTP/1.1"),
    ("owner=b1&Secret=x&limit=5", "owner=b1&Secret=[REDACTED]&limit=5"),
    ("secret=abc", "secret=[REDACTED]"),
    ("a=1&bridge_secret=q;password=p&token=t&api_key=k",
     "a=1&bridge_secret=[REDACTED];password=[REDACTED]&token=[REDACTED]&api_key=[REDACTED]"),
    ("owner=b1&limit=5", "owner=b1&limit=5"),
])
def test_secret_parameters_are_masked(text: str, expected: str) -> None:
    assert mask_url_secrets(text) == expected


def test_configured_secret_values_are_masked_anywhere(monkeypatch) -> None:
    monkeypatch.setenv("BRIDGE_HEARTBEAT_SECRET", "bridge-value-123")
    assert mask_url_secrets("/api/x?owner=bridge-value-123") == "/api/x?owner=[REDACTED]"


def test_gunicorn_access_lines_are_masked(monkeypatch, caplog) -> None:
    monkeypatch.setenv("BRIDGE_HEARTBEAT_SECRET", "bridge-value-123")
    cfg = SimpleNamespace(errorlog="-", loglevel="info", accesslog="-", syslog=False, capture_output=False,
                          logconfig=None, logconfig_dict={}, logconfig_json=None,
                          disable_redirect_access_to_syslog=False,
                          access_log_format='%(h)s "%(r)s" %(s)s "%(f)s" %(q)s', user=None, umask=0, group=None,
                          syslog_addr=None, syslog_prefix=None, syslog_facility="user", dogstatsd_tags="",
                          statsd_host=None, statsd_prefix="")
    logger = MaskingLogger(cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/api/orders/pending?secret=bridge-value-123&owner=b",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/api/orders/pending",
               "QUERY_STRING": "secret=bridge-value-123&owner=b", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": "http://127.0.0.1/?token=abc"}
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    req = SimpleNamespace(headers=[("X-BRIDGE-SECRET", "bridge-value-123")])
    atoms = logger.atoms(resp, req, environ, datetime.timedelta(seconds=0.01))
    line = cfg.access_log_format % atoms
    assert "bridge-value-123" not in line and "abc" not in line
    assert "secret=[REDACTED]&owner=b" in line
    assert all("bridge-value-123" not in str(value) for value in atoms.values())
    logging.getLogger("gunicorn.access").handlers.clear()


SLASHY = "tv+Sec/ret=42=="  # the characters a URL must encode: + / =


@pytest.mark.parametrize("sent", [
    "tv%2BSec%2Fret%3D42%3D%3D",          # encoded, as a browser's URLSearchParams sends it
    "tv%2bSec%2fret%3d42%3d%3d",          # lower-case hex
    "tv+Sec/ret=42==",                    # raw
    "%74v%2BSec/ret%3D42==",              # partly encoded, even letters
    "tv%252BSec%252Fret%253D42%253D%253D",  # encoded twice
])
def test_a_secret_is_masked_under_any_parameter_name_and_encoding(monkeypatch, sent: str) -> None:
    """Issue 15, item 7: a secret sent URL-encoded under a parameter not named for a secret stayed in the log."""
    monkeypatch.setenv("TV_WEBHOOK_SECRET", SLASHY)
    line = mask_url_secrets(f"GET /api/history?limit=5&note={sent}&owner=b1 HTTP/1.1")
    assert line == "GET /api/history?limit=5&note=[REDACTED]&owner=b1 HTTP/1.1"


def test_text_that_only_looks_encoded_is_left_alone(monkeypatch) -> None:
    monkeypatch.setenv("TV_WEBHOOK_SECRET", SLASHY)
    text = "GET /api/logs?operator=a%2Bb%40x.test&limit=5 HTTP/1.1"
    assert mask_url_secrets(text) == text


def test_gunicorn_access_lines_mask_an_encoded_secret_under_any_name(monkeypatch) -> None:
    monkeypatch.setenv("TV_WEBHOOK_SECRET", SLASHY)
    cfg = SimpleNamespace(errorlog="-", loglevel="info", accesslog="-", syslog=False, capture_output=False,
                          logconfig=None, logconfig_dict={}, logconfig_json=None,
                          disable_redirect_access_to_syslog=False,
                          access_log_format='%(h)s "%(r)s" %(s)s "%(f)s" %(q)s %(U)s', user=None, umask=0,
                          group=None, syslog_addr=None, syslog_prefix=None, syslog_facility="user",
                          dogstatsd_tags="", statsd_host=None, statsd_prefix="")
    logger = MaskingLogger(cfg)
    query = "reveal=tv%2BSec%2Fret%3D42%3D%3D"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/api/alert-templates?{query}", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": "/api/alert-templates", "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": f"http://127.0.0.1/alerts.html?{query}"}
    atoms = logger.atoms(SimpleNamespace(status="400 BAD REQUEST", sent=10, headers=[]),
                         SimpleNamespace(headers=[]), environ, datetime.timedelta(seconds=0.01))
    line = cfg.access_log_format % atoms
    assert "tv%2BSec" not in line and "Sec" not in line
    assert line.count("reveal=[REDACTED]") == 3  # request line, referrer, query string
    logging.getLogger("gunicorn.access").handlers.clear()
