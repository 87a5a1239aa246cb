# One source bundle (scripts/build_bundle.py: functions/*, the shared/ package, requirements.txt), deployed
# once per route group. Each function gets only the secrets its routes check (api-reference.txt): a function
# without its secret answers 503 (D12), so a missing mapping shows at once.

data "archive_file" "bundle" {
  type        = "zip"
  source_dir  = local.bundle_dir
  output_path = "${path.module}/../.build/operatorlock-functions.zip"
}

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = "${var.project_id}-${local.app}-source"
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

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
    TASKS_SERVICE_ACCOUNT = google_service_account.tasks_invoker.email
  }
}

# TradingView: /tv_heartbeat, /tv_renko*, /tv_level_exit. TradingView gives up after 3 s, cold start
# included, so one instance is always warm.
resource "google_cloudfunctions2_function" "webhooks" {
  project     = var.project_id
  location    = var.region
  name        = "webhooks"
  description = "TradingView webhooks (/tv_*)"
  labels      = local.labels

  build_config {
    runtime         = "python311"
    entry_point     = "webhooks"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket_object.bundle.bucket
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    min_instance_count               = 1
    max_instance_count               = var.max_instances
    available_memory                 = "512Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 4
    timeout_seconds                  = 30
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.functions_runtime.email
    environment_variables            = local.function_env

    secret_environment_variables {
      key        = "TV_WEBHOOK_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["TV_WEBHOOK_SECRET"].secret_id
      version    = "latest"
    }
  }

  # Grants a build and a start need (depends_on takes only resources, so it is repeated per function).
  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.runtime_datastore_user,
    google_secret_manager_secret_iam_member.runtime_accessor,
  ]
}

# Operator API behind the dashboard: login/logout/state/gates/risk, /api/orders and every control endpoint.
resource "google_cloudfunctions2_function" "orders" {
  project     = var.project_id
  location    = var.region
  name        = "orders"
  description = "Operator API (/api/**, /logout)"
  labels      = local.labels

  build_config {
    runtime         = "python311"
    entry_point     = "orders"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket_object.bundle.bucket
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    min_instance_count               = 0
    max_instance_count               = var.max_instances
    available_memory                 = "512Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 4
    timeout_seconds                  = 60
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.functions_runtime.email
    environment_variables            = local.function_env

    secret_environment_variables {
      key        = "DASHBOARD_PASSWORD"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["DASHBOARD_PASSWORD"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "SESSION_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["SESSION_SECRET"].secret_id
      version    = "latest"
    }
  }

  # Grants a build and a start need (depends_on takes only resources, so it is repeated per function).
  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.runtime_datastore_user,
    google_secret_manager_secret_iam_member.runtime_accessor,
  ]
}

# VPS bridge: pending poll, execution reports, heartbeat, PnL snapshots.
resource "google_cloudfunctions2_function" "bridge" {
  project     = var.project_id
  location    = var.region
  name        = "bridge"
  description = "VPS bridge API (/api/orders/pending, execution reports, /api/bridge/**, /api/rithmic/**)"
  labels      = local.labels

  build_config {
    runtime         = "python311"
    entry_point     = "bridge"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket_object.bundle.bucket
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    min_instance_count               = 0
    max_instance_count               = var.max_instances
    available_memory                 = "512Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 4
    timeout_seconds                  = 60
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.functions_runtime.email
    environment_variables            = local.function_env

    secret_environment_variables {
      key        = "BRIDGE_HEARTBEAT_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["BRIDGE_HEARTBEAT_SECRET"].secret_id
      version    = "latest"
    }
  }

  # Grants a build and a start need (depends_on takes only resources, so it is repeated per function).
  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.runtime_datastore_user,
    google_secret_manager_secret_iam_member.runtime_accessor,
  ]
}

# Cloud Tasks callbacks (lock, cooldown, intent, pre-order, lease expiries). No secret: only the tasks
# invoker may call it (Cloud Run IAM checks the OIDC token before the code runs), and the code re-verifies.
resource "google_cloudfunctions2_function" "timers" {
  project     = var.project_id
  location    = var.region
  name        = "timers"
  description = "Cloud Tasks callbacks (OIDC, tasks invoker only)"
  labels      = local.labels

  build_config {
    runtime         = "python311"
    entry_point     = "timers"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket_object.bundle.bucket
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    min_instance_count               = 0
    max_instance_count               = var.max_instances
    available_memory                 = "512Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 4
    timeout_seconds                  = 60
    # ALLOW_ALL on purpose: whether Cloud Tasks counts as internal traffic for a 2nd-gen function was not
    # verified, and a wrong guess silently drops every timer. IAM (run.invoker for the tasks invoker only)
    # and the handler's own OIDC check gate it.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.functions_runtime.email
    environment_variables          = local.function_env
  }

  # Grants a build and a start need (depends_on takes only resources, so it is repeated per function).
  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.runtime_datastore_user,
    google_secret_manager_secret_iam_member.runtime_accessor,
  ]
}

check "timers_url_matches" {
  assert {
    condition     = google_cloudfunctions2_function.timers.url == local.timers_url
    error_message = "TIMERS_URL (${local.timers_url}) differs from the timers function's URL (${google_cloudfunctions2_function.timers.url}): tasks would miss it."
  }
}

# --- who may invoke what (Cloud Run IAM on each function's service) -----------------------------------------
# webhooks, orders and bridge are public: Firebase Hosting rewrites, TradingView and the VPS bridge call them
# without Google credentials, and each authenticates its callers itself (secret or session, D12).

resource "google_cloud_run_v2_service_iam_member" "webhooks_public" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.webhooks.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "orders_public" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.orders.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "bridge_public" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.bridge.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# timers: the tasks invoker and nobody else.
resource "google_cloud_run_v2_service_iam_member" "timers_tasks_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.timers.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks_invoker.email}"
}
