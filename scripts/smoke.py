"""Smoke test of a deployment (deploy/README.md section 7), standard library only: the site answers and refuses
what it must, and a timer fires (a probe timer through Cloud Tasks, its OIDC check and the timers function, seen
as a timer/PROBE audit event). DASHBOARD_PASSWORD comes from the environment, never the command line.

    python3 scripts/smoke.py --url https://<site>.web.app [--skip-timer] [--timeout 90]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any


class Site:
    def __init__(self, url: str) -> None:
        if not url.startswith(("https://", "http://")):
            raise SystemExit(f"--url must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,  # noqa: S310 - http(s) only
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with self.opener.open(request, timeout=30) as response:
                status, headers, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, dict(error.headers), error.read()
        try:
            return status, headers, json.loads(raw or b"null")
        except ValueError:
            return status, headers, raw.decode(errors="replace")


def check(ok: bool, what: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    return ok


def basics(site: Site) -> bool:
    results = [check(site.call("GET", "/api/auth/status")[0] == 200, "GET /api/auth/status answers 200")]
    results.append(check(site.call("GET", "/api/orders/pending")[0] == 401, "the bridge poll without a secret: 401"))
    status, _, body = site.call("GET", "/api/orders/pending?secret=smoke-not-a-secret")
    results.append(check(status == 400 and isinstance(body, dict) and body.get("code") == "SECRET_IN_QUERY",
                         "?secret= in a URL: 400 SECRET_IN_QUERY"))
    results.append(check(site.call("GET", "/_dev/clock")[0] == 404, "no dev route: /_dev/clock 404"))
    headers = {k.lower(): v for k, v in site.call("GET", "/")[1].items()}
    results.append(check("content-security-policy" in headers, "the dashboard carries a Content-Security-Policy"))
    return all(results)


def timer_fires(site: Site, password: str, timeout: float) -> bool:
    if not check(site.call("POST", "/api/login", {"password": password})[0] == 200, "operator login"):
        return False
    status, _, body = site.call("POST", "/api/timer-probe")
    if not check(status == 201 and isinstance(body, dict) and "key" in body, "probe timer scheduled"):
        return False
    key, deadline = body["key"], time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, logs = site.call("GET", "/api/logs?limit=100")
        text = json.dumps(logs)
        if status == 200 and key in text and '"PROBE"' in text:
            return check(True, f"the probe timer fired ({key})")
        time.sleep(2)
    return check(False, f"the probe timer {key} did not fire within {timeout:.0f} s: see the timers function's "
                        "request log (401/403: the OIDC audience or the invoker grant) and the queue")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 scripts/smoke.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the Hosting URL (terraform output -raw hosting_url)")
    parser.add_argument("--skip-timer", action="store_true", help="no login, no probe timer")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the probe timer")
    args = parser.parse_args(argv)
    site = Site(args.url)
    ok = basics(site)
    if not args.skip_timer:
        password = os.environ.get("DASHBOARD_PASSWORD", "")
        if not password:
            print("FAIL DASHBOARD_PASSWORD is not set (or pass --skip-timer)")
            return 2
        ok = timer_fires(site, password, args.timeout) and ok
    print("smoke test passed" if ok else "smoke test FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
