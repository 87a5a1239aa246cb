# Firestore (native mode). The rules are deployed with the Firebase CLI (firestore.rules, deny all client
# access, D12); the database, the TTL policy and the composite indexes live here and must match
# firestore.indexes.json (tests/unit/test_deploy_config.py checks it).

resource "google_firestore_database" "default" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  point_in_time_recovery_enablement = var.firestore_point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  # `terraform destroy` leaves the trading state and the audit trail in place.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.apis]
}

# D13: old audit events expire through a TTL on events.expire_at. The field is not queried, so its
# single-field indexes are dropped (as fieldOverrides in firestore.indexes.json says): cheaper writes.
resource "google_firestore_field" "events_expire_at" {
  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = "events"
  field      = "expire_at"

  ttl_config {}

  index_config {}
}

# Timer de-duplication keys (shared/scheduler) carry expire_at = due time + 2 days: expire them the same way.
resource "google_firestore_field" "task_keys_expire_at" {
  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = "task_keys"
  field      = "expire_at"

  ttl_config {}

  index_config {}
}

# orders: WHERE status == ... ORDER BY created_at (the bridge's pending poll, the dashboard's lists).
resource "google_firestore_index" "orders_status_created_at" {
  project     = var.project_id
  database    = google_firestore_database.default.name
  collection  = "orders"
  query_scope = "COLLECTION"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at"
    order      = "ASCENDING"
  }
}

# events: WHERE asset == ... ORDER BY ts DESC (the dashboard's log tabs, newest first).
resource "google_firestore_index" "events_asset_ts" {
  project     = var.project_id
  database    = google_firestore_database.default.name
  collection  = "events"
  query_scope = "COLLECTION"

  fields {
    field_path = "asset"
    order      = "ASCENDING"
  }

  fields {
    field_path = "ts"
    order      = "DESCENDING"
  }
}
