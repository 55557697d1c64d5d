"""Market-data events: trade ticks, quotes and candles."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import pandas as pd

__all__ = ["Candle", "Quote", "Tick"]


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade: ``side`` is the taker's; ``trade_id`` is the venue's (unique per symbol)."""

    symbol: str
    ts: pd.Timestamp
    received: pd.Timestamp
    price: Decimal
    amount: Decimal
    side: Literal["buy", "sell"]
    trade_id: int


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask."""

    symbol: str
    ts: pd.Timestamp
    received: pd.Timestamp
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class Candle:
    """A closed bar ``[open_time, open_time + interval)``, labelled by its open time.

    ``partial`` marks a first candle built from an incomplete interval (the aggregator
    started mid-candle); ``filled`` marks an empty interval emitted at the previous close
    with zero volume; ``trades`` counts the ticks aggregated.
    """

    symbol: str
    interval: pd.Timedelta
    open_time: pd.Timestamp
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int = 0
    partial: bool = False
    filled: bool = False
    received: pd.Timestamp | None = None

    @property
    def close_time(self) -> pd.Timestamp:
        """The end of the interval (exclusive)."""
        return self.open_time + self.interval
