# Firebase on the project, and the Hosting site that serves hosting/public with firebase.json's rewrites.
# Its content is deployed by the Firebase CLI (deploy/README.md), not by Terraform.
#
# The site is created here, explicitly: a project's default site exists only once Hosting was set up in the
# console, and firebase-tools stops with "Could not determine the default site for the project" without it.
# firebase.json names the hosting target "dashboard"; `firebase target:apply hosting dashboard <site>` binds it
# to this site (terraform output hosting_site_id).

locals {
  hosting_site_id = coalesce(var.hosting_site_id, "${var.project_id}-ops")
}

resource "google_firebase_project" "default" {
  provider = google-beta
  project  = var.project_id

  depends_on = [google_project_service.apis]
}

resource "google_firebase_hosting_site" "dashboard" {
  provider = google-beta
  project  = var.project_id
  site_id  = local.hosting_site_id

  depends_on = [google_firebase_project.default]
}
