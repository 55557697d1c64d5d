"""The trade list: one shape for every engine (vectorised simulator, runtime, TradingView import).

One row per closed (or still open) trade, in entry order:

============== ======================================================================
column         meaning
============== ======================================================================
trade_id       1-based, in entry order (partial exits of one entry share nothing: each
               closed portion is its own row, as in TradingView's list)
side           ``long`` or ``short``
entry_time     UTC time of the entry fill (bar open for market fills at the open)
exit_time      UTC time of the exit fill (NaT while open)
entry_price    fill price, slippage included
exit_price     fill price (NaN while open)
quantity       units (contracts, coins), positive
commission     entry + exit commission of this row
pnl            net profit: (exit − entry) × quantity × point value × ±1 − commission
return_pct     pnl / (entry price × quantity × point value) × 100
bars_held      exit bar index − entry bar index
entry_bar      index of the entry bar in the input bars
exit_bar       index of the exit bar (−1 while open)
entry_signal   what opened it (signal name / order id)
exit_reason    see :class:`ExitReason`
is_open        True for a trade still open at the end of the data
============== ======================================================================
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import pandas as pd

__all__ = ["TRADE_LIST_COLUMNS", "ExitReason", "empty_trade_list"]

TRADE_LIST_COLUMNS: Final = (
    "trade_id",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "quantity",
    "commission",
    "pnl",
    "return_pct",
    "bars_held",
    "entry_bar",
    "exit_bar",
    "entry_signal",
    "exit_reason",
    "is_open",
)


class ExitReason(StrEnum):
    SIGNAL = "signal"
    REVERSE = "reverse"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    SCALE_OUT = "scale_out"
    MAX_BARS = "max_bars"
    INTRADAY_LOSS = "intraday_loss"
    OPEN = "open"


def empty_trade_list() -> pd.DataFrame:
    """A trade list with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "trade_id": pd.Series(dtype="int64"),
            "side": pd.Series(dtype="object"),
            "entry_time": pd.Series(dtype="datetime64[ns, UTC]"),
            "exit_time": pd.Series(dtype="datetime64[ns, UTC]"),
            "entry_price": pd.Series(dtype="float64"),
            "exit_price": pd.Series(dtype="float64"),
            "quantity": pd.Series(dtype="float64"),
            "commission": pd.Series(dtype="float64"),
            "pnl": pd.Series(dtype="float64"),
            "return_pct": pd.Series(dtype="float64"),
            "bars_held": pd.Series(dtype="int64"),
            "entry_bar": pd.Series(dtype="int64"),
            "exit_bar": pd.Series(dtype="int64"),
            "entry_signal": pd.Series(dtype="object"),
            "exit_reason": pd.Series(dtype="object"),
            "is_open": pd.Series(dtype="bool"),
        }
    )
