"""numba kernels for the path-dependent trend indicators (SuperTrend, Parabolic SAR).
Each follows the Pine reference implementation line by line, including how Pine
treats na: ``nz()`` turns it into 0 and any comparison with na is false."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._core import FloatArray, jit

__all__ = ["sar_kernel", "supertrend_kernel"]


@jit
def _band(band: float, prev_band: float, prev_close: float, lower: bool) -> float:
    # lowerBand := lowerBand > prev or close[1] < prev ? lowerBand : prev (mirrored for
    # the upper band); comparisons with nan are false, as in Pine.
    if lower:
        return band if (band > prev_band or prev_close < prev_band) else prev_band
    return band if (band < prev_band or prev_close > prev_band) else prev_band


@jit
def _supertrend(
    hl2: FloatArray, close: FloatArray, atr: FloatArray, factor: float
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    n = len(close)
    value = np.full(n, np.nan)
    direction = np.ones(n, dtype=np.int8)
    upper_prev = np.nan
    lower_prev = np.nan
    for i in range(n):
        prev_close = close[i - 1] if i > 0 else np.nan
        upper = _band(hl2[i] + factor * atr[i], 0.0 if np.isnan(upper_prev) else upper_prev, prev_close, False)
        lower = _band(hl2[i] - factor * atr[i], 0.0 if np.isnan(lower_prev) else lower_prev, prev_close, True)
        if i == 0 or np.isnan(atr[i - 1]):
            direction[i] = 1
        elif value[i - 1] == upper_prev:
            direction[i] = -1 if close[i] > upper else 1
        else:
            direction[i] = 1 if close[i] < lower else -1
        value[i] = lower if direction[i] == -1 else upper
        upper_prev, lower_prev = upper, lower
    return value, direction


def supertrend_kernel(
    hl2: FloatArray, close: FloatArray, atr: FloatArray, factor: float
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Pine's ``ta.supertrend`` state machine over precomputed ``hl2`` and ``atr``."""
    return _supertrend(hl2, close, atr, float(factor))


@jit
def _sar_start(high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[bool, float, float]:
    # bar 1: long if close rose, starting from the previous low; short otherwise
    if close[1] > close[0]:
        return True, high[1], low[0]
    return False, low[1], high[0]


@jit
def _sar(high: FloatArray, low: FloatArray, close: FloatArray, start: float, inc: float, cap: float) -> FloatArray:
    n = len(high)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    below, extreme, result = _sar_start(high, low, close)
    accel = start
    for i in range(1, n):
        first = i == 1
        result = result + accel * (extreme - result)
        if below and result > low[i]:
            first, below, result, extreme, accel = True, False, max(high[i], extreme), low[i], start
        elif not below and result < high[i]:
            first, below, result, extreme, accel = True, True, min(low[i], extreme), high[i], start
        if not first and below and high[i] > extreme:
            extreme, accel = high[i], min(accel + inc, cap)
        elif not first and not below and low[i] < extreme:
            extreme, accel = low[i], min(accel + inc, cap)
        if below:
            result = min(result, low[i - 1]) if i == 1 else min(result, low[i - 1], low[i - 2])
        else:
            result = max(result, high[i - 1]) if i == 1 else max(result, high[i - 1], high[i - 2])
        out[i] = result
    return out


def sar_kernel(
    high: FloatArray, low: FloatArray, close: FloatArray, start: float, inc: float, maximum: float
) -> FloatArray:
    """Pine's ``ta.sar`` state machine (na on bar 0)."""
    return _sar(high, low, close, float(start), float(inc), float(maximum))
