"""TradingView-exact moving averages (Pine ``ta.*`` and the built-in MA indicators).

Common rules, as TradingView documents and the reference exports confirm:

* **na handling** — "na values in the source series are ignored": each average runs on
  the non-na values of its source (see :func:`~._core.on_valid`). Leading na only delay
  the first value; the result is na on bars whose source is na.
* **warm-up** — a window of ``length`` non-na values is needed: the first value is at the
  ``length``-th non-na bar (index ``length - 1`` for a clean series).
* **recursive averages** (EMA, RMA and what is built on them) are seeded with the SMA
  of their first ``length`` values, not with the first value (TA-Lib seeds EMA the same
  way but handles na differently; pandas ``ewm`` seeds with the first value).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._core import FloatArray, as_float, like, on_valid, place, rolling_sum, windows
from ._recursive import ema_seeded, mcginley_kernel, rma_seeded

__all__ = [
    "alma",
    "dema",
    "ema",
    "hma",
    "linreg",
    "lsma",
    "mcginley",
    "rma",
    "sma",
    "swma",
    "tema",
    "vwma",
    "wma",
]


# --- array level -------------------------------------------------------------------


def sma_(values: FloatArray, length: int) -> FloatArray:
    return rolling_sum(values, length) / length


def ema_(values: FloatArray, length: int) -> FloatArray:
    return on_valid(lambda x: ema_seeded(x, length), values)


def rma_(values: FloatArray, length: int) -> FloatArray:
    return on_valid(lambda x: rma_seeded(x, length), values)


def weighted_(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted mean over windows of ``len(weights)`` values (weights oldest first)."""
    length = len(weights)

    def apply(x: FloatArray) -> FloatArray:
        return place(windows(x, length) @ weights / weights.sum(), length, len(x))

    return on_valid(apply, values)


def wma_(values: FloatArray, length: int) -> FloatArray:
    return weighted_(values, np.arange(1.0, length + 1.0))


def hma_(values: FloatArray, length: int) -> FloatArray:
    half = wma_(values, length // 2)
    full = wma_(values, length)
    return wma_(2.0 * half - full, math.floor(math.sqrt(length)))


def alma_weights(length: int, offset: float, sigma: float, floor: bool) -> FloatArray:
    m = offset * (length - 1)
    if floor:
        m = math.floor(m)
    s = length / sigma
    i = np.arange(length, dtype=np.float64)
    return np.exp(-((i - m) ** 2) / (2.0 * s * s))


def linreg_(values: FloatArray, length: int, offset: int) -> FloatArray:
    if length == 1:
        return values.copy()
    x = np.arange(length, dtype=np.float64)

    def apply(v: FloatArray) -> FloatArray:
        w = windows(v, length)
        mean_y = w.mean(axis=1)
        mean_x = x.mean()
        slope = ((w - mean_y[:, None]) @ (x - mean_x)) / ((x - mean_x) ** 2).sum()
        intercept = mean_y - slope * mean_x
        return place(intercept + slope * (length - 1 - offset), length, len(v))

    return on_valid(apply, values)


# --- public ------------------------------------------------------------------------


def sma(source: pd.Series, length: int) -> pd.Series:
    """``ta.sma``: ``math.sum(src, length) / length`` — the sum accumulated the way
    TradingView does (:func:`~._core.rolling_sum`), so values are bit-identical."""
    return like(sma_(as_float(source), length), source)


def ema(source: pd.Series, length: int) -> pd.Series:
    """``ta.ema``: ``ema = ema[1] + alpha * (src - ema[1])``, ``alpha = 2 / (length + 1)``,
    seeded with ``ta.sma(src, length)`` on its ``length``-th non-na value (na before)."""
    return like(ema_(as_float(source), length), source)


def rma(source: pd.Series, length: int) -> pd.Series:
    """``ta.rma`` (Wilder): ``rma = (rma[1] * (length - 1) + src) / length``, seeded with
    ``ta.sma(src, length)`` (na before). Used by RSI, ATR and DMI."""
    return like(rma_(as_float(source), length), source)


def wma(source: pd.Series, length: int) -> pd.Series:
    """``ta.wma``: linearly weighted mean, weight ``length`` on the newest value down to 1."""
    return like(wma_(as_float(source), length), source)


def hma(source: pd.Series, length: int) -> pd.Series:
    """``ta.hma``: ``wma(2 * wma(src, length // 2) - wma(src, length), floor(sqrt(length)))``
    as in TradingView's built-in Hull MA script (the half length truncates: HMA(9) uses
    4). TradingView's exports for lengths 9 and 20 cannot tell a floored root from a
    rounded one; scripts that round (``math.round(math.sqrt(length))``) differ for
    lengths such as 14 — compose :func:`wma` for those."""
    return like(hma_(as_float(source), length), source)


def vwma(source: pd.Series, volume: pd.Series, length: int) -> pd.Series:
    """``ta.vwma``: ``sma(src * volume, length) / sma(volume, length)``."""
    src, vol = as_float(source), as_float(volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like(sma_(src * vol, length) / sma_(vol, length), source)


def alma(source: pd.Series, length: int, offset: float = 0.85, sigma: float = 6.0, floor: bool = False) -> pd.Series:
    """``ta.alma``: Gaussian-weighted mean; weight ``exp(-(i - m)² / (2 s²))`` for
    ``i = 0`` (oldest) .. ``length - 1`` with ``m = offset * (length - 1)`` (floored if
    ``floor``) and ``s = length / sigma``, normalised by the sum of the weights."""
    weights = alma_weights(length, offset, sigma, floor)
    return like(weighted_(as_float(source), weights), source)


def swma(source: pd.Series) -> pd.Series:
    """``ta.swma``: symmetric 4-bar weighted mean, weights ``[1, 2, 2, 1] / 6``."""
    return like(weighted_(as_float(source), np.array([1.0, 2.0, 2.0, 1.0])), source)


def linreg(source: pd.Series, length: int, offset: int = 0) -> pd.Series:
    """``ta.linreg``: least-squares line through the last ``length`` values (x = 0 for
    the oldest), evaluated at ``x = length - 1 - offset``."""
    return like(linreg_(as_float(source), length, offset), source)


def lsma(source: pd.Series, length: int = 25, offset: int = 0) -> pd.Series:
    """Built-in "Least Squares Moving Average": ``ta.linreg(src, 25, 0)`` by default."""
    return linreg(source, length, offset)


def dema(source: pd.Series, length: int = 9) -> pd.Series:
    """Built-in "Double EMA": ``2 * e1 - ema(e1, length)`` with ``e1 = ta.ema(src, length)``.
    The inner EMA starts after e1's warm-up, so the first value is at ``2 * length - 2``."""
    e1 = ema_(as_float(source), length)
    return like(2.0 * e1 - ema_(e1, length), source)


def tema(source: pd.Series, length: int = 9) -> pd.Series:
    """Built-in "Triple EMA": ``3 * (e1 - e2) + e3`` with e2, e3 the EMA of e1, e2
    (first value at ``3 * length - 3``)."""
    e1 = ema_(as_float(source), length)
    e2 = ema_(e1, length)
    e3 = ema_(e2, length)
    return like(3.0 * (e1 - e2) + e3, source)


def mcginley(source: pd.Series, length: int = 14) -> pd.Series:
    """Built-in "McGinley Dynamic": seeded with ``ta.ema(src, length)`` on its first
    value, then ``mg = mg[1] + (src - mg[1]) / (length * (src / mg[1]) ** 4)``."""
    src = as_float(source)
    return like(mcginley_kernel(src, ema_(src, length), float(length)), source)
