"""The synchronous, deterministic core: an event queue and the engine that drains it."""

from .assembly import EngineConfig, build_engine, default_risk_rules
from .engine import BarSettled, Engine, EngineStats, StrategyDue
from .queue import EventQueue
from .runner import ClockStep, pump

__all__ = [
    "BarSettled",
    "ClockStep",
    "Engine",
    "EngineConfig",
    "EngineStats",
    "EventQueue",
    "StrategyDue",
    "build_engine",
    "default_risk_rules",
    "pump",
]
