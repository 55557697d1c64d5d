"""TradingView-exact trend indicators: ``ta.dmi`` (+DI, -DI, ADX), ``ta.supertrend`` and
``ta.sar``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ._core import FloatArray, as_float, like
from ._trend_kernels import sar_kernel, supertrend_kernel
from .tv_ma import rma_
from .tv_oscillators import change_
from .tv_volatility import tr_

__all__ = ["Dmi", "SuperTrend", "dmi", "sar", "supertrend"]


class Dmi(NamedTuple):
    """``ta.dmi`` outputs: +DI, -DI and ADX."""

    plus: pd.Series
    minus: pd.Series
    adx: pd.Series


class SuperTrend(NamedTuple):
    """``ta.supertrend`` outputs. ``direction`` follows Pine's sign convention:
    ``-1`` = up trend (the line is the lower band, below price), ``+1`` = down trend."""

    supertrend: pd.Series
    direction: pd.Series


def _fixnan(values: FloatArray) -> FloatArray:
    """Pine's ``fixnan``: na replaced by the last non-na value."""
    return np.asarray(pd.Series(values).ffill(), dtype=np.float64)


def _directional_movement(high: FloatArray, low: FloatArray) -> tuple[FloatArray, FloatArray]:
    up = change_(high)
    down = -change_(low)
    with np.errstate(invalid="ignore"):
        plus = np.where((up > down) & (up > 0.0), up, 0.0)
        minus = np.where((down > up) & (down > 0.0), down, 0.0)
    plus[np.isnan(up)] = np.nan
    minus[np.isnan(down)] = np.nan
    return plus, minus


def dmi_(
    high: FloatArray, low: FloatArray, close: FloatArray, di_length: int, adx_smoothing: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    plus_dm, minus_dm = _directional_movement(high, low)
    true_range = rma_(tr_(high, low, close), di_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        plus = _fixnan(100.0 * rma_(plus_dm, di_length) / true_range)
        minus = _fixnan(100.0 * rma_(minus_dm, di_length) / true_range)
        total = plus + minus
        adx = 100.0 * rma_(np.abs(plus - minus) / np.where(total == 0.0, 1.0, total), adx_smoothing)
    return plus, minus, adx


def dmi(high: pd.Series, low: pd.Series, close: pd.Series, di_length: int = 14, adx_smoothing: int = 14) -> Dmi:
    """``ta.dmi``: ``up = change(high)``, ``down = -change(low)``; ``+DM = up > down and
    up > 0 ? up : 0`` (na on bar 0), ``-DM`` mirrored; ``±DI = fixnan(100 * rma(±DM) /
    rma(ta.tr))`` with ``ta.tr`` = ``tr(false)`` (na on bar 0, unlike ATR's); ``ADX =
    100 * rma(|+DI - -DI| / (+DI + -DI or 1), adx_smoothing)``. +DI/-DI start at index
    ``di_length``, ADX ``adx_smoothing - 1`` bars later. Wilder's original (TA-Lib) seeds
    with sums instead of SMAs and differs for the whole warm-up."""
    plus, minus, adx = dmi_(as_float(high), as_float(low), as_float(close), di_length, adx_smoothing)
    return Dmi(like(plus, high), like(minus, high), like(adx, high))


def supertrend(
    high: pd.Series, low: pd.Series, close: pd.Series, factor: float = 3.0, atr_period: int = 10
) -> SuperTrend:
    """``ta.supertrend`` (Pine reference implementation): bands ``hl2 ± factor *
    ta.atr(atr_period)``; the lower band only rises (the upper only falls) unless the
    previous close crossed it; ``direction`` is 1 while ``ta.atr`` is na on the previous
    bar, then flips to -1 when close rises above the upper band and back to 1 when it
    falls below the lower band. The line is the lower band in an up trend (-1), the upper
    band in a down trend (1). Pine's ``nz()`` makes bar 0's line 0.0 and bars 1 ..
    ``atr_period - 2`` na."""
    hi, lo, cl = as_float(high), as_float(low), as_float(close)
    true_range = tr_(hi, lo, cl, handle_na=True)
    value, direction = supertrend_kernel((hi + lo) / 2.0, cl, rma_(true_range, atr_period), factor)
    return SuperTrend(like(value, close), like(direction.astype(np.float64), close))


def sar(
    high: pd.Series, low: pd.Series, close: pd.Series, start: float = 0.02, inc: float = 0.02, maximum: float = 0.2
) -> pd.Series:
    """``ta.sar`` (Parabolic SAR, Pine reference implementation): the trend on bar 1 is
    long if ``close > close[1]`` (SAR starts at the previous low) else short (previous
    high); each bar ``sar += af * (extreme - sar)``, a touch reverses it to the extreme
    point, and the SAR is kept beyond the last two bars' lows (long) or highs (short).
    na on bar 0."""
    hi, lo = as_float(high), as_float(low)
    return like(sar_kernel(hi, lo, as_float(close), start, inc, maximum), close)
