"""Per-process wiring of the real adapters, built lazily on the first request (cold starts matter)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from shared.domain.config import FILL_PRICE_BAND_PCT_RANGE, Config, default_config
from shared.env import env_number
from shared.scheduler.timer import TimerLike
from shared.service import Services
from shared.service import clock as dev_clock
from shared.store.api import Plan, Query, Reads, Store, T
from shared.web.errors import Unavailable
from shared.web.respond import log_json

_lock = threading.Lock()
_services: Services | None = None


def config_from_env() -> Config:
    """Assets are configuration (D7): CONTRACT_OVERRIDES="ES=MESH7,NQ=MNQH7" pins a broker contract per asset.
    FILL_PRICE_BAND_PCT (issue 7) sets how far from the last known price a reported fill price may be."""
    overrides: dict[str, str] = {}
    for item in filter(None, (os.environ.get("CONTRACT_OVERRIDES") or "").split(",")):
        key, _, contract = item.partition("=")
        if key.strip() and contract.strip():
            overrides[key.strip().upper()] = contract.strip().upper()
    low, high = FILL_PRICE_BAND_PCT_RANGE
    band = env_number("FILL_PRICE_BAND_PCT", Config.fill_price_band_pct, lambda value: low <= value <= high)
    return replace(default_config(overrides), fill_price_band_pct=band)


def asset_keys() -> list[str]:
    """Every configured asset key, sorted: what an operator command or a snapshot loads."""
    return sorted(services().config.assets)


def _log_schedule_error(exc: BaseException, timers: Sequence[TimerLike]) -> None:
    log_json("ERROR", "timer enqueue failed; state does not depend on it", error=str(exc),
             timers=[f"{t.kind}:{t.key}" for t in timers])


class _WritesNeedScheduler:
    """The store while timer scheduling is not configured: reads work, a unit of work (every route that may
    schedule a timer) answers 503 naming the missing variables before anything is read or written."""

    def __init__(self, inner: Store, problem: str) -> None:
        self._inner = inner
        self.problem = problem

    def transact(self, paths: Sequence[str], decide: Callable[[Reads], Plan[T]], *,
                 queries: Sequence[Query] = (), deadline_s: float | None = None) -> T:
        raise Unavailable(f"server not configured: {self.problem}")

    def get(self, paths: Sequence[str]) -> Mapping[str, Mapping[str, Any] | None]:
        return self._inner.get(paths)

    def query(self, query: Query) -> Sequence[tuple[str, Mapping[str, Any]]]:
        return self._inner.query(query)


def services() -> Services:
    global _services
    with _lock:
        if _services is None:
            from shared.scheduler import BoundedScheduler, SchedulerConfigError, build_scheduler
            from shared.store.firestore import FirestoreStore

            store: Store = FirestoreStore()
            scheduler: BoundedScheduler | None = None
            try:
                scheduler = BoundedScheduler(build_scheduler(), on_error=_log_schedule_error)
            except SchedulerConfigError as exc:
                log_json("ERROR", f"{exc}: routes that write answer 503 until it is configured; reads work",
                         config_missing=str(exc))
                store = _WritesNeedScheduler(store, str(exc))
            _services = Services(
                store=store,
                config=config_from_env(),
                clock=dev_clock.now,
                scheduler=scheduler,
                clock_offset=dev_clock.offset,
                on_schedule_error=_log_schedule_error,
            )
        return _services


def install(custom: Services | None) -> None:
    """Tests and the local stack may swap the wiring (e.g. a FakeStore); None rebuilds from the environment.
    What this instance remembers of the old store (the session generation) is forgotten with it."""
    global _services
    with _lock:
        _services = custom
    from shared.web.auth import SESSION_GENERATIONS

    SESSION_GENERATIONS.forget()
