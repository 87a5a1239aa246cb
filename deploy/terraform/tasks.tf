# Cloud Tasks queue for the candle-lock, cooldown, intent, pre-order and lease expiries. A task only tidies up
# and logs (locks are data judged against `now`), so a late or dropped task is harmless: retries are bounded
# and never hammer a failing handler.
resource "google_cloud_tasks_queue" "timers" {
  project  = var.project_id
  name     = "timers-${local.suffix}"
  location = var.region

  rate_limits {
    max_dispatches_per_second = 20
    max_concurrent_dispatches = 20
  }

  retry_config {
    max_attempts       = 8
    max_retry_duration = "1800s"
    min_backoff        = "2s"
    max_backoff        = "300s"
    max_doublings      = 5
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  # A renamed queue (the suffix, issue 22) is created before the old one goes: the functions switch to it in
  # the same apply. Timers pending on the old queue are lost with it; they only tidy up.
  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_project_service.apis]
}
