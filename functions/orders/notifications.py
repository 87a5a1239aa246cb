"""The notification destinations (D23, issue 20): list, add or replace, remove, and send a test message. A
destination's URL goes to the secrets store, never to Firestore or a log line."""

from __future__ import annotations

from typing import Any

from shared.errors import BadInput, NotFound
from shared.service.wiring import services
from shared.web import auth
from shared.web.request import bounded_str, field_label, json_body

from . import router

NOTIFY_FIELDS = ("id", "label", "level", "url")


@router.route("GET", "/api/notifications/destinations")
def list_destinations(request: Any) -> dict[str, Any]:
    """Every destination with its level and delivery status; never its URL (the scheme only)."""
    from shared.service import notify

    auth.require_session(request)
    store = services().store
    dests = notify.read_destinations(store)
    statuses = store.get([notify.status_path(d["id"]) for d in dests]) if dests else {}
    return {"ok": True, "levels": list(notify.DESTINATION_LEVELS),
            "destinations": [notify.masked(d, statuses.get(notify.status_path(d["id"]))) for d in dests]}


@router.route("POST", "/api/notifications/destinations")
def put_destination(request: Any) -> tuple[dict[str, Any], int]:
    """Add or replace one destination: `{id, level, url, label?}`. The URL (an apprise URL: json://, ntfy://, tgram://,
    discord://, slack://, pover://, mailto://, …) goes to the secrets store, never to Firestore or a log line. Without
    `url`, an existing destination keeps its URL (the dashboard changes a level without ever holding the URL)."""
    from shared.service import notify, notify_secrets
    from shared.store.api import Plan, Write

    auth.require_session(request)
    body = json_body(request, strict=True)
    unknown = sorted(set(body) - set(NOTIFY_FIELDS))
    if unknown:
        raise BadInput(f"{field_label(unknown[0])}: unknown field (expected {', '.join(NOTIFY_FIELDS)})")
    dest_id = body.get("id")
    if not isinstance(dest_id, str) or not notify.DEST_ID.fullmatch(dest_id):
        raise BadInput("id: expected 1 to 32 lower-case letters, digits or '-'")
    level = body.get("level", "important")
    if level not in notify.DESTINATION_LEVELS:
        raise BadInput(f"level: expected one of {', '.join(notify.DESTINATION_LEVELS)}")
    label = bounded_str(body, "label", 60) or dest_id
    url = body.get("url")
    if url is None and notify_secrets.secrets().get(dest_id) is not None:
        pass   # a level or name change: the URL stays where it is
    elif not isinstance(url, str) or not 8 <= len(url) <= 2000 or not notify.valid_url(url):
        raise BadInput("url: expected one notification URL apprise understands (e.g. ntfy://host/topic, "
                       f"json://host/path), its timeouts cto and rto at most {notify.MAX_TIMEOUT_S:.0f} s")

    def plan(reads: Any) -> Plan[int]:
        current = notify.destinations(reads.get(notify.SETTINGS_PATH))
        others = [d for d in current if d["id"] != dest_id]
        if len(others) >= notify.MAX_DESTINATIONS:
            raise BadInput(f"at most {notify.MAX_DESTINATIONS} destinations")
        if url is None and len(others) == len(current):
            raise BadInput("url: required for a new destination")
        kept = next((d for d in current if d["id"] == dest_id), {})
        scheme = notify.scheme_of(url) if url is not None else kept.get("scheme", "?")
        entry = {"id": dest_id, "label": label, "level": level, "scheme": scheme}
        return Plan([Write(notify.SETTINGS_PATH, "set", {"destinations": [*others, entry]})],
                    201 if len(others) == len(current) else 200)

    status = notify.with_secret(notify_secrets.secrets(), dest_id, url,
                                lambda: services().store.transact([notify.SETTINGS_PATH], plan))
    dest = next(d for d in notify.read_destinations(services().store) if d["id"] == dest_id)
    return {"ok": True, "destination": notify.masked(dest, None)}, status


@router.route("DELETE", "/api/notifications/destinations/<dest_id>")
def delete_destination(request: Any, dest_id: str) -> dict[str, Any]:
    from shared.service import notify, notify_secrets

    auth.require_session(request)
    if not notify.DEST_ID.fullmatch(dest_id) or not notify.remove_destination(services(), notify_secrets.secrets(),
                                                                               dest_id):
        raise NotFound("no such destination")
    return {"ok": True, "removed": dest_id}


@router.route("POST", "/api/notifications/destinations/<dest_id>/test")
def test_destination(request: Any, dest_id: str) -> tuple[dict[str, Any], int]:
    """Send a test message now (the operator is waiting for it: this one is in the request path, bounded by
    apprise's own timeouts); its outcome is the destination's last success or error."""
    from shared.logs import register_secret
    from shared.service import notify, notify_secrets

    auth.require_session(request)
    if not notify.DEST_ID.fullmatch(dest_id) or not any(
            d["id"] == dest_id for d in notify.read_destinations(services().store)):
        raise NotFound("no such destination")
    url = notify_secrets.secrets().get(dest_id)
    if url is None:
        raise NotFound("the destination's URL is missing from the secrets store")
    register_secret(url)
    try:
        error = notify.SENDER(url, "OperatorLock test", "A test notification: this destination works.", "info")
    except notify.NoAnswer as silent:
        error = str(silent)
    notify.record_status(services(), dest_id, error)
    if error is not None:
        return {"ok": False, "code": "DESTINATION_FAILED", "error": error}, 502
    return {"ok": True}, 200


