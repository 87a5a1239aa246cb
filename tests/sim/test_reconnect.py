"""Issue 21 item 9: `make demo` must survive a dropped connection and never show a false "bridge not connected".

The HTTP client of the replay and the paper bridge sends a request again when its connection was reset (a real
local server that resets the first connections); the paper bridge heartbeats as soon as the replay moves the
stack's clock past its heartbeat, so a jump of market time never reads as a silent bridge."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sim.paper import Market, PaperBridge, PaperConfig
from sim.venue import Http, InProcess, VenueError

T0 = 1_794_922_200.0  # 2026-11-17 08:30 New York


class _Resetting(BaseHTTPRequestHandler):
    resets_left = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if type(self).resets_left > 0:
            type(self).resets_left -= 1
            # an RST, not a polite close: what a restarting router or a dropped NAT entry does
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Resetting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_reset_connection_is_sent_again_and_the_run_goes_on(server: str) -> None:
    _Resetting.resets_left = 2
    venue = Http(server, tv_secret="s", dev_clock=False, reconnect_pause=0.01)
    assert venue.tv_heartbeat("ES", 6000.0) == (200, {"ok": True})
    assert venue.reconnected == 2


def test_a_connection_that_stays_down_still_ends_the_run(server: str) -> None:
    _Resetting.resets_left = 10
    venue = Http(server, tv_secret="s", dev_clock=False, reconnects=2, reconnect_pause=0.01)
    with pytest.raises(VenueError):
        venue.tv_heartbeat("ES", 6000.0)
    assert venue.reconnected == 2


def _bridge_connected(venue: InProcess) -> bool:
    status, body = venue.state()
    assert status == 200
    return bool(body["global"]["rithmic_connected"])


def test_a_jump_of_the_clock_finds_the_waiting_bridge_connected() -> None:
    venue, market = InProcess(), Market()
    market.move(T0, 6000.0)
    venue.set_time(T0)
    bridge = PaperBridge(venue, market, PaperConfig(heartbeat_every=10.0))
    bridge.heartbeat()
    # the replay jumps five minutes of a quiet market: the bridge only waited on its long poll all that time
    market.move(T0 + 300, 6000.0)
    venue.set_time(T0 + 300)
    assert not _bridge_connected(venue), "without a heartbeat the server sees 300 s of silence"
    bridge.on_clock(T0 + 300)
    assert _bridge_connected(venue)
    heartbeats = bridge.stats.heartbeats
    bridge.on_clock(T0 + 305)        # not due again within heartbeat_every
    assert bridge.stats.heartbeats == heartbeats


def test_the_replay_client_tells_its_listeners_when_it_moved_the_clock(server: str) -> None:
    _Resetting.resets_left = 0
    venue = Http(server, tv_secret="s", dev_clock=True, password="")
    heard: list[float] = []
    venue.clock_listeners.append(heard.append)
    venue.set_time(T0)
    venue.tv_heartbeat("ES", 6000.0)
    venue.tv_heartbeat("ES", 6000.0)     # the clock did not move again: no second call
    assert heard == [T0]
