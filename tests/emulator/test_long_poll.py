"""The long poll of the pending orders (issue 11) on the whole local stack: real Firestore emulator and its
listener, gunicorn's threads, the Hosting router. `GET /api/orders/pending?wait=<s>` answers at once when an
order is pending, otherwise holds the request and answers as soon as one appears, or with an empty list when the
wait ends; without `wait` it is the plain poll; several waiting bridges never receive the same order; a client
that hung up, while held or before its first claim, claims nothing."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlencode

import pytest
import requests

from tests.emulator.test_endpoints import BASE, Api
from tests.waiting import until

pytestmark = pytest.mark.emulator
T = 60


@pytest.fixture
def api(fresh) -> Api:
    fresh.set_clock(BASE, tick=True)
    for _ in range(5):  # a cold stack on a loaded machine may answer its very first storage call with a 503
        if fresh.tv("/tv_heartbeat", symbol="NQ", price=20000.0).status_code == 200:
            break
    return Api(fresh)


def poll(api: Api, **params):
    return requests.get(f"{api.url}/api/orders/pending", params={"secret": api.bridge_secret, **params}, timeout=T)


def timed_poll(api: Api, **params) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = poll(api, **params)
    return response, time.monotonic() - started


def no_poll_events(api: Api) -> bool:
    return not [e for e in api.collection("events").values() if e.get("type") == "poll_pending"]


class TestLongPoll:
    def test_answers_at_once_when_an_order_is_pending(self, api):
        api.ready()
        order_id = api.placed()
        response, took = timed_poll(api, wait=25, owner="bridge-a")
        assert response.status_code == 200, response.text
        assert [o["id"] for o in response.json()["orders"]] == [order_id]
        assert took < 5
        stored = api.order(order_id)
        assert stored["status"] == "CLAIMED" and stored["lease_owner"] == "bridge-a"

    def test_empty_list_when_the_wait_ends_and_nothing_written(self, api):
        api.ready()  # the trading day exists: an idle poll then changes nothing
        before = api.written()
        response, took = timed_poll(api, wait=1.5)
        assert response.status_code == 200 and response.json() == {"ok": True, "orders": []}
        assert 1.4 <= took < 5
        assert api.written() == before

    def test_wakes_as_soon_as_an_order_appears(self, api):
        api.ready()
        got: dict = {}

        def bridge() -> None:
            response = poll(api, wait=20, owner="bridge-w")
            got["at"] = time.monotonic()
            got["response"] = response

        thread = threading.Thread(target=bridge)
        thread.start()
        time.sleep(1.0)  # the request is held (and the listener has started)
        assert thread.is_alive()
        order_id = api.placed()
        placed_at = time.monotonic()
        thread.join(T)
        assert [o["id"] for o in got["response"].json()["orders"]] == [order_id]
        assert got["at"] - placed_at < 10  # the listener woke it; the 20 s wait did not run out (bench: p99 48 ms)
        assert api.order(order_id)["lease_owner"] == "bridge-w"

    def test_without_wait_the_plain_poll_answers_at_once(self, api):
        api.ready()
        before = api.written()
        for params in ({}, {"wait": 0}, {"wait": "0.0"}):
            response, took = timed_poll(api, **params)
            assert response.status_code == 200 and response.json() == {"ok": True, "orders": []}
            assert took < 5  # not held (a held poll would take its wait; latency is bench/bench_latency.py's)
        assert api.written() == before
        order_id = api.placed()
        assert [o["id"] for o in poll(api).json()["orders"]] == [order_id]
        assert poll(api).json()["orders"] == []  # once (D9)

    @pytest.mark.parametrize("wait", ["-1", "50.5", "51", "abc", "nan", "inf", "", "1e400"])
    def test_bad_wait_is_a_400_naming_the_field_and_writes_nothing(self, api, wait):
        api.ready()
        before = api.written()
        response, took = timed_poll(api, wait=wait)
        assert response.status_code == 400, response.text
        assert response.json()["ok"] is False and response.json()["error"].startswith("wait:")
        assert took < 5  # refused before anything is held
        assert api.written() == before

    def test_three_waiting_bridges_never_receive_the_same_order(self, api):
        api.ready()
        owners = ["bridge-1", "bridge-2", "bridge-3"]
        received: dict[str, list[str]] = {owner: [] for owner in owners}
        arrived = threading.Semaphore(0)
        stop = threading.Event()
        errors: list[str] = []

        def bridge(owner: str) -> None:
            while not stop.is_set():
                response = poll(api, wait=5, owner=owner)
                if response.status_code != 200:
                    errors.append(response.text)
                    return
                for order in response.json()["orders"]:
                    received[owner].append(order["id"])
                    arrived.release()

        threads = [threading.Thread(target=bridge, args=(owner,)) for owner in owners]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # all three held
        created = []
        for _ in range(6):
            order_id = api.placed()
            created.append(order_id)
            assert arrived.acquire(timeout=10), f"no bridge received {order_id}"
            time.sleep(0.3)  # a second (wrong) delivery of the same order would show up here
            holders = [owner for owner in owners if order_id in received[owner]]
            assert len(holders) == 1 and api.order(order_id)["lease_owner"] == holders[0]
            assert api.report(order_id, "REJECTED").status_code == 200  # frees the asset for the next entry
        stop.set()
        for thread in threads:
            thread.join(T)
        assert not errors
        handed = [order_id for owner in owners for order_id in received[owner]]
        assert sorted(handed) == sorted(created)  # each order exactly once across the three bridges

    def test_a_client_that_hung_up_claims_nothing(self, api):
        api.ready()
        host, port = api.url.removeprefix("http://").split(":")
        query = urlencode({"secret": api.bridge_secret, "wait": 20, "owner": "gone"})
        client = socket.create_connection((host, int(port)), timeout=5)
        client.sendall(f"GET /api/orders/pending?{query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        time.sleep(1.0)  # held
        client.close()
        time.sleep(0.5)
        order_id = api.placed()
        time.sleep(1.0)  # the held request woke on the new order, saw the closed connection and ended
        assert api.order(order_id)["status"] == "PENDING"
        response = poll(api, owner="bridge-b")
        assert [o["id"] for o in response.json()["orders"]] == [order_id]
        assert api.order(order_id)["lease_owner"] == "bridge-b"

    def test_a_client_that_hung_up_before_the_first_claim_claims_nothing(self, api):
        api.ready()
        order_id = api.placed()  # pending already: the request's very first claim would take it
        host, port = api.url.removeprefix("http://").split(":")
        query = urlencode({"secret": api.bridge_secret, "wait": 20, "owner": "gone-first"})
        client = socket.create_connection((host, int(port)), timeout=5)
        # corked, the request waits in the socket and the close sends it with the FIN in one segment: the server
        # sees the client gone as it reads the request (a plain close races the server's first check on a busy
        # machine, and the order is then claimed for a client gone unseen, as long_poll.py says it may be)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        client.sendall(f"GET /api/orders/pending?{query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        client.close()
        web_log = api.live.stack.logs / "web.log"

        def answered() -> list[str]:
            return [line for line in web_log.read_text().splitlines() if "owner=gone-first" in line]

        assert until(lambda: bool(answered()), 30)  # the server handled (and logged) that request
        assert '" 499 ' in answered()[0]  # ended before any claim ("client closed request")
        assert api.order(order_id)["status"] == "PENDING"
        response = poll(api, owner="bridge-b")
        assert [o["id"] for o in response.json()["orders"]] == [order_id]
        assert api.order(order_id)["lease_owner"] == "bridge-b"


class TestPaperBridge:
    def test_the_threaded_paper_bridge_long_polls_and_fills_within_a_second(self, api):
        from sim.paper import Market, PaperBridge, PaperConfig
        from sim.venue import Http

        api.ready()
        venue = Http(api.url, bridge_secret=api.bridge_secret, dev_clock=False)
        bridge = PaperBridge(venue, Market(BASE, 5000.0), PaperConfig(owner="paper-lp", long_poll=20.0))
        stop = threading.Event()
        thread = threading.Thread(target=bridge.run, args=(stop, 1.0))
        thread.start()
        try:
            time.sleep(1.5)  # heartbeat sent, the first poll held
            polls_before = bridge.stats.polls
            order_id = api.placed()
            placed_at = time.monotonic()
            while api.order(order_id)["status"] != "FILLED" and time.monotonic() - placed_at < 5:
                time.sleep(0.05)
            assert api.order(order_id)["status"] == "FILLED"
            assert time.monotonic() - placed_at < 5  # woken by the order, not by the 20 s wait running out
            assert bridge.stats.polls - polls_before <= 2  # held polls, not one a second
            assert bridge.stats.claims == {order_id: 1} and bridge.stats.heartbeats >= 1
        finally:
            stop.set()
            thread.join(30)
        assert not thread.is_alive()


class TestStarvation:
    """More held polls and slow uploads than the server has threads for: the bound of held polls (429 beyond it),
    the body deadline of the router (408) and gunicorn's 32 threads keep a webhook answering."""

    def test_twenty_held_polls_and_eight_slow_uploads_leave_a_webhook_answering(self, api):
        api.ready()
        host, port = api.url.removeprefix("http://").split(":")
        statuses: list[int] = []

        def held_poll(i: int) -> None:
            statuses.append(poll(api, wait=15, owner=f"held-{i}").status_code)

        polls = [threading.Thread(target=held_poll, args=(i,)) for i in range(20)]
        for thread in polls:
            thread.start()
        uploads = []
        for _ in range(8):  # headers, one byte of the body, then silence
            upload = socket.create_connection((host, int(port)), timeout=60)
            upload.sendall(f"POST /api/bridge/heartbeat HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: 200\r\n\r\n{{".encode())
            uploads.append(upload)
        try:
            # 8 held (the bound), the other 12 refused at once with Retry-After (more, if a poll of an earlier test
            # on this stack is still held: the bound is per process)
            assert until(lambda: statuses.count(429) >= 12, 30), statuses
            started = time.monotonic()
            response = api.tv("/tv_heartbeat", symbol="ES", price=5001.0)
            took = time.monotonic() - started
            assert response.status_code == 200, response.text
            assert took < 10  # answered while every poll is still held (it waited > 30 s with 8 threads)
            assert len(statuses) == statuses.count(429)  # the held ones have not answered yet
            for upload in uploads:  # each slow upload is cut off at the router's body deadline (10 s)
                assert upload.recv(200).startswith(b"HTTP/1.1 408")
        finally:
            for upload in uploads:
                upload.close()
            for thread in polls:
                thread.join(T)
        held = statuses.count(200)
        assert len(statuses) == 20 and 1 <= held <= 8 and statuses.count(429) == 20 - held, statuses
