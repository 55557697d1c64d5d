"""TradingView-exact event functions: ``ta.cross``, ``ta.crossover``, ``ta.crossunder``,
``ta.rising``, ``ta.falling``, ``ta.valuewhen`` and ``ta.barssince``.

Pine has no na booleans: the predicates are false wherever they cannot be decided.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._core import FloatArray, as_float, like

__all__ = ["barssince", "cross", "crossover", "crossunder", "falling", "rising", "valuewhen"]

BoolArray = npt.NDArray[np.bool_]


def _previous_defined(flags: BoolArray, defined: BoolArray) -> BoolArray:
    """``flags`` as of the last earlier bar where ``defined`` holds (false before)."""
    held = pd.Series(np.where(defined, flags, np.nan)).ffill().shift(1)
    return held.fillna(0.0).to_numpy(dtype=bool)


def _cross_arrays(a: FloatArray, b: FloatArray, over: bool) -> BoolArray:
    defined = ~np.isnan(a) & ~np.isnan(b)
    with np.errstate(invalid="ignore"):
        now = (a > b) if over else (a < b)
        before = _previous_defined((a <= b) if over else (a >= b), defined)
    return now & before & defined


def _as_bool(values: BoolArray, template: pd.Series) -> pd.Series:
    return pd.Series(values, index=template.index)


def crossover(source1: pd.Series, source2: pd.Series | float) -> pd.Series:
    """``ta.crossover``: ``source1 > source2`` now and ``source1 <= source2`` on the last
    earlier bar where both were defined (false on the first such bar)."""
    a, b = _pair(source1, source2)
    return _as_bool(_cross_arrays(a, b, over=True), source1)


def crossunder(source1: pd.Series, source2: pd.Series | float) -> pd.Series:
    """``ta.crossunder``: ``source1 < source2`` now and ``source1 >= source2`` on the
    last earlier bar where both were defined."""
    a, b = _pair(source1, source2)
    return _as_bool(_cross_arrays(a, b, over=False), source1)


def cross(source1: pd.Series, source2: pd.Series | float) -> pd.Series:
    """``ta.cross``: :func:`crossover` or :func:`crossunder`."""
    a, b = _pair(source1, source2)
    return _as_bool(_cross_arrays(a, b, over=True) | _cross_arrays(a, b, over=False), source1)


def _pair(source1: pd.Series, source2: pd.Series | float) -> tuple[FloatArray, FloatArray]:
    a = as_float(source1)
    if isinstance(source2, pd.Series):
        return a, as_float(source2)
    return a, np.full_like(a, float(source2))


def _streak(values: FloatArray, length: int, up: bool) -> BoolArray:
    x = values[~np.isnan(values)]
    step = np.diff(x) > 0 if up else np.diff(x) < 0
    # a run of ``length`` consecutive strict moves ending at each bar
    run = np.convolve(np.concatenate([[False], step]).astype(np.int64), np.ones(length, dtype=np.int64))[: len(x)]
    out = np.zeros(len(values), dtype=bool)
    out[~np.isnan(values)] = run >= length
    return out


def rising(source: pd.Series, length: int) -> pd.Series:
    """``ta.rising``: the (non-na) source rose strictly on each of the last ``length``
    bars, i.e. ``src > src[1] > … > src[length]``. (Pine's manual says "greater than any
    previous source for length bars back"; TradingView's values are the consecutive
    streak — checked on its capture, where the two readings disagree.)"""
    return _as_bool(_streak(as_float(source), length, up=True), source)


def falling(source: pd.Series, length: int) -> pd.Series:
    """``ta.falling``: the (non-na) source fell strictly on each of the last ``length``
    bars."""
    return _as_bool(_streak(as_float(source), length, up=False), source)


def valuewhen(condition: pd.Series, source: pd.Series, occurrence: int) -> pd.Series:
    """``ta.valuewhen``: ``source`` on the ``occurrence``-th most recent bar (0 = the
    latest, the current bar included) where ``condition`` was true; na before that many
    occurrences. An na source on a true bar is returned as na and still counts."""
    flags = condition.to_numpy(dtype=bool, na_value=False)
    src = as_float(source)
    hits = np.flatnonzero(flags)
    count = np.cumsum(flags)
    wanted = count - 1 - occurrence
    out = np.full(len(src), np.nan)
    ok = wanted >= 0
    out[ok] = src[hits[wanted[ok]]]
    return like(out, source)


def barssince(condition: pd.Series) -> pd.Series:
    """``ta.barssince``: bars since ``condition`` was last true (0 on a true bar); na
    before the first true bar."""
    flags = condition.to_numpy(dtype=bool, na_value=False)
    positions = np.where(flags, np.arange(len(flags)), -1)
    last = np.maximum.accumulate(positions) if len(flags) else positions
    out = np.where(last >= 0, np.arange(len(flags)) - last, np.nan).astype(np.float64)
    return pd.Series(out, index=condition.index)
