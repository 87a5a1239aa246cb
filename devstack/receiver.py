"""A local notification receiver (issue 20): `python -m devstack.receiver [--port 8099]` prints every notification it
gets — a JSON webhook (apprise's `json://`) or an ntfy publish (`ntfy://`) — so a newcomer sees the flow end to end.

`make run RUN_ARGS=--receiver` (and `make demo DEMO_ARGS=--receiver`) start one inside the stack and point the
`local` destination at it (NOTIFY_LOCAL_URL, honoured with LOCAL_DEV=1 only).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

HOST = "127.0.0.1"


class Collector:
    """An HTTP server on 127.0.0.1, in a thread of its own, that keeps what arrives (`got`) and lets a test wait for
    it: the base of this receiver and of the local push service (devstack.push_service)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int,
                 on_message: Callable[[dict[str, Any]], None] | None, name: str) -> None:
        self.got: list[dict[str, Any]] = []
        self.stopping = threading.Event()   # set by stop(): a handler still answering lets go
        self._on_message = on_message
        self._arrived = threading.Condition()
        self.server = ThreadingHTTPServer((HOST, port), handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)

    def keep(self, message: dict[str, Any]) -> None:
        with self._arrived:
            self.got.append(message)
            self._arrived.notify_all()
        if self._on_message is not None:
            self._on_message(message)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.got) >= count, timeout)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def serve_until_interrupted(self) -> int:
        """The command line's loop: serve until Ctrl-C, then stop (exit status 0)."""
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.stop()
        return 0


class Receiver(Collector):
    """Keeps (and by default prints) each POST/PUT body it gets."""

    def __init__(self, port: int = 0, on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.fail = 0   # answer 500 this many times first (tests: a failing destination)
        # > 0: answer 200 and then the body one byte every this many seconds, never all of it (tests: a destination
        # that stays inside every socket timeout yet never finishes) until it is set back to 0 and the answer is cut
        # short; the message is kept first
        self.trickle = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"message": raw.decode("utf-8", "replace")}
                message = {"path": self.path, "at": time.time(), **(body if isinstance(body, dict) else {})}
                receiver.keep(message)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if receiver.trickle > 0:
                    self._trickle(receiver.trickle)
                    return
                self.end_headers()
                self.wfile.write(b'{"id":"received"}')

            def _trickle(self, every: float) -> None:
                self.send_header("Content-Length", "100000")
                self.end_headers()
                while receiver.trickle > 0 and not receiver.stopping.wait(every):
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:   # the sender gave up
                        return

            do_PUT = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler, port, on_message, "notify-receiver")

    @property
    def json_url(self) -> str:
        return f"json://{HOST}:{self.port}/notify"


def show(message: dict[str, Any]) -> None:
    stamp = time.strftime("%H:%M:%S", time.localtime(message["at"]))
    kind = message.get("type") or message.get("topic") or ""
    print(f"[receiver {stamp}] {kind:>8} | {message.get('title', '')} | {message.get('message', '')}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.receiver", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)
    receiver = Receiver(args.port, show).start()
    print(f"receiving on http://{HOST}:{receiver.port}/ — add a destination {receiver.json_url} "
          f"(or ntfy://{HOST}:{receiver.port}/topic); Ctrl-C stops", flush=True)
    return receiver.serve_until_interrupted()


if __name__ == "__main__":
    raise SystemExit(main())
