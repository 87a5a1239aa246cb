locals {
  app = "operatorlock"

  labels = merge({ app = local.app, managed-by = "terraform" }, var.labels)

  bundle_dir = coalesce(var.bundle_dir, "${path.module}/../.build/bundle")

  # The timers URL is built from the function's stable cloudfunctions.net address (the same value the
  # resource exports as `url`) instead of referencing the resource: the timers function itself re-schedules
  # tasks, and a self-reference would be a dependency cycle. check.timers_url_matches verifies it after apply.
  timers_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/timers"

  # One source of truth for the region: firebase.json's rewrites name it (Hosting needs it there), and
  # var.region must agree, or every rewrite would point at a function that does not exist. Checked at plan
  # time by the precondition on the functions, and statically by tests/unit/test_deploy_config.py.
  firebase_json    = jsondecode(file("${path.module}/../../firebase.json"))
  firebase_regions = distinct([for rule in local.firebase_json.hosting.rewrites : rule.function.region if can(rule.function.region)])

  # Every API the resources here use. firebaserules: `firebase deploy --only firestore:rules`;
  # monitoring/billingbudgets: monitoring.tf (enabled even when alerts are off: enabling costs nothing).
  services = toset([
    "apikeys.googleapis.com",
    "artifactregistry.googleapis.com",
    "billingbudgets.googleapis.com",
    "cloudbilling.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudtasks.googleapis.com",
    "firebase.googleapis.com",
    "firebasehosting.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "identitytoolkit.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "apis" {
  for_each = local.services

  project = var.project_id
  service = each.value

  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy         = false
  disable_dependent_services = false
}
