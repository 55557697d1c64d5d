"""TradingView-exact volatility: ``ta.tr``, ``ta.atr``, ``ta.bb``, ``ta.bbw``, ``ta.kc``,
``ta.kcw``, Bollinger %B and the built-in "Historical Volatility"."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ._core import FloatArray, as_float, like, shift
from .tv_ma import ema_, rma_, sma_
from .tv_stats import stdev_

__all__ = [
    "Bands",
    "atr",
    "bb",
    "bbw",
    "bollinger_percent_b",
    "historical_volatility",
    "kc",
    "kcw",
    "tr",
]


class Bands(NamedTuple):
    """A middle line with an upper and a lower band (``ta.bb``, ``ta.kc``)."""

    basis: pd.Series
    upper: pd.Series
    lower: pd.Series


def tr_(high: FloatArray, low: FloatArray, close: FloatArray, handle_na: bool = False) -> FloatArray:
    prev = shift(close)
    out = np.fmax(high - low, np.fmax(np.abs(high - prev), np.abs(low - prev)))
    out[np.isnan(prev)] = (high - low)[np.isnan(prev)] if handle_na else np.nan
    return out


def tr(high: pd.Series, low: pd.Series, close: pd.Series, handle_na: bool = False) -> pd.Series:
    """``ta.tr(handle_na)``: ``max(high - low, |high - close[1]|, |low - close[1]|)``.
    Where ``close[1]`` is na (bar 0) it is ``high - low`` if ``handle_na`` else na. The
    bare variable ``ta.tr`` is ``ta.tr(false)``."""
    return like(tr_(as_float(high), as_float(low), as_float(close), handle_na), high)


def atr(high: pd.Series, low: pd.Series, close: pd.Series, length: int) -> pd.Series:
    """``ta.atr``: ``ta.rma(ta.tr(true), length)`` — Wilder's RMA seeded with the SMA of
    the first ``length`` true ranges, bar 0's being ``high - low`` (first value at index
    ``length - 1``; TA-Lib's ATR drops bar 0 and starts one bar later)."""
    return like(rma_(tr_(as_float(high), as_float(low), as_float(close), handle_na=True), length), high)


def bb_(values: FloatArray, length: int, mult: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    basis = sma_(values, length)
    dev = mult * stdev_(values, length)
    return basis, basis + dev, basis - dev


def bb(source: pd.Series, length: int = 20, mult: float = 2.0) -> Bands:
    """``ta.bb``: basis ``ta.sma(src, length)``, bands at ``± mult * ta.stdev(src,
    length)`` — the population (biased) standard deviation."""
    basis, upper, lower = bb_(as_float(source), length, mult)
    return Bands(like(basis, source), like(upper, source), like(lower, source))


def bbw(source: pd.Series, length: int = 20, mult: float = 2.0) -> pd.Series:
    """``ta.bbw``: ``(upper - lower) / basis * 100`` of :func:`bb` (a percentage)."""
    basis, upper, lower = bb_(as_float(source), length, mult)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like((upper - lower) / basis * 100.0, source)


def bollinger_percent_b(source: pd.Series, length: int = 20, mult: float = 2.0) -> pd.Series:
    """Built-in "Bollinger Bands %B": ``(src - lower) / (upper - lower)`` of :func:`bb`."""
    x = as_float(source)
    _, upper, lower = bb_(x, length, mult)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like((x - lower) / (upper - lower), source)


def kc_(values: FloatArray, span: FloatArray, length: int, mult: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    basis = ema_(values, length)
    width = ema_(span, length) * mult
    return basis, basis + width, basis - width


def _kc_span(high: pd.Series, low: pd.Series, close: pd.Series, use_true_range: bool) -> FloatArray:
    hi, lo = as_float(high), as_float(low)
    return tr_(hi, lo, as_float(close)) if use_true_range else hi - lo


def kc(
    source: pd.Series,
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    length: int = 20,
    mult: float = 2.0,
    use_true_range: bool = True,
) -> Bands:
    """``ta.kc``: basis ``ta.ema(src, length)``, bands at ``± mult * ta.ema(span,
    length)`` with ``span = ta.tr`` (na on bar 0, so the bands start one bar after the
    basis) or ``high - low`` when ``use_true_range`` is false."""
    span = _kc_span(high, low, close, use_true_range)
    basis, upper, lower = kc_(as_float(source), span, length, mult)
    return Bands(like(basis, source), like(upper, source), like(lower, source))


def kcw(
    source: pd.Series,
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    length: int = 20,
    mult: float = 2.0,
    use_true_range: bool = True,
) -> pd.Series:
    """``ta.kcw``: ``(upper - lower) / basis`` of :func:`kc` (a ratio, not a percentage)."""
    span = _kc_span(high, low, close, use_true_range)
    basis, upper, lower = kc_(as_float(source), span, length, mult)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like((upper - lower) / basis, source)


def historical_volatility(close: pd.Series, length: int = 10, periods_per_year: float = 365.0) -> pd.Series:
    """Built-in "Historical Volatility": ``100 * ta.stdev(log(close / close[1]), length)
    * sqrt(periods_per_year)`` (population stdev of log returns). TradingView's built-in
    annualises with ``annual / per`` = 365 on intraday and 1-day charts (365 / 7 above);
    stock scripts often use 252."""
    x = as_float(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.log(x / shift(x))
    return like(100.0 * stdev_(returns, length) * np.sqrt(periods_per_year), close)
