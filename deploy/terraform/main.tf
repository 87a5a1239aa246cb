locals {
  app = "operatorlock"

  labels = merge({ app = local.app, managed-by = "terraform" }, var.labels)

  bundle_dir = coalesce(var.bundle_dir, "${path.module}/../.build/bundle")

  # The timers URL is built from the function's stable cloudfunctions.net address (the same value the
  # resource exports as `url`) instead of referencing the resource: the timers function itself re-schedules
  # tasks, and a self-reference would be a dependency cycle. check.timers_url_matches verifies it after apply.
  timers_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/timers"

  services = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudtasks.googleapis.com",
    "firebase.googleapis.com",
    "firebasehosting.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
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
