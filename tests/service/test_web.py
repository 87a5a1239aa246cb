"""shared.web: error mapping, body parsing, secrets, the operator session, JSON, logs and routing."""

from __future__ import annotations

import hmac
import json
from typing import Any

import pytest
from flask import Request, Response
from werkzeug.test import EnvironBuilder

from shared.errors import BadInput, NotFound, PayloadTooLarge, Refused, Unauthorized, Unavailable
from shared.logs import annotate, log_json, redact
from shared.store.api import Contention, StorageUnavailable
from shared.web import auth
from shared.web.errors import error_response
from shared.web.request import (
    MAX_BODY_BYTES,
    json_body,
    opt_bool,
    opt_choice,
    opt_float,
    opt_int,
    require_choice,
    require_float,
    require_int,
    require_str,
)
from shared.web.respond import json_response, log_request
from shared.web.routing import Router

T0 = 1_750_000_000.0


def make_request(
    path: str = "/",
    method: str = "POST",
    *,
    data: str | bytes | None = None,
    content_type: str | None = None,
    base_url: str = "https://ops.example.com",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> Request:
    builder = EnvironBuilder(
        path=path,
        method=method,
        data=data,
        content_type=content_type,
        base_url=base_url,
        headers=list((headers or {}).items()),
        query_string=query,
    )
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ---- errors ------------------------------------------------------------------------------------------------


class TestErrorMapping:
    def test_bad_input_is_400_with_the_text(self) -> None:
        assert error_response(BadInput('price: expected a number, got "x"')) == (
            {"ok": False, "error": 'price: expected a number, got "x"'},
            400,
        )

    def test_unauthorized_is_401(self) -> None:
        assert error_response(Unauthorized("unauthorized")) == ({"ok": False, "error": "unauthorized"}, 401)

    def test_not_found_is_404_with_a_default_text(self) -> None:
        assert error_response(NotFound()) == ({"ok": False, "error": "not found"}, 404)
        assert error_response(NotFound("Order not found"))[0]["error"] == "Order not found"

    @pytest.mark.parametrize("status", [403, 409, 423])
    def test_refused_keeps_status_code_text_and_extra_fields(self, status: int) -> None:
        exc = Refused(
            "5-MIN CANDLE LOCK ACTIVE (01:10 remaining)",
            code="CANDLE_LOCK_ACTIVE",
            status=status,
            extra={"seconds_remaining": 70},
        )
        assert error_response(exc) == (
            {
                "ok": False,
                "error": "5-MIN CANDLE LOCK ACTIVE (01:10 remaining)",
                "code": "CANDLE_LOCK_ACTIVE",
                "seconds_remaining": 70,
            },
            status,
        )

    def test_refused_defaults_to_409(self) -> None:
        assert error_response(Refused("No open position", code="NO_POSITION"))[1] == 409

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"code": "not_snake"},
            {"code": "OK", "status": 400},
            {"code": "OK", "status": 401},
            {"code": "OK", "status": 503},
            {"code": "OK", "extra": {"error": "overridden"}},
            {"code": "OK", "extra": {"ok": True}},
        ],
    )
    def test_refused_rejects_a_malformed_refusal(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            Refused("text", **kwargs)

    def test_unavailable_is_503(self) -> None:
        body, status = error_response(Unavailable("server not configured: TV_WEBHOOK_SECRET is not set"))
        assert status == 503
        assert body == {"ok": False, "error": "server not configured: TV_WEBHOOK_SECRET is not set"}

    @pytest.mark.parametrize("exc", [StorageUnavailable("grpc down"), Contention("deadline")])
    def test_storage_failures_are_503_and_say_retry(self, exc: Exception) -> None:
        body, status = error_response(exc)
        assert status == 503
        assert body["ok"] is False
        assert "retry" in body["error"]
        assert "grpc" not in body["error"]

    def test_anything_else_is_a_bare_500(self) -> None:
        assert error_response(KeyError("internal detail")) == ({"ok": False, "error": "internal error"}, 500)

    def test_every_class_docstring_says_what_to_do(self) -> None:
        for cls in (BadInput, Unauthorized, NotFound, Refused, Unavailable):
            assert cls.__doc__ and "HTTP" in cls.__doc__


# ---- request body and fields -------------------------------------------------------------------------------


class TestJsonBody:
    @pytest.mark.parametrize(
        "content_type", ["text/plain", "application/json", None, "application/x-www-form-urlencoded"]
    )
    @pytest.mark.parametrize("strict", [False, True])
    def test_an_object_is_parsed_whatever_the_content_type(
        self, content_type: str | None, strict: bool
    ) -> None:
        request = make_request(
            data='{"secret": "s", "symbol": "ES", "price": 6012.25}', content_type=content_type
        )
        assert json_body(request, strict=strict) == {"secret": "s", "symbol": "ES", "price": 6012.25}

    @pytest.mark.parametrize(
        "data",
        [
            "",
            "not json at all",
            "{bad",
            "[1, 2]",
            '"a string"',
            "42",
            "null",
            b"\xff\xfe{}",
        ],
    )
    def test_garbage_is_empty_when_lenient_and_400_when_strict(self, data: str | bytes) -> None:
        assert json_body(make_request(data=data, content_type="text/plain")) == {}
        with pytest.raises(BadInput, match="body must be a JSON object"):
            json_body(make_request(data=data, content_type="text/plain"), strict=True)

    def test_a_utf8_bom_is_tolerated(self) -> None:
        request = make_request(data='\ufeff{"a": 1}'.encode(), content_type="text/plain")
        assert json_body(request, strict=True) == {"a": 1}

    @pytest.mark.parametrize(("data", "error"), [
        ('{"price": NaN}', "price: number out of range"),
        ('{"price": Infinity}', "price: number out of range"),
        ('{"a": {"b": [1, -1e400]}}', "a.b[1]: number out of range"),
        ('{"x": 9223372036854775808}', "x: number out of range"),
        ('{"x": -9223372036854775809}', "x: number out of range"),
        ('{"x": ' + "1" * 5000 + "}", "body: number out of range"),
        ('{"asset": "\\ud800"}', "asset: not valid Unicode text"),
        ('{"\\udfff": 1}', "(key): not valid Unicode text"),
        ('{"a": "' + "x" * 4097 + '"}', "a: longer than 4096 characters"),
        ("[" * 50_000, "body: nested deeper than 8 levels"),
        ('{"a": ' * 9 + "1" + "}" * 9, "nested deeper than 8 levels"),
    ])
    @pytest.mark.parametrize("strict", [False, True])
    def test_hostile_json_is_a_400_naming_the_field_in_both_modes(self, data: str, error: str, strict: bool) -> None:
        """Issue 7: these were a 500 (RecursionError, a surrogate or a 64-bit overflow reaching storage) or were
        silently read as {}; every one is now a 400 that says where."""
        with pytest.raises(BadInput) as caught:
            json_body(make_request(data=data, content_type="text/plain"), strict=strict)
        assert error in caught.value.error

    def test_the_deepest_legitimate_body_parses(self) -> None:
        body = '{"a": ' * 8 + "1" + "}" * 8
        assert json_body(make_request(data=body, content_type="text/plain"), strict=True)["a"]["a"]

    @pytest.mark.parametrize("strict", [False, True])
    def test_an_oversized_body_is_a_413_in_both_modes(self, strict: bool) -> None:
        """Issue 7: a body too large is refused as such (413), not read as an empty object."""
        big = '{"a": "' + "x" * MAX_BODY_BYTES + '"}'
        with pytest.raises(PayloadTooLarge):
            json_body(make_request(data=big, content_type="text/plain"), strict=strict)

    def test_the_body_can_be_read_twice(self) -> None:
        request = make_request(data='{"a": 1}', content_type="text/plain")
        assert json_body(request) == json_body(request) == {"a": 1}


class TestFields:
    def test_numbers_accept_json_numbers_and_numeric_strings(self) -> None:
        body = {"price": "6012.25", "qty": 2.0, "n": "3"}
        assert require_float(body, "price") == 6012.25
        assert opt_float(body, "missing") is None
        assert opt_float(body, "missing", 1.5) == 1.5
        assert require_int(body, "qty") == 2
        assert opt_int(body, "n") == 3

    @pytest.mark.parametrize("value", [True, "abc", "NaN", "inf", [1], {"a": 1}])
    def test_non_numbers_name_the_field(self, value: Any) -> None:
        with pytest.raises(BadInput, match=r"^price: expected a number, got "):
            opt_float({"price": value}, "price")

    def test_a_fraction_is_not_a_whole_number(self) -> None:
        with pytest.raises(BadInput, match=r"^qty: expected a whole number, got 2.5$"):
            opt_int({"qty": 2.5}, "qty")

    def test_missing_required_fields_say_so(self) -> None:
        with pytest.raises(BadInput, match=r"^asset: a non-empty string is required$"):
            require_str({"asset": "  "}, "asset")
        with pytest.raises(BadInput, match=r"^price: a number is required$"):
            require_float({"price": None}, "price")

    def test_the_original_verbatim_text_can_replace_the_generic_one(self) -> None:
        with pytest.raises(BadInput, match=r"^Invalid target$"):
            opt_float({"target": "x"}, "target", error="Invalid target")

    def test_choices_are_upper_cased_and_checked(self) -> None:
        assert require_choice({"trade_mode": "scalp"}, "trade_mode", {"SCALP", "RUNNER"}) == "SCALP"
        assert opt_choice({}, "trade_mode", {"SCALP", "RUNNER"}, "RUNNER") == "RUNNER"
        with pytest.raises(BadInput, match=r"^trade_mode: expected one of RUNNER/SCALP, got \"SWING\"$"):
            require_choice({"trade_mode": "swing"}, "trade_mode", {"SCALP", "RUNNER"})

    def test_booleans(self) -> None:
        assert opt_bool({"enabled": "true"}, "enabled") is True
        assert opt_bool({"enabled": 0}, "enabled") is False
        assert opt_bool({}, "enabled", True) is True
        with pytest.raises(BadInput, match="enabled: expected true or false"):
            opt_bool({"enabled": "maybe"}, "enabled")

    def test_a_sensitive_value_is_never_echoed(self) -> None:
        with pytest.raises(BadInput) as info:
            require_float({"password": "hunter22"}, "password")
        assert "hunter22" not in str(info.value)


# ---- secrets -----------------------------------------------------------------------------------------------


class TestSharedSecret:
    def test_the_right_secret_passes(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TV_WEBHOOK_SECRET", "tv-s3cret")
        auth.check_shared_secret("tv-s3cret", "TV_WEBHOOK_SECRET")

    @pytest.mark.parametrize("given", ["tv-s3cre", "tv-s3cret ", "", None, 123, ["tv-s3cret"]])
    def test_a_wrong_or_missing_secret_is_unauthorized(
        self, monkeypatch: pytest.MonkeyPatch, given: Any
    ) -> None:
        monkeypatch.setenv("TV_WEBHOOK_SECRET", "tv-s3cret")
        with pytest.raises(Unauthorized) as info:
            auth.check_shared_secret(given, "TV_WEBHOOK_SECRET")
        assert info.value.error == "unauthorized"

    def test_the_comparison_is_constant_time(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("BRIDGE_HEARTBEAT_SECRET", "bridge-s3cret")
        calls: list[tuple[Any, Any]] = []
        real = hmac.compare_digest

        def spy(a: Any, b: Any) -> bool:
            calls.append((a, b))
            return real(a, b)

        monkeypatch.setattr(hmac, "compare_digest", spy)
        auth.check_shared_secret("bridge-s3cret", "BRIDGE_HEARTBEAT_SECRET")
        with pytest.raises(Unauthorized):
            auth.check_shared_secret("nope", "BRIDGE_HEARTBEAT_SECRET")
        assert [type(a) for a, _ in calls] == [bytes, bytes]

    @pytest.mark.parametrize("value", [None, ""])
    def test_a_missing_secret_is_503_with_one_clear_log_line(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str | None
    ) -> None:
        if value is None:
            monkeypatch.delenv("TV_WEBHOOK_SECRET", raising=False)
        else:
            monkeypatch.setenv("TV_WEBHOOK_SECRET", value)
        with pytest.raises(Unavailable, match="TV_WEBHOOK_SECRET is not set"):
            auth.check_shared_secret("dev-secret", "TV_WEBHOOK_SECRET")
        lines = log_lines(capsys)
        assert len(lines) == 1
        assert lines[0]["severity"] == "ERROR"
        assert "TV_WEBHOOK_SECRET" in lines[0]["message"]

    def test_get_secret_returns_the_value(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSION_SECRET", "k" * 32)
        assert auth.get_secret("SESSION_SECRET") == "k" * 32


# ---- operator password and session -------------------------------------------------------------------------


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "correct horse")
    monkeypatch.setenv("SESSION_SECRET", "session-key-0123456789")
    monkeypatch.delenv("ALLOW_OPEN_DASHBOARD", raising=False)
    monkeypatch.delenv("SESSION_MAX_AGE_S", raising=False)


def session_cookie(response: Response) -> tuple[str, str]:
    """(value, full Set-Cookie header) of the __session cookie set on `response`."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("__session=")]
    assert len(headers) == 1
    return headers[0].split(";", 1)[0].split("=", 1)[1], headers[0]


def with_cookie(value: str, base_url: str = "https://ops.example.com") -> Request:
    return make_request("/api/state", "GET", base_url=base_url, headers={"Cookie": f"__session={value}"})


def logged_in(now: float = T0, base_url: str = "https://ops.example.com") -> str:
    response = Response()
    auth.issue_session_cookie(response, make_request(base_url=base_url), now=now)
    return session_cookie(response)[0]


@pytest.mark.usefixtures("operator_env")
class TestPassword:
    def test_the_right_password_passes(self) -> None:
        auth.check_password("correct horse")

    @pytest.mark.parametrize("given", ["correct hors", "CORRECT HORSE", "", None, 7])
    def test_a_wrong_password_is_invalid(self, given: Any) -> None:
        with pytest.raises(Unauthorized) as info:
            auth.check_password(given)
        assert info.value.error == "Invalid password"

    def test_no_password_configured_refuses_login_and_says_what_to_do(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("DASHBOARD_PASSWORD", "")
        with pytest.raises(Unavailable, match="set DASHBOARD_PASSWORD") as info:
            auth.check_password("")
        assert error_response(info.value)[1] == 503
        assert auth.password_required() is True
        assert log_lines(capsys)[0]["config_missing"] == "DASHBOARD_PASSWORD"

    @pytest.mark.parametrize("flag", ["", "0", "true", "yes"])
    def test_open_mode_needs_exactly_allow_open_dashboard_1(
        self, monkeypatch: pytest.MonkeyPatch, flag: str
    ) -> None:
        monkeypatch.setenv("DASHBOARD_PASSWORD", "")
        monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", flag)
        assert auth.open_dashboard() is False
        assert auth.session_authenticated(make_request()) is False
        with pytest.raises(Unavailable):
            auth.check_password("")

    def test_open_mode(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DASHBOARD_PASSWORD", "")
        monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
        monkeypatch.setenv("LOCAL_DEV", "1")  # open only on the local stack (issue 12)
        monkeypatch.delenv("SESSION_SECRET")
        auth.check_password(None)
        auth.require_session(make_request())
        assert auth.auth_status(make_request()) == {"authenticated": True, "password_required": False}

    def test_a_configured_password_wins_over_allow_open(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
        assert auth.password_required() is True
        with pytest.raises(Unauthorized):
            auth.check_password("")


@pytest.mark.usefixtures("operator_env")
class TestSession:
    def test_round_trip(self) -> None:
        assert auth.session_authenticated(with_cookie(logged_in()), now=T0 + 60) is True

    def test_no_cookie_is_not_authenticated(self) -> None:
        assert auth.session_authenticated(make_request(), now=T0) is False
        with pytest.raises(Unauthorized) as info:
            auth.require_session(make_request(), now=T0)
        assert info.value.error == "Authentication required"

    @pytest.mark.parametrize(
        "tamper",
        [
            lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),
            lambda v: "admin" + v[len("operator") :],
            lambda v: v.split(".")[0],
            lambda v: "garbage",
        ],
    )
    def test_a_tampered_cookie_is_rejected(self, tamper: Any) -> None:
        assert auth.session_authenticated(with_cookie(tamper(logged_in())), now=T0) is False

    def test_a_cookie_signed_with_another_key_is_rejected(self, monkeypatch: pytest.MonkeyPatch) -> None:
        value = logged_in()
        monkeypatch.setenv("SESSION_SECRET", "another-key-0123456789")
        assert auth.session_authenticated(with_cookie(value), now=T0) is False

    def test_changing_the_password_logs_sessions_out(self, monkeypatch: pytest.MonkeyPatch) -> None:
        value = logged_in()
        monkeypatch.setenv("DASHBOARD_PASSWORD", "new password")
        assert auth.session_authenticated(with_cookie(value), now=T0) is False

    def test_the_session_expires_after_12_hours_by_default(self) -> None:
        value = logged_in(T0)
        assert auth.session_authenticated(with_cookie(value), now=T0 + 12 * 3600) is True
        assert auth.session_authenticated(with_cookie(value), now=T0 + 12 * 3600 + 1) is False

    def test_the_max_age_comes_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSION_MAX_AGE_S", "60")
        response = Response()
        auth.issue_session_cookie(response, make_request(), now=T0)
        value, header = session_cookie(response)
        assert "Max-Age=60" in header
        assert auth.session_authenticated(with_cookie(value), now=T0 + 60) is True
        assert auth.session_authenticated(with_cookie(value), now=T0 + 61) is False

    def test_a_cookie_from_the_future_is_rejected(self) -> None:
        assert auth.session_authenticated(with_cookie(logged_in(T0 + 600)), now=T0) is False

    @pytest.mark.parametrize("raw", ["0", "-5", "twelve hours"])
    def test_a_bad_max_age_is_a_configuration_error(self, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
        monkeypatch.setenv("SESSION_MAX_AGE_S", raw)
        with pytest.raises(Unavailable, match="SESSION_MAX_AGE_S"):
            logged_in()

    def test_cookie_attributes_in_the_cloud(self) -> None:
        response = Response()
        auth.issue_session_cookie(response, make_request(base_url="https://ops.example.com"), now=T0)
        _, header = session_cookie(response)
        attributes = [a.strip() for a in header.split(";")]
        assert "HttpOnly" in attributes
        assert "SameSite=Strict" in attributes
        assert "Secure" in attributes
        assert "Path=/" in attributes
        assert f"Max-Age={12 * 3600}" in attributes

    @pytest.mark.parametrize(
        "base_url", ["http://localhost:5000", "http://127.0.0.1:8080", "http://[::1]:5000"]
    )
    def test_no_secure_flag_on_localhost(self, base_url: str) -> None:
        response = Response()
        auth.issue_session_cookie(response, make_request(base_url=base_url), now=T0)
        _, header = session_cookie(response)
        attributes = [a.strip() for a in header.split(";")]
        assert "Secure" not in attributes
        assert "HttpOnly" in attributes
        assert "SameSite=Strict" in attributes

    def test_localhost_lookalikes_keep_the_secure_flag(self) -> None:
        response = Response()
        auth.issue_session_cookie(response, make_request(base_url="https://localhost.evil.example"), now=T0)
        assert "Secure" in [a.strip() for a in session_cookie(response)[1].split(";")]

    def test_missing_session_secret_is_503(self, monkeypatch: pytest.MonkeyPatch) -> None:
        value = logged_in()
        monkeypatch.delenv("SESSION_SECRET")
        with pytest.raises(Unavailable, match="SESSION_SECRET"):
            auth.issue_session_cookie(Response(), make_request(), now=T0)
        with pytest.raises(Unavailable, match="SESSION_SECRET"):
            auth.session_authenticated(with_cookie(value), now=T0)
        with pytest.raises(Unavailable):
            auth.session_authenticated(make_request(), now=T0)

    def test_no_password_configured_accepts_no_session(self, monkeypatch: pytest.MonkeyPatch) -> None:
        value = logged_in()
        monkeypatch.setenv("DASHBOARD_PASSWORD", "")
        assert auth.session_authenticated(with_cookie(value), now=T0) is False


@pytest.mark.usefixtures("operator_env")
class TestAuthRoutes:
    def test_login_sets_a_cookie_that_authenticates(self) -> None:
        request = make_request(
            "/api/login", data='{"password": "correct horse"}', content_type="application/json"
        )
        response = auth.login(request)
        assert response.status_code == 200
        assert response.get_json() == {"ok": True}
        value, _ = session_cookie(response)
        assert auth.auth_status(with_cookie(value)) == {"authenticated": True, "password_required": True}

    def test_login_with_a_wrong_password(self) -> None:
        request = make_request("/api/login", data='{"password": "nope"}', content_type="application/json")
        with pytest.raises(Unauthorized, match=r"^Invalid password$"):
            auth.login(request)

    def test_status_without_a_session(self) -> None:
        assert auth.auth_status(make_request()) == {"authenticated": False, "password_required": True}

    def test_open_mode_login_sets_no_cookie(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DASHBOARD_PASSWORD", "")
        monkeypatch.setenv("ALLOW_OPEN_DASHBOARD", "1")
        monkeypatch.setenv("LOCAL_DEV", "1")  # open only on the local stack (issue 12)
        response = auth.login(make_request("/api/login", data="{}"))
        assert response.get_json() == {"ok": True}
        assert response.headers.getlist("Set-Cookie") == []

    def test_logout_expires_the_cookie(self) -> None:
        response = auth.logout(make_request("/api/logout", base_url="http://localhost:5000"))
        assert response.get_json() == {"ok": True}
        value, header = session_cookie(response)
        assert value == ""
        assert "Max-Age=0" in header
        assert "Path=/" in header
        assert "Secure" not in header


# ---- responses and logs ------------------------------------------------------------------------------------


class TestRespond:
    def test_json_response_is_compact_and_not_cached(self) -> None:
        response = json_response(
            {"ok": False, "error": "Daily stop TRIGGERED — entries blocked"}, 403, {"X-A": "1"}
        )
        assert response.status_code == 403
        assert response.mimetype == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-A"] == "1"
        assert (
            response.get_data(as_text=True) == '{"ok":false,"error":"Daily stop TRIGGERED — entries blocked"}'
        )

    def test_redact_drops_secret_keys_at_any_depth(self) -> None:
        payload = {
            "Secret": "a",
            "symbol": "ES",
            "nested": {"PASSWORD": "b", "list": [{"token": "c", "price": 1}], "Authorization": "Bearer d"},
            "tv_webhook_secret": "e",
            "tempo_token_available": True,
        }
        assert redact(payload) == {
            "symbol": "ES",
            "nested": {"list": [{"price": 1}]},
            "tempo_token_available": True,
        }
        assert payload["Secret"] == "a"  # a copy, the original is untouched

    def test_log_request_is_one_cloud_logging_json_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        log_request(
            "/tv_renko", "ES", "refused", "TEMPO_WAIT", 12.34567, 409, body={"secret": "x", "color": "red"}
        )
        [line] = log_lines(capsys)
        assert line["severity"] == "WARNING"
        assert line["message"] == "/tv_renko 409 refused TEMPO_WAIT"
        assert line["route"] == "/tv_renko"
        assert line["asset"] == "ES"
        assert line["code"] == "TEMPO_WAIT"
        assert line["latency_ms"] == 12.346
        assert line["status"] == 409
        assert line["body"] == {"color": "red"}
        assert line["logging.googleapis.com/labels"]["route"] == "/tv_renko"

    def test_fields_cannot_override_the_core_of_a_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        log_request("/r", None, "ok", None, 1.0, 200, severity="DEBUG", status=999, route="/other")
        [line] = log_lines(capsys)
        assert (line["severity"], line["status"], line["route"]) == ("INFO", 200, "/r")

    def test_a_configured_secret_value_is_scrubbed_anywhere(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("TV_WEBHOOK_SECRET", "tv-s3cret-value")
        log_json(
            "ERROR", "boom: tv-s3cret-value", raw="secret=tv-s3cret-value&x=1", items=["tv-s3cret-value"]
        )
        out = capsys.readouterr().out
        assert "tv-s3cret-value" not in out
        assert "[REDACTED]" in out


# ---- routing -----------------------------------------------------------------------------------------------


@pytest.fixture
def router() -> Router:
    r = Router()

    @r.route("POST", "/tv_heartbeat")
    def heartbeat(request: Request) -> dict[str, Any]:
        body = json_body(request)
        auth.check_shared_secret(body.get("secret"), "TV_WEBHOOK_SECRET")
        annotate(asset=body.get("symbol"), payload=body)
        return {"ok": True}

    @r.route("POST", "/api/orders/<order_id>/execution-report")
    def report(request: Request, order_id: str) -> tuple[dict[str, Any], int]:
        if order_id == "missing":
            raise NotFound("Order not found")
        return {"ok": True, "order_id": order_id}, 201

    @r.route("GET", "/api/orders/pending")
    def pending(request: Request) -> Response:
        return json_response({"orders": []}, headers={"X-Handler": "pending"})

    @r.route("POST", "/api/orders")
    def create(request: Request) -> dict[str, Any]:
        annotate(asset="ES", outcome="created")
        raise Refused("Pending order already exists", code="PENDING_ORDER", status=409)

    @r.route("POST", "/api/exit")
    def storage(request: Request) -> dict[str, Any]:
        raise StorageUnavailable("firestore unreachable")

    @r.route("POST", "/api/risk")
    def contention(request: Request) -> dict[str, Any]:
        raise Contention("gave up")

    @r.route("POST", "/api/boom")
    def boom(request: Request) -> dict[str, Any]:
        raise RuntimeError("leaky detail tv-s3cret-value")

    return r


@pytest.fixture
def tv_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TV_WEBHOOK_SECRET", "tv-s3cret-value")
    return "tv-s3cret-value"


@pytest.mark.usefixtures("tv_secret")
class TestRouter:
    def test_a_matching_route_answers_and_logs_one_line(
        self, router: Router, capsys: pytest.CaptureFixture[str]
    ) -> None:
        body = '{"secret": "tv-s3cret-value", "symbol": "ES", "price": 6012.25}'
        response = router.dispatch(make_request("/tv_heartbeat", data=body, content_type="text/plain"))
        assert response.status_code == 200
        assert response.get_json() == {"ok": True}
        out = capsys.readouterr().out
        assert "tv-s3cret-value" not in out
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == 1
        line = lines[0]
        assert line["route"] == "/tv_heartbeat"
        assert line["asset"] == "ES"
        assert line["outcome"] == "ok"
        assert line["status"] == 200
        assert line["severity"] == "INFO"
        assert isinstance(line["latency_ms"], float)
        assert line["payload"] == {"symbol": "ES", "price": 6012.25}

    def test_a_bad_secret_is_401_and_the_attempt_is_not_logged(
        self, router: Router, capsys: pytest.CaptureFixture[str]
    ) -> None:
        body = '{"secret": "guess-number-1", "symbol": "ES"}'
        response = router.dispatch(make_request("/tv_heartbeat", data=body, content_type="text/plain"))
        assert response.status_code == 401
        assert response.get_json() == {"ok": False, "error": "unauthorized"}
        [line] = log_lines(capsys)
        assert (line["outcome"], line["code"]) == ("unauthorized", "UNAUTHORIZED")
        assert "guess-number-1" not in json.dumps(line)

    def test_a_missing_secret_is_503(
        self, router: Router, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("TV_WEBHOOK_SECRET")
        response = router.dispatch(make_request("/tv_heartbeat", data='{"secret": "x"}'))
        assert response.status_code == 503
        lines = log_lines(capsys)
        assert [line["severity"] for line in lines] == ["ERROR", "ERROR"]  # the config line, then the request

    def test_path_params_reach_the_handler(self, router: Router) -> None:
        response = router.dispatch(make_request("/api/orders/abc123/execution-report"))
        assert response.status_code == 201
        assert response.get_json() == {"ok": True, "order_id": "abc123"}

    def test_a_literal_route_and_a_handler_response(self, router: Router) -> None:
        response = router.dispatch(make_request("/api/orders/pending/", "GET"))
        assert response.status_code == 200
        assert response.headers["X-Handler"] == "pending"

    def test_not_found(self, router: Router, capsys: pytest.CaptureFixture[str]) -> None:
        response = router.dispatch(make_request("/nope"))
        assert response.status_code == 404
        assert response.get_json() == {"ok": False, "error": "not found"}
        assert log_lines(capsys)[0]["code"] == "NOT_FOUND"
        assert router.dispatch(make_request("/api/orders/a/b/execution-report")).status_code == 404

    def test_handler_not_found(self, router: Router) -> None:
        response = router.dispatch(make_request("/api/orders/missing/execution-report"))
        assert response.status_code == 404
        assert response.get_json() == {"ok": False, "error": "Order not found"}

    def test_wrong_method(self, router: Router) -> None:
        response = router.dispatch(make_request("/tv_heartbeat", "GET"))
        assert response.status_code == 405
        assert response.get_json() == {"ok": False, "error": "method not allowed"}
        assert response.headers["Allow"] == "POST"

    def test_a_refusal_logs_its_code_not_the_annotated_outcome(
        self, router: Router, capsys: pytest.CaptureFixture[str]
    ) -> None:
        response = router.dispatch(make_request("/api/orders"))
        assert response.status_code == 409
        assert response.get_json() == {
            "ok": False,
            "error": "Pending order already exists",
            "code": "PENDING_ORDER",
        }
        [line] = log_lines(capsys)
        assert (line["asset"], line["outcome"], line["code"]) == ("ES", "refused", "PENDING_ORDER")

    @pytest.mark.parametrize(
        ("path", "code"), [("/api/exit", "STORAGE_UNAVAILABLE"), ("/api/risk", "CONTENTION")]
    )
    def test_storage_errors_are_503(
        self, router: Router, capsys: pytest.CaptureFixture[str], path: str, code: str
    ) -> None:
        response = router.dispatch(make_request(path))
        assert response.status_code == 503
        assert response.get_json()["ok"] is False
        [line] = log_lines(capsys)
        assert (line["outcome"], line["code"], line["severity"]) == ("unavailable", code, "ERROR")

    def test_an_unexpected_error_is_a_500_without_details(
        self, router: Router, capsys: pytest.CaptureFixture[str]
    ) -> None:
        response = router.dispatch(make_request("/api/boom"))
        assert response.status_code == 500
        assert response.get_json() == {"ok": False, "error": "internal error"}
        out = capsys.readouterr().out
        assert "tv-s3cret-value" not in out
        [line] = [json.loads(x) for x in out.splitlines()]
        assert line["error_type"] == "RuntimeError"
        assert "leaky detail" in line["traceback"]

    def test_the_query_string_is_never_logged(
        self, router: Router, capsys: pytest.CaptureFixture[str]
    ) -> None:
        router.dispatch(make_request("/api/orders/pending", "GET", query={"secret": "bridge-pass-xyz"}))
        out = capsys.readouterr().out
        assert "bridge-pass-xyz" not in out
        assert json.loads(out)["path"] == "/api/orders/pending"

    def test_annotate_outside_a_request_does_nothing(self) -> None:
        annotate(asset="ES")

    def test_the_routes_are_listed(self, router: Router) -> None:
        assert ("POST", "/api/orders/<order_id>/execution-report") in router.routes
        assert ("GET", "/api/orders/pending") in router.routes

    def test_a_route_cannot_be_registered_twice(self) -> None:
        r = Router()
        r.route("POST", "/a")(lambda request: {})
        with pytest.raises(ValueError):
            r.route("post", "/a/")(lambda request: {})
