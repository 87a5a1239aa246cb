locals {
  app = "operatorlock"

  labels = merge({ app = local.app, managed-by = "terraform" }, var.labels)

  bundle_dir = coalesce(var.bundle_dir, "${path.module}/../.build/bundle")

  # The timers URL is built from the function's stable cloudfunctions.net address (the same value the
  # resource exports as `url`) instead of referencing the resource: the timers function itself re-schedules
  # tasks, and a self-reference would be a dependency cycle. check.timers_url_matches verifies it after apply.
  timers_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/timers"

  # The audience of the timers' OIDC tokens. Cloud Run's IAM check accepts a token whose audience is one of the
  # service's *.run.app URLs (Cloud Run, "Set custom audiences for services": "the Google-generated default URL
  # always remains an acceptable audience value"); it does not document the cloudfunctions.net address as one.
  # The deterministic URL (Cloud Run, "Invoke with an HTTPS request": https://SERVICE-PROJECT_NUMBER.REGION.run.app)
  # is known before the function exists, so no dependency cycle. Tasks are still sent to TIMERS_URL; only the
  # token's audience is this. The smoke test (scripts/smoke.py) proves a timer fires (deploy/README.md section 7).
  timers_audience = "https://timers-${data.google_project.current.number}.${var.region}.run.app"

  # Names Google keeps reserved for a while after a delete get a random suffix, so a redeploy the day after a
  # teardown does not collide with its own tombstones: an API key id (about 30 days) and a Cloud Tasks queue
  # name ("a tombstone window of up to 3 days", Cloud Tasks API, projects.locations.queues.delete). The suffix
  # lives in the state: the same deployment keeps its names, a new one (after a destroy) gets new ones.
  suffix = random_id.names.hex

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
    "cloudscheduler.googleapis.com",
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

# The project's number (the deterministic run.app URL and the budget filter name the project by it).
data "google_project" "current" {
  project_id = var.project_id
}

resource "random_id" "names" {
  byte_length = 3
}

resource "google_project_service" "apis" {
  for_each = local.services

  project = var.project_id
  service = each.value

  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy         = false
  disable_dependent_services = false
}
