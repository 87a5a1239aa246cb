variable "project_id" {
  description = "Google Cloud project that hosts the control plane (Firebase must be, or will be, enabled on it)."
  type        = string
}

variable "region" {
  description = "Region of the functions and the Cloud Tasks queue. firebase.json's rewrites name us-central1."
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
    Firebase Hosting site id for the operator dashboard. A new id creates a new site (then deploy with a
    hosting target, see deploy/README.md). The project's default site (id = project id) already exists:
    import it once before applying.
  EOT
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$", var.hosting_site_id))
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

variable "labels" {
  description = "Labels added to every labelled resource."
  type        = map(string)
  default     = {}
}
