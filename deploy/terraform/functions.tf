# One source bundle (scripts/build_bundle.py: functions/*, the shared/ package, requirements.txt), deployed
# once per route group. Each function gets only the secrets its routes check (docs/api.md): a function
# without its secret answers 503 (D12), so a missing mapping shows at once.

data "archive_file" "bundle" {
  type        = "zip"
  source_dir  = local.bundle_dir
  output_path = "${path.module}/../.build/operatorlock-functions.zip"
  # Fixed file modes: the zip (and so its hash, the object name) depends on the code only, not on the umask
  # of whoever built the bundle; otherwise identical code would rebuild all four functions.
  output_file_mode = "0644"
}

resource "google_storage_bucket" "source" {
  # checkov:skip=CKV_GCP_62:Holds only the code bundle (the repository's own code, no data or secret). Reads and writes are already in Cloud Audit Logs; a second bucket just for access logs adds cost and nothing to inspect.
  project                     = var.project_id
  name                        = "${var.project_id}-${local.app}-source"
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # It holds nothing but code bundles (rebuilt from the repository at will): `terraform destroy` deletes it with
  # every object and every noncurrent version in it. (The Terraform state bucket is not this one and is never
  # managed here: deploy/README.md section 9, scripts/teardown.sh.)
  force_destroy = true
  labels        = local.labels

  # Objects are named by their hash and never overwritten, so versioning keeps no extra copies; it guards
  # against an accidental delete of the object a function rebuilds from.
  versioning {
    enabled = true
  }

  depends_on = [google_project_service.apis]
}

# Named by content hash: a changed bundle is a new object, which makes every function rebuild.
resource "google_storage_bucket_object" "bundle" {
  bucket = google_storage_bucket.source.name
  name   = "functions/${data.archive_file.bundle.output_sha256}.zip"
  source = data.archive_file.bundle.output_path
}

locals {
  function_env = {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    CLOUD_TASKS_LOCATION  = google_cloud_tasks_queue.timers.location
    CLOUD_TASKS_QUEUE     = google_cloud_tasks_queue.timers.name
    TIMERS_URL            = local.timers_url
    TIMERS_AUDIENCE       = local.timers_audience
    TASKS_SERVICE_ACCOUNT = google_service_account.tasks_invoker.email
    NOTIFY_URL_STORE      = "cloud" # notification destinations' URLs: NOTIFY_DESTINATIONS in Secret Manager (notify.tf)
    # Web Push's VAPID contact (RFC 8292 `sub`): the alerts' address; unset, shared/service/push.py's placeholder
    VAPID_SUBJECT = var.alert_email == null ? "" : "mailto:${var.alert_email}"
  }

  # One function per route group; the key is the function's name and its entry point in main.py. What differs:
  #   secrets:  the secrets it mounts as environment variables (google_secret_manager_secret.this keys); its
  #             service account may read these and no other (secrets.tf).
  #   rotating: those whose previous value it also accepts during a rotation window (PREVIOUS_<NAME>).
  #   invoker:  the one member granted roles/run.invoker on its Cloud Run service (iam below).
  functions = {
    # TradingView: /tv_heartbeat, /tv_renko*, /tv_level_exit. TradingView gives up after 3 s, cold start
    # included, so one instance is always warm (and warms its imports as it starts, functions/main.py).
    webhooks = {
      description   = "TradingView webhooks (/tv_*)"
      min_instances = 1
      timeout       = 30
      concurrency   = 4
      secrets       = ["TV_WEBHOOK_SECRET"]
      rotating      = ["TV_WEBHOOK_SECRET"]
      invoker       = "allUsers"
    }
    # Operator API behind the dashboard: login/logout/state/gates/risk, /api/orders and every control endpoint.
    # TV_WEBHOOK_SECRET: /api/alert-templates?reveal=1 shows it to a logged-in operator (the alert messages).
    orders = {
      description   = "Operator API (/api/**, /logout)"
      min_instances = 0
      timeout       = 60
      concurrency   = 4
      secrets       = ["DASHBOARD_PASSWORD", "SESSION_SECRET", "TV_WEBHOOK_SECRET"]
      rotating      = ["SESSION_SECRET"]
      invoker       = "allUsers"
    }
    # VPS bridge: pending poll, execution reports, heartbeat, PnL snapshots. A long-polling bridge keeps one
    # request held all day, so its instance is active (and billed) anyway: one warm instance costs nothing more
    # and spares the first poll after a deploy or an outage its cold start.
    bridge = {
      description   = "VPS bridge API (/api/orders/pending, execution reports, /api/bridge/**, /api/rithmic/**)"
      min_instances = 1
      timeout       = var.bridge_timeout_seconds
      concurrency   = var.bridge_concurrency
      secrets       = ["BRIDGE_HEARTBEAT_SECRET"]
      rotating      = ["BRIDGE_HEARTBEAT_SECRET"]
      invoker       = "allUsers"
    }
    # Cloud Tasks callbacks (lock, cooldown, intent, pre-order, lease expiries). No secret: only the tasks
    # invoker may call it (Cloud Run IAM checks the OIDC token before the code runs), and the code re-verifies.
    timers = {
      description   = "Cloud Tasks callbacks (OIDC, tasks invoker only)"
      min_instances = 0
      timeout       = 60
      concurrency   = 4
      secrets       = []
      rotating      = []
      invoker       = "serviceAccount:${google_service_account.tasks_invoker.email}"
    }
  }

  # The long poll (GET /api/orders/pending?wait=…, issue 11): a held request answers 10 s before the function's
  # timeout (LONG_POLL_MAX_S, at most 50), and functions-framework runs as many threads as the requests Cloud Run
  # may send an instance (its own default is 4 per vCPU: a fifth request would queue behind the held polls).
  # The operator sign-in mode (auth.tf, issue 12); the web API key is public configuration, not a secret.
  function_extra_env = {
    orders = {
      OPERATOR_AUTH       = var.operator_auth
      FIREBASE_PROJECT_ID = var.project_id
      FIREBASE_API_KEY    = google_apikeys_key.firebase_web.key_string
      # the TOTP second factor (auth.tf): published to the login page, and required here when MANDATORY
      OPERATOR_MFA = var.operator_mfa
    }
    bridge = {
      # `?secret=` in a URL is refused unless a legacy bridge needs it (variables.tf legacy_bridge_query_auth).
      ALLOW_SECRET_IN_QUERY = var.legacy_bridge_query_auth ? "1" : "0"
      LONG_POLL_MAX_S       = tostring(max(1, min(50, var.bridge_timeout_seconds - 10)))
      THREADS               = tostring(var.bridge_concurrency)
      # at most half the threads hold a long poll: the rest stay free for reports, heartbeats and snapshots
      LONG_POLL_MAX_HELD  = tostring(max(1, floor(var.bridge_concurrency / 2)))
      FILL_PRICE_BAND_PCT = tostring(var.fill_price_band_pct)
    }
  }

  # The end of each rotation window, as the plain variable PREVIOUS_<NAME>_UNTIL (shared/web/auth.py).
  rotation_env = {
    for fn, spec in local.functions : fn => {
      for name in spec.rotating : "PREVIOUS_${name}_UNTIL" => local.secret_version[name].previous_until
      if local.secret_version[name].previous != null
    }
  }
}

resource "google_cloudfunctions2_function" "this" {
  # checkov:skip=CKV_GCP_124:Ingress must be ALLOW_ALL: Firebase Hosting rewrites, TradingView and the VPS bridge call webhooks/orders/bridge from the internet, and each authenticates its caller (secret or session); timers is guarded by Cloud Run IAM (tasks invoker only) and its own OIDC check (see ingress_settings below).
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = each.key
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime         = "python311"
    entry_point     = each.key
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket_object.bundle.bucket
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    min_instance_count               = each.value.min_instances
    max_instance_count               = var.max_instances
    available_memory                 = "512Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = each.value.concurrency
    timeout_seconds                  = each.value.timeout
    # ALLOW_ALL for timers too, on purpose: whether Cloud Tasks counts as internal traffic for a 2nd-gen
    # function was not verified, and a wrong guess silently drops every timer. IAM (run.invoker for the tasks
    # invoker only) and the handler's own OIDC check gate it.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.function[each.key].email
    environment_variables          = merge(local.function_env, local.rotation_env[each.key], lookup(local.function_extra_env, each.key, {}))

    # The pinned current version of each of its secrets (never "latest": every instance of a revision sees
    # the same value; a rotation is a new revision, which takes over without downtime).
    dynamic "secret_environment_variables" {
      for_each = each.value.secrets
      content {
        key        = secret_environment_variables.value
        project_id = var.project_id
        secret     = google_secret_manager_secret.this[secret_environment_variables.value].secret_id
        version    = local.secret_version[secret_environment_variables.value].current
      }
    }

    # During a rotation window, the previous version too, as PREVIOUS_<NAME>.
    dynamic "secret_environment_variables" {
      for_each = [for name in each.value.rotating : name if local.secret_version[name].previous != null]
      content {
        key        = "PREVIOUS_${secret_environment_variables.value}"
        project_id = var.project_id
        secret     = google_secret_manager_secret.this[secret_environment_variables.value].secret_id
        version    = local.secret_version[secret_environment_variables.value].previous
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.firebase_regions) == 1 && contains(local.firebase_regions, var.region)
      error_message = "firebase.json's rewrites name ${jsonencode(local.firebase_regions)} but var.region is ${var.region}: set both to the same region."
    }
    precondition {
      condition     = length(setsubtract(each.value.rotating, each.value.secrets)) == 0
      error_message = "${each.key}: a rotating secret must also be one of its secrets."
    }
  }

  # Grants a build and a start need (the build's after their propagation wait).
  depends_on = [
    time_sleep.build_iam_propagation,
    google_project_iam_member.function_datastore_user,
    google_secret_manager_secret_iam_member.accessor,
  ]
}

check "timers_url_matches" {
  assert {
    condition     = google_cloudfunctions2_function.this["timers"].url == local.timers_url
    error_message = "TIMERS_URL (${local.timers_url}) differs from the timers function's URL (${google_cloudfunctions2_function.this["timers"].url}): tasks would miss it."
  }
}

# --- who may invoke what (Cloud Run IAM on each function's service) -----------------------------------------
# webhooks, orders and bridge are public (allUsers): Firebase Hosting rewrites, TradingView and the VPS bridge
# call them without Google credentials, and each authenticates its callers itself (secret or session, D12).
# timers: the tasks invoker and nobody else.

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = local.functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value.invoker
}

# The resources were once declared one by one: these keep the deployed functions and grants in place (no
# destroy and re-create) on the first apply after the move to for_each.
moved {
  from = google_cloudfunctions2_function.webhooks
  to   = google_cloudfunctions2_function.this["webhooks"]
}

moved {
  from = google_cloudfunctions2_function.orders
  to   = google_cloudfunctions2_function.this["orders"]
}

moved {
  from = google_cloudfunctions2_function.bridge
  to   = google_cloudfunctions2_function.this["bridge"]
}

moved {
  from = google_cloudfunctions2_function.timers
  to   = google_cloudfunctions2_function.this["timers"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.webhooks_public
  to   = google_cloud_run_v2_service_iam_member.invoker["webhooks"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.orders_public
  to   = google_cloud_run_v2_service_iam_member.invoker["orders"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.bridge_public
  to   = google_cloud_run_v2_service_iam_member.invoker["bridge"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.timers_tasks_invoker
  to   = google_cloud_run_v2_service_iam_member.invoker["timers"]
}
