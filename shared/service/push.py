"""Web Push to the dashboard (D23, issue 20): a browser's push subscription is one more notification destination.

A subscription (`PushSubscription.toJSON()`: `{endpoint, keys: {p256dh, auth}}`) is a destination of scheme
`webpush` in `console/notify`, with a level like the others. Its id is derived from the endpoint (`push-` and 16 hex
digits of its SHA-256), so the same browser subscribing again replaces its entry and can unsubscribe by endpoint.
The subscription itself is a secret, like an apprise URL (whoever holds endpoint and keys can push to that device):
kept in the notification secrets store (`shared.service.notify_secrets`) as its JSON text, never in a document,
never served back, registered with the log scrubber whenever it is read.

Delivery is `pywebpush` (aes128gcm, RFC 8291) signed with the VAPID key (RFC 8292): the message carries the
title, the text, a `tag` (the notification's id: a second delivery of one notification, the outbox's honest
window, replaces the first on the device instead of adding one) and the dashboard's anchor of the relevant card.
A 404 or 410 from the push service means the subscription is gone (the browser unsubscribed, the user revoked the
permission): the destination and its secret are removed and the task ends (no retry). Any other failure is a
failure like any destination's: Cloud Tasks retries it.

The VAPID private key is a secret too:
- locally (`NOTIFY_URL_STORE=file`, and tests' MemorySecrets): the entry `_vapid` of the same 0600 secrets file,
  made on first use when missing (`_vapid` cannot be a destination id);
- in the cloud: the Secret Manager secret VAPID_PRIVATE_KEY (deploy/terraform/notify.tf), whose value the deployer
  adds once (deploy/README.md: `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, a PEM); without it
  the push routes answer 503 naming it, and push destinations fail (retried) until it exists.
Its format: a P-256 private key in PEM, or the 32-byte private number in base64url (what the local stack makes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.errors import BadInput, Unavailable
from shared.logs import register_secret

SCHEME = "webpush"
DEST_PREFIX = "push-"
VAPID_KEY = "_vapid"                 # the local secrets file's entry (outside notify.DEST_ID: no destination id)
VAPID_SECRET = "VAPID_PRIVATE_KEY"   # noqa: S105 - the Secret Manager secret's name, not a value
DEFAULT_SUBJECT = "mailto:operator@operatorlock.invalid"
TTL_S = {"critical": 24 * 3600, "important": 12 * 3600, "info": 3600}   # how long the push service may hold it
URGENCY = {"critical": "high", "important": "normal", "info": "low"}
SEND_TIMEOUT_S = 10.0
MAX_ENDPOINT = 2000
SUBSCRIPTION_FIELDS = ("endpoint", "expirationTime", "keys")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_INTERNAL_TLDS = frozenset({"localhost", "internal", "local", "localdomain", "home", "lan", "intranet", "corp"})


def _label(name: object) -> str:
    """A field name the caller chose, as an error text may show it: printable and short."""
    text = str(name).encode("unicode_escape").decode("ascii")
    return text if len(text) <= 40 else text[:37] + "..."


# ---- the subscription ----------------------------------------------------------------------------------------------

def dest_id(endpoint: str) -> str:
    return DEST_PREFIX + hashlib.sha256(endpoint.encode()).hexdigest()[:16]


def loopback_allowed() -> bool:
    """An http:// endpoint on this machine: the local stack's push-service fake only (LOCAL_DEV=1)."""
    return os.environ.get("LOCAL_DEV") == "1"


def _b64url(value: Any, where: str, size: int) -> bytes:
    if not isinstance(value, str) or not _B64URL.fullmatch(value) or len(value) > 200:
        raise BadInput(f"{where}: expected base64url text")
    try:
        raw = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except ValueError:
        raise BadInput(f"{where}: expected base64url text") from None
    if len(raw) != size:
        raise BadInput(f"{where}: expected {size} bytes, got {len(raw)}")
    return raw


def check_endpoint(endpoint: Any, where: str = "subscription.endpoint") -> str:
    if not isinstance(endpoint, str) or not 12 <= len(endpoint) <= MAX_ENDPOINT:
        raise BadInput(f"{where}: expected the push service's URL (https://…, at most {MAX_ENDPOINT} characters)")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        raise BadInput(f"{where}: not a URL") from None
    local = parts.scheme == "http" and host in _LOOPBACK and loopback_allowed()
    if not host or (parts.scheme != "https" and not local) or parts.username or parts.password:
        raise BadInput(f"{where}: expected an https:// URL of a push service")
    if not local and not public_name(host):
        raise BadInput(f"{where}: expected a push service's public host name (no address, no local or internal "
                       "name: the timers function would send to it)")
    return endpoint


def public_name(host: str) -> bool:
    """A DNS name on the internet: the timers function POSTs to the endpoint, so no IP literal (in any of the forms
    a resolver reads: 127.1, 2130706433, 0x7f.1), no single label (metadata) and none of the names that stay
    inside a network (localhost, *.internal: metadata.google.internal, *.local). Push services are all named."""
    name = host.lower().rstrip(".")
    labels = name.split(".")
    return len(labels) >= 2 and labels[-1].isalpha() and len(labels[-1]) >= 2 and labels[-1] not in _INTERNAL_TLDS


def parse_subscription(value: Any) -> dict[str, Any]:
    """A browser's `PushSubscription.toJSON()`, checked field by field (400 naming the field); returns
    `{endpoint, keys: {p256dh, auth}}`."""
    if not isinstance(value, Mapping):
        raise BadInput("subscription: expected the object PushSubscription.toJSON() gives "
                       "({endpoint, keys: {p256dh, auth}})")
    unknown = sorted(set(value) - set(SUBSCRIPTION_FIELDS))
    if unknown:
        raise BadInput(f"subscription.{_label(unknown[0])}: unknown field "
                       f"(expected {', '.join(SUBSCRIPTION_FIELDS)})")
    endpoint = check_endpoint(value.get("endpoint"))
    expiration = value.get("expirationTime")
    if expiration is not None and (isinstance(expiration, bool) or not isinstance(expiration, int | float)):
        raise BadInput("subscription.expirationTime: expected null or epoch milliseconds")
    keys = value.get("keys")
    if not isinstance(keys, Mapping):
        raise BadInput("subscription.keys: expected {p256dh, auth}")
    unknown = sorted(set(keys) - {"p256dh", "auth"})
    if unknown:
        raise BadInput(f"subscription.keys.{_label(unknown[0])}: unknown field (expected p256dh, auth)")
    point = _b64url(keys.get("p256dh"), "subscription.keys.p256dh", 65)
    _b64url(keys.get("auth"), "subscription.keys.auth", 16)
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise BadInput("subscription.keys.p256dh: not a P-256 public key") from None
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


def secret_text(subscription: Mapping[str, Any]) -> str:
    return json.dumps(subscription, separators=(",", ":"), sort_keys=True)


def read_secret(text: str | None) -> dict[str, Any] | None:
    """The subscription kept as a destination's secret, or None when the text is not one."""
    if not text or not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("endpoint"), str) \
            or not isinstance(data.get("keys"), dict):
        return None
    for piece in (text, data["endpoint"], *(v for v in data["keys"].values() if isinstance(v, str))):
        register_secret(piece)
    return data


# ---- the VAPID key -------------------------------------------------------------------------------------------------

_key_lock = threading.Lock()
_cloud_cache: tuple[float, str | None] | None = None
CLOUD_CACHE_S = 300.0


def new_private_key() -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()


def private_key(secrets: Any) -> str | None:
    """The VAPID private key: Secret Manager's VAPID_PRIVATE_KEY in the cloud (None while it has no version), else
    the secrets store's `_vapid` entry, made now if missing."""
    global _cloud_cache
    latest = getattr(secrets, "latest", None)
    with _key_lock:
        if latest is not None:
            if _cloud_cache is None or time.monotonic() - _cloud_cache[0] > CLOUD_CACHE_S:
                raw = latest(VAPID_SECRET)
                _cloud_cache = (time.monotonic(), raw.decode().strip() if raw else None)
            key = _cloud_cache[1]
        else:
            key = secrets.get(VAPID_KEY)
            if key is None:
                secrets.put(VAPID_KEY, new_private_key())
                key = secrets.get(VAPID_KEY)
    if key:
        register_secret(key)
    return key


def _vapid(key: str) -> Any:
    """The signer of `key`: a PEM (what openssl makes for the cloud's secret) or the raw number, base64url."""
    from py_vapid import Vapid

    if "-----BEGIN" in key:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return Vapid(private_key=load_pem_private_key(key.encode(), password=None))
    return Vapid.from_string(private_key=key)


def public_key(key: str) -> str:
    """The applicationServerKey a browser subscribes with: the uncompressed P-256 point, base64url."""
    from cryptography.hazmat.primitives import serialization

    point = _vapid(key).public_key.public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def require_key(secrets: Any) -> str:
    try:
        key = private_key(secrets)
    except Exception as exc:   # Secret Manager unreachable or refusing: a 503 naming the secret
        raise Unavailable(f"Web Push: the VAPID key ({VAPID_SECRET}) could not be read ({type(exc).__name__})") \
            from None
    if not key:
        raise Unavailable(f"Web Push is not configured: the secret {VAPID_SECRET} has no version yet "
                          "(deploy/README.md)")
    return key


# ---- sending -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """`delivered`; `gone` (404/410: the subscription no longer exists); `failed` with why (no secret in it)."""

    result: str
    error: str | None = None


def anchor(notification: Mapping[str, Any]) -> str:
    """Where a click opens the dashboard: the asset's card, else the events feed (a silence has no asset)."""
    asset = notification.get("asset")
    if isinstance(asset, str) and re.fullmatch(r"[A-Z0-9]{1,12}", asset):
        return f"/#card-{asset}"
    return "/#feed-box"


def message(notification: Mapping[str, Any]) -> dict[str, Any]:
    """What the service worker shows (sw.js): title, body, tag, level and the card to open."""
    return {"title": str(notification.get("title") or "OperatorLock")[:200],
            "body": str(notification.get("text") or "")[:1000],
            "tag": f"ol-{notification.get('id') or 'message'}", "level": str(notification.get("level") or "info"),
            "url": anchor(notification)}


def send(subscription: Mapping[str, Any], payload: Mapping[str, Any], key: str) -> Outcome:
    """One encrypted, VAPID-signed message to the subscription's push service."""
    from pywebpush import WebPushException, webpush

    try:   # a subscription kept before check_endpoint refused internal hosts (or edited by hand) is not sent to
        check_endpoint(subscription.get("endpoint"))
    except BadInput as refused:
        return Outcome("failed", f"the stored push {refused}")
    level = str(payload.get("level", "info"))
    subject = os.environ.get("VAPID_SUBJECT") or DEFAULT_SUBJECT
    try:
        webpush(dict(subscription), data=json.dumps(payload, separators=(",", ":")), vapid_private_key=_vapid(key),
                vapid_claims={"sub": subject}, ttl=TTL_S.get(level, 3600),
                headers={"Urgency": URGENCY.get(level, "normal")}, timeout=SEND_TIMEOUT_S)
    except WebPushException as exc:
        status = exc.status_code
        if status in (404, 410):
            return Outcome("gone", f"the push service answered {status}: the subscription is gone")
        return Outcome("failed", f"the push service answered {status}" if status else
                       "the message could not be prepared for the push service")
    except Exception as exc:   # requests' errors carry the endpoint in their text: only the kind is told
        return Outcome("failed", f"the push service could not be reached ({type(exc).__name__})")
    return Outcome("delivered")


def trial_message() -> dict[str, Any]:
    return {"title": "OperatorLock test", "body": "A test notification: this device gets Web Push.",
            "tag": "ol-test", "level": "info", "url": "/"}
