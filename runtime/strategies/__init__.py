"""Hand-written runtime strategies and the registry the CLI finds them in."""

from ..registry import StrategyRegistry
from . import rsi, sma_crossover

__all__ = ["STRATEGIES"]

STRATEGIES = StrategyRegistry([sma_crossover.SPEC, rsi.SPEC])
"""The shipped strategies by name (``quantbridge backtest NAME``)."""
