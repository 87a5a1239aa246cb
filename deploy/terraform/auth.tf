# Operator accounts (issue 12): Firebase Authentication on Identity Platform, email and password only, a TOTP
# second factor by variable (issue 22). The login page signs operators in at the Identity Toolkit and posts only the ID token; the orders
# function (OPERATOR_AUTH=firebase, variables.tf operator_auth) verifies it and mints Firebase session cookies; an account is an operator only with the custom claim `operator: true`
# (python -m scripts.operators grant EMAIL; deploy/README.md "The first operator"). Enabled whatever the mode,
# so switching to accounts is one variable; it costs nothing without users.

resource "google_identity_platform_config" "default" {
  project = var.project_id

  # operators are created by an administrator (scripts.operators create), never by signing up
  client {
    permissions {
      disabled_user_signup   = true
      disabled_user_deletion = true
    }
  }

  sign_in {
    allow_duplicate_emails = false

    email {
      enabled           = true
      password_required = true
    }
  }

  # The second factor (issue 22): TOTP (an authenticator app), the one the login page completes
  # (v2/accounts/mfaSignIn:finalize) and enrols (mfaEnrollment:start/finalize). No SMS: it costs per message, and an
  # SMS-enrolled operator could not finish signing in. adjacent_intervals: codes of the 30 s steps either side
  # are accepted too, for clock skew (Identity Platform allows 0..10).
  mfa {
    state = var.operator_mfa

    provider_configs {
      state = var.operator_mfa == "DISABLED" ? "DISABLED" : "ENABLED"

      totp_provider_config {
        adjacent_intervals = 1
      }
    }
  }

  depends_on = [google_project_service.apis]
}

# The web API key the login page signs in with (accounts:signInWithPassword, published by /api/auth/status).
# Firebase treats it as public configuration; it is restricted to the Identity Toolkit API all the same (not by
# HTTP referrer: the dashboard sends none, Referrer-Policy no-referrer).
resource "google_apikeys_key" "firebase_web" {
  project = var.project_id
  # A deleted key's id stays reserved for about 30 days: the suffix lets the next deployment create its own.
  name         = "${local.app}-firebase-web-${local.suffix}"
  display_name = "OperatorLock operator sign-in (Identity Toolkit only)"

  restrictions {
    api_targets {
      service = "identitytoolkit.googleapis.com"
    }
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_project_service.apis]
}

# The orders function verifies session cookies with revocation checked (a user lookup), mints them and revokes
# them at logout: Firebase Authentication admin, for that function only.
resource "google_project_iam_member" "orders_firebase_auth_admin" {
  project = var.project_id
  role    = "roles/firebaseauth.admin"
  member  = "serviceAccount:${google_service_account.function["orders"].email}"
}
