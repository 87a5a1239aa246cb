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
# it and adds versions; the timers function (delivery) reads it. Read through the API at run time as
# versions/latest, not mounted at a pinned version like every other secret — the one deliberate exception
# (tests/unit/test_deploy_config.py): the others are credentials fixed at deploy time that every instance must
# agree on; this one is data the operator edits on the dashboard, and a pinned version would not see a destination
# added since the deploy. Instances may disagree for at most a minute (their cache) after an edit.
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

# Adds a version with each edit and destroys the one it replaced: a deleted destination's URL is not kept in the
# secret's history (no access to values: the reader grant above gives that).
resource "google_secret_manager_secret_iam_member" "notify_writer" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.notify_destinations.secret_id
  role      = "roles/secretmanager.secretVersionManager"
  member    = "serviceAccount:${google_service_account.function["orders"].email}"
}
