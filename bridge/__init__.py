"""quantbridge.bridge — a research prototype as a runtime strategy (see docs/architecture.md)."""

from .adapter import (
    BridgedStrategy,
    BridgeError,
    PrototypeMutationError,
    SignalRow,
    bridge,
    protection_for,
    run_on_window,
)

__all__ = [
    "BridgeError",
    "BridgedStrategy",
    "PrototypeMutationError",
    "SignalRow",
    "bridge",
    "protection_for",
    "run_on_window",
]
