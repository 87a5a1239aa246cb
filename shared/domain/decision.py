"""What a decision produces: the new world, the answer, audit events and timers to schedule after commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .catalog import TaskKind
from .state import World


@dataclass(frozen=True, slots=True)
class Timer:
    """A Cloud Task to enqueue after commit. It only tidies up and logs; no state depends on it running."""

    kind: TaskKind     # catalog.TASK_KINDS
    key: str           # what ends: "ES:<bucket>", an order id, ...
    at: float          # epoch seconds when due
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """One audit line (D13): what happened to which asset, and why."""

    kind: str                    # order_created, gate_blocked, lock_set, lock_released, exit_fired, fill, ...
    asset: str | None = None
    code: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    world: World
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    code: str | None = None            # reason code of a refusal (or of the main outcome)
    events: list[Event] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    include_state: bool = False        # the shell adds the computed `state` view to the body
    trades: list[dict[str, Any]] = field(default_factory=list)   # closed-trade history rows to append
    duplicate: bool = False
    # engine.touched_assets of this decision's input, events and world, worked out when asked (fast.later)
    touched: Callable[[], tuple[str, ...]] = field(kw_only=True)

    @property
    def assets(self) -> tuple[str, ...]:
        """Every asset the input touched (D13: the audit record's asset filter)."""
        return self.touched()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Refusal(Exception):
    """A rule refused the input: HTTP status, stable code, the original human text, extra body fields."""

    def __init__(self, status: int, code: str, text: str, **extra: Any) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.text = text
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.text, "code": self.code, **self.extra}
