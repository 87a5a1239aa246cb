"""Firebase Hosting, locally: one WSGI app that applies `firebase.json` exactly as Hosting does.

Order of a request, as Hosting documents it: configured redirects, then exact-match static content from
`hosting.public` (a directory serves its `index.html`), then `hosting.rewrites` in order (first match wins),
then the custom `404.html` or a plain 404. `hosting.headers` are added to every matching response (a header
the function set itself wins). Like Hosting, a rewrite forwards only the `__session` cookie to the function.

Each Cloud Function target of `functions/main.py` is loaded lazily (first request) with
`functions_framework.create_app`, so it runs exactly as the framework would run it in the cloud. Besides
the rewrites, every target is also reachable directly at `/__fn/<target>/<rest>` (the function sees
`/<rest>`), like a `cloudfunctions.net` URL; the local Cloud Tasks queue calls the timers that way.

The local stack's own routes, the dev clock and reset (`/_dev/...`, devstack/dev_routes.py), are added here to
the `orders` function's app, with a rewrite of their own: they are in no deployed function.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import mimetypes
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

from shared.imports import import_group

log = logging.getLogger("devstack.router")

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_TARGETS = ("webhooks", "orders", "bridge", "timers")
DIRECT_PREFIX = "/__fn/"
SESSION_COOKIE = "__session"
# A request body must arrive whole within this many seconds (else 408): a slow upload holds a server thread only
# that long. Bodies above BUFFER_MAX_BYTES are left to the function, which refuses them (413) before reading.
BODY_DEADLINE_S = 10.0
BUFFER_MAX_BYTES = 1024 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# ----------------------------------------------------------------------------------------------------
# Hosting's globs
# ----------------------------------------------------------------------------------------------------

def _segment_regex(segment: str) -> str:
    """One path segment of a glob: `*` and `?` stay inside it; `@(a|b)`, `{a,b}` and `[..]` alternate."""
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char in "@?+*!" and segment[i + 1:i + 2] == "(":
            end = segment.find(")", i)
            if end < 0:
                raise ValueError(f"unclosed {char}( in glob segment {segment!r}")
            alternatives = "|".join(_segment_regex(alt) for alt in segment[i + 2:end].split("|"))
            quantifier = {"@": "", "?": "?", "+": "+", "*": "*"}.get(char)
            if quantifier is None:  # !(a|b): anything but these
                out.append(f"(?!(?:{alternatives})(?:/|$))[^/]*")
            else:
                out.append(f"(?:{alternatives}){quantifier}")
            i = end + 1
        elif char == "{":
            end = segment.find("}", i)
            if end < 0:
                raise ValueError(f"unclosed {{ in glob segment {segment!r}")
            out.append("(?:" + "|".join(_segment_regex(alt) for alt in segment[i + 1:end].split(",")) + ")")
            i = end + 1
        elif char == "[":
            end = segment.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
                i += 1
                continue
            body = segment[i + 1:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = end + 1
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """Compile a Hosting `source` glob. `**` as a whole segment spans any number of segments (also none
    in the middle or at the start: `/**/*.html` matches `/index.html`); at the end it needs the slash
    (`/api/**` matches `/api/` and `/api/x/y`, not `/api`). Sources are rooted: `**/x` means `/**/x`."""
    if not glob.startswith("/"):
        glob = "/" + glob
    segments = glob[1:].split("/")
    regex = ""
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            regex += "/.*" if last else "(?:/[^/]*)*"
        else:
            regex += "/" + _segment_regex(segment)
    return re.compile(f"^{regex}$", re.DOTALL)


# ----------------------------------------------------------------------------------------------------
# firebase.json
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rewrite:
    source: re.Pattern[str]
    function: str | None = None
    destination: str | None = None


@dataclass(frozen=True)
class HeaderRule:
    source: re.Pattern[str]
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Redirect:
    source: re.Pattern[str]
    destination: str
    status: int


@dataclass(frozen=True)
class HostingConfig:
    public: Path
    rewrites: tuple[Rewrite, ...]
    headers: tuple[HeaderRule, ...]
    redirects: tuple[Redirect, ...]
    ignore: tuple[re.Pattern[str], ...]
    clean_urls: bool
    trailing_slash: bool | None

    @classmethod
    def load(cls, config_path: Path) -> HostingConfig:
        raw = json.loads(config_path.read_text())
        hosting = raw.get("hosting")
        if isinstance(hosting, list):  # several sites: the local stack serves the first
            hosting = hosting[0]
        if not isinstance(hosting, dict) or "public" not in hosting:
            raise ValueError(f"{config_path}: no hosting.public")
        rewrites = []
        for rule in hosting.get("rewrites", []):
            function = rule.get("function")
            if isinstance(function, dict):
                function = function.get("functionId")
            rewrites.append(Rewrite(_rule_source(rule), function, rule.get("destination")))
        headers = [
            HeaderRule(_rule_source(rule), tuple((h["key"], h["value"]) for h in rule.get("headers", [])))
            for rule in hosting.get("headers", [])
        ]
        redirects = [
            Redirect(_rule_source(rule), rule["destination"], int(rule.get("type", 301)))
            for rule in hosting.get("redirects", [])
        ]
        return cls(
            public=(config_path.parent / hosting["public"]).resolve(),
            rewrites=tuple(rewrites),
            headers=tuple(headers),
            redirects=tuple(redirects),
            ignore=tuple(glob_to_regex(glob) for glob in hosting.get("ignore", [])),
            clean_urls=bool(hosting.get("cleanUrls", False)),
            trailing_slash=hosting.get("trailingSlash"),
        )

    def function_ids(self) -> set[str]:
        return {rule.function for rule in self.rewrites if rule.function}


def _rule_source(rule: dict[str, Any]) -> re.Pattern[str]:
    if "source" in rule:
        return glob_to_regex(rule["source"])
    if "regex" in rule:
        return re.compile(rule["regex"])
    raise ValueError(f"rule without source or regex: {rule}")


# ----------------------------------------------------------------------------------------------------
# The app
# ----------------------------------------------------------------------------------------------------

def only_session_cookie(cookie_header: str) -> str:
    """What Hosting leaves of a Cookie header when it forwards to a function: the `__session` cookie only."""
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except CookieError:
        return ""
    morsel = cookies.get(SESSION_COOKIE)
    return f"{SESSION_COOKIE}={morsel.coded_value}" if morsel is not None else ""


class FunctionLoader:
    """Loads each target on first use; a failed load is retried on the next request (the source may be
    fixed meanwhile)."""

    def __init__(self, source: Path, factory: Callable[[str, str], WSGIApp] | None = None) -> None:
        self.source = source
        self._factory = factory or create_function_app
        self._apps: dict[str, WSGIApp] = {}
        self._lock = threading.Lock()

    def get(self, target: str) -> WSGIApp:
        app = self._apps.get(target)
        if app is None:
            with self._lock:  # create_app swaps sys.modules["main"]: one load at a time
                app = self._apps.get(target)
                if app is None:
                    app = self._factory(target, str(self.source))
                    self._apps[target] = app
        return app


def create_function_app(target: str, source: str) -> Any:
    """The target's functions-framework app (a Flask app), as the cloud runs it; for `DEV_ROUTES_TARGET`, with the
    local stack's dev routes added (devstack/dev_routes.py: they are in no deployed function)."""
    import functions_framework

    app = functions_framework.create_app(target=target, source=source)  # type: ignore[no-untyped-call]
    if target == DEV_ROUTES_TARGET:
        # under the process's one import lock, like every function's first import (shared/imports.py says why)
        import_group("devstack.dev_routes").add_to(app)
    return app


def with_connect_sources(rules: tuple[HeaderRule, ...], sources: tuple[str, ...]) -> tuple[HeaderRule, ...]:
    """`rules` with `sources` appended to every Content-Security-Policy's connect-src (the local stack's Auth
    emulator, which the login page signs in at: firebase.json allows only Google's Identity Toolkit, and must
    never name a local origin). Every other directive is left exactly as firebase.json has it."""
    if not sources:
        return rules

    def widened(policy: str) -> str:
        directives = [part.strip() for part in policy.split(";") if part.strip()]
        for index, directive in enumerate(directives):
            if directive.split()[0].lower() == "connect-src":
                directives[index] = " ".join([directive, *sources])
        return "; ".join(directives)

    return tuple(replace(rule, headers=tuple((key, widened(value) if key.lower() == "content-security-policy"
                                              else value) for key, value in rule.headers)) for rule in rules)


# The function whose app the local stack gives its dev routes (the dev clock and reset, devstack/dev_routes.py),
# and the rewrite it adds after firebase.json's own to reach them (production Hosting never routes `/_dev/**`).
DEV_ROUTES_TARGET = "orders"
LOCAL_ONLY_REWRITES = (("/_dev/**", DEV_ROUTES_TARGET),)


class HostingRouter:
    """The WSGI app. `root` is the repo root; `config` and `source` default to its firebase.json and
    functions/main.py. `targets` are the targets reachable at /__fn/ (the rewrites' ones are added)."""

    def __init__(self, root: Path = ROOT, *, config: Path | None = None, source: Path | None = None,
                 targets: Iterable[str] = FUNCTION_TARGETS, connect_sources: Iterable[str] = ()) -> None:
        self.root = Path(root).resolve()
        loaded = HostingConfig.load(Path(config) if config else self.root / "firebase.json")
        # The dev routes are the local stack's own: firebase.json (production Hosting) never routes them.
        local_only = tuple(Rewrite(glob_to_regex(source), target) for source, target in LOCAL_ONLY_REWRITES)
        self.config = replace(loaded, rewrites=loaded.rewrites + local_only,
                              headers=with_connect_sources(loaded.headers, tuple(connect_sources)))
        self.functions = FunctionLoader(Path(source) if source else self.root / "functions" / "main.py")
        self.targets = set(targets) | self.config.function_ids()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path.startswith(DIRECT_PREFIX):
            return self._direct(environ, start_response, path)
        extra = self._headers_for(path)
        response = self._hosting_response(environ, path)
        if response is not None:
            for key, value in extra:
                response.headers.setdefault(key, value)
            return response(environ, start_response)
        function = self._rewrite_function(path)
        if function is None:
            response = self._not_found(environ)
            for key, value in extra:
                response.headers.setdefault(key, value)
            return response(environ, start_response)
        forwarded = dict(environ)
        session = only_session_cookie(environ.get("HTTP_COOKIE", ""))
        if session:
            forwarded["HTTP_COOKIE"] = session
        else:
            forwarded.pop("HTTP_COOKIE", None)
        return self._call_function(function, forwarded, start_response, extra)

    # --- static content, redirects and static rewrites ----------------------------------------

    def _hosting_response(self, environ: dict[str, Any], path: str) -> Response | None:
        for redirect in self.config.redirects:
            if redirect.source.match(path):
                return _redirect(redirect.destination, redirect.status)
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return None
        redirect_to = self._slash_or_clean_redirect(path)
        if redirect_to is not None:
            return _redirect(_with_query(redirect_to, environ), 301)
        found = self._static_file(path)
        if found is not None:
            return _file_response(found, environ)
        for rule in self.config.rewrites:
            if rule.source.match(path):
                if rule.destination is None:
                    return None  # a function rewrite: the caller dispatches it
                target = self._static_file(rule.destination)
                return _file_response(target, environ) if target else self._not_found(environ)
        return None

    def _static_file(self, path: str) -> Path | None:
        public = self.config.public
        relative = path.lstrip("/")
        candidate = (public / relative).resolve() if relative else public
        if candidate != public and public not in candidate.parents:
            return None  # ../ escapes the public directory
        options = [candidate]
        if candidate.is_dir():
            options = [candidate / "index.html"]
        elif self.config.clean_urls and not relative.endswith(".html"):
            options.append(candidate.with_name(candidate.name + ".html"))
        for option in options:
            if option.is_file() and not self._ignored(option):
                return option
        return None

    def _ignored(self, file: Path) -> bool:
        relative = "/" + file.relative_to(self.config.public).as_posix()
        return any(pattern.match(relative) for pattern in self.config.ignore)

    def _slash_or_clean_redirect(self, path: str) -> str | None:
        trailing = self.config.trailing_slash
        if path != "/" and path.endswith("/") and trailing is False and self._static_file(path):
            return path.rstrip("/")
        if not path.endswith("/") and trailing is True:
            found = self._static_file(path)
            if found is not None and found.name == "index.html" and not path.endswith("index.html"):
                return path + "/"
        if self.config.clean_urls and path.endswith(".html") and self._static_file(path):
            clean = path[: -len(".html")]
            return clean[: -len("/index")] or "/" if clean.endswith("/index") else clean
        return None

    def _not_found(self, environ: dict[str, Any]) -> Response:
        page = self.config.public / "404.html"
        if page.is_file():
            return _file_response(page, environ, status=404)
        return Response("Not Found\n", status=404, mimetype="text/plain")

    # --- functions --------------------------------------------------------------------------------

    def _rewrite_function(self, path: str) -> str | None:
        for rule in self.config.rewrites:
            if rule.source.match(path):
                return rule.function
        return None

    def _headers_for(self, path: str) -> list[tuple[str, str]]:
        return [pair for rule in self.config.headers if rule.source.match(path) for pair in rule.headers]

    def _direct(self, environ: dict[str, Any], start_response: Callable[..., Any],
                path: str) -> Iterable[bytes]:
        target, _, rest = path[len(DIRECT_PREFIX):].partition("/")
        if target not in self.targets:
            missing = Response(f"no function {target!r}\n", status=404, mimetype="text/plain")
            return missing(environ, start_response)
        forwarded = dict(environ)
        forwarded["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + DIRECT_PREFIX + target
        forwarded["PATH_INFO"] = "/" + rest
        return self._call_function(target, forwarded, start_response, [])

    def _call_function(self, target: str, environ: dict[str, Any], start_response: Callable[..., Any],
                       extra: list[tuple[str, str]]) -> Iterable[bytes]:
        if not buffer_body(environ):
            late = Response(f"request body not received within {BODY_DEADLINE_S:g} s\n", status=408,
                            mimetype="text/plain", headers={"Connection": "close"})
            return late(environ, start_response)
        try:
            app = self.functions.get(target)
        except Exception as exc:  # a broken or missing source: say so, like a failed deploy would
            log.exception("function %s failed to load from %s", target, self.functions.source)
            body = f"function {target!r} failed to load: {type(exc).__name__}: {exc}\n"
            return Response(body, status=503, mimetype="text/plain")(environ, start_response)

        def add_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {key.lower() for key, _ in headers}
            headers = headers + [(key, value) for key, value in extra if key.lower() not in present]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return app(environ, add_headers)


def buffer_body(environ: dict[str, Any], deadline_s: float = BODY_DEADLINE_S) -> bool:
    """Reads the request body whole before the function runs, within `deadline_s` in all (gunicorn only: its
    `gunicorn.socket`); False when it did not arrive in time. A client that sends a byte now and then is cut off
    too: at the deadline the socket's reading side is shut, which ends the blocked read at once."""
    sock = environ.get("gunicorn.socket")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True  # the function answers a malformed Content-Length
    if not isinstance(sock, socket.socket) or not 0 < length <= BUFFER_MAX_BYTES:
        return True
    late = threading.Event()

    def cut() -> None:
        late.set()
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RD)

    watchdog = threading.Timer(deadline_s, cut)
    watchdog.daemon = True
    started = time.monotonic()
    watchdog.start()
    try:
        body = environ["wsgi.input"].read(length)
    except OSError:
        body = b""
    finally:
        watchdog.cancel()
    if late.is_set() or (len(body) < length and time.monotonic() - started >= deadline_s):
        return False
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return True


def _file_response(file: Path, environ: dict[str, Any], status: int = 200) -> Response:
    """The dashboard's files are small: read them whole (no open file handle outlives the request)."""
    mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    response = Response(file.read_bytes(), status=status, mimetype=mimetype)
    if status == 200:
        response.add_etag()
        response.make_conditional(environ)
    return response


def _redirect(location: str, status: int) -> Response:
    return Response("", status=status, headers={"Location": location})


def _with_query(location: str, environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING")
    return f"{location}?{query}" if query else location


def app_from_env() -> HostingRouter:
    """Entry point for gunicorn (`devstack.router:app_from_env()`): the repo at $DEVSTACK_ROOT or this one;
    $DEVSTACK_FUNCTIONS_SOURCE and $DEVSTACK_FIREBASE_JSON override the defaults inside it. With LOCAL_DEV=1
    and $FIREBASE_AUTH_EMULATOR_HOST, the pages may also connect to that emulator (the login page signs in there), or
    to $FIREBASE_AUTH_PAGE_HOST when that is set (where the page then signs in)."""
    root = Path(os.environ.get("DEVSTACK_ROOT", ROOT))
    source = os.environ.get("DEVSTACK_FUNCTIONS_SOURCE")
    config = os.environ.get("DEVSTACK_FIREBASE_JSON")
    emulator = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST", "").strip()
    # host:port only: anything else could smuggle a directive into the policy
    local = os.environ.get("LOCAL_DEV", "") == "1" and re.fullmatch(r"[\w.\-\[\]:]+", emulator) is not None
    # where the login page calls the Identity Toolkit instead (shared.web.firebase_auth.page_host: a stand-in
    # for the TOTP endpoints the emulator lacks, in the browser tests), under the same rule
    page = os.environ.get("FIREBASE_AUTH_PAGE_HOST", "").strip()
    if local and re.fullmatch(r"[\w.\-\[\]]+:\d+", page):
        emulator = page
    return HostingRouter(
        root, config=Path(config) if config else None, source=Path(source) if source else None,
        connect_sources=(f"http://{emulator}",) if emulator and local else (),
    )
