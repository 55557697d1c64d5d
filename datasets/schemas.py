"""The three market-data schemas every layer agrees on.

* **Bars**: a ``DatetimeIndex`` named ``open_time`` (UTC, the bar's open, half-open
  ``[t, t + Δ)``) and float columns ``open, high, low, close, volume``. Extra columns
  (indicator values from a chart export, say) are kept after these five.
* **Trades** (ticks): a ``RangeIndex`` and columns ``ts`` (UTC), ``price``, ``amount``,
  ``side`` (``"buy"`` / ``"sell"``, the taker's side) and ``trade_id`` (int64, unique).
  Several trades may share a timestamp, so time is a column, not the index.
* **Quotes**: a ``RangeIndex`` and columns ``ts`` (UTC), ``bid``, ``ask``, ``bid_size``,
  ``ask_size``.

Times are ``datetime64[ns, UTC]``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "BAR_COLUMNS",
    "BAR_INDEX",
    "QUOTE_COLUMNS",
    "TIME_DTYPE",
    "TRADE_COLUMNS",
    "TRADE_SIDES",
    "DataKind",
]

TIME_DTYPE: Final = "datetime64[ns, UTC]"
BAR_INDEX: Final = "open_time"
BAR_COLUMNS: Final = ("open", "high", "low", "close", "volume")
TRADE_COLUMNS: Final = ("ts", "price", "amount", "side", "trade_id")
TRADE_SIDES: Final = ("buy", "sell")
QUOTE_COLUMNS: Final = ("ts", "bid", "ask", "bid_size", "ask_size")


class DataKind(StrEnum):
    """Which schema a frame or file follows."""

    BARS = "bars"
    TRADES = "trades"
    QUOTES = "quotes"
