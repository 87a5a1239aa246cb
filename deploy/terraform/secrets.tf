# The secrets exist here; their values never do. The operator adds each value out of band:
#   printf '%s' "$VALUE" | gcloud secrets versions add TV_WEBHOOK_SECRET --data-file=- --project=PROJECT
# A function deploy fails while a secret it mounts has no version, so add the versions before the first
# full apply (deploy/README.md). No google_secret_manager_secret_version resource may ever be added here:
# its value would land in the Terraform state.

locals {
  secret_ids = toset([
    "TV_WEBHOOK_SECRET",       # webhooks: the TradingView alerts' "secret"
    "BRIDGE_HEARTBEAT_SECRET", # bridge: the VPS bridge's "secret"
    "DASHBOARD_PASSWORD",      # orders: operator login
    "SESSION_SECRET",          # orders: signs the __session cookie
  ])
}

resource "google_secret_manager_secret" "this" {
  for_each = local.secret_ids

  project   = var.project_id
  secret_id = each.value
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "runtime_accessor" {
  for_each = local.secret_ids

  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.value].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.functions_runtime.email}"
}
