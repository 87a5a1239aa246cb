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
# The roles Google documents for a custom build account (Cloud Run, "Build service account": Logs Writer, Artifact
# Registry Writer, Storage Object Admin "for retrieving the function source from the Cloud Storage bucket"). The
# first two project-wide; Storage Object Admin only on the buckets a function build reads and writes (issue 22):
# this configuration's source bucket and the bucket Cloud Functions copies a deployed source into
# (gcf-v2-sources-<project number>-<region>), never the Terraform state bucket or any other bucket of the project. IAM Conditions name a bucket `projects/_/buckets/NAME` and its
# objects `projects/_/buckets/NAME/objects/OBJECT`.

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

locals {
  # Our source bucket exactly (the bucket, or an object in it: a bare prefix would also match "<name>-other"), and
  # any bucket whose name starts with Cloud Functions' staging prefix for this project number (the region part of
  # the name is Google's to choose).
  build_bucket_condition = join(" || ", [
    "resource.name == \"projects/_/buckets/${google_storage_bucket.source.name}\"",
    "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.source.name}/\")",
    "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.current.number}-\")",
  ])
}

resource "google_project_iam_member" "build_storage" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = "serviceAccount:${google_service_account.build.email}"

  condition {
    title       = "operatorlock-build-buckets"
    description = "The function source bucket and Cloud Functions' own staging buckets only (not the Terraform state)."
    expression  = local.build_bucket_condition
  }
}

# IAM grants take up to a minute to reach Cloud Build: without the wait the first build fails on a permission,
# and "run apply again" is no procedure. A changed set of grants waits again.
resource "time_sleep" "build_iam_propagation" {
  create_duration = "60s"

  triggers = {
    roles   = join(",", sort([for grant in google_project_iam_member.build : grant.role]))
    storage = google_project_iam_member.build_storage.condition[0].expression
  }
}
