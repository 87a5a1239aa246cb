"""Issue 12's deployment, statically: Identity Platform with email/password and self sign-up off, MFA only by the
variable, the web API key restricted to the Identity Toolkit, Firebase Authentication admin for the orders
function alone, and a sign-in mode variable that accepts the two modes only."""

from __future__ import annotations

from typing import Any

from tests.unit.test_deploy_config import _block, _load_terraform


def _tf() -> Any:
    return _load_terraform()


def test_identity_platform_email_password_no_sign_up_mfa_by_variable() -> None:
    tf = _tf()
    config = tf.resources[("google_identity_platform_config", "default")]
    email = _block(_block(config, "sign_in"), "email")
    assert email["enabled"] is True and email["password_required"] is True
    permissions = _block(_block(config, "client"), "permissions")
    assert permissions["disabled_user_signup"] is True, "operators are created by an administrator only"
    assert _block(config, "mfa")["state"] == "${var.operator_mfa}"
    assert "identitytoolkit.googleapis.com" in tf.locals["services"]


def test_the_second_factor_offered_is_totp_only() -> None:
    """Issue 22 item 9: `operator_mfa` offers an authenticator app (TOTP), which the login page completes and
    enrols; no SMS (the page cannot finish an SMS sign-in, and each message costs)."""
    tf = _tf()
    mfa = _block(tf.resources[("google_identity_platform_config", "default")], "mfa")
    assert "enabled_providers" not in mfa, "no SMS factor"
    provider = _block(mfa, "provider_configs")
    assert provider["state"] == '${var.operator_mfa == "DISABLED" ? "DISABLED" : "ENABLED"}'
    intervals = _block(provider, "totp_provider_config")["adjacent_intervals"]
    assert isinstance(intervals, int) and 0 <= intervals <= 10
    assert tf.locals["function_extra_env"]["orders"]["OPERATOR_MFA"] == "${var.operator_mfa}"
    assert "SECOND_FACTOR_REQUIRED" in tf.variables["operator_mfa"]["description"]


def test_api_key_restricted_to_the_identity_toolkit() -> None:
    key = _tf().resources[("google_apikeys_key", "firebase_web")]
    targets = _block(key, "restrictions")["api_targets"]
    assert [t["service"] for t in targets] == ["identitytoolkit.googleapis.com"]


def test_firebase_auth_admin_for_the_orders_function_only() -> None:
    tf = _tf()
    grants = {address: body for address, body in tf.of_type("google_project_iam_member").items()
              if body["role"] == "roles/firebaseauth.admin"}
    assert len(grants) == 1
    assert 'google_service_account.function["orders"]' in next(iter(grants.values()))["member"]


def test_the_mode_variables_accept_only_their_values() -> None:
    variables = _tf().variables
    assert variables["operator_auth"]["default"] == "password"
    assert 'contains(["password", "firebase"], var.operator_auth)' in str(variables["operator_auth"]["validation"])
    assert variables["operator_mfa"]["default"] == "DISABLED"
