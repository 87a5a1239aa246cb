"""Per-process wiring of the real adapters, built lazily on the first request (cold starts matter)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from shared.domain.config import FILL_PRICE_BAND_PCT_RANGE, Config, default_config
from shared.env import env_number
from shared.logs import log_json, mask_secrets
from shared.scheduler.timer import TimerLike
from shared.service import Services
from shared.service import clock as dev_clock

_lock = threading.Lock()
_services: Services | None = None


def config_from_env() -> Config:
    """Assets are configuration (D7): CONTRACT_OVERRIDES="ES=MESH7,NQ=MNQH7" pins a broker contract per asset.
    FILL_PRICE_BAND_PCT (issue 7) sets how far from the last known price a reported fill price may be;
    PRICE_SILENCE_S (issue 20, 10 to 3600, default 120) how long TradingView may be silent in session."""
    overrides: dict[str, str] = {}
    for item in filter(None, (os.environ.get("CONTRACT_OVERRIDES") or "").split(",")):
        key, _, contract = item.partition("=")
        if key.strip() and contract.strip():
            overrides[key.strip().upper()] = contract.strip().upper()
    low, high = FILL_PRICE_BAND_PCT_RANGE
    band = env_number("FILL_PRICE_BAND_PCT", Config.fill_price_band_pct, lambda value: low <= value <= high)
    silence = env_number("PRICE_SILENCE_S", Config.price_silence_s, lambda value: 10 <= value <= 3600)
    return replace(default_config(overrides), fill_price_band_pct=band, price_silence_s=silence)


def asset_keys() -> list[str]:
    """Every configured asset key, sorted (the read views show them all)."""
    return list(services().config.asset_keys)


def _log_schedule_error(exc: BaseException, timers: Sequence[TimerLike]) -> None:
    log_json("ERROR", "timer enqueue failed; state does not depend on it", error=str(exc),
             timers=[f"{t.kind}:{t.key}" for t in timers])


def timers_status(wired: Services) -> dict[str, Any]:
    """Whether this process schedules timers (`GET /api/state`'s `timers`): off, with the reason, when their
    settings are missing. Timers only tidy up (expiries are derived from stored times), so writes go on."""
    if wired.timers_off is not None:
        return {"on": False, "reason": mask_secrets(wired.timers_off)}
    return {"on": wired.scheduler is not None, "reason": None if wired.scheduler is not None else "no scheduler"}


def _log_timers_off(problem: str) -> None:
    """The one ERROR line of a process without timers (the wiring is built once per process)."""
    log_json("ERROR", f"{problem}: timers are off (no lock, cooldown or expiry is enqueued); every write still "
             "works and GET /api/state says timers.on=false", config_missing=problem)


def services() -> Services:
    global _services
    with _lock:
        if _services is None:
            from shared.scheduler import BoundedScheduler, SchedulerConfigError, build_scheduler
            from shared.store.firestore import FirestoreStore

            scheduler: BoundedScheduler | None = None
            timers_off: str | None = None
            try:
                scheduler = BoundedScheduler(build_scheduler(), on_error=_log_schedule_error)
            except SchedulerConfigError as exc:
                timers_off = str(exc)
                _log_timers_off(timers_off)
            _services = Services(
                store=FirestoreStore(),
                config=config_from_env(),
                clock=dev_clock.now,
                scheduler=scheduler,
                clock_offset=dev_clock.offset,
                on_schedule_error=_log_schedule_error,
                timers_off=timers_off,
            )
        return _services


def install(custom: Services | None) -> None:
    """Tests and the local stack may swap the wiring (e.g. a FakeStore); None rebuilds from the environment.
    What this instance remembers of the old store (the session generation) is forgotten with it."""
    global _services
    with _lock:
        _services = custom
    from shared.service.security import SESSION_GENERATIONS

    SESSION_GENERATIONS.forget()
