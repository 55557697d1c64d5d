"""TradingView *built-in indicators* that are not a single ``ta.*`` call, with their
TradingView default inputs: Aroon, Awesome and Accelerator Oscillators, Coppock Curve,
Ultimate Oscillator, TRIX, Price Oscillator (PPO) and the Stochastic's %K/%D."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ._core import FloatArray, as_float, like, rolling_sum, shift
from .tv_extremes import extreme_offset_
from .tv_ma import ema_, sma_, wma_
from .tv_oscillators import change_, stoch_

__all__ = [
    "Aroon",
    "Ppo",
    "Stochastic",
    "accelerator_oscillator",
    "aroon",
    "awesome_oscillator",
    "coppock",
    "ppo",
    "stochastic",
    "trix",
    "ultimate_oscillator",
]


class Aroon(NamedTuple):
    """Aroon Up and Aroon Down (0..100)."""

    up: pd.Series
    down: pd.Series


class Stochastic(NamedTuple):
    """The built-in Stochastic's %K and %D lines."""

    k: pd.Series
    d: pd.Series


class Ppo(NamedTuple):
    """Percentage Price Oscillator line, signal and histogram."""

    ppo: pd.Series
    signal: pd.Series
    hist: pd.Series


def aroon(high: pd.Series, low: pd.Series, length: int = 14) -> Aroon:
    """Built-in "Aroon": ``up = 100 * (ta.highestbars(high, length + 1) + length) /
    length``, ``down`` likewise with ``ta.lowestbars(low, length + 1)`` (ties → the oldest
    bar, TradingView's ``…bars`` rule). First value at index ``length``."""
    up = 100.0 * (extreme_offset_(as_float(high), length + 1, True) + length) / length
    down = 100.0 * (extreme_offset_(as_float(low), length + 1, False) + length) / length
    return Aroon(like(up, high), like(down, low))


def awesome_oscillator(high: pd.Series, low: pd.Series, fast: int = 5, slow: int = 34) -> pd.Series:
    """Built-in "Awesome Oscillator": ``ta.sma(hl2, 5) - ta.sma(hl2, 34)``."""
    hl2 = (as_float(high) + as_float(low)) / 2.0
    return like(sma_(hl2, fast) - sma_(hl2, slow), high)


def accelerator_oscillator(high: pd.Series, low: pd.Series, length: int = 5) -> pd.Series:
    """Built-in "Accelerator Oscillator": ``ao - ta.sma(ao, 5)`` with ``ao`` the Awesome
    Oscillator (5, 34); first value at index 37."""
    ao = as_float(awesome_oscillator(high, low))
    return like(ao - sma_(ao, length), high)


def coppock(source: pd.Series, wma_length: int = 10, long_roc: int = 14, short_roc: int = 11) -> pd.Series:
    """Built-in "Coppock Curve": ``ta.wma(ta.roc(src, 14) + ta.roc(src, 11), 10)``."""
    x = as_float(source)
    with np.errstate(divide="ignore", invalid="ignore"):
        rocs = 100.0 * change_(x, long_roc) / shift(x, long_roc) + 100.0 * change_(x, short_roc) / shift(x, short_roc)
    return like(wma_(rocs, wma_length), source)


def ultimate_oscillator(
    high: pd.Series, low: pd.Series, close: pd.Series, fast: int = 7, middle: int = 14, slow: int = 28
) -> pd.Series:
    """Built-in "Ultimate Oscillator": with ``bp = close - min(low, close[1])`` and
    ``tr = max(high, close[1]) - min(low, close[1])`` (na on bar 0), ``100 * (4 * avg7 +
    2 * avg14 + avg28) / 7`` where ``avgN = math.sum(bp, N) / math.sum(tr, N)``."""
    hi, lo, cl = as_float(high), as_float(low), as_float(close)
    prev = shift(cl)
    true_low = np.minimum(lo, prev)  # na where close[1] is na, like Pine's math.min
    bp, tr = cl - true_low, np.maximum(hi, prev) - true_low

    def average(length: int) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return rolling_sum(bp, length) / rolling_sum(tr, length)

    return like(100.0 * (4.0 * average(fast) + 2.0 * average(middle) + average(slow)) / 7.0, close)


def trix(source: pd.Series, length: int = 18) -> pd.Series:
    """Built-in "TRIX": ``10000 * ta.change(ema(ema(ema(log(src), n), n), n))`` — the
    one-bar change of the triple-smoothed *log* price in basis points, SMA-seeded EMAs
    (first value at index ``3 * (length - 1) + 1``). TA-Lib's TRIX is instead the percent
    rate of change of the triple EMA of the price: ``ta.roc(e3, 1)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(as_float(source))
    triple = ema_(ema_(ema_(logs, length), length), length)
    return like(10000.0 * change_(triple), source)


def ppo(source: pd.Series, fast: int = 10, slow: int = 21, exponential: bool = False, signal: int = 9) -> Ppo:
    """Built-in "Price Oscillator": ``100 * (ma(src, fast) - ma(src, slow)) / ma(src,
    slow)`` with TradingView's defaults 10 / 21 and SMAs (EMAs if ``exponential``). The
    ``signal`` line (``ta.ema(ppo, signal)``) and histogram are the common PPO extras,
    not part of TradingView's built-in. (TA-Lib's PPO: 12 / 26, SMA by default.)"""
    x = as_float(source)
    average = ema_ if exponential else sma_
    slow_ma = average(x, slow)
    with np.errstate(divide="ignore", invalid="ignore"):
        line = 100.0 * (average(x, fast) - slow_ma) / slow_ma
    sig = ema_(line, signal)
    return Ppo(like(line, source), like(sig, source), like(line - sig, source))


def stochastic(
    high: pd.Series, low: pd.Series, close: pd.Series, length: int = 14, smooth_k: int = 1, smooth_d: int = 3
) -> Stochastic:
    """Built-in "Stochastic" (14, 1, 3): ``%K = ta.sma(ta.stoch(close, high, low, 14), 1)``
    and ``%D = ta.sma(%K, 3)``."""
    k = sma_(stoch_(as_float(close), as_float(high), as_float(low), length), smooth_k)
    return Stochastic(like(k, close), like(sma_(k, smooth_d), close))
