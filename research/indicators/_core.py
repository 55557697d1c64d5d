"""Plumbing shared by the indicator modules: array <-> Series conversion, Pine's
"na values are ignored" rule, the typed numba decorator, TradingView's rolling sum and
rolling windows.

Convention across the package: public indicator functions take and return pandas
Series; the array-level forms other modules compose are named with a trailing
underscore (``ema_``, ``stdev_`` …) and work on float64 numpy arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "FloatArray",
    "as_float",
    "jit",
    "like",
    "on_valid",
    "place",
    "rolling_sum",
    "shift",
    "windows",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])


def jit(func: _F) -> _F:
    """``numba.njit`` with an on-disk cache, typed so mypy keeps the signature."""
    return cast(_F, numba.njit(cache=True, nogil=True)(func))


def as_float(values: pd.Series | npt.ArrayLike) -> FloatArray:
    """``values`` as a contiguous float64 array (booleans and ints are cast, pandas NA
    becomes NaN); no copy when it already is one."""
    if isinstance(values, pd.Series):
        return np.ascontiguousarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64))


def like(values: npt.ArrayLike, template: pd.Series, name: str | None = None) -> pd.Series:
    """``values`` as a float Series on ``template``'s index."""
    return pd.Series(np.asarray(values, dtype=np.float64), index=template.index, name=name)


def shift(values: FloatArray, periods: int = 1) -> FloatArray:
    """Pine's history operator ``x[periods]``: na for the first ``periods`` bars."""
    out = np.full_like(values, np.nan)
    if periods == 0:
        return values.copy()
    if periods < len(values):
        out[periods:] = values[:-periods]
    return out


def on_valid(func: Callable[[FloatArray], FloatArray], values: FloatArray) -> FloatArray:
    """Apply ``func`` to the non-na values only and put the results back in place.

    This is Pine's rule for the built-in averages ("na values in the source series are
    ignored; the function calculates on the length quantity of non-na values"): leading
    na delay the start, an na inside the series neither resets nor advances the state,
    and the result is na on the bars where the source is na.
    """
    valid = ~np.isnan(values)
    if valid.all():
        return func(values)
    out = np.full_like(values, np.nan)
    if valid.any():
        out[valid] = func(values[valid])
    return out


def rolling_sum(values: FloatArray, length: int) -> FloatArray:
    """Pine's ``math.sum(values, length)``: the sum of the last ``length`` non-na values,
    accumulated the way TradingView does (see :func:`_pine_sum`), na until ``length``
    values have been seen and na on na bars."""
    _check_length(length)
    return on_valid(lambda x: _pine_sum(x, int(length)), values)


@jit
def _pine_sum(values: FloatArray, length: int) -> FloatArray:
    # TradingView's rolling sum, bit for bit (the behaviour was measured against
    # TradingView and published by the PyneCore project; this is our own rendering):
    # a Kahan-compensated accumulator whose every bar evicts the *entry stored* for
    # the bar leaving the window (the compensated addend realised when it entered,
    # not its raw value) and adds the new value in one fused two-round step. When
    # adding |compensation| to the new value would round (``|c| - ((x + |c|) - x) > 0``)
    # the accumulator is rebuilt as the plain newest-first sum of the raw window, the
    # compensation cleared and the raw value stored as the entry.
    n = len(values)
    out = np.full(n, np.nan)
    entries = np.empty(n)
    total = 0.0
    comp = 0.0
    for i in range(n):
        x = values[i]
        if _rebuilds(x, comp):
            total = x
            for k in range(1, min(length, i + 1)):
                total += values[i - k]
            comp = 0.0
            entries[i] = x
        elif i < length:
            y = x - comp
            t = total + y
            comp = (t - total) - y
            total = t
            entries[i] = y
        else:
            y1 = -entries[i - length] - comp
            t = total + y1
            y2 = x - ((t - total) - y1)
            total = t + y2
            comp = (total - t) - y2
            entries[i] = y2
        if i >= length - 1:
            out[i] = total
    return out


@jit
def _rebuilds(value: float, comp: float) -> bool:
    if comp == 0.0 or value == 0.0:
        return False
    magnitude = abs(comp)
    rounded = value + magnitude
    return bool(np.isfinite(rounded) and magnitude - (rounded - value) > 0.0)


def windows(values: FloatArray, length: int) -> npt.NDArray[np.float64]:
    """Rows of ``length`` consecutive values, oldest first; row ``k`` ends at bar
    ``k + length - 1`` (a read-only view, no copy)."""
    _check_length(length)
    if len(values) < length:
        return np.empty((0, length))
    return np.lib.stride_tricks.sliding_window_view(values, length)


def place(values: FloatArray, length: int, n: int) -> FloatArray:
    """Put per-window results (one per full window) at their last bar; na before."""
    out = np.full(n, np.nan)
    if len(values):
        out[length - 1 :] = values
    return out


def _check_length(length: int) -> None:
    if int(length) != length or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
