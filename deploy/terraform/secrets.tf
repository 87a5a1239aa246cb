# The secrets exist here; their values never do. The operator adds each value out of band:
#   printf '%s' "$VALUE" | gcloud secrets versions add TV_WEBHOOK_SECRET --data-file=- --project=PROJECT
# A function deploy fails while a secret it mounts has no version, so add the versions before the first
# full apply (deploy/README.md). No google_secret_manager_secret_version resource may ever be added here:
# its value would land in the Terraform state.

locals {
  secret_ids = toset([
    "TV_WEBHOOK_SECRET",       # webhooks: the TradingView alerts' "secret"; orders shows it to the operator
    "BRIDGE_HEARTBEAT_SECRET", # bridge: the VPS bridge's secret
    "DASHBOARD_PASSWORD",      # orders: operator login
    "SESSION_SECRET",          # orders: signs the __session cookie
  ])

  # The version each function mounts (variables.tf, version_pins); a secret not pinned mounts version 1.
  secret_version = {
    for name in local.secret_ids : name => {
      current        = tostring(try(var.version_pins[name].current, 1))
      previous       = try(var.version_pins[name].previous, null) == null ? null : tostring(var.version_pins[name].previous)
      previous_until = try(var.version_pins[name].previous_until, null)
    }
  }

  # Who may read what: exactly the secrets each function mounts (local.functions[*].secrets), one grant each.
  secret_access = merge([for fn, spec in local.functions : { for name in spec.secrets : "${fn}/${name}" => { function = fn, secret = name } }]...)
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

# Per secret and per reading function: the public webhook function cannot read the dashboard password or the
# session key, and the bridge reads its own secret only.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = local.secret_access

  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"
}
