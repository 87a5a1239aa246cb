"""Issue 20 item 3, Web Push, through the real entry points over the fake store, against a real local push service
(devstack.push_service) that checks the VAPID signature (ES256 against `k`, aud, exp, the subscription's own key)
and decrypts the aes128gcm body with the subscription's private key and auth secret — keys the product never has.

A fill committed by a decision reaches the push service decrypted (title, text, the card to open, a tag); a message
signed by another key is refused and retried like any failure; a 410 removes the subscription and its secret; bad
subscription JSON is a 400 naming the field with nothing written; and no endpoint or key is in any stored document,
answer or log line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.push_service import PushService, Refusal, b64url, unb64url, verify_vapid
from shared.service import notify_secrets, push
from tests.functions.test_hostile_input import BRIDGE, TASK_TOKEN, open_entry, report
from tests.functions.test_notifications import notifications, run_tasks, watchdog


@pytest.fixture
def service() -> Iterator[PushService]:
    fake = PushService().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _wiring(app, monkeypatch) -> Iterator[notify_secrets.MemorySecrets]:
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("TASKS_LOCAL_TOKEN", TASK_TOKEN)
    monkeypatch.setattr(push, "loopback_allowed", lambda: True)   # the fake's http://127.0.0.1 endpoints
    secrets = notify_secrets.MemorySecrets()
    notify_secrets.install(secrets)
    assert app.login().status_code == 200
    yield secrets
    notify_secrets.install(None)


def public_key(app: Any) -> str:
    answer = app.client("orders").get("/api/push/key")
    assert answer.status_code == 200, answer.get_json()
    return str(answer.get_json()["public_key"])


def subscribe(app: Any, subscription: dict[str, Any], level: str = "all") -> Any:
    return app.client("orders").post("/api/push/subscribe", json={"subscription": subscription, "level": level,
                                                                   "label": "test browser"})


def secret_pieces(subscription: dict[str, Any]) -> list[str]:
    return [subscription["endpoint"], service_token(subscription), *subscription["keys"].values()]


def service_token(subscription: dict[str, Any]) -> str:
    return str(subscription["endpoint"]).rsplit("/", 1)[-1]


def assert_nowhere(app: Any, pieces: list[str], *texts: str) -> None:
    stored = json.dumps(app.store.dump(), default=str)
    for piece in pieces:
        assert piece not in stored, "a subscription secret in a stored document"
        for text in texts:
            assert piece not in text, "a subscription secret in an answer or a log line"


def test_a_fill_reaches_the_push_service_signed_encrypted_and_pointing_at_its_card(app, service, _wiring,
                                                                                    capsys) -> None:
    key = public_key(app)
    assert len(unb64url(key)) == 65 and unb64url(key)[0] == 4, "an uncompressed P-256 point"
    assert public_key(app) == key, "one key: made once, then kept in the secrets store"
    assert push.VAPID_KEY in _wiring.urls
    subscription = service.subscribe(key)
    added = subscribe(app, subscription)
    assert added.status_code == 201, added.get_json()
    dest = added.get_json()["destination"]
    assert dest["id"] == push.dest_id(subscription["endpoint"]) and dest["url"] == "webpush://…"
    assert subscribe(app, subscription).status_code == 200, "the same browser again replaces its entry"
    oid = open_entry(app)
    assert app.client("bridge").get("/api/orders/pending", headers={"X-Bridge-Secret": BRIDGE}).status_code == 200
    assert report(app, oid, status="FILLED", fill_price=5001.0, fill_id="F1").status_code == 200
    fill = next(d for d in notifications(app).values() if d["kind"] == "fill")
    (answer,) = run_tasks(app, f"{fill['id']}:{dest['id']}")
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "delivered", answer.get_json()
    assert service.wait_for(1, timeout=5)
    got = service.got[-1]
    assert got["payload"] == {"title": "ES: ENTRY fill", "body": fill["text"], "tag": f"ol-{fill['id']}",
                              "level": "important", "url": "/#card-ES"}
    assert got["claims"]["aud"] == service.origin and got["claims"]["sub"].startswith("mailto:")
    assert got["ttl"] == push.TTL_S["important"] and got["urgency"] == "normal"
    assert service.refused == []
    listed = app.client("orders").get("/api/notifications/destinations").get_data(as_text=True)
    status = app.client("orders").post("/api/push/status", json={"endpoint": subscription["endpoint"]})
    assert status.get_json()["subscribed"] is True
    assert_nowhere(app, [*secret_pieces(subscription), _wiring.urls[push.VAPID_KEY]], listed,
                   added.get_data(as_text=True), status.get_data(as_text=True), capsys.readouterr().out)


def test_the_destinations_test_button_pushes_to_the_device(app, service) -> None:
    subscription = service.subscribe(public_key(app))
    dest_id = subscribe(app, subscription).get_json()["destination"]["id"]
    assert app.client("orders").post(f"/api/notifications/destinations/{dest_id}/test").status_code == 200
    assert service.wait_for(1, timeout=5) and service.got[-1]["payload"]["title"] == "OperatorLock test"


def test_a_message_signed_by_another_key_is_refused_and_retried_like_any_failure(app, service, _wiring) -> None:
    other = push.public_key(push.new_private_key())
    subscription = service.subscribe(other)   # the browser subscribed with another server's key
    dest_id = subscribe(app, subscription, level="important").get_json()["destination"]["id"]
    watchdog(app)
    task = next(t for t in app.scheduler.of_kind("notify") if t.key.endswith(dest_id))
    (answer,) = run_tasks(app, task.key)
    assert answer.status_code == 503 and answer.get_json()["error"] == "the push service answered 403"
    assert service.refused[-1]["status"] == 403 and "another application server key" in service.refused[-1]["why"]
    assert service.got == [] and dest_id in _wiring.urls, "a refusal is not a gone subscription"


def test_the_push_service_checks_the_signature_aud_and_exp() -> None:
    """The fake itself: a tampered signature, another audience, an expired token are refused."""
    from py_vapid import Vapid

    vapid = Vapid.from_string(push.new_private_key())
    origin, now = "http://127.0.0.1:9", 1_800_000_000

    def header(claims: dict[str, Any]) -> str:
        return str(vapid.sign({"sub": "mailto:a@b.example", **claims})["Authorization"])

    good = header({"aud": origin, "exp": now + 60})
    assert verify_vapid(good, origin, now)[1]["aud"] == origin
    token = good.split("t=", 1)[1].split(",", 1)[0]
    _, body, signature = token.split(".")
    tampered_body = b64url(json.dumps({"aud": origin, "exp": now + 99, "sub": "mailto:x@y.example"}).encode())
    flipped = b64url(bytes([unb64url(signature)[0] ^ 1]) + unb64url(signature)[1:])
    for bad, why in [(good.replace(body, tampered_body), "signature"), (good.replace(signature, flipped), "signature"),
                     (header({"aud": "http://127.0.0.1:8", "exp": now + 60}), "aud"),
                     (header({"aud": origin, "exp": now - 1}), "exp"),
                     (header({"aud": origin, "exp": now + 25 * 3600}), "exp")]:
        with pytest.raises(Refusal) as refused:
            verify_vapid(bad, origin, now)
        assert refused.value.status == 403 and why in refused.value.why


def test_a_gone_subscription_is_removed_with_its_secret(app, service, _wiring, capsys) -> None:
    subscription = service.subscribe(public_key(app))
    dest_id = subscribe(app, subscription, level="important").get_json()["destination"]["id"]
    service.fail = 1
    watchdog(app)
    tasks = [t for t in app.scheduler.of_kind("notify") if t.key.endswith(dest_id)]
    assert len(tasks) == 2, "Monday 11:00 New York: the price and the bridge silences"
    first = run_tasks(app, tasks[0].key)[0]
    assert first.status_code == 503, "a 500 from the push service is retried"
    service.gone(subscription)
    gone = run_tasks(app, tasks[0].key)[0]
    assert gone.status_code == 200 and gone.get_json()["outcome"] == "subscription_gone"
    assert dest_id not in _wiring.urls
    assert dest_id not in app.client("orders").get("/api/notifications/destinations").get_data(as_text=True)
    assert f"notify_status/{dest_id}" not in app.store.dump()
    assert run_tasks(app, tasks[1].key)[0].get_json()["outcome"] == "no_destination"
    status = app.client("orders").post("/api/push/status", json={"endpoint": subscription["endpoint"]})
    assert status.get_json() == {"ok": True, "subscribed": False, "destination": None}
    assert_nowhere(app, secret_pieces(subscription), capsys.readouterr().out)


def test_unsubscribe_removes_the_destination_and_its_secret(app, service, _wiring) -> None:
    subscription = service.subscribe(public_key(app))
    dest_id = subscribe(app, subscription).get_json()["destination"]["id"]
    orders = app.client("orders")
    removed = orders.post("/api/push/unsubscribe", json={"endpoint": subscription["endpoint"]})
    assert removed.get_json() == {"ok": True, "removed": dest_id}
    assert dest_id not in _wiring.urls
    again = orders.post("/api/push/unsubscribe", json={"endpoint": subscription["endpoint"]})
    assert again.get_json() == {"ok": True, "removed": None}


def _bad_bodies(good: dict[str, Any]) -> list[tuple[Any, str]]:
    keys = good["keys"]
    return [
        ({}, "subscription: expected the object"),
        ({"subscription": "x"}, "subscription: expected the object"),
        ({"subscription": good, "extra": 1}, "extra: unknown field"),
        ({"subscription": {**good, "endpoint": None}}, "subscription.endpoint: expected"),
        ({"subscription": {**good, "endpoint": "ftp://push.example.com/x/y"}}, "endpoint: expected an https"),
        ({"subscription": {**good, "endpoint": "http://push.example.com/abc"}}, "endpoint: expected an https"),
        ({"subscription": {**good, "endpoint": "https://u:p@push.example.com/a"}}, "subscription.endpoint"),
        ({"subscription": {**good, "endpoint": "https://" + "a" * 2000}}, "subscription.endpoint"),
        ({"subscription": {**good, "expirationTime": "soon"}}, "subscription.expirationTime"),
        ({"subscription": {**good, "keys": None}}, "subscription.keys: expected"),
        ({"subscription": {**good, "keys": {**keys, "x": "y"}}}, "subscription.keys.x: unknown field"),
        ({"subscription": {**good, "keys": {"auth": keys["auth"]}}}, "subscription.keys.p256dh: expected base64url"),
        ({"subscription": {**good, "keys": {**keys, "p256dh": keys["auth"]}}}, "subscription.keys.p256dh: expected 65"),
        ({"subscription": {**good, "keys": {**keys, "p256dh": b64url(b"\x04" + bytes(64))}}},
         "subscription.keys.p256dh: not a P-256 public key"),
        ({"subscription": {**good, "keys": {**keys, "auth": "!!"}}}, "subscription.keys.auth: expected base64url"),
        ({"subscription": {**good, "keys": {**keys, "auth": keys["p256dh"]}}}, "subscription.keys.auth: expected 16"),
        ({"subscription": {**good, "bogus": 1}}, "subscription.bogus: unknown field"),
        ({"subscription": good, "level": "loud"}, "level: expected one of"),
        ({"subscription": good, "label": 7}, "label: expected a string"),
    ]


def test_bad_subscriptions_are_400s_naming_the_field_and_write_nothing(app, service, _wiring) -> None:
    good = service.subscribe(public_key(app))
    good["endpoint"] = "https://push.example.com/send/" + service_token(good)
    before_store, before_secrets = json.dumps(app.store.dump(), default=str), dict(_wiring.urls)
    for body, expected in _bad_bodies(good):
        answer = app.client("orders").post("/api/push/subscribe", json=body)
        assert answer.status_code == 400 and expected in answer.get_json()["error"], (body, answer.get_json())
        assert good["keys"]["auth"] not in answer.get_data(as_text=True)
    for body in ({}, {"endpoint": 5}, {"endpoint": "http://x.example/a"}, {"endpoint": good["endpoint"], "x": 1}):
        for route in ("/api/push/unsubscribe", "/api/push/status"):
            assert app.client("orders").post(route, json=body).status_code == 400, (route, body)
    assert json.dumps(app.store.dump(), default=str) == before_store and _wiring.urls == before_secrets
    assert subscribe(app, good).status_code == 201, "the same subscription, well formed, is taken"


def test_the_push_routes_need_the_operator_session(app, service) -> None:
    app.client("orders").post("/api/logout")
    for method, route in (("get", "/api/push/key"), ("post", "/api/push/subscribe"), ("post", "/api/push/status"),
                          ("post", "/api/push/unsubscribe")):
        assert getattr(app.client("orders"), method)(route, json={}).status_code == 401, route


def test_a_pem_key_as_the_cloud_keeps_it_signs_messages_the_push_service_accepts(app, service, _wiring,
                                                                                   monkeypatch) -> None:
    """deploy/README.md adds VAPID_PRIVATE_KEY as openssl's PEM; the contact comes from VAPID_SUBJECT."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    _wiring.put(push.VAPID_KEY, pem)
    monkeypatch.setenv("VAPID_SUBJECT", "mailto:desk@example.com")
    subscription = service.subscribe(public_key(app))
    dest_id = subscribe(app, subscription).get_json()["destination"]["id"]
    assert app.client("orders").post(f"/api/notifications/destinations/{dest_id}/test").status_code == 200
    assert service.wait_for(1, timeout=5) and service.got[-1]["claims"]["sub"] == "mailto:desk@example.com"


@pytest.mark.parametrize("endpoint", ["https://127.0.0.1/push/abc", "https://localhost:8443/push/abc",
                                      "https://[::1]/push/abc", "https://10.0.0.7/push/abc",
                                      "https://169.254.169.254/computeMetadata/v1/abc",
                                      "https://metadata.google.internal/computeMetadata/v1/abc",
                                      "https://metadata/computeMetadata/v1/abc", "https://LOCALHOST./push/abc",
                                      "https://2130706433/push/abc", "https://0x7f.1/push/abc"])
def test_an_endpoint_inside_our_own_network_is_refused(app, service, _wiring, monkeypatch, endpoint) -> None:
    """The timers function would POST to it: the metadata server, a loopback port, a private address (SSRF)."""
    monkeypatch.setattr(push, "loopback_allowed", lambda: False)
    good = service.subscribe(public_key(app))
    before = dict(_wiring.urls)
    answer = subscribe(app, {**good, "endpoint": endpoint})
    assert answer.status_code == 400 and "subscription.endpoint" in answer.get_json()["error"], answer.get_json()
    assert _wiring.urls == before and "destinations" not in json.dumps(app.store.dump(), default=str)
    stored = {**good, "endpoint": endpoint}   # one kept before this check (or edited by hand): never sent to
    outcome = push.send(stored, push.trial_message(), _wiring.urls[push.VAPID_KEY])
    assert outcome.result == "failed" and "endpoint" in (outcome.error or "")
