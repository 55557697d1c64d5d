"""TradingView-exact rolling statistics: ``ta.stdev``, ``ta.variance``, ``ta.dev``,
``ta.correlation``, ``ta.median``, ``ta.mode``, the percentiles, ``ta.percentrank``,
``ta.rci`` and the cumulative ``ta.cum`` / ``ta.max`` / ``ta.min``.

Moments follow TradingView's one-pass form over compensated rolling sums
(``E[x²] - E[x]²``, clamped at 0), not the two-pass textbook form: on prices with a small
spread (FX) the two differ by ~1e-9 relative, and TradingView's values are the one-pass
ones. Window functions need ``length`` values (first value at index ``length - 1``)
unless stated otherwise, and ignore na source values like the averages do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._core import FloatArray, as_float, like, on_valid, place, rolling_sum, windows
from ._window_kernels import mode_kernel, rci_kernel

__all__ = [
    "correlation",
    "cum",
    "dev",
    "math_sum",
    "max_",
    "median",
    "min_",
    "mode",
    "percentile_linear_interpolation",
    "percentile_nearest_rank",
    "percentrank",
    "rci",
    "stdev",
    "variance",
]


def variance_(values: FloatArray, length: int, biased: bool = True) -> FloatArray:
    def apply(x: FloatArray) -> FloatArray:
        total = rolling_sum(x, length)
        squares = rolling_sum(x * x, length)
        mean = total / length
        if biased:
            var = squares / length - mean * mean
        elif length == 1:
            return np.full_like(x, np.nan)
        else:
            var = squares / (length - 1) - total * mean / (length - 1)
        return np.where(np.isnan(var), np.nan, np.maximum(var, 0.0))

    return on_valid(apply, values)


def stdev_(values: FloatArray, length: int, biased: bool = True) -> FloatArray:
    return np.sqrt(variance_(values, length, biased))


def dev_(values: FloatArray, length: int) -> FloatArray:
    def apply(x: FloatArray) -> FloatArray:
        w = windows(x, length)
        mean = rolling_sum(x, length)[length - 1 :] / length
        return place(np.abs(w - mean[:, None]).sum(axis=1) / length, length, len(x))

    return on_valid(apply, values)


def variance(source: pd.Series, length: int, biased: bool = True) -> pd.Series:
    """``ta.variance``: ``max(0, Σx²/n - (Σx/n)²)`` (biased, default) or
    ``max(0, Σx²/(n-1) - Σx·mean/(n-1))`` (unbiased; na for ``length == 1``)."""
    return like(variance_(as_float(source), length, biased), source)


def stdev(source: pd.Series, length: int, biased: bool = True) -> pd.Series:
    """``ta.stdev``: ``sqrt(ta.variance(source, length, biased))`` — the *population*
    standard deviation by default (Bollinger Bands use it; TA-Lib's STDDEV too)."""
    return like(stdev_(as_float(source), length, biased), source)


def dev(source: pd.Series, length: int) -> pd.Series:
    """``ta.dev``: mean absolute deviation from the window's SMA,
    ``Σ|x - sma| / length`` (CCI's denominator)."""
    return like(dev_(as_float(source), length), source)


def correlation(source1: pd.Series, source2: pd.Series, length: int) -> pd.Series:
    """``ta.correlation``: Pearson correlation over ``length`` bars,
    ``cov / sqrt(var1 * var2)`` with ``cov = Σxy/n - mean(x)·mean(y)`` and the clamped
    one-pass variances; na while either window holds an na or a variance is 0."""
    x, y = as_float(source1), as_float(source2)
    sx, sy = rolling_sum(x, length), rolling_sum(y, length)
    mx, my = sx / length, sy / length
    cov = rolling_sum(x * y, length) / length - mx * my
    vx = np.maximum(rolling_sum(x * x, length) / length - mx * mx, 0.0)
    vy = np.maximum(rolling_sum(y * y, length) / length - my * my, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = cov / np.sqrt(vx * vy)
    out[~np.isfinite(out)] = np.nan
    return like(out, source1)


def median(source: pd.Series, length: int) -> pd.Series:
    """``ta.median``: median of the last ``length`` values (mean of the two middle ones
    for an even length)."""

    def apply(x: FloatArray) -> FloatArray:
        return place(np.median(windows(x, length), axis=1), length, len(x))

    return like(on_valid(apply, as_float(source)), source)


def mode(source: pd.Series, length: int) -> pd.Series:
    """``ta.mode``: the most frequent of the last ``length`` values; on a tie in
    frequency the smallest value."""
    return like(on_valid(lambda x: mode_kernel(x, length), as_float(source)), source)


def percentile_nearest_rank(source: pd.Series, length: int, percentage: float) -> pd.Series:
    """``ta.percentile_nearest_rank``: the ``ceil(percentage / 100 * length)``-th smallest
    of the last ``length`` values (the smallest for 0%); always a member of the window."""

    def apply(x: FloatArray) -> FloatArray:
        rank = int(np.clip(np.ceil(percentage / 100.0 * length), 1, length))
        ordered = np.sort(windows(x, length), axis=1)
        return place(ordered[:, rank - 1], length, len(x))

    return like(on_valid(apply, as_float(source)), source)


def percentile_linear_interpolation(source: pd.Series, length: int, percentage: float) -> pd.Series:
    """``ta.percentile_linear_interpolation``: with the window sorted ascending and the
    1-based position ``p = percentage / 100 * length + 0.5``, the value interpolated
    between the ``floor(p)``-th and ``ceil(p)``-th smallest (clamped to the window).
    Unlike the other window functions an na *in* the window makes the result na, as
    TradingView documents for this one."""
    x = as_float(source)
    w = windows(x, length)
    ordered = np.sort(w, axis=1)
    pos = np.clip(percentage / 100.0 * length + 0.5, 1.0, float(length)) - 1.0
    lo, frac = int(np.floor(pos)), pos - np.floor(pos)
    hi = min(lo + 1, length - 1)
    values = ordered[:, lo] + frac * (ordered[:, hi] - ordered[:, lo])
    values[np.isnan(w).any(axis=1)] = np.nan
    return like(place(values, length, len(x)), source)


def percentrank(source: pd.Series, length: int) -> pd.Series:
    """``ta.percentrank``: percentage of the previous ``length`` values that are less
    than or equal to the current one (needs ``length + 1`` values: first at ``length``)."""

    def apply(x: FloatArray) -> FloatArray:
        w = windows(x, length + 1)
        count = (w[:, :-1] <= w[:, -1:]).sum(axis=1)
        return place(100.0 * count / length, length + 1, len(x))

    return like(on_valid(apply, as_float(source)), source)


def rci(source: pd.Series, length: int) -> pd.Series:
    """``ta.rci`` (Rank Correlation Index): Spearman correlation × 100 between the
    bars' time order and the values' rank order over ``length`` bars (ties share their
    average rank). TradingView's first value is at index ``length``, one bar later than
    a full window would allow."""

    def apply(x: FloatArray) -> FloatArray:
        out = rci_kernel(x, length)
        out[:length] = np.nan
        return out

    return like(on_valid(apply, as_float(source)), source)


def math_sum(source: pd.Series, length: int) -> pd.Series:
    """``math.sum``: sum of the last ``length`` values, accumulated like TradingView
    (compensated, bit-exact; see :func:`~._core.rolling_sum`)."""
    return like(rolling_sum(as_float(source), length), source)


def cum(source: pd.Series) -> pd.Series:
    """``ta.cum``: running sum of the non-na values (na until the first one)."""
    x = as_float(source)
    out = np.nancumsum(x)
    out[: _first_valid(x)] = np.nan
    return like(out, source)


def max_(source: pd.Series) -> pd.Series:
    """``ta.max``: the all-time high of the source so far (na ignored)."""
    return like(np.fmax.accumulate(as_float(source)), source)


def min_(source: pd.Series) -> pd.Series:
    """``ta.min``: the all-time low of the source so far (na ignored)."""
    return like(np.fmin.accumulate(as_float(source)), source)


def _first_valid(values: FloatArray) -> int:
    valid = ~np.isnan(values)
    return int(np.argmax(valid)) if valid.any() else len(values)
