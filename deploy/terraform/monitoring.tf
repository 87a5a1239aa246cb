# Monitoring as code, all optional (variables.tf): six alert policies (5xx ratio per function, webhook p99
# latency, error log lines, a silent bridge, a silent price feed, failing timers), a log metric of refused order entries by reason code, and a monthly budget.
# Alerts go to var.alert_email when it is set; without it they still open incidents in the console.

locals {
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]

  # The four functions' Cloud Run services (a 2nd-gen function is a Cloud Run service of the same name).
  services_filter = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = one_of(${join(", ", [for name in keys(local.functions) : "\"${name}\""])})"

  alert_documentation = "OperatorLock control plane, project ${var.project_id}. What to look at first: deploy/README.md, section \"When an alert fires\"."
}

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == null ? 0 : 1

  project      = var.project_id
  display_name = "OperatorLock operator (e-mail)"
  type         = "email"
  labels       = { email_address = var.alert_email }

  depends_on = [google_project_service.apis]
}

# A share of 5xx answers: storage trouble, a missing secret (503) or a bug (500), per function.
resource "google_monitoring_alert_policy" "http_5xx_ratio" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "OperatorLock: 5xx above ${var.alert_5xx_ratio * 100} % of a function's requests"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "5xx ratio per function over 5 min"
    condition_threshold {
      filter             = "${local.services_filter} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "${local.services_filter} AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_5xx_ratio
      duration           = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    content   = local.alert_documentation
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

# TradingView gives up after 3 s: a webhook p99 above 1 s for 5 minutes is the early warning.
resource "google_monitoring_alert_policy" "webhook_latency" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "OperatorLock: webhook p99 latency above ${var.alert_webhook_p99_ms} ms"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "webhooks p99 request latency"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"webhooks\" AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_webhook_p99_ms
      duration        = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    content   = local.alert_documentation
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

# Any ERROR (or worse) log line of a function: 5xx answers, missing configuration, failed timer enqueues.
resource "google_monitoring_alert_policy" "function_errors" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "OperatorLock: function errors"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "ERROR log lines per function over 5 min"
    condition_threshold {
      filter          = "${local.services_filter} AND metric.type = \"logging.googleapis.com/log_entry_count\" AND metric.labels.severity = one_of(\"ERROR\", \"CRITICAL\", \"ALERT\", \"EMERGENCY\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    content   = local.alert_documentation
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

# --- silence and failing timers (issue 22) -------------------------------------------------------------------
# A 5xx ratio or an error line needs requests: a bridge that stopped calling, a TradingView that stopped sending
# and timers Cloud Run refuses before the code runs (a 401/403 logs no ERROR line of ours) raise none of them.

# The bridge heartbeats every 10 s and polls all day: no request at all for a few minutes means it is down,
# disconnected, or calling the wrong URL.
resource "google_monitoring_alert_policy" "bridge_silent" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "OperatorLock: the bridge is silent"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "no request to bridge for ${var.alert_bridge_silent_seconds} s"
    condition_absent {
      filter   = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"bridge\" AND metric.type = \"run.googleapis.com/request_count\""
      duration = "${var.alert_bridge_silent_seconds}s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    content   = local.alert_documentation
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

# TradingView's price heartbeat arrives every minute per asset while the market trades (variables.tf says why
# the default waits 75 min).
resource "google_monitoring_alert_policy" "price_feed_silent" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "OperatorLock: the TradingView price feed is silent"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "no request to webhooks for ${var.alert_price_feed_silent_seconds} s"
    condition_absent {
      filter   = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"webhooks\" AND metric.type = \"run.googleapis.com/request_count\""
      duration = "${var.alert_price_feed_silent_seconds}s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    content   = local.alert_documentation
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

# Timers: every answer of the timers function other than 2xx. Cloud Tasks is its only caller, so a 401/403 means
# Cloud Run refused the task's OIDC token (audience, invoker grant) and a 4xx/5xx from the code a broken task; a
# timer that fails is retried, then dropped, silently otherwise.
resource "google_monitoring_alert_policy" "timers_failing" {
  count = var.enable_alerts ? 1 : 0

  project               = var.project_id
  display_name          = "OperatorLock: timers are failing"
  combiner              = "OR"
  notification_channels = local.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "timers answered other than 2xx over 5 min"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"timers\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class != \"2xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    content   = local.alert_documentation
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

# Refused order entries by reason code (the request log line of POST /api/orders, shared/web/routing.py:
# outcome "refused", code = the gate that refused): a chart of why entries are refused, no alert.
resource "google_logging_metric" "refused_entries" {
  count = var.enable_alerts ? 1 : 0

  project     = var.project_id
  name        = "operatorlock/refused_entries"
  description = "POST /api/orders answered with a refusal, by reason code."
  filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"orders\" AND jsonPayload.route = \"/api/orders\" AND jsonPayload.method = \"POST\" AND jsonPayload.outcome = \"refused\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "OperatorLock refused entries"
    labels {
      key         = "code"
      value_type  = "STRING"
      description = "Reason code of the refusal (the gate)."
    }
  }

  label_extractors = {
    code = "EXTRACT(jsonPayload.code)"
  }

  depends_on = [google_project_service.apis]
}

# --- budget -------------------------------------------------------------------------------------------------

resource "google_billing_budget" "monthly" {
  count = var.billing_account == null ? 0 : 1

  billing_account = var.billing_account
  display_name    = "OperatorLock ${var.project_id}"

  budget_filter {
    projects = ["projects/${data.google_project.current.number}"]
  }

  amount {
    specified_amount {
      units = tostring(floor(var.monthly_budget))
    }
  }

  threshold_rules {
    threshold_percent = 0.5
  }
  threshold_rules {
    threshold_percent = 0.9
  }
  threshold_rules {
    threshold_percent = 1.0
  }
  # Forecast: warns early in the month when the spend is on course to pass the budget.
  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  # The billing account's administrators are e-mailed (the default); the operator's channel too, when set.
  all_updates_rule {
    monitoring_notification_channels = local.notification_channels
    disable_default_iam_recipients   = false
  }

  depends_on = [google_project_service.apis]
}
