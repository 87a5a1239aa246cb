"""A local Web Push service (issue 20): what a browser's push service (FCM, Mozilla autopush) does with a message,
on 127.0.0.1, checked as strictly as the real ones check it.

    service = PushService().start()
    subscription = service.subscribe(application_server_key)   # what PushSubscription.toJSON() gives a page
    ...                                                        # the product sends to subscription["endpoint"]
    service.wait_for(1, timeout=5); service.got[-1]["payload"]   # the decrypted message

A POST to an endpoint is accepted (201) only when
- `Authorization: vapid t=<JWT>,k=<key>` carries an ES256 JWT whose signature verifies against `k`, whose `aud` is
  this service's origin, whose `exp` is in the future and at most 24 h away (RFC 8292), with a `sub`;
- `k` is the application server key the subscription was made with (a message signed by another key is refused,
  as a real push service refuses it);
- the body is `Content-Encoding: aes128gcm` and decrypts (RFC 8291, `http_ece`) with the subscription's private
  key and auth secret, which only this service (standing in for the browser) holds; a TTL header is present.
Otherwise 400/401/403. An endpoint marked `gone` answers 410, an unknown one 404; `fail` answers 500 that many
times first. `python -m devstack.push_service` runs one and prints what arrives.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from devstack.receiver import HOST, Collector

MAX_EXP_S = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Refusal(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


def verify_vapid(authorization: str, origin: str, now: float) -> tuple[str, dict[str, Any]]:
    """The application server key and the JWT claims of a valid `vapid t=…,k=…` header, else Refusal(401/403)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise Refusal(401, "Authorization: expected the vapid scheme")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    token, key = parts.get("t", ""), parts.get("k", "")
    pieces = token.split(".")
    if len(pieces) != 3 or not key:
        raise Refusal(401, "Authorization: expected t=<JWT>,k=<public key>")
    try:
        header = json.loads(unb64url(pieces[0]))
        claims = json.loads(unb64url(pieces[1]))
        signature = unb64url(pieces[2])
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    except ValueError:
        raise Refusal(401, "Authorization: unreadable token or key") from None
    if header.get("alg") != "ES256" or len(signature) != 64:
        raise Refusal(401, "JWT: expected ES256 with a 64-byte signature")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, f"{pieces[0]}.{pieces[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refusal(403, "JWT: the signature does not verify against k") from None
    if claims.get("aud") != origin:
        raise Refusal(403, f"JWT: aud must be {origin}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + MAX_EXP_S:
        raise Refusal(403, "JWT: exp must be in the future and at most 24 h away")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Refusal(403, "JWT: sub (a contact) is required")
    return key, claims


class PushService(Collector):
    """A real HTTP server on 127.0.0.1 standing in for a browser's push service (and holding the browser's keys);
    `got` holds each accepted message, decrypted."""

    def __init__(self, port: int = 0, on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.refused: list[dict[str, Any]] = []
        self.subscriptions: dict[str, dict[str, Any]] = {}   # token -> {private_key, auth, server_key, gone}
        self.fail = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    status = service.receive(self.path, dict(self.headers.items()), raw)
                    why = ""
                except Refusal as refusal:
                    status, why = refusal.status, refusal.why
                    service.refused.append({"path": self.path, "status": status, "why": why})
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(why.encode())

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler, port, on_message, "push-service")

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        """A new subscription bound to the application server key, as `PushSubscription.toJSON()` gives it."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        private = ec.generate_private_key(ec.SECP256R1())
        point = private.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
        auth = os.urandom(16)
        token = secrets.token_urlsafe(32)
        self.subscriptions[token] = {"private_key": private, "auth": auth, "server_key": application_server_key,
                                     "gone": False}
        return {"endpoint": f"{self.origin}/push/{token}", "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(auth)}}

    def token(self, subscription: dict[str, Any]) -> str:
        return str(subscription["endpoint"]).rsplit("/", 1)[-1]

    def gone(self, subscription: dict[str, Any]) -> None:
        """The browser unsubscribed: the endpoint answers 410 from now on."""
        self.subscriptions[self.token(subscription)]["gone"] = True

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        import http_ece

        token = path.removeprefix("/push/")
        sub = self.subscriptions.get(token) if path.startswith("/push/") else None
        if sub is None:
            raise Refusal(404, "no such subscription")
        if sub["gone"]:
            raise Refusal(410, "the subscription is gone")
        if self.fail > 0:
            self.fail -= 1
            raise Refusal(500, "failing on purpose")
        lower = {k.lower(): v for k, v in headers.items()}
        key, claims = verify_vapid(lower.get("authorization", ""), self.origin, time.time())
        if key.rstrip("=") != sub["server_key"].rstrip("="):
            raise Refusal(403, "the message is signed by another application server key than the subscription's")
        if lower.get("content-encoding") != "aes128gcm":
            raise Refusal(400, "Content-Encoding: expected aes128gcm")
        if not lower.get("ttl", "").isdigit():
            raise Refusal(400, "TTL: required")
        try:
            plain = http_ece.decrypt(body, private_key=sub["private_key"], auth_secret=sub["auth"],
                                     version="aes128gcm")
        except Exception as exc:
            raise Refusal(400, f"the body does not decrypt ({type(exc).__name__})") from None
        try:
            payload: Any = json.loads(plain)
        except ValueError:
            payload = plain.decode("utf-8", "replace")
        message = {"token": token, "at": time.time(), "claims": claims, "ttl": int(lower["ttl"]),
                   "urgency": lower.get("urgency"), "payload": payload}
        self.keep(message)
        return 201


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.push_service", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--key", required=True, help="the VAPID public key (GET /api/push/key)")
    args = parser.parse_args(argv)
    service = PushService(args.port, lambda m: print(f"[push] {m['payload']}", flush=True)).start()
    print(json.dumps(service.subscribe(args.key)), flush=True)
    print("POST that subscription to /api/push/subscribe (LOCAL_DEV=1 allows its http:// endpoint); Ctrl-C stops",
          flush=True)
    return service.serve_until_interrupted()


if __name__ == "__main__":
    raise SystemExit(main())
