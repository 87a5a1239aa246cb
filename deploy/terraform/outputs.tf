output "function_urls" {
  description = "HTTPS address of every function."
  value       = { for name, fn in google_cloudfunctions2_function.this : name => fn.url }
}

output "timers_url" {
  description = "The TIMERS_URL every function enqueues Cloud Tasks to."
  value       = local.timers_url
}

output "hosting_site_id" {
  description = "Firebase Hosting site of the operator dashboard."
  value       = google_firebase_hosting_site.dashboard.site_id
}

output "firebase_target_command" {
  description = "Binds firebase.json's hosting target to the site (run once per checkout; it writes .firebaserc)."
  value       = "firebase target:apply hosting dashboard ${google_firebase_hosting_site.dashboard.site_id} --project ${var.project_id}"
}

output "hosting_url" {
  description = "Default address of the Hosting site (TradingView alerts and the bridge use it: /tv_*, /api/**)."
  value       = google_firebase_hosting_site.dashboard.default_url
}

output "tasks_queue" {
  description = "Full name of the Cloud Tasks queue."
  value       = google_cloud_tasks_queue.timers.id
}

output "tasks_service_account" {
  description = "Identity Cloud Tasks signs its OIDC tokens with (TASKS_SERVICE_ACCOUNT)."
  value       = google_service_account.tasks_invoker.email
}

output "function_service_accounts" {
  description = "Identity of each function (each reads only its own secrets)."
  value       = { for name, account in google_service_account.function : name => account.email }
}

output "secret_ids" {
  description = "Secrets the operator must give a version with `gcloud secrets versions add`."
  value       = sort([for s in google_secret_manager_secret.this : s.secret_id])
}
