"""The local stack's own routes: the dev clock (D16) and the wipe, `/_dev/...`. Never deployed.

`scripts/build_bundle.py` ships `functions/` and `shared/` only, so these routes cannot reach the cloud: the
deployed `orders` function answers `/_dev/...` with its plain 404. When the local stack serves the functions
(`devstack.router`), it adds them to the app it creates for the `orders` function (`add_to`), behind that
function's session like before; Hosting's rewrite for them is the local stack's own too (`LOCAL_ONLY_REWRITES`).

They answer as every route does (one log line, errors as JSON) because they run on a `shared.web` router of their
own. `GET /_dev/clock` shows the clock, `POST` freezes or moves it, `DELETE` returns to the real clock;
`POST /_dev/reset` wipes every document of the emulator (the session generation kept) and the clock.
"""

from __future__ import annotations

import os
import urllib.request
from typing import Any

import flask
from werkzeug.routing import Rule

from shared.errors import BadInput, NotFound, Unavailable
from shared.service import clock
from shared.service.security import keep_generation, stored_generation
from shared.service.wiring import services
from shared.web import auth
from shared.web.request import json_body, opt_bool, opt_float
from shared.web.routing import Router

PREFIX = "/_dev/"
router = Router()


def add_to(app: flask.Flask) -> None:
    """Route `/_dev/<rest>` of a function's app (functions-framework's Flask app) to these routes; every other
    path stays the function's. Once per app."""
    if "devstack_dev_routes" in app.view_functions:
        return
    # every method, like functions-framework's own rule: the router answers 405 itself
    app.url_map.add(Rule(f"{PREFIX}<path:rest>", endpoint="devstack_dev_routes"))
    app.view_functions["devstack_dev_routes"] = lambda rest: router.dispatch(flask.request)




def _dev_only(request: Any) -> None:
    """Local stack only (404 elsewhere), and behind the operator session when a password is set: these routes
    move every function's clock and wipe the database."""
    if not clock.local_dev():
        raise NotFound()
    auth.require_session(request)


@router.route("GET", "/_dev/clock")
def dev_clock_get(request: Any) -> dict[str, Any]:
    _dev_only(request)
    return {"ok": True, **clock.state()}


@router.route("POST", "/_dev/clock")
def dev_clock_set(request: Any) -> dict[str, Any]:
    _dev_only(request)
    body = json_body(request, strict=True)
    try:
        if "now" in body:
            clock.set_now(_dev_number(body, "now"), tick=bool(opt_bool(body, "tick", False)))
        elif "advance" in body:
            clock.advance(_dev_number(body, "advance"))
        else:
            raise BadInput("body: expected {\"now\": <epoch seconds>[, \"tick\": true]} or {\"advance\": <seconds>}")
    except ValueError as exc:
        raise BadInput(f"clock: {exc}") from None
    return {"ok": True, **clock.state()}


def _dev_number(body: dict[str, Any], name: str) -> float:
    value = opt_float(body, name)
    if value is None:
        raise BadInput(f"{name}: a number is required")
    return value


@router.route("DELETE", "/_dev/clock")
def dev_clock_reset(request: Any) -> dict[str, Any]:
    _dev_only(request)
    clock.reset()
    return {"ok": True, **clock.state()}


@router.route("POST", "/_dev/reset")
def dev_reset(request: Any) -> dict[str, Any]:
    """Wipe every document of the local project (pending timers then find nothing to do) and the clock. The
    session generation is written back: a wipe must not bring back the sessions a logout ended."""
    _dev_only(request)
    generation = stored_generation(services().store)
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not host or not project:
        raise NotFound()
    url = f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10) as response:
            status = response.status
    except OSError as exc:  # not listening yet (starting), frozen, or an error status: the caller may retry
        raise Unavailable(f"reset failed: the Firestore emulator at {host} is not ready "
                          f"({type(exc).__name__}); retry") from exc
    if status != 200:
        raise Unavailable(f"reset failed: the Firestore emulator answered {status}; retry")
    if generation:
        keep_generation(services().store, generation)
    clock.reset()
    return {"ok": True}

