# Notifications (D23, issue 20).
#
# The watchdog: Cloud Scheduler posts a `watchdog` timer to the timers function once a minute, signed like a
# Cloud Task (an OIDC token of tasks_invoker, the only identity allowed to invoke timers). The handler judges the
# silence conditions from the stored state and `now`, so a missed or doubled tick changes nothing wrongly.
resource "google_cloud_scheduler_job" "watchdog" {
  project          = var.project_id
  region           = var.region
  name             = "watchdog-${local.suffix}"
  description      = "OperatorLock watchdog: TradingView, bridge and unwatched-position silences (D23)"
  schedule         = "* * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "30s"

  retry_config {
    retry_count = 0 # the next minute's tick is the retry
  }

  http_target {
    http_method = "POST"
    uri         = local.timers_url
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ kind = "watchdog", key = "tick", at = 0 }))

    oidc_token {
      service_account_email = google_service_account.tasks_invoker.email
      audience              = local.timers_audience
    }
  }

  depends_on = [google_project_service.apis]
}

# Destination URLs live in one secret, NOTIFY_DESTINATIONS (a JSON object {id: url}; shared/service/notify_secrets.py),
# that Terraform creates without a value. The orders function (POST/DELETE /api/notifications/destinations) reads
# it and adds versions; the timers function (delivery) reads it. Read through the API at run time, not mounted:
# a mounted secret is pinned to a version and would not see a destination added since the deploy.
resource "google_secret_manager_secret" "notify_destinations" {
  project   = var.project_id
  secret_id = "NOTIFY_DESTINATIONS"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "notify_reader" {
  for_each = toset(["orders", "timers"])

  project   = var.project_id
  secret_id = google_secret_manager_secret.notify_destinations.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_secret_manager_secret_iam_member" "notify_writer" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.notify_destinations.secret_id
  role      = "roles/secretmanager.secretVersionAdder"
  member    = "serviceAccount:${google_service_account.function["orders"].email}"
}

# Web Push (D23, issue 20 item 3): the VAPID private key that signs every push message, one secret,
# VAPID_PRIVATE_KEY, created here without a value. The deployer adds it once (deploy/README.md: a P-256 key in PEM,
# made by openssl); the orders function reads it for the public key a browser subscribes with, the timers function
# to sign each message. Read at run time like NOTIFY_DESTINATIONS. A new version is a new key: every browser's
# subscription was made for the old one, so each device must subscribe again (the push services refuse the rest).
resource "google_secret_manager_secret" "vapid_private_key" {
  project   = var.project_id
  secret_id = "VAPID_PRIVATE_KEY"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "vapid_reader" {
  for_each = toset(["orders", "timers"])

  project   = var.project_id
  secret_id = google_secret_manager_secret.vapid_private_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"
}
