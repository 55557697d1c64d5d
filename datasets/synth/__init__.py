"""Synthetic market data: bars, trade ticks and quotes with realistic features, and
ticks that rebuild given bars exactly. Every generator is deterministic per seed."""

from __future__ import annotations

from .bars import BarModel, generate_bars
from .from_bars import MIN_TICKS_PER_BAR, synthesize_ticks_from_bars
from .ticks import Progress, TickModel, generate_market, generate_quotes, generate_trades

__all__ = [
    "MIN_TICKS_PER_BAR",
    "BarModel",
    "Progress",
    "TickModel",
    "generate_bars",
    "generate_market",
    "generate_quotes",
    "generate_trades",
    "synthesize_ticks_from_bars",
]
