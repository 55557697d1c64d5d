"""Deterministic trades from bars: four trades per bar whose aggregation is the bar.

Used by the local exchange when a dataset comes without trades. Each bar with volume
becomes the path open → low → high → close (a bar closing at or above its open) or
open → high → low → close (a bar closing below it), at ``t``, ``t + Δ/4``,
``t + Δ/2`` and ``t + 3Δ/4`` (whole milliseconds, as exchanges stamp trades), each
with a quarter of the volume. Aggregating them at the bar's timeframe gives back
open, high, low and close exactly and the volume up to float rounding. Bars without
volume get no trades (aggregation skips such intervals). A trade is a buy when its
price is at or above the previous trade's, else a sell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schemas import TRADE_COLUMNS

__all__ = ["trades_from_bars"]

_PER_BAR = 4


def _prices(bars: pd.DataFrame) -> np.ndarray:
    o, h, low, c = (bars[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close"))
    up = c >= o
    second = np.where(up, low, h)
    third = np.where(up, h, low)
    return np.column_stack([o, second, third, c]).reshape(-1)


def _amounts(volume: np.ndarray) -> np.ndarray:
    quarter = volume / _PER_BAR
    last = volume - 3 * quarter
    return np.column_stack([quarter, quarter, quarter, last]).reshape(-1)


def _times(open_ns: np.ndarray, width: pd.Timedelta) -> np.ndarray:
    step_ms = int(width / pd.Timedelta(milliseconds=1)) // _PER_BAR
    offsets = np.arange(_PER_BAR, dtype=np.int64) * step_ms * 1_000_000
    return (open_ns[:, None] + offsets[None, :]).reshape(-1)


def _sides(prices: np.ndarray) -> np.ndarray:
    previous = np.concatenate([[prices[0]], prices[:-1]]) if len(prices) else prices
    return np.where(prices >= previous, "buy", "sell")


def trades_from_bars(bars: pd.DataFrame, timeframe: pd.Timedelta, *, first_id: int = 1) -> pd.DataFrame:
    """Trades (schema ``ts, price, amount, side, trade_id``) reproducing ``bars``."""
    if timeframe < pd.Timedelta(milliseconds=_PER_BAR):
        raise ValueError(f"timeframe {timeframe}: too short to place {_PER_BAR} trades in whole milliseconds")
    traded = bars[bars["volume"].to_numpy(dtype=np.float64) > 0]
    open_ns = pd.DatetimeIndex(traded.index).as_unit("ns").asi8
    prices = _prices(traded)
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(_times(open_ns, timeframe), unit="ns", utc=True),
            "price": prices,
            "amount": _amounts(traded["volume"].to_numpy(dtype=np.float64)),
            "side": _sides(prices),
            "trade_id": np.arange(first_id, first_id + len(prices), dtype=np.int64),
        }
    )
    return frame[list(TRADE_COLUMNS)]
