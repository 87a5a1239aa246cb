"""The local Hosting router (devstack/router.py) against a small functions source of its own."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from devstack.router import HostingRouter, buffer_body, glob_to_regex, only_session_cookie

FUNCTIONS = '''
import json

import flask


def _echo(name, request):
    body = {
        "target": name,
        "path": request.path,
        "script_root": request.script_root,
        "query": request.query_string.decode(),
        "cookie": request.headers.get("Cookie"),
        "method": request.method,
        "body": request.get_data(as_text=True),
    }
    return flask.Response(json.dumps(body), mimetype="application/json")


def webhooks(request):
    return _echo("webhooks", request)


def orders(request):
    return _echo("orders", request)


def bridge(request):
    response = _echo("bridge", request)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def timers(request):
    return _echo("timers", request), 202
'''

CONFIG = {
    "hosting": {
        "public": "public",
        "ignore": ["firebase.json", "**/.*"],
        "headers": [
            {"source": "**", "headers": [{"key": "X-Frame-Options", "value": "DENY"}]},
            {"source": "**/*.@(html|js)", "headers": [{"key": "Cache-Control", "value": "no-cache"}]},
        ],
        "rewrites": [
            {"source": "/tv_*", "function": {"functionId": "webhooks", "region": "us-central1"}},
            {"source": "/api/orders/pending", "function": {"functionId": "bridge", "region": "us-central1"}},
            {"source": "/api/orders/*/execution-report", "function": "bridge"},
            {"source": "/api/bridge/**", "function": {"functionId": "bridge"}},
            {"source": "/api/**", "function": {"functionId": "orders"}},
            {"source": "/@(logout|signout)", "function": {"functionId": "orders"}},
            {"source": "/app.js", "function": {"functionId": "orders"}},
            {"source": "/page", "destination": "/page.html"},
        ],
    }
}

MODULE = "routerfns"  # not "main": the real functions/main.py must never be shadowed in sys.modules


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    public = tmp_path / "public"
    (public / "docs").mkdir(parents=True)
    (public / "index.html").write_text("<h1>home</h1>")
    (public / "app.js").write_text("console.log(1)")
    (public / "page.html").write_text("page")
    (public / "docs" / "index.html").write_text("docs")
    (public / "api").mkdir()
    (public / "api" / "static.json").write_text('{"static": true}')
    (public / ".secret").write_text("hidden")
    (tmp_path / "firebase.json").write_text(json.dumps(CONFIG))
    (tmp_path / f"{MODULE}.py").write_text(FUNCTIONS)
    saved_path = list(sys.path)
    yield tmp_path
    sys.modules.pop(MODULE, None)
    sys.path[:] = saved_path


@pytest.fixture
def client(site: Path) -> Client:
    return Client(HostingRouter(site, source=site / f"{MODULE}.py"))


def fn(response) -> dict:
    assert response.mimetype == "application/json", response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))


class TestGlobs:
    @pytest.mark.parametrize(
        ("glob", "path", "expected"),
        [
            ("/tv_*", "/tv_renko", True),
            ("/tv_*", "/tv_renko/x", False),
            ("/api/orders/*/execution-report", "/api/orders/abc/execution-report", True),
            ("/api/orders/*/execution-report", "/api/orders/a/b/execution-report", False),
            ("/api/**", "/api/state", True),
            ("/api/**", "/api/a/b/c", True),
            ("/api/**", "/api", False),
            ("/api/**", "/apix/y", False),
            ("**", "/", True),
            ("**", "/a/b", True),
            ("**/*.@(html|js|css)", "/index.html", True),
            ("**/*.@(html|js|css)", "/a/b/app.css", True),
            ("**/*.@(html|js|css)", "/a/b/app.json", False),
            ("/a/**/z", "/a/z", True),
            ("/a/**/z", "/a/b/c/z", True),
            ("/{x,y}.txt", "/y.txt", True),
            ("/file?.txt", "/file1.txt", True),
            ("/file?.txt", "/file/.txt", False),
            ("**/.*", "/dir/.hidden", True),
            ("firebase.json", "/firebase.json", True),
        ],
    )
    def test_glob(self, glob: str, path: str, expected: bool) -> None:
        assert bool(glob_to_regex(glob).match(path)) is expected


class TestStatic:
    def test_exact_file(self, client: Client) -> None:
        response = client.get("/page.html")
        assert response.status_code == 200
        assert response.get_data(as_text=True) == "page"

    def test_root_and_directory_serve_index(self, client: Client) -> None:
        assert client.get("/").get_data(as_text=True) == "<h1>home</h1>"
        assert client.get("/docs").get_data(as_text=True) == "docs"

    def test_static_wins_over_rewrite(self, client: Client) -> None:
        response = client.get("/app.js")  # /app.js is also a function rewrite
        assert response.get_data(as_text=True) == "console.log(1)"
        response = client.get("/api/static.json")  # inside /api/**
        assert response.get_json() == {"static": True}

    def test_post_to_a_static_path_goes_to_the_rewrite(self, client: Client) -> None:
        assert fn(client.post("/app.js"))["target"] == "orders"

    def test_ignored_and_escaping_files_are_not_served(self, client: Client, site: Path) -> None:
        assert client.get("/.secret").status_code == 404
        (site / "outside.txt").write_text("nope")
        assert client.get("/../outside.txt").status_code == 404

    def test_destination_rewrite_serves_the_file(self, client: Client) -> None:
        assert client.get("/page").get_data(as_text=True) == "page"

    def test_404(self, client: Client) -> None:
        assert client.get("/nothing/here").status_code == 404
        assert client.post("/").status_code == 404

    def test_custom_404_page(self, client: Client, site: Path) -> None:
        (site / "public" / "404.html").write_text("lost")
        response = client.get("/nothing")
        assert response.status_code == 404
        assert response.get_data(as_text=True) == "lost"


class TestRewrites:
    @pytest.mark.parametrize(
        ("path", "target"),
        [
            ("/tv_heartbeat", "webhooks"),
            ("/tv_renko_main", "webhooks"),
            ("/api/orders/pending", "bridge"),  # before /api/**
            ("/api/orders/o-1/execution-report", "bridge"),
            ("/api/bridge/heartbeat", "bridge"),
            ("/api/orders", "orders"),
            ("/api/orders/o-1/cancel", "orders"),
            ("/api/state", "orders"),
            ("/logout", "orders"),
            ("/signout", "orders"),
        ],
    )
    def test_first_matching_rewrite_wins(self, client: Client, path: str, target: str) -> None:
        body = fn(client.post(path, data="x"))
        assert body["target"] == target
        assert body["path"] == path  # Hosting keeps the original path
        assert body["body"] == "x"

    def test_unmatched_paths_404(self, client: Client) -> None:
        assert client.get("/tv").status_code == 404
        assert client.get("/tv_x/y").status_code == 404

    def test_query_string_is_forwarded(self, client: Client) -> None:
        assert fn(client.get("/api/state?asset=ES"))["query"] == "asset=ES"

    def test_status_from_a_tuple(self, client: Client) -> None:
        response = client.get("/__fn/timers/x")
        assert response.status_code == 202


class TestHeaders:
    def test_static_gets_matching_headers(self, client: Client) -> None:
        response = client.get("/")
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Cache-Control" not in response.headers or "no-cache" not in response.headers["Cache-Control"]
        response = client.get("/page.html")
        assert response.headers["Cache-Control"] == "no-cache"

    def test_function_responses_get_headers_unless_set_by_the_function(self, client: Client) -> None:
        assert client.get("/api/state").headers["X-Frame-Options"] == "DENY"
        assert client.get("/api/bridge/x").headers["X-Frame-Options"] == "SAMEORIGIN"

    def test_404_gets_headers(self, client: Client) -> None:
        assert client.get("/nothing").headers["X-Frame-Options"] == "DENY"


class TestCookies:
    def test_only_session_cookie_is_forwarded(self, client: Client) -> None:
        client.set_cookie("other", "1")
        client.set_cookie("__session", "signed.value")
        client.set_cookie("tracking", "abc")
        assert fn(client.get("/api/state"))["cookie"] == "__session=signed.value"

    def test_no_cookie_header_without_session(self, client: Client) -> None:
        client.set_cookie("other", "1")
        assert fn(client.get("/api/state"))["cookie"] is None

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("a=1; __session=x; b=2", "__session=x"),
            ("a=1", ""),
            ("", ""),
            ('__session="quoted value"', '__session="quoted value"'),
        ],
    )
    def test_filter(self, header: str, expected: str) -> None:
        assert only_session_cookie(header) == expected


class TestDirect:
    def test_direct_dispatch_strips_the_prefix(self, client: Client) -> None:
        body = fn(client.post("/__fn/timers/lock-expired?asset=ES"))
        assert body["target"] == "timers"
        assert body["path"] == "/lock-expired"
        assert body["script_root"] == "/__fn/timers"
        assert body["query"] == "asset=ES"

    def test_direct_root(self, client: Client) -> None:
        assert fn(client.get("/__fn/orders"))["path"] == "/"

    def test_unknown_target_404(self, client: Client) -> None:
        assert client.get("/__fn/nope/x").status_code == 404

    def test_broken_source_answers_503_and_recovers(self, site: Path) -> None:
        source = site / "brokenfns.py"
        source.write_text("raise RuntimeError('boom')\n")
        client = Client(HostingRouter(site, source=source))
        try:
            response = client.get("/api/state")
            assert response.status_code == 503
            assert "boom" in response.get_data(as_text=True)
            source.write_text(FUNCTIONS)
            assert fn(client.get("/api/state"))["target"] == "orders"
        finally:
            sys.modules.pop("brokenfns", None)

    def test_each_target_is_loaded_once(self, site: Path) -> None:
        calls: list[str] = []
        router = HostingRouter(site, source=site / f"{MODULE}.py")
        real = router.functions._factory

        def counting(target: str, source: str):
            calls.append(target)
            return real(target, source)

        router.functions._factory = counting
        client = Client(router)
        for _ in range(3):
            client.get("/api/state")
            client.get("/tv_x")
        assert sorted(calls) == ["orders", "webhooks"]


class TestRepositoryRoutingTable:
    """The real firebase.json sends every route group of the API reference to its function."""

    @pytest.fixture
    def routed(self) -> Client:
        router = HostingRouter()  # this repository's firebase.json

        def stub(target: str, _source: str):
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [f"{target} {environ['PATH_INFO']}".encode()]
            return app

        router.functions._factory = stub
        return Client(router)

    @pytest.mark.parametrize(
        ("method", "path", "target"),
        [
            ("POST", "/tv_heartbeat", "webhooks"),
            ("POST", "/tv_renko", "webhooks"),
            ("POST", "/tv_renko_main", "webhooks"),
            ("POST", "/tv_renko_high", "webhooks"),
            ("POST", "/tv_level_exit", "webhooks"),
            ("GET", "/api/orders/pending", "bridge"),
            ("POST", "/api/orders/ord-1/execution-report", "bridge"),
            ("POST", "/api/bridge/heartbeat", "bridge"),
            ("POST", "/api/rithmic/pnl", "bridge"),
            ("POST", "/api/orders", "orders"),
            ("POST", "/api/orders/ord-1/cancel", "orders"),
            ("GET", "/api/state", "orders"),
            ("POST", "/api/login", "orders"),
            ("GET", "/logout", "orders"),
            ("POST", "/_dev/reset", "orders"),
        ],
    )
    def test_route(self, routed: Client, method: str, path: str, target: str) -> None:
        response = routed.open(path, method=method)
        assert response.get_data(as_text=True) == f"{target} {path}"
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    def test_unrouted_path_is_404(self, routed: Client) -> None:
        assert routed.post("/tv").status_code == 404
        assert routed.get("/orders").status_code == 404


def _body_environ(server_end: socket.socket, length: int) -> dict:
    return {"gunicorn.socket": server_end, "CONTENT_LENGTH": str(length), "wsgi.input": server_end.makefile("rb")}


def test_a_body_that_arrives_in_time_is_handed_on_whole() -> None:
    server_end, client_end = socket.socketpair()
    with server_end, client_end:
        client_end.sendall(b'{"a": 1}')
        environ = _body_environ(server_end, 8)
        assert buffer_body(environ, deadline_s=30)
        assert environ["wsgi.input"].read() == b'{"a": 1}' and environ["CONTENT_LENGTH"] == "8"


def test_a_slow_upload_is_cut_off_at_the_body_deadline() -> None:
    server_end, client_end = socket.socketpair()
    with server_end, client_end:
        client_end.sendall(b"{")  # one byte of ten, then silence: it used to hold the thread until the client left
        started = time.monotonic()
        assert not buffer_body(_body_environ(server_end, 10), deadline_s=0.3)
        assert time.monotonic() - started < 10  # cut at its deadline, not left waiting
