"""hosting/public/sw.js's click handler, run in node with a stand-in `self`: whatever URL a push message carries,
a click opens a page of the dashboard's own origin (a WHATWG parser reads `/\\host` and `/<tab>/host` as
`//host`: another origin)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SW = Path(__file__).resolve().parents[2] / "hosting" / "public" / "sw.js"
ORIGIN = "https://operatorlock.example"
HARNESS = """
const vm = require('vm');
const listeners = {}; const opened = [];
const self = { location: { origin: ORIGIN }, addEventListener: (name, fn) => { listeners[name] = fn; },
  clients: { matchAll: async () => [], openWindow: async (u) => { opened.push(u); }, claim: async () => {} },
  registration: {}, skipWaiting: () => {} };
vm.runInNewContext(SOURCE, { self, URL, console });
(async () => {
  for (const url of URLS) {
    let done;
    listeners.notificationclick({ notification: { close() {}, data: { url } }, waitUntil: (p) => { done = p; } });
    await done;
  }
  process.stdout.write(JSON.stringify(opened));
})();
"""
HOSTILE = ["/\\evil.example/x", "/\t/evil.example/x", "/\n/evil.example", "\\\\evil.example", "//evil.example",
           "https://evil.example/", "javascript:alert(1)", "/%5Cevil.example", "/#card-ES"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_click_opens_only_the_dashboards_own_origin() -> None:
    script = (f"const ORIGIN = {json.dumps(ORIGIN)}; const SOURCE = {json.dumps(SW.read_text())}; "
              f"const URLS = {json.dumps(HOSTILE)};" + HARNESS)
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    opened = json.loads(done.stdout)
    assert len(opened) == len(HOSTILE)
    for url, went in zip(HOSTILE, opened, strict=True):
        assert went.startswith(ORIGIN + "/"), (url, went)
    assert opened[-1] == ORIGIN + "/#card-ES", "a card's anchor still opens"
