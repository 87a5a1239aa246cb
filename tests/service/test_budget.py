"""The request's storage budget: every Firestore RPC and the commit retry loop end within it, a cold store lifts it
once, and a storage failure answers 503 with Retry-After and a log line naming the cause."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask

from shared.store import budget
from shared.store.api import StorageUnavailable
from shared.store.firestore import FirestoreStore
from shared.web.routing import Router


def _warm_store(rpc_timeout_s: float = 5.0) -> FirestoreStore:
    store = FirestoreStore("demo-budget", rpc_timeout_s=rpc_timeout_s)
    store._answered = True  # as after its first answered RPC
    return store


def test_outside_a_request_the_store_keeps_its_own_timeout() -> None:
    assert budget.remaining() is None
    assert _warm_store(5.0)._rpc_timeout() == 5.0


def test_inside_a_request_each_rpc_gets_at_most_what_is_left() -> None:
    store = _warm_store(5.0)
    with budget.request_budget(budget_s=0.5):
        first = store._rpc_timeout()
        assert 0.3 < first <= 0.5
        time.sleep(0.2)
        assert store._rpc_timeout() <= first - 0.15
        time.sleep(0.35)
        with pytest.raises(StorageUnavailable, match="STORE_REQUEST_BUDGET_S"):
            store._rpc_timeout()
    assert budget.remaining() is None  # the budget ends with the request


def test_the_budget_counts_from_arrival() -> None:
    with budget.request_budget(arrived=time.monotonic() - 1.4, budget_s=1.5):
        left = budget.remaining()
        assert left is not None and left <= 0.1


def test_a_cold_store_lifts_the_budget_of_its_first_request_only() -> None:
    store = FirestoreStore("demo-budget", rpc_timeout_s=5.0)
    with budget.request_budget(budget_s=0.1):
        store._cold_start()
        assert budget.remaining() is None and store._rpc_timeout() >= 5.0
    store._answered = True
    with budget.request_budget(budget_s=0.1):
        store._cold_start()
        assert store._rpc_timeout() <= 0.1


@pytest.mark.parametrize("raw, expected", [("", 4.0), ("0.8", 0.8), ("abc", 4.0), ("-1", 4.0), ("1e9", 4.0)])
def test_the_budget_setting(monkeypatch: pytest.MonkeyPatch, raw: str, expected: float) -> None:
    monkeypatch.setenv(budget.BUDGET_ENV, raw)
    assert budget.budget_seconds() == expected


def test_one_rpc_waits_at_most_the_cap_so_a_frozen_database_is_a_503_within_2_s() -> None:
    """Conflicting writes may retry for the whole budget (4 s), but no single RPC waits past 1.5 s."""
    store = _warm_store(5.0)
    with budget.request_budget():
        assert store._rpc_timeout() == pytest.approx(budget.DEFAULT_RPC_CAP_S, abs=0.01)
        left = budget.remaining()
        assert left is not None and budget.DEFAULT_RPC_CAP_S < left <= budget.DEFAULT_BUDGET_S


def test_a_storage_failure_answers_503_with_retry_after_and_logs_its_cause(
        capsys: pytest.CaptureFixture[str]) -> None:
    router = Router()
    seen: list[float | None] = []

    @router.route("GET", "/x")
    def handler(request: object) -> None:
        seen.append(budget.remaining())
        raise StorageUnavailable("Firestore get_all failed: DeadlineExceeded: 504 Deadline Exceeded")

    with Flask(__name__).test_request_context("/x") as ctx:
        response = router.dispatch(ctx.request)
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert seen[0] is not None and 0 < seen[0] <= budget.DEFAULT_BUDGET_S  # the router opened a budget
    assert budget.remaining() is None
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "DeadlineExceeded" in line["cause"] and line["status"] == 503


@pytest.mark.parametrize("error, cold", [("ServiceUnavailable", True), ("DeadlineExceeded", False)])
def test_an_unreachable_server_makes_the_store_cold_with_a_new_client_a_frozen_one_does_not(
        error: str, cold: bool) -> None:
    from google.api_core import exceptions

    from shared.store.firestore import _storage_errors

    store = _warm_store()
    client = store._client.current = object()  # type: ignore[assignment]  # stands for the built client
    with pytest.raises(StorageUnavailable, match=error), _storage_errors("get_all", store):
        raise getattr(exceptions, error)("down")
    assert store._answered is not cold
    assert (store._client.current is None) is cold and (store._client.current is client) is not cold
