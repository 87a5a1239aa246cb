"""Per-process wiring of the real adapters, built lazily on the first request (cold starts matter)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from shared.domain.config import Config, default_config
from shared.domain.decision import Timer
from shared.service import Services
from shared.service import clock as dev_clock
from shared.web.respond import log_json

_lock = threading.Lock()
_services: Services | None = None


def config_from_env() -> Config:
    """Assets are configuration (D7): CONTRACT_OVERRIDES="ES=MESH7,NQ=MNQH7" pins a broker contract per asset."""
    overrides: dict[str, str] = {}
    for item in filter(None, (os.environ.get("CONTRACT_OVERRIDES") or "").split(",")):
        key, _, contract = item.partition("=")
        if key.strip() and contract.strip():
            overrides[key.strip().upper()] = contract.strip().upper()
    return default_config(overrides)


def asset_keys() -> list[str]:
    """Every configured asset key, sorted: what an operator command or a snapshot loads."""
    return sorted(services().config.assets)


def _log_schedule_error(exc: BaseException, timers: Sequence[Timer]) -> None:
    log_json("ERROR", "timer enqueue failed; state does not depend on it", error=str(exc),
             timers=[f"{t.kind}:{t.key}" for t in timers])


def services() -> Services:
    global _services
    with _lock:
        if _services is None:
            from shared.scheduler import build_scheduler
            from shared.store.firestore import FirestoreStore

            _services = Services(
                store=FirestoreStore(),
                config=config_from_env(),
                clock=dev_clock.now,
                scheduler=build_scheduler(),
                clock_offset=dev_clock.offset,
                on_schedule_error=_log_schedule_error,
            )
        return _services


def install(custom: Services | None) -> None:
    """Tests and the local stack may swap the wiring (e.g. a FakeStore); None rebuilds from the environment."""
    global _services
    with _lock:
        _services = custom
