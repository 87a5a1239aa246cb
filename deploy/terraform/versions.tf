terraform {
  # check blocks and input-variable references in conditions need 1.5+; the team uses 1.11.
  required_version = ">= 1.5.0, < 2.0.0"

  # Exact pins: a provider upgrade is a reviewed change, never a side effect of `terraform init`.
  # `terraform init` writes .terraform.lock.hcl with the checksums; commit it.
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.22.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "7.22.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "2.7.1"
    }
    # time_sleep: the build account's roles must propagate before the first function build (iam.tf).
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
    # random_id: the suffix of the names Google keeps reserved after a delete (main.tf, local.suffix).
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
  }
}

# The operator applies with user credentials (`gcloud auth application-default login`). Several APIs
# (Firebase, Billing Budgets, Firebase Hosting) refuse user credentials without a quota project
# ("Error 403 ... authenticating by using local Application Default Credentials"): every call names the
# project itself as its quota and billing project. The caller needs serviceusage.services.use on it (Owner
# has it).
provider "google" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}

provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}
