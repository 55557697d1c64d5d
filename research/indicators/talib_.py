"""Thin typed wrappers over TA-Lib (``import talib``): pandas Series in, Series (or a
NamedTuple of Series) out, aligned to the input's index.

What the wrappers add to a direct ``talib`` call:

* inputs of any numeric dtype (int volumes, bools) are passed as contiguous float64;
* outputs keep the input's index (TA-Lib returns bare arrays);
* multi-output functions return named fields instead of positional tuples;
* ``ignore_na=True`` computes on the bars where every input is defined and puts the
  results back in place (na elsewhere). TA-Lib itself skips *leading* NaN only: an NaN
  inside the series poisons every later value of a recursive indicator.

These are TA-Lib's definitions, which differ from TradingView's in places (EMA-family
seeding is the same SMA seed, but ATR/ADX/DI use Wilder sums, RSI/ATR drop bar 0, TRIX
and PPO differ, STOCH smooths by default…). Use :mod:`.tradingview` for Pine parity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import talib

from ._core import FloatArray, as_float

__all__ = [
    "AroonResult",
    "BBandsResult",
    "MacdResult",
    "StochResult",
    "ad",
    "adosc",
    "adx",
    "aroon",
    "atr",
    "bbands",
    "cci",
    "cmo",
    "dema",
    "ema",
    "kama",
    "linearreg",
    "macd",
    "mfi",
    "minus_di",
    "mom",
    "natr",
    "obv",
    "plus_di",
    "ppo",
    "roc",
    "rsi",
    "sar",
    "sma",
    "stddev",
    "stoch",
    "tema",
    "trange",
    "trima",
    "trix",
    "ultosc",
    "willr",
    "wma",
]


class MacdResult(NamedTuple):
    macd: pd.Series
    signal: pd.Series
    hist: pd.Series


class BBandsResult(NamedTuple):
    upper: pd.Series
    middle: pd.Series
    lower: pd.Series


class StochResult(NamedTuple):
    slowk: pd.Series
    slowd: pd.Series


class AroonResult(NamedTuple):
    down: pd.Series
    up: pd.Series


def _run(func: Callable[..., Any], inputs: tuple[pd.Series, ...], ignore_na: bool, **params: Any) -> list[FloatArray]:
    """Call ``func`` on float64 inputs; always return a list of output arrays."""
    arrays = [as_float(s) for s in inputs]
    valid = np.logical_and.reduce([~np.isnan(a) for a in arrays])
    if not ignore_na or valid.all():
        result = func(*arrays, **params)
        return list(result) if isinstance(result, tuple) else [result]
    compact = func(*(a[valid] for a in arrays), **params)
    outputs = list(compact) if isinstance(compact, tuple) else [compact]
    placed = []
    for out in outputs:
        full = np.full(len(valid), np.nan)
        full[valid] = out
        placed.append(full)
    return placed


def _series(values: FloatArray, like: pd.Series) -> pd.Series:
    return pd.Series(values, index=like.index)


def _one(func: Callable[..., Any], inputs: tuple[pd.Series, ...], ignore_na: bool, **params: Any) -> pd.Series:
    return _series(_run(func, inputs, ignore_na, **params)[0], inputs[0])


# --- single-source, single-period ----------------------------------------------------


def sma(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib SMA."""
    return _one(talib.SMA, (close,), ignore_na, timeperiod=timeperiod)


def ema(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib EMA (seeded with the SMA of the first ``timeperiod`` values, like Pine)."""
    return _one(talib.EMA, (close,), ignore_na, timeperiod=timeperiod)


def wma(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib WMA."""
    return _one(talib.WMA, (close,), ignore_na, timeperiod=timeperiod)


def dema(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib DEMA."""
    return _one(talib.DEMA, (close,), ignore_na, timeperiod=timeperiod)


def tema(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib TEMA."""
    return _one(talib.TEMA, (close,), ignore_na, timeperiod=timeperiod)


def trima(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib TRIMA (triangular moving average)."""
    return _one(talib.TRIMA, (close,), ignore_na, timeperiod=timeperiod)


def kama(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib KAMA (Kaufman adaptive moving average)."""
    return _one(talib.KAMA, (close,), ignore_na, timeperiod=timeperiod)


def rsi(close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib RSI (Wilder; first value at index ``timeperiod`` like Pine's)."""
    return _one(talib.RSI, (close,), ignore_na, timeperiod=timeperiod)


def cmo(close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib CMO (Wilder-smoothed sums, unlike Pine's plain sums)."""
    return _one(talib.CMO, (close,), ignore_na, timeperiod=timeperiod)


def roc(close: pd.Series, timeperiod: int = 10, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib ROC: ``100 * (close / close[n] - 1)``."""
    return _one(talib.ROC, (close,), ignore_na, timeperiod=timeperiod)


def mom(close: pd.Series, timeperiod: int = 10, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib MOM: ``close - close[n]``."""
    return _one(talib.MOM, (close,), ignore_na, timeperiod=timeperiod)


def trix(close: pd.Series, timeperiod: int = 30, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib TRIX: one-bar percent ROC of the triple EMA of the price."""
    return _one(talib.TRIX, (close,), ignore_na, timeperiod=timeperiod)


def linearreg(close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib LINEARREG (= Pine ``ta.linreg(src, n, 0)``)."""
    return _one(talib.LINEARREG, (close,), ignore_na, timeperiod=timeperiod)


def stddev(close: pd.Series, timeperiod: int = 5, nbdev: float = 1.0, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib STDDEV (population standard deviation × ``nbdev``)."""
    return _one(talib.STDDEV, (close,), ignore_na, timeperiod=timeperiod, nbdev=nbdev)


def ppo(
    close: pd.Series, fastperiod: int = 12, slowperiod: int = 26, matype: int = 0, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib PPO (``matype`` 0 = SMA by default; 1 = EMA)."""
    return _one(talib.PPO, (close,), ignore_na, fastperiod=fastperiod, slowperiod=slowperiod, matype=matype)


# --- multi-output ----------------------------------------------------------------------


def macd(
    close: pd.Series, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9, *, ignore_na: bool = False
) -> MacdResult:
    """TA-Lib MACD. Unlike Pine it blanks the MACD line until the signal exists."""
    out = _run(talib.MACD, (close,), ignore_na, fastperiod=fastperiod, slowperiod=slowperiod, signalperiod=signalperiod)
    return MacdResult(*(_series(o, close) for o in out))


def bbands(
    close: pd.Series, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0, *, ignore_na: bool = False
) -> BBandsResult:
    """TA-Lib BBANDS (SMA basis, population standard deviation)."""
    out = _run(talib.BBANDS, (close,), ignore_na, timeperiod=timeperiod, nbdevup=nbdevup, nbdevdn=nbdevdn)
    return BBandsResult(*(_series(o, close) for o in out))


def stoch(
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowd_period: int = 3,
    *,
    ignore_na: bool = False,
) -> StochResult:
    """TA-Lib STOCH (slow %K and %D, SMA smoothing)."""
    out = _run(
        talib.STOCH,
        (high, low, close),
        ignore_na,
        fastk_period=fastk_period,
        slowk_period=slowk_period,
        slowd_period=slowd_period,
    )
    return StochResult(*(_series(o, close) for o in out))


def aroon(high: pd.Series, low: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False) -> AroonResult:
    """TA-Lib AROON (down, up)."""
    out = _run(talib.AROON, (high, low), ignore_na, timeperiod=timeperiod)
    return AroonResult(*(_series(o, high) for o in out))


# --- bar-based ---------------------------------------------------------------------------


def trange(high: pd.Series, low: pd.Series, close: pd.Series, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib TRANGE (na on bar 0, like Pine's ``ta.tr(false)``)."""
    return _one(talib.TRANGE, (high, low, close), ignore_na)


def atr(
    high: pd.Series, low: pd.Series, close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib ATR (Wilder; starts one bar later than Pine's ``ta.atr``)."""
    return _one(talib.ATR, (high, low, close), ignore_na, timeperiod=timeperiod)


def natr(
    high: pd.Series, low: pd.Series, close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib NATR: ``100 * ATR / close``."""
    return _one(talib.NATR, (high, low, close), ignore_na, timeperiod=timeperiod)


def adx(
    high: pd.Series, low: pd.Series, close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib ADX (Wilder sums; differs from Pine's ``ta.dmi`` during the warm-up)."""
    return _one(talib.ADX, (high, low, close), ignore_na, timeperiod=timeperiod)


def plus_di(
    high: pd.Series, low: pd.Series, close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib PLUS_DI."""
    return _one(talib.PLUS_DI, (high, low, close), ignore_na, timeperiod=timeperiod)


def minus_di(
    high: pd.Series, low: pd.Series, close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib MINUS_DI."""
    return _one(talib.MINUS_DI, (high, low, close), ignore_na, timeperiod=timeperiod)


def cci(
    high: pd.Series, low: pd.Series, close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib CCI (on the typical price ``hlc3``)."""
    return _one(talib.CCI, (high, low, close), ignore_na, timeperiod=timeperiod)


def willr(
    high: pd.Series, low: pd.Series, close: pd.Series, timeperiod: int = 14, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib WILLR (Williams %R)."""
    return _one(talib.WILLR, (high, low, close), ignore_na, timeperiod=timeperiod)


def ultosc(
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    timeperiod1: int = 7,
    timeperiod2: int = 14,
    timeperiod3: int = 28,
    *,
    ignore_na: bool = False,
) -> pd.Series:
    """TA-Lib ULTOSC (Ultimate Oscillator)."""
    periods = {"timeperiod1": timeperiod1, "timeperiod2": timeperiod2, "timeperiod3": timeperiod3}
    return _one(talib.ULTOSC, (high, low, close), ignore_na, **periods)


def sar(
    high: pd.Series, low: pd.Series, acceleration: float = 0.02, maximum: float = 0.2, *, ignore_na: bool = False
) -> pd.Series:
    """TA-Lib SAR (Parabolic SAR; starts its trend differently from Pine's ``ta.sar``)."""
    return _one(talib.SAR, (high, low), ignore_na, acceleration=acceleration, maximum=maximum)


def mfi(
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    volume: pd.Series,
    timeperiod: int = 14,
    *,
    ignore_na: bool = False,
) -> pd.Series:
    """TA-Lib MFI (on the typical price)."""
    return _one(talib.MFI, (high, low, close, volume), ignore_na, timeperiod=timeperiod)


def obv(close: pd.Series, volume: pd.Series, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib OBV (starts at bar 0's volume; Pine's ``ta.obv`` is na on bar 0)."""
    return _one(talib.OBV, (close, volume), ignore_na)


def ad(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, *, ignore_na: bool = False) -> pd.Series:
    """TA-Lib AD (Chaikin accumulation/distribution line, = Pine ``ta.accdist``)."""
    return _one(talib.AD, (high, low, close, volume), ignore_na)


def adosc(
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    volume: pd.Series,
    fastperiod: int = 3,
    slowperiod: int = 10,
    *,
    ignore_na: bool = False,
) -> pd.Series:
    """TA-Lib ADOSC (Chaikin oscillator)."""
    periods = {"fastperiod": fastperiod, "slowperiod": slowperiod}
    return _one(talib.ADOSC, (high, low, close, volume), ignore_na, **periods)
