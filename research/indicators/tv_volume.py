"""TradingView-exact volume indicators: the ``ta.accdist``, ``ta.obv``, ``ta.pvt``,
``ta.nvi``, ``ta.pvi``, ``ta.wad``, ``ta.wvad``, ``ta.iii`` variables, ``ta.vwap`` (anchored,
with bands) and the built-ins "Chaikin Money Flow" and "Elder Force Index"."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._core import FloatArray, as_float, jit, like, rolling_sum, shift
from .tv_ma import ema_
from .tv_oscillators import change_

__all__ = [
    "Vwap",
    "accdist",
    "cmf",
    "efi",
    "iii",
    "nvi",
    "obv",
    "pvi",
    "pvt",
    "vwap",
    "wad",
    "wvad",
]


class Vwap(NamedTuple):
    """``ta.vwap(source, anchor, stdev_mult)`` outputs."""

    vwap: pd.Series
    upper_band: pd.Series
    lower_band: pd.Series


def _cum(values: FloatArray) -> FloatArray:
    """``ta.cum``: running sum of the non-na values, na before the first."""
    out = np.nancumsum(values)
    valid = ~np.isnan(values)
    out[: int(np.argmax(valid)) if valid.any() else len(values)] = np.nan
    return out


def _money_flow_multiplier(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    flat = ((close == high) & (close == low)) | (high == low)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flat, 0.0, (2.0 * close - low - high) / (high - low))


def accdist(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series) -> pd.Series:
    """``ta.accdist``: ``ta.cum(mfm * volume)`` with the money-flow multiplier
    ``mfm = (2 * close - low - high) / (high - low)``, 0 on a bar with no range."""
    mfm = _money_flow_multiplier(as_float(high), as_float(low), as_float(close))
    return like(_cum(mfm * as_float(volume)), close)


def obv(close: pd.Series, volume: pd.Series) -> pd.Series:
    """``ta.obv``: ``ta.cum(sign(ta.change(close)) * volume)`` — na on bar 0."""
    return like(_cum(np.sign(change_(as_float(close))) * as_float(volume)), close)


def pvt(close: pd.Series, volume: pd.Series) -> pd.Series:
    """``ta.pvt``: ``ta.cum(ta.change(close) / close[1] * volume)`` — na on bar 0."""
    x = as_float(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like(_cum(change_(x) / shift(x) * as_float(volume)), close)


@jit
def _volume_index(close: FloatArray, volume: FloatArray, positive: bool) -> FloatArray:
    # Pine's reference: prev = nz(index[1]) == 0 ? 1 : index[1]; unchanged when close
    # or close[1] is 0/na; else, when volume moved the right way versus nz(volume[1]),
    # index = prev + (close - close[1]) / close[1] * prev.
    n = len(close)
    out = np.empty(n)
    prev_close = 0.0
    prev_volume = 0.0
    prev = 1.0
    for i in range(n):
        c = 0.0 if np.isnan(close[i]) else close[i]
        moved = volume[i] > prev_volume if positive else volume[i] < prev_volume
        if c != 0.0 and prev_close != 0.0 and moved:
            prev = prev + ((close[i] - prev_close) / prev_close) * prev
        out[i] = prev
        prev_close = c
        prev_volume = 0.0 if np.isnan(volume[i]) else volume[i]
    return out


def nvi(close: pd.Series, volume: pd.Series) -> pd.Series:
    """``ta.nvi`` (Negative Volume Index): starts at 1 and moves by the close's relative
    change only on bars whose volume fell."""
    return like(_volume_index(as_float(close), as_float(volume), False), close)


def pvi(close: pd.Series, volume: pd.Series) -> pd.Series:
    """``ta.pvi`` (Positive Volume Index): starts at 1 and moves by the close's relative
    change only on bars whose volume rose."""
    return like(_volume_index(as_float(close), as_float(volume), True), close)


def wad(high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    """``ta.wad`` (Williams Accumulation/Distribution): ``ta.cum(gain)`` with ``gain =
    close - min(low, close[1])`` on an up close, ``close - max(high, close[1])`` on a down
    close, else 0 (bar 0 included, so it starts at 0)."""
    hi, lo, cl = as_float(high), as_float(low), as_float(close)
    prev = shift(cl)
    mom = change_(cl)
    with np.errstate(invalid="ignore"):
        gain = np.where(mom > 0, cl - np.minimum(lo, prev), np.where(mom < 0, cl - np.maximum(hi, prev), 0.0))
    return like(_cum(gain), close)


def wvad(open_: pd.Series, high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series) -> pd.Series:
    """``ta.wvad`` (Williams Variable Accumulation/Distribution, per bar):
    ``(close - open) / (high - low) * volume``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (as_float(close) - as_float(open_)) / (as_float(high) - as_float(low)) * as_float(volume)
    return like(out, close)


def iii(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series) -> pd.Series:
    """``ta.iii`` (Intraday Intensity Index): ``(2 * close - high - low) / ((high - low)
    * volume)``."""
    hi, lo = as_float(high), as_float(low)
    with np.errstate(divide="ignore", invalid="ignore"):
        return like((2.0 * as_float(close) - hi - lo) / ((hi - lo) * as_float(volume)), close)


@jit
def _anchored_sums(
    weighted: FloatArray, weights: FloatArray, squares: FloatArray, anchor: npt.NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = len(weights)
    sums = np.full((3, n), np.nan)
    started = False
    a = b = c = 0.0
    for i in range(n):
        if anchor[i]:
            started = True
            a = b = c = 0.0
        if started:
            a += weighted[i]
            b += weights[i]
            c += squares[i]
            sums[0, i], sums[1, i], sums[2, i] = a, b, c
    return sums[0], sums[1], sums[2]


def vwap(source: pd.Series, volume: pd.Series, anchor: pd.Series, stdev_mult: float | None = None) -> Vwap:
    """``ta.vwap(source, anchor, stdev_mult)``: ``Σ src·vol / Σ vol`` since the last bar
    where ``anchor`` is true (na before the first one); the bands are ``vwap ± stdev_mult
    * sqrt(max(Σ vol·src² / Σ vol - vwap², 0))`` (volume-weighted standard deviation).
    Without ``stdev_mult`` the bands are na. Pine's default anchor is the start of each
    trading day *including bar 0* — see :func:`~.sessions.new_period`."""
    src, vol = as_float(source), as_float(volume)
    flags = anchor.to_numpy(dtype=bool)
    weighted, total, squares = _anchored_sums(src * vol, vol, src * src * vol, flags)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = weighted / total
        dev = np.sqrt(np.maximum(squares / total - mean * mean, 0.0))
    mult = np.nan if stdev_mult is None else stdev_mult
    return Vwap(like(mean, source), like(mean + mult * dev, source), like(mean - mult * dev, source))


def cmf(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, length: int = 20) -> pd.Series:
    """Built-in "Chaikin Money Flow": ``math.sum(mfm * volume, length) /
    math.sum(volume, length)`` (``mfm`` as in :func:`accdist`)."""
    vol = as_float(volume)
    mfm = _money_flow_multiplier(as_float(high), as_float(low), as_float(close))
    with np.errstate(divide="ignore", invalid="ignore"):
        return like(rolling_sum(mfm * vol, length) / rolling_sum(vol, length), close)


def efi(close: pd.Series, volume: pd.Series, length: int = 13) -> pd.Series:
    """Built-in "Elder Force Index": ``ta.ema(ta.change(close) * volume, length)``."""
    return like(ema_(change_(as_float(close)) * as_float(volume), length), close)
