"""The pure rules of the control plane: `decide(world, input, now, config) -> Decision`. No I/O, no clock, no env."""

from .config import Config, default_config
from .decision import Decision, Event, Refusal, Timer
from .engine import audit_record, decide, initial_world, orders_needed, replay
from .state import AssetState, GlobalState, Order, World

__all__ = [
    "AssetState", "Config", "Decision", "Event", "GlobalState", "Order", "Refusal", "Timer", "World", "audit_record",
    "decide", "default_config", "initial_world", "orders_needed", "replay",
]
