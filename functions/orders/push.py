"""Web Push to the dashboard (D23, issue 20): the VAPID public key, and a browser's subscription as a notification
destination (shared/service/push.py says how it is kept and delivered). Registered on the orders router.

Every route needs the operator session (POSTs: a fresh one, like every command; the SameSite=Strict session cookie is
the CSRF defence of the whole API). A subscription arrives only in a POST body: an endpoint in a query string would
land in access logs.
"""

from __future__ import annotations

from typing import Any

from shared.errors import BadInput
from shared.web import auth
from shared.web.request import bounded_str, json_body

from . import router
from .fields import known_fields

SUBSCRIBE_FIELDS = ("subscription", "level", "label")
DEFAULT_LEVEL = "important"


def _strict_body(request: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return known_fields(json_body(request, strict=True), fields, "field")


@router.route("GET", "/api/push/key")
def push_key(request: Any) -> dict[str, Any]:
    """The VAPID public key a browser subscribes with (`applicationServerKey`)."""
    from shared.service import notify_secrets, push

    auth.require_session(request)
    return {"ok": True, "public_key": push.public_key(push.require_key(notify_secrets.secrets()))}


@router.route("POST", "/api/push/subscribe")
def push_subscribe(request: Any) -> tuple[dict[str, Any], int]:
    """Add (201) or replace (200) this browser's subscription as a destination: `{subscription, level?, label?}`."""
    from shared.service import notify, notify_secrets, push
    from shared.service.wiring import services
    from shared.store.api import Plan, Write

    auth.require_session(request)
    body = _strict_body(request, SUBSCRIBE_FIELDS)
    subscription = push.parse_subscription(body.get("subscription"))
    level = body.get("level", DEFAULT_LEVEL)
    if level not in notify.DESTINATION_LEVELS:
        raise BadInput(f"level: expected one of {', '.join(notify.DESTINATION_LEVELS)}")
    label = bounded_str(body, "label", 60) or "browser"
    dest_id = push.dest_id(subscription["endpoint"])
    secrets = notify_secrets.secrets()
    push.require_key(secrets)   # no VAPID key: 503 before anything is written

    def plan(reads: Any) -> Plan[int]:
        current = notify.destinations(reads.get(notify.SETTINGS_PATH))
        others = [d for d in current if d["id"] != dest_id]
        if len(others) >= notify.MAX_DESTINATIONS:
            raise BadInput(f"at most {notify.MAX_DESTINATIONS} destinations")
        entry = {"id": dest_id, "label": label, "level": level, "scheme": push.SCHEME}
        return Plan([Write(notify.SETTINGS_PATH, "set", {"destinations": [*others, entry]})],
                    201 if len(others) == len(current) else 200)

    store = services().store
    if len(notify.destinations(store.get([notify.SETTINGS_PATH]).get(notify.SETTINGS_PATH))) \
            >= notify.MAX_DESTINATIONS and not _known(store, dest_id):
        raise BadInput(f"at most {notify.MAX_DESTINATIONS} destinations")
    status = notify.with_secret(secrets, dest_id, push.secret_text(subscription),
                                lambda: store.transact([notify.SETTINGS_PATH], plan))
    return {"ok": True, "destination": notify.masked(_known(store, dest_id) or {}, None)}, status


def _known(store: Any, dest_id: str) -> dict[str, Any] | None:
    from shared.service import notify, push

    return next((d for d in notify.read_destinations(store)
                 if d["id"] == dest_id and d.get("scheme") == push.SCHEME), None)


def _endpoint(request: Any) -> str:
    from shared.service import push

    body = _strict_body(request, ("endpoint",))
    return push.check_endpoint(body.get("endpoint"), "endpoint")


@router.route("POST", "/api/push/status")
def push_status(request: Any) -> dict[str, Any]:
    """Whether this browser's subscription (`{endpoint}`) is a destination here, and its level."""
    from shared.service import notify, push
    from shared.service.wiring import services

    auth.require_session(request)
    dest = _known(services().store, push.dest_id(_endpoint(request)))
    return {"ok": True, "subscribed": dest is not None,
            "destination": notify.masked(dest, None) if dest is not None else None}


@router.route("POST", "/api/push/unsubscribe")
def push_unsubscribe(request: Any) -> dict[str, Any]:
    """Remove this browser's subscription (`{endpoint}`) and its secret; `removed` is null when it was not one."""
    from shared.service import notify, notify_secrets, push
    from shared.service.wiring import services

    auth.require_session(request)
    dest_id = push.dest_id(_endpoint(request))
    if _known(services().store, dest_id) is None:
        return {"ok": True, "removed": None}
    notify.remove_destination(services(), notify_secrets.secrets(), dest_id)
    return {"ok": True, "removed": dest_id}
