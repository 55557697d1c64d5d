"""The vectorised reference (``datasets.resample``) as Decimal candle rows, for differential tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from quantbridge.datasets.resample import EmptyBars, aggregate_quotes, aggregate_trades
from quantbridge.datasets.timeframes import format_timeframe
from quantbridge.runtime.domain import Candle, Quote, Tick

#: (open_time, open, high, low, close, volume, trades, partial, filled)
Row = tuple[pd.Timestamp, Decimal, Decimal, Decimal, Decimal, Decimal, int, bool, bool]


def row(candle: Candle) -> Row:
    c = candle
    return (c.open_time, c.open, c.high, c.low, c.close, c.volume, c.trades, c.partial, c.filled)


def rows(candles: Iterable[Candle]) -> list[Row]:
    return [row(c) for c in candles]


def trades_frame(ticks: Sequence[Tick]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([t.ts.value for t in ticks], unit="ns", utc=True),
            "price": [float(t.price) for t in ticks],
            "amount": [float(t.amount) for t in ticks],
        }
    )


def quotes_frame(quotes: Sequence[Quote]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([q.ts.value for q in quotes], unit="ns", utc=True),
            "bid": [float(q.bid) for q in quotes],
            "ask": [float(q.ask) for q in quotes],
        }
    )


def _counts(frame: pd.DataFrame, width: pd.Timedelta, index: pd.DatetimeIndex) -> np.ndarray:
    ns = pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8
    buckets = pd.to_datetime(ns - ns % width.value, unit="ns", utc=True)
    return pd.Series(1, index=buckets).groupby(level=0).sum().reindex(index, fill_value=0).to_numpy()


def expected_rows(
    frame: pd.DataFrame,
    width: pd.Timedelta,
    *,
    source: str = "trades",
    empty: EmptyBars = EmptyBars.SKIP,
    partial_before: pd.Timestamp | None = None,
    skip_partial: bool = False,
) -> list[Row]:
    """The reference candles of ``frame`` (ticks in arrival order; stably sorted by time
    here, as the aggregator orders open/close by ``(ts, arrival)``), with the flags the
    streaming side sets: candles opening before ``partial_before`` are partial."""
    ordered = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    aggregate = aggregate_trades if source == "trades" else aggregate_quotes
    bars = aggregate(ordered, format_timeframe(width), empty)
    index = pd.DatetimeIndex(bars.index)
    counts = _counts(ordered, width, index)
    out: list[Row] = []
    values = bars[["open", "high", "low", "close", "volume"]].to_numpy()
    for i, open_time in enumerate(index):
        o, h, low, c, v = (Decimal(repr(float(x))) for x in values[i])
        partial = partial_before is not None and open_time < partial_before
        if partial and skip_partial:
            continue
        n = int(counts[i])
        volume = Decimal(n) if source == "quotes" else v
        out.append((pd.Timestamp(open_time), o, h, low, c, volume, n, partial, n == 0))
    return out
