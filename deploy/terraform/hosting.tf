# Firebase on the project, and the Hosting site that serves hosting/public with firebase.json's rewrites.
# Its content is deployed by the Firebase CLI (deploy/README.md), not by Terraform.

resource "google_firebase_project" "default" {
  provider = google-beta
  project  = var.project_id

  depends_on = [google_project_service.apis]
}

resource "google_firebase_hosting_site" "dashboard" {
  provider = google-beta
  project  = var.project_id
  site_id  = var.hosting_site_id

  depends_on = [google_firebase_project.default]
}
