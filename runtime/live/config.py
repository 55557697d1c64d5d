"""What one paper or live session runs: the strategy, the market, the mode and its limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from quantbridge.datasets.execution import ExecutionModel

from ..components.risk_config import RiskConfig
from ..registry import StrategySpec
from ..strategy import ParamValue

__all__ = ["Mode", "SessionConfig", "SessionTiming"]


class Mode(StrEnum):
    PAPER = "paper"
    """Live market data, fills simulated by the SimulatedVenue (the backtest's broker)."""
    LIVE = "live"
    """Live market data, real orders through ccxt."""


@dataclass(frozen=True)
class SessionTiming:
    """How often the session does its housekeeping (wall seconds): fire clock timers and
    drain the engine (``tick``), read the control queue (``control``), write the
    heartbeat and position snapshot (``heartbeat``), refresh the exchange wallet (``balances``,
    live only); ``duration`` ends the run (None: until stopped)."""

    tick: float = 0.05
    control: float = 0.5
    heartbeat: float = 5.0
    balances: float = 30.0
    duration: float | None = None


@dataclass(frozen=True)
class SessionConfig:
    """One strategy on one symbol. ``account`` namespaces everything in the store (orders,
    fills, positions, decisions): a paper and a live run never share an account.
    ``forced``/``force_reason``/``certificate`` record how the validation gate was passed."""

    mode: Mode
    account: str
    exchange: str
    strategy_id: str
    spec: StrategySpec
    params: Mapping[str, ParamValue]
    symbol: str
    timeframe: str
    model: ExecutionModel
    warmup_bars: int
    risk: RiskConfig | None = None
    timing: SessionTiming = field(default_factory=SessionTiming)
    forced: bool = False
    force_reason: str = ""
    certificate_id: int | None = None
