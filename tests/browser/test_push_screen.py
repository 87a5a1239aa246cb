"""Issue 20 item 3 in Chromium: the dashboard is an installable PWA whose service worker shows Web Push messages.

What this proves, in the real browser against the real local stack:
- the manifest is linked, served as application/manifest+json and parsed by Chromium without errors (name, icons,
  start_url, display standalone; the icons exist at their sizes); sw.js registers with scope / and controls the page;
- a message pushed to that service worker (the DevTools protocol's ServiceWorker.deliverPushMessage, with the
  registration id Chromium reports) while no page of the dashboard is open (the tab navigated away) and the worker
  is stopped is shown as a notification with its title, body, tag and card link — and the
  message used is the very payload the product sent through the local push service (devstack.push_service, which
  checked its VAPID signature and decrypted it), so the chain product → push service → service worker → shown
  notification holds end to end except for the one hop below;
- the card link a notification's click opens (/#card-ES) switches to the card's tab and focuses it;
- "Notify this device" with notifications blocked says so; with them allowed, the browser's own subscribe() cannot
  reach Google's push service from here, and the page says that honestly instead of waiting forever.

What it cannot prove here: Chromium's real pushManager.subscribe() succeeding, and a message travelling Google's
(FCM) or Mozilla's push service to the browser — both need the internet; the subscription the server stores in these
tests is the local push service's, posted by the test as the page would post the browser's. Nor a click on a
system notification (headless Chromium shows none to click); the click handler's page side is what is checked.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.push_service import PushService
from tests.browser.screen import dev, has_text, reset, wait_until
from tests.waiting import until


class DevTools:
    """A second DevTools client on the dashboard's page (chromedriver keeps its own): it reads the events that
    `execute_cdp_cmd` cannot, such as the service worker registrations and their ids."""

    def __init__(self, driver: Any, url_prefix: str) -> None:
        import websocket

        address = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
        pages = requests.get(f"http://{address}/json", timeout=5).json()
        page = next(p for p in pages if p.get("type") == "page" and p.get("url", "").startswith(url_prefix))
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            self.events.append(message)

    def registration_id(self, scope: str) -> str:
        self.call("ServiceWorker.enable")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == "ServiceWorker.workerRegistrationUpdated":
                    for reg in event["params"]["registrations"]:
                        if reg["scopeURL"] == scope and not reg.get("isDeleted"):
                            return str(reg["registrationId"])
            self.events.append(json.loads(self.ws.recv()))
        raise AssertionError(f"no service worker registration for {scope}")

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def page(stack, driver) -> Iterator[Any]:
    """The signed-in dashboard, notifications allowed for its origin, its service worker active."""
    from tests.browser.screen import PASSWORD, sign_in, wait_for

    reset(stack)
    driver.delete_all_cookies()
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": stack.url, "permissions": ["notifications"]})
    sign_in(driver, stack, PASSWORD)
    wait_until(driver, lambda d: d.current_url.rstrip("/") == stack.url, "dashboard after sign-in")
    wait_for(driver, "#card-ES")
    wait_until(driver, lambda d: d.execute_script(
        "return !!navigator.serviceWorker.controller"), "the service worker controlling the page")
    yield driver
    driver.execute_async_script(_JS_CLOSE_NOTIFICATIONS)


_JS_NOTIFICATIONS = """const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready.then((reg) => reg.getNotifications()).then(
  (list) => done(list.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                                   requireInteraction: n.requireInteraction}))),
  (e) => done('ERROR ' + e));"""
_JS_CLOSE_NOTIFICATIONS = """const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready.then((reg) => reg.getNotifications())
  .then((l) => { l.forEach((n) => n.close()); done(); }, () => done());"""


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_dashboard_is_an_installable_pwa(stack, page) -> None:
    link = page.execute_script("return document.querySelector('link[rel=manifest]').href")
    assert link == f"{stack.url}/manifest.webmanifest"
    served = requests.get(link, timeout=10)
    assert served.headers["Content-Type"].startswith("application/manifest+json")
    assert served.headers.get("Cache-Control") == "no-cache"
    manifest = served.json()
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone" and manifest["name"]
    for icon in manifest["icons"]:
        got = requests.get(stack.url + icon["src"], timeout=10)
        assert got.status_code == 200 and got.headers["Content-Type"].split(";")[0] == icon["type"]
        if icon["type"] == "image/png":
            size = int(icon["sizes"].split("x")[0])
            assert png_size(got.content) == (size, size)
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    parsed = page.execute_cdp_cmd("Page.getAppManifest", {})
    assert parsed["url"] == link and parsed["errors"] == [], parsed["errors"]
    sw = requests.get(f"{stack.url}/sw.js", timeout=10)
    assert sw.headers.get("Cache-Control") == "no-cache", "a stale service worker would outlive a deploy"
    scope = page.execute_async_script("""const done = arguments[arguments.length - 1];
        navigator.serviceWorker.ready.then((r) => done([r.scope, r.active.scriptURL]));""")
    assert scope == [f"{stack.url}/", f"{stack.url}/sw.js"]


def test_a_message_the_product_pushed_is_shown_by_the_service_worker(stack, page) -> None:
    service = PushService().start()
    devtools = DevTools(page, stack.url)
    try:
        operator = dev(stack)
        key = operator.get(f"{stack.url}/api/push/key", timeout=10).json()["public_key"]
        subscription = service.subscribe(key)
        added = operator.post(f"{stack.url}/api/push/subscribe", timeout=10,
                              json={"subscription": subscription, "level": "all"})
        assert added.status_code == 201, added.text
        assert stack.tick_watchdog() == 200   # the bridge is silent: BRIDGE_SILENCE, level important
        def bridge_silence() -> dict[str, Any] | None:
            return next((m["payload"] for m in service.got if "BRIDGE_SILENCE" in m["payload"]["title"]), None)

        assert until(lambda: bridge_silence() is not None, timeout=30), f"the push service got {service.got}"
        pushed = bridge_silence()
        assert pushed is not None
        assert pushed["url"] == "/#feed-box" and pushed["tag"].startswith("ol-")

        registration = devtools.registration_id(f"{stack.url}/")
        page.get("about:blank")   # the dashboard closed: no page of its origin is open when the message arrives
        assert page.execute_script("return location.href") == "about:blank"
        devtools.call("ServiceWorker.stopAllWorkers")   # and its worker stopped: the message must start it
        devtools.call("ServiceWorker.deliverPushMessage", origin=stack.url, registrationId=registration,
                      data=json.dumps(pushed))
        time.sleep(1)
        page.get(stack.url)       # open again only to read what the service worker showed meanwhile
        shown = wait_until(page, lambda d: d.execute_async_script(_JS_NOTIFICATIONS), "the shown notification")
        assert shown == [{"title": pushed["title"], "body": pushed["body"], "tag": pushed["tag"],
                          "data": {"url": "/#feed-box", "level": "important"}, "requireInteraction": False}]

        critical = {"title": "ES: Protective stop rejected", "body": "x", "tag": "ol-critical-1",
                    "level": "critical", "url": "https://elsewhere.example/phish"}
        devtools.call("ServiceWorker.deliverPushMessage", origin=stack.url, registrationId=registration,
                      data=json.dumps(critical))
        both = wait_until(page, lambda d: len(d.execute_async_script(_JS_NOTIFICATIONS)) == 2
                          and d.execute_async_script(_JS_NOTIFICATIONS), "the critical notification")
        shown_critical = next(n for n in both if n["tag"] == "ol-critical-1")
        assert shown_critical["requireInteraction"] is True, "a critical one stays until seen"
        assert shown_critical["data"]["url"] == "/", "a link off the dashboard is never opened"
        operator.post(f"{stack.url}/api/push/unsubscribe", json={"endpoint": subscription["endpoint"]}, timeout=10)
    finally:
        devtools.close()
        service.stop()


def test_a_card_link_opens_the_card_on_its_tab(stack, page) -> None:
    page.find_element("id", "tab-log").click()
    assert page.find_element("id", "panel-console").get_attribute("hidden") is not None
    page.execute_script("window.location.hash = '#card-ES'")
    wait_until(page, lambda d: d.find_element("id", "tab-console").get_attribute("aria-selected") == "true",
               "the console tab")
    wait_until(page, lambda d: d.execute_script("return document.activeElement.id") == "card-ES", "the card focused")


def test_notify_this_device_says_why_it_cannot_subscribe(stack, page) -> None:
    """Blocked notifications, then the browser's own push service out of reach: honest texts, nothing stored."""
    page.find_element("id", "tab-risk").click()
    button = page.find_element("id", "push-toggle")
    wait_until(page, lambda d: button.get_attribute("disabled") is None, "the toggle ready")
    assert button.get_attribute("aria-pressed") == "false"
    page.execute_cdp_cmd("Browser.setPermission", {"origin": stack.url, "permission": {"name": "notifications"},
                                                   "setting": "denied"})
    button.click()
    wait_until(page, lambda d: has_text(d, "#push-msg", "Notifications are blocked for this site"), "blocked text")
    page.execute_cdp_cmd("Browser.grantPermissions", {"origin": stack.url, "permissions": ["notifications"]})
    button.click()
    wait_until(page, lambda d: has_text(d, "#push-msg", "The browser could not create a push subscription"),
               "the refusal", timeout=40)
    text = page.find_element("id", "push-msg").text
    assert "must be reachable from this device" in text, text
    assert button.get_attribute("aria-pressed") == "false"
    listed = dev(stack).get(f"{stack.url}/api/notifications/destinations", timeout=10).json()["destinations"]
    assert [d for d in listed if d["url"].startswith("webpush")] == []
