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

# TTL: old audit events expire through a TTL on events.expire_at (D13); timer de-duplication keys
# (shared/scheduler) carry expire_at = due time + 2 days and expire the same way, and so do the operator commands'
# idempotency records (D19: kept 24 h; an older one is ignored whenever the TTL deletes it). The field is not queried, so
# its single-field indexes are dropped (as fieldOverrides in firestore.indexes.json says): cheaper writes.
resource "google_firestore_field" "expire_at" {
  for_each = toset(["events", "task_keys", "idempotency"])

  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = each.key
  field      = "expire_at"

  ttl_config {}

  index_config {}
}

# Composite indexes, each field in index order.
locals {
  firestore_indexes = {
    # orders: WHERE status == ... ORDER BY created_at (the bridge's pending poll, the dashboard's lists).
    orders_status_created_at = {
      collection = "orders"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "created_at", order = "ASCENDING" },
      ]
    }
    # events: WHERE asset == ... ORDER BY seq DESC (the dashboard's log tabs, newest commit first).
    events_asset_seq = {
      collection = "events"
      fields = [
        { field_path = "asset", order = "ASCENDING" },
        { field_path = "seq", order = "DESCENDING" },
      ]
    }
    # events: WHERE type == "renko_bar" AND asset == ... AND input.stream == ... AND duplicate == false
    # ORDER BY ts DESC (GET /api/bars).
    events_type_asset_stream_ts = {
      collection = "events"
      fields = [
        { field_path = "type", order = "ASCENDING" },
        { field_path = "asset", order = "ASCENDING" },
        { field_path = "input.stream", order = "ASCENDING" },
        { field_path = "duplicate", order = "ASCENDING" },
        { field_path = "ts", order = "DESCENDING" },
      ]
    }
    # events: [asset in ... AND] actor.email == ... (or actor.uid) ORDER BY seq DESC (GET /api/logs?operator=,
    # the Log tab's operator filter: who did what).
    events_actor_email_seq = {
      collection = "events"
      fields = [
        { field_path = "actor.email", order = "ASCENDING" },
        { field_path = "seq", order = "DESCENDING" },
      ]
    }
    events_actor_uid_seq = {
      collection = "events"
      fields = [
        { field_path = "actor.uid", order = "ASCENDING" },
        { field_path = "seq", order = "DESCENDING" },
      ]
    }
    events_asset_actor_email_seq = {
      collection = "events"
      fields = [
        { field_path = "asset", order = "ASCENDING" },
        { field_path = "actor.email", order = "ASCENDING" },
        { field_path = "seq", order = "DESCENDING" },
      ]
    }
    events_asset_actor_uid_seq = {
      collection = "events"
      fields = [
        { field_path = "asset", order = "ASCENDING" },
        { field_path = "actor.uid", order = "ASCENDING" },
        { field_path = "seq", order = "DESCENDING" },
      ]
    }
  }
}

resource "google_firestore_index" "this" {
  for_each = local.firestore_indexes

  project     = var.project_id
  database    = google_firestore_database.default.name
  collection  = each.value.collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

# Declared one by one before the move to for_each: keep the TTL policies and indexes in place.
moved {
  from = google_firestore_field.events_expire_at
  to   = google_firestore_field.expire_at["events"]
}

moved {
  from = google_firestore_field.task_keys_expire_at
  to   = google_firestore_field.expire_at["task_keys"]
}

moved {
  from = google_firestore_index.orders_status_created_at
  to   = google_firestore_index.this["orders_status_created_at"]
}

# (the log's indexes order by seq since issue 16: Terraform moves this one and then replaces it)
moved {
  from = google_firestore_index.events_asset_ts
  to   = google_firestore_index.this["events_asset_seq"]
}
