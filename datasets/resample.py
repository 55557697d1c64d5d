"""Vectorised aggregation: trade ticks → bars, quotes → mid-price bars, bars → coarser bars.

These are the reference implementations that streaming aggregation (the runtime's
CandleAggregator) is tested against. Bars are labelled by their open time and cover
``[t, t + Δ)``, aligned to the Unix epoch (so 1h bars open on the hour, 1d bars at
00:00 UTC).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from .schemas import BAR_COLUMNS, BAR_INDEX
from .timeframes import parse_timeframe

__all__ = ["EmptyBars", "aggregate_quotes", "aggregate_trades", "resample_bars"]


class EmptyBars(StrEnum):
    """What an interval with no ticks becomes."""

    SKIP = "skip"
    """No bar at all (TradingView and most chart exports)."""
    FILL = "fill"
    """A zero-volume bar at the previous close (exchange klines)."""


def _bucket(times: pd.Series | pd.DatetimeIndex, width: pd.Timedelta) -> np.ndarray:
    index = pd.DatetimeIndex(times).as_unit("ns")
    ints = index.asi8
    return ints - np.mod(ints, width.value)


def _finish(frame: pd.DataFrame, width: pd.Timedelta, empty: EmptyBars) -> pd.DataFrame:
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, unit="ns", utc=True), name=BAR_INDEX)
    if empty is EmptyBars.FILL and len(frame) > 1:
        full = pd.date_range(frame.index[0], frame.index[-1], freq=width, name=BAR_INDEX)
        frame = frame.reindex(full)
        close = frame["close"].ffill()
        for name in ("open", "high", "low"):
            frame[name] = frame[name].fillna(close)
        frame["close"] = close
        frame["volume"] = frame["volume"].fillna(0.0)
    return frame[list(BAR_COLUMNS)].astype("float64")


def aggregate_trades(trades: pd.DataFrame, timeframe: str, empty: EmptyBars = EmptyBars.SKIP) -> pd.DataFrame:
    """OHLCV bars from trade ticks (``ts``, ``price``, ``amount``), in input order within a bar."""
    width = parse_timeframe(timeframe)
    keys = _bucket(trades["ts"], width)
    grouped = trades.groupby(keys, sort=True)
    frame = pd.DataFrame(
        {
            "open": grouped["price"].first(),
            "high": grouped["price"].max(),
            "low": grouped["price"].min(),
            "close": grouped["price"].last(),
            "volume": grouped["amount"].sum(),
        }
    )
    return _finish(frame, width, empty)


def aggregate_quotes(quotes: pd.DataFrame, timeframe: str, empty: EmptyBars = EmptyBars.SKIP) -> pd.DataFrame:
    """Mid-price bars ``(bid + ask) / 2`` from quotes; volume is the number of quote updates."""
    mids = pd.DataFrame({"ts": quotes["ts"], "price": (quotes["bid"] + quotes["ask"]) / 2.0, "amount": 1.0})
    return aggregate_trades(mids, timeframe, empty)


def resample_bars(bars: pd.DataFrame, timeframe: str, *, complete_only: bool = False) -> pd.DataFrame:
    """Coarser bars from finer ones (e.g. 5m → 1h), epoch-aligned.

    With ``complete_only`` a coarse bar is kept only when every fine bar in it is
    present (its count equals the width ratio); otherwise partial buckets are kept, as
    exchanges do after a maintenance gap.
    """
    width = parse_timeframe(timeframe)
    index = pd.DatetimeIndex(bars.index).as_unit("ns")
    keys = _bucket(index, width)
    grouped = bars.groupby(keys, sort=True)
    frame = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum() if "volume" in bars.columns else 0.0,
        }
    )
    if complete_only and len(bars) > 1:
        fine = pd.Timedelta(int(np.median(np.diff(index.asi8))), unit="ns")
        frame = frame[grouped["open"].count() == width // fine]
    return _finish(frame, width, EmptyBars.SKIP)
