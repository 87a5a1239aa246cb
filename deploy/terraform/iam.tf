# Three identities, each with only what it needs:
# - functions_runtime: every function runs as it (Firestore, enqueue on the timers queue, act as the tasks
#   invoker when it puts an OIDC token on a task, read the secrets).
# - tasks_invoker: the identity Cloud Tasks signs its OIDC token with; it may invoke the timers function only.
# - build: Cloud Build builds the function images as it (new projects give the default build identity no roles).

resource "google_service_account" "functions_runtime" {
  project      = var.project_id
  account_id   = "${local.app}-runtime"
  display_name = "OperatorLock Cloud Functions runtime"
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

resource "google_project_iam_member" "runtime_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.functions_runtime.email}"
}

# Enqueue on the timers queue only, not on every queue of the project.
resource "google_cloud_tasks_queue_iam_member" "runtime_enqueuer" {
  project  = var.project_id
  location = google_cloud_tasks_queue.timers.location
  name     = google_cloud_tasks_queue.timers.name
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.functions_runtime.email}"
}

# Creating a task whose OIDC token is minted for tasks_invoker requires iam.serviceAccounts.actAs on it.
resource "google_service_account_iam_member" "runtime_acts_as_tasks_invoker" {
  service_account_id = google_service_account.tasks_invoker.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.functions_runtime.email}"
}

# --- build --------------------------------------------------------------------------------------------------

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
    "roles/storage.objectViewer",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}
