"""Signing in and out, the session's status, and the OpenAPI description (which needs no session)."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import redirect

from shared.errors import Unavailable
from shared.web import auth
from shared.web.openapi import openapi

from . import router

with contextlib.suppress(Unavailable):  # logged now, at start-up; refused again on the first login
    auth.check_password_strength()


@router.route("POST", "/api/login")
def login(request: Any) -> Any:
    return auth.login(request)


@router.route("POST", "/api/logout")
def logout(request: Any) -> Any:
    return auth.logout(request)


@router.route("GET", "/logout")
def logout_page(request: Any) -> Any:
    auth.end_session(request)  # Firebase accounts: the sessions are revoked, not only the cookie dropped
    response = redirect("/login.html", code=302)
    auth.clear_session_cookie(response, request)  # type: ignore[arg-type]
    return response


@router.route("GET", "/api/openapi.json")
def openapi_description(request: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route (no session: it describes, it reveals no state)."""
    return openapi()


@router.route("GET", "/api/auth/status")
def auth_status(request: Any) -> dict[str, Any]:
    return auth.auth_status(request)

