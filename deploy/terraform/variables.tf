variable "project_id" {
  description = "Google Cloud project that hosts the control plane (Firebase must be, or will be, enabled on it)."
  type        = string
}

variable "region" {
  description = "Region of the functions and the Cloud Tasks queue. Must equal the region firebase.json's rewrites name (checked at plan)."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Firestore location: a multi-region (nam5 contains us-central1) or a region. Fixed once created."
  type        = string
  default     = "nam5"
}

variable "hosting_site_id" {
  description = <<-EOT
    Firebase Hosting site of the operator dashboard, created by Terraform (default: "<project_id>-ops").
    Globally unique; it becomes https://<id>.web.app. firebase.json deploys to it through the hosting target
    "dashboard" (`firebase target:apply hosting dashboard <id>`, deploy/README.md). To serve from the
    project's default site instead, set it to that site's id and import the site once.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.hosting_site_id == null || can(regex("^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$", var.hosting_site_id))
    error_message = "hosting_site_id must be 4-63 lowercase letters, digits or hyphens."
  }
}

variable "bundle_dir" {
  description = "Directory assembled by scripts/build_bundle.py. Default: deploy/.build/bundle."
  type        = string
  default     = null
}

variable "firestore_point_in_time_recovery" {
  description = "Keep 7 days of Firestore point-in-time recovery (the trading state and audit trail guard real money)."
  type        = bool
  default     = true
}

variable "max_instances" {
  description = "Upper bound of instances per function: caps cost and the blast radius of a retry storm."
  type        = number
  default     = 5

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 100
    error_message = "max_instances must be between 1 and 100."
  }
}

variable "bridge_timeout_seconds" {
  description = "Request timeout of the bridge function (a long-polling pending poll needs more than its wait). Calls through Firebase Hosting (https://<site>.web.app) are cut at 60 s by Hosting whatever this says."
  type        = number
  default     = 60

  validation {
    condition     = var.bridge_timeout_seconds >= 10 && var.bridge_timeout_seconds <= 3600
    error_message = "bridge_timeout_seconds must be between 10 and 3600."
  }
}

variable "bridge_concurrency" {
  description = "Concurrent requests per bridge instance (long polls hold a request open while they wait: one per bridge, plus its reports, heartbeats and snapshots)."
  type        = number
  default     = 8

  validation {
    condition     = var.bridge_concurrency >= 1 && var.bridge_concurrency <= 1000
    error_message = "bridge_concurrency must be between 1 and 1000."
  }
}

variable "fill_price_band_pct" {
  description = "How far (percent) a fill price the bridge reports may be from the last known price before it is refused with a 400 (a broken bridge would poison the trade's P&L). FILL_PRICE_BAND_PCT of the bridge function."
  type        = number
  default     = 10

  validation {
    condition     = var.fill_price_band_pct >= 1 && var.fill_price_band_pct <= 25
    error_message = "fill_price_band_pct must be between 1 and 25 (the function ignores anything else and keeps 10)."
  }
}

# Which Secret Manager version each function mounts, per secret (deploy/README.md, "Rotate a secret").
# Pinned numbers, never "latest": every instance of a revision sees the same value, and a new value reaches
# the functions only through `terraform apply` (a new revision, which takes over without downtime).
# `previous` (with `previous_until`, RFC 3339 with a zone) also mounts the old version as PREVIOUS_<NAME>:
# the function accepts it until that moment while the callers switch over.
variable "version_pins" {
  description = "Secret Manager version per secret name: { current = N, previous = N-1, previous_until = \"2026-12-07T12:00:00Z\" }. A secret not listed mounts version 1."
  type = map(object({
    current        = number
    previous       = optional(number)
    previous_until = optional(string)
  }))
  default = {}

  validation {
    condition = alltrue([for name in keys(var.version_pins) : contains(
    ["TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "DASHBOARD_PASSWORD", "SESSION_SECRET"], name)])
    error_message = "version_pins: unknown secret name (TV_WEBHOOK_SECRET, BRIDGE_HEARTBEAT_SECRET, DASHBOARD_PASSWORD, SESSION_SECRET)."
  }

  validation {
    condition = alltrue([for pin in values(var.version_pins) : pin.current >= 1 && floor(pin.current) == pin.current && (
      pin.previous == null ? pin.previous_until == null : (
        pin.previous >= 1 && pin.previous < pin.current && floor(pin.previous) == pin.previous &&
    can(timeadd(pin.previous_until, "0s"))))])
    error_message = "version_pins: versions are whole numbers >= 1, previous < current, and previous needs previous_until (RFC 3339, e.g. 2026-12-07T12:00:00Z); previous_until alone is refused."
  }

  # The dashboard password is not accepted in its previous value: changing it logs every session out (D12).
  validation {
    condition     = try(var.version_pins["DASHBOARD_PASSWORD"].previous, null) == null
    error_message = "version_pins: DASHBOARD_PASSWORD has no previous value; a new password takes effect at once."
  }
}

variable "labels" {
  description = "Labels added to every labelled resource."
  type        = map(string)
  default     = {}
}

# --- monitoring (monitoring.tf): everything optional --------------------------------------------------------

variable "alert_email" {
  description = "E-mail address that receives the alerts and budget notifications. null: no notification channel."
  type        = string
  default     = null
}

variable "enable_alerts" {
  description = "Create the alert policies (5xx ratio, webhook p99 latency, function errors, silent bridge, silent price feed, failing timers) and the refused-entries log metric."
  type        = bool
  default     = true
}

variable "alert_5xx_ratio" {
  description = "Alert when this fraction of a function's requests answer 5xx over 5 minutes."
  type        = number
  default     = 0.05
}

variable "alert_webhook_p99_ms" {
  description = "Alert when the webhook function's p99 request latency exceeds this many ms over 5 minutes (TradingView gives up at 3 s)."
  type        = number
  default     = 1000
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) for the monthly budget. null: no budget."
  type        = string
  default     = null
}

variable "monthly_budget" {
  description = "Monthly budget of the project, in the billing account's currency (deploy/README.md estimates the cost)."
  type        = number
  default     = 60
}

variable "operator_auth" {
  description = "How operators sign in (issue 12): \"password\" (one shared DASHBOARD_PASSWORD) or \"firebase\" (each operator's own account in Firebase Authentication, granted with python -m scripts.operators grant EMAIL)"
  type        = string
  default     = "password"
  validation {
    condition     = contains(["password", "firebase"], var.operator_auth)
    error_message = "operator_auth must be \"password\" or \"firebase\"."
  }
}

variable "operator_mfa" {
  description = "The operators' second factor, an authenticator app (TOTP, Identity Platform): DISABLED, ENABLED (an operator may add one at sign-in; once added, every sign-in asks for its code) or MANDATORY (the orders function also refuses a sign-in without it, 403 SECOND_FACTOR_REQUIRED, and the login page then asks the operator to add one). Only with operator_auth = \"firebase\"."
  type        = string
  default     = "DISABLED"
  validation {
    condition     = contains(["DISABLED", "ENABLED", "MANDATORY"], var.operator_mfa)
    error_message = "operator_mfa must be DISABLED, ENABLED or MANDATORY."
  }
}

variable "legacy_bridge_query_auth" {
  description = "Accept the bridge secret as `?secret=` in the URL (the original bridge contract). Off: such a request is refused with 400 SECRET_IN_QUERY, because Cloud Run's request logs keep full URLs for 30 days. Turn it on only for a legacy bridge while it moves to the X-Bridge-Secret header (deploy/README.md section 6)."
  type        = bool
  default     = false
}

variable "alert_bridge_silent_seconds" {
  description = "Alert when the bridge function receives no request for this long (the bridge heartbeats every 10 s, 24/7). Between 120 and 86400."
  type        = number
  default     = 300

  validation {
    condition     = var.alert_bridge_silent_seconds >= 120 && var.alert_bridge_silent_seconds <= 86400
    error_message = "alert_bridge_silent_seconds must be between 120 and 86400."
  }
}

variable "alert_price_feed_silent_seconds" {
  description = "Alert when the webhooks function (TradingView) receives no request for this long. TradingView sends only while the market trades: the default 75 min outlasts the daily one-hour CME break; the alert also fires (once) each weekend. Between 120 and 86400."
  type        = number
  default     = 4500

  validation {
    condition     = var.alert_price_feed_silent_seconds >= 120 && var.alert_price_feed_silent_seconds <= 86400
    error_message = "alert_price_feed_silent_seconds must be between 120 and 86400."
  }
}
