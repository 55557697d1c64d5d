"""Build a :class:`MarketData` from files (what ``--data FILE`` serves)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..readers import read_bars, read_trades
from .market import MarketData

__all__ = ["load_market"]


def load_market(
    data: Path,
    *,
    trades: Path | None = None,
    symbol: str = "BTCUSDT",
    timeframe: str | None = None,
    tick_size: Decimal = Decimal("0.1"),
    step_size: Decimal = Decimal("0.001"),
    now: pd.Timestamp | None = None,
) -> MarketData:
    """One symbol's market from a bars file (any format ``read_bars`` detects) and an
    optional trades file; trades are synthesised from the bars when absent. ``now``
    fixes the exchange clock (default: the close of the last bar)."""
    bars = read_bars(data, timeframe=timeframe)
    trade_frame = read_trades(trades) if trades is not None else None
    clock_ms = None if now is None else int(now.value // 1_000_000)
    return MarketData.from_bars(
        bars,
        symbol=symbol,
        timeframe=timeframe,
        trades=trade_frame,
        tick_size=tick_size,
        step_size=step_size,
        clock=None if clock_ms is None else (lambda: clock_ms),
    )
