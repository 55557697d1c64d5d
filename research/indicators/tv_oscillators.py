"""TradingView-exact oscillators and momentum: ``ta.rsi``, ``ta.stoch``, ``ta.cci``,
``ta.cmo``, ``ta.roc``, ``ta.mom``, ``ta.change``, ``ta.macd``, ``ta.tsi``, ``ta.mfi``,
``ta.wpr`` and ``ta.cog``.

Pine's ``x[1]`` is na on the first bar, so every change-based indicator starts one bar
later than its window alone would allow (RSI(14): first value at index 14). A division
by zero gives na unless the definition says otherwise.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ._core import FloatArray, as_float, like, on_valid, place, rolling_sum, shift, windows
from .tv_extremes import highest_, lowest_
from .tv_ma import ema_, rma_, sma_
from .tv_stats import dev_

__all__ = [
    "Macd",
    "cci",
    "change",
    "cmo",
    "cog",
    "macd",
    "mfi",
    "mom",
    "roc",
    "rsi",
    "stoch",
    "tsi",
    "wpr",
]


class Macd(NamedTuple):
    """``ta.macd`` outputs: the MACD line, its signal line and the histogram."""

    macd: pd.Series
    signal: pd.Series
    hist: pd.Series


def _finite(values: FloatArray) -> FloatArray:
    values[~np.isfinite(values)] = np.nan
    return values


def change_(values: FloatArray, length: int = 1) -> FloatArray:
    return values - shift(values, length)


def rsi_(values: FloatArray, length: int) -> FloatArray:
    delta = change_(values)
    with np.errstate(invalid="ignore"):
        up = rma_(np.where(np.isnan(delta), np.nan, np.maximum(delta, 0.0)), length)
        down = rma_(np.where(np.isnan(delta), np.nan, np.maximum(-delta, 0.0)), length)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + up / down)
    out = np.where(down == 0.0, 100.0, np.where(up == 0.0, 0.0, out))
    return np.where(np.isnan(up) | np.isnan(down), np.nan, out)


def stoch_(source: FloatArray, high: FloatArray, low: FloatArray, length: int) -> FloatArray:
    lo = lowest_(low, length)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finite(100.0 * (source - lo) / (highest_(high, length) - lo))


def rsi(source: pd.Series, length: int) -> pd.Series:
    """``ta.rsi``: ``100 - 100 / (1 + rma(up, length) / rma(down, length))`` with
    ``up = max(src - src[1], 0)``, ``down = max(src[1] - src, 0)`` and the SMA-seeded
    :func:`~.tv_ma.rma`; 100 when ``rma(down)`` is 0, 0 when ``rma(up)`` is 0 (as in
    TradingView's RSI indicator). First value at index ``length``."""
    return like(rsi_(as_float(source), length), source)


def stoch(source: pd.Series, high: pd.Series, low: pd.Series, length: int) -> pd.Series:
    """``ta.stoch``: ``100 * (src - lowest(low, length)) / (highest(high, length) -
    lowest(low, length))``, not clamped; na when the range is 0."""
    return like(stoch_(as_float(source), as_float(high), as_float(low), length), source)


def cci(source: pd.Series, length: int) -> pd.Series:
    """``ta.cci``: ``(src - sma(src, length)) / (0.015 * dev(src, length))``."""
    x = as_float(source)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like(_finite((x - sma_(x, length)) / (0.015 * dev_(x, length))), source)


def cmo(source: pd.Series, length: int) -> pd.Series:
    """``ta.cmo``: ``100 * (sm1 - sm2) / (sm1 + sm2)`` with ``sm1 = math.sum(mom >= 0 ?
    mom : 0, length)``, ``sm2 = math.sum(mom >= 0 ? 0 : -mom, length)`` and
    ``mom = ta.change(src)``. On bar 0 ``mom`` is na, which Pine's comparison treats as
    false: ``sm1`` takes a 0 there and ``sm2`` an na, so the first value is at index
    ``length``."""
    mom = change_(as_float(source))
    with np.errstate(invalid="ignore"):
        rising = mom >= 0.0
    sm1 = rolling_sum(np.where(rising, mom, 0.0), length)
    sm2 = rolling_sum(np.where(rising, 0.0, -mom), length)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like(_finite(100.0 * (sm1 - sm2) / (sm1 + sm2)), source)


def roc(source: pd.Series, length: int) -> pd.Series:
    """``ta.roc``: ``100 * (src - src[length]) / src[length]``."""
    x = as_float(source)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like(_finite(100.0 * change_(x, length) / shift(x, length)), source)


def mom(source: pd.Series, length: int) -> pd.Series:
    """``ta.mom``: ``src - src[length]``."""
    return like(change_(as_float(source), length), source)


def change(source: pd.Series, length: int = 1) -> pd.Series:
    """``ta.change``: ``src - src[length]`` (na for the first ``length`` bars)."""
    return like(change_(as_float(source), length), source)


def macd(source: pd.Series, fastlen: int = 12, slowlen: int = 26, siglen: int = 9) -> Macd:
    """``ta.macd``: ``macd = ema(src, fastlen) - ema(src, slowlen)``, ``signal =
    ema(macd, siglen)`` (which starts after the MACD line's na), ``hist = macd - signal``."""
    x = as_float(source)
    line = ema_(x, fastlen) - ema_(x, slowlen)
    signal = ema_(line, siglen)
    return Macd(like(line, source), like(signal, source), like(line - signal, source))


def tsi(source: pd.Series, short_length: int, long_length: int) -> pd.Series:
    """``ta.tsi`` (True Strength Index, in -1..1): ``ema(ema(pc, long), short) /
    ema(ema(|pc|, long), short)`` with ``pc = ta.change(src)``."""
    pc = change_(as_float(source))
    num = ema_(ema_(pc, long_length), short_length)
    den = ema_(ema_(np.abs(pc), long_length), short_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like(_finite(num / den), source)


def mfi(source: pd.Series, volume: pd.Series, length: int) -> pd.Series:
    """``ta.mfi``: ``100 - 100 / (1 + upper / lower)`` with ``upper = math.sum(volume *
    (change(src) <= 0 ? 0 : src), length)`` and ``lower = math.sum(volume *
    (change(src) >= 0 ? 0 : src), length)``. On bar 0 the change is na, the comparisons
    are false and that bar counts on *both* sides (first value at index ``length - 1``).
    100 when ``lower`` is 0."""
    x, vol = as_float(source), as_float(volume)
    chg = change_(x)
    with np.errstate(invalid="ignore"):
        upper = rolling_sum(vol * np.where(chg <= 0.0, 0.0, x), length)
        lower = rolling_sum(vol * np.where(chg >= 0.0, 0.0, x), length)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + upper / lower)
    return like(np.where(lower == 0.0, 100.0, out), source)


def wpr(high: pd.Series, low: pd.Series, close: pd.Series, length: int) -> pd.Series:
    """``ta.wpr`` (Williams %R, -100..0): ``100 * (close - highest(high, length)) /
    (highest(high, length) - lowest(low, length))``."""
    hi = highest_(as_float(high), length)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 * (as_float(close) - hi) / (hi - lowest_(as_float(low), length))
    return like(_finite(out), close)


def cog(source: pd.Series, length: int) -> pd.Series:
    """``ta.cog`` (Center of Gravity): ``-Σ src[i] * (i + 1) / math.sum(src, length)``
    for ``i = 0`` (current bar) .. ``length - 1``."""
    weights = np.arange(length, 0, -1, dtype=np.float64)  # oldest first: length .. 1

    def apply(x: FloatArray) -> FloatArray:
        num = place(windows(x, length) @ weights, length, len(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            return _finite(-num / rolling_sum(x, length))

    return like(on_valid(apply, as_float(source)), source)
