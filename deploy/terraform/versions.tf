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
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
