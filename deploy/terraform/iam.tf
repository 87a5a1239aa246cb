# Identities, each with only what it needs:
# - function[<name>]: one per function, so each reads only its own secrets (secrets.tf). All four use
#   Firestore, enqueue on the timers queue (every route group schedules expiries) and act as the tasks invoker
#   when they put an OIDC token on a task.
# - tasks_invoker: the identity Cloud Tasks signs its OIDC token with; it may invoke the timers function only.
# - build: Cloud Build builds the function images as it (new projects give the default build identity no roles).

resource "google_service_account" "function" {
  for_each = local.functions

  project      = var.project_id
  account_id   = "${local.app}-${each.key}"
  display_name = "OperatorLock function ${each.key}"
  description  = "Runtime identity of the ${each.key} Cloud Function only"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "tasks_invoker" {
  project      = var.project_id
  account_id   = "${local.app}-tasks"
  display_name = "OperatorLock Cloud Tasks invoker (timers function only)"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${local.app}-build"
  display_name = "OperatorLock Cloud Functions build"
  depends_on   = [google_project_service.apis]
}

# --- runtime ------------------------------------------------------------------------------------------------

resource "google_project_iam_member" "function_datastore_user" {
  for_each = local.functions

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Enqueue on the timers queue only, not on every queue of the project.
resource "google_cloud_tasks_queue_iam_member" "function_enqueuer" {
  for_each = local.functions

  project  = var.project_id
  location = google_cloud_tasks_queue.timers.location
  name     = google_cloud_tasks_queue.timers.name
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Creating a task whose OIDC token is minted for tasks_invoker requires iam.serviceAccounts.actAs on it.
resource "google_service_account_iam_member" "function_acts_as_tasks_invoker" {
  for_each = local.functions

  service_account_id = google_service_account.tasks_invoker.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function[each.key].email}"
}

# --- build --------------------------------------------------------------------------------------------------
# The roles Google documents for a custom Cloud Functions build account (and the provider's own gen2 example
# grants): write logs, push the image, read and write the staged source objects.

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
    "roles/storage.objectAdmin",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

# IAM grants take up to a minute to reach Cloud Build: without the wait the first build fails on a permission,
# and "run apply again" is no procedure. A changed set of grants waits again.
resource "time_sleep" "build_iam_propagation" {
  create_duration = "60s"

  triggers = {
    roles = join(",", sort([for grant in google_project_iam_member.build : grant.role]))
  }
}
