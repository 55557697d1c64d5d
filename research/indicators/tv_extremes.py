"""TradingView-exact window extremes: ``ta.highest``, ``ta.lowest``, their ``…bars``
offsets, ``ta.range`` and the pivots ``ta.pivothigh`` / ``ta.pivotlow``.

Windows cover the current bar and the ``length - 1`` before it (first value at index
``length - 1``); na source values are skipped like in the averages. ``…bars`` offsets
are ≤ 0 (``-k`` means ``k`` bars ago); on ties the *oldest* bar of the window wins,
as in TradingView's ``ta.highestbars``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._core import FloatArray, as_float, like, on_valid, place, windows

__all__ = [
    "highest",
    "highestbars",
    "lowest",
    "lowestbars",
    "pivothigh",
    "pivotlow",
    "range_",
]


def highest_(values: FloatArray, length: int) -> FloatArray:
    return on_valid(lambda x: place(windows(x, length).max(axis=1), length, len(x)), values)


def lowest_(values: FloatArray, length: int) -> FloatArray:
    return on_valid(lambda x: place(windows(x, length).min(axis=1), length, len(x)), values)


def extreme_offset_(values: FloatArray, length: int, pick_max: bool) -> FloatArray:
    def apply(x: FloatArray) -> FloatArray:
        w = windows(x, length)
        oldest_first = w.argmax(axis=1) if pick_max else w.argmin(axis=1)
        return place(oldest_first - (length - 1.0), length, len(x))

    return on_valid(apply, values)


def highest(source: pd.Series, length: int) -> pd.Series:
    """``ta.highest``: the highest value of the last ``length`` bars (current included)."""
    return like(highest_(as_float(source), length), source)


def lowest(source: pd.Series, length: int) -> pd.Series:
    """``ta.lowest``: the lowest value of the last ``length`` bars (current included)."""
    return like(lowest_(as_float(source), length), source)


def highestbars(source: pd.Series, length: int) -> pd.Series:
    """``ta.highestbars``: offset (≤ 0) to the highest of the last ``length`` bars;
    ties resolve to the oldest bar."""
    return like(extreme_offset_(as_float(source), length, pick_max=True), source)


def lowestbars(source: pd.Series, length: int) -> pd.Series:
    """``ta.lowestbars``: offset (≤ 0) to the lowest of the last ``length`` bars;
    ties resolve to the oldest bar."""
    return like(extreme_offset_(as_float(source), length, pick_max=False), source)


def range_(source: pd.Series, length: int) -> pd.Series:
    """``ta.range``: ``ta.highest(source, length) - ta.lowest(source, length)``."""
    x = as_float(source)
    return like(highest_(x, length) - lowest_(x, length), source)


def _pivot(values: FloatArray, left: int, right: int, pick_max: bool) -> FloatArray:
    length = left + right + 1
    x = np.where(np.isnan(values), -np.inf if pick_max else np.inf, values)
    w = windows(x, length)[:, ::-1]  # newest first: ties resolve to the newest bar
    newest_first = w.argmax(axis=1) if pick_max else w.argmin(axis=1)
    centre = w[:, right]
    is_pivot = (newest_first == right) & np.isfinite(centre)
    return place(np.where(is_pivot, centre, np.nan), length, len(x))


def pivothigh(source: pd.Series, leftbars: int, rightbars: int) -> pd.Series:
    """``ta.pivothigh``: on the bar ``rightbars`` after a pivot, the pivot's value; na
    elsewhere. The candidate must be ≥ the ``leftbars`` bars before it and strictly >
    the ``rightbars`` bars after it (an equal later bar takes the pivot over)."""
    return like(_pivot(as_float(source), leftbars, rightbars, pick_max=True), source)


def pivotlow(source: pd.Series, leftbars: int, rightbars: int) -> pd.Series:
    """``ta.pivotlow``: on the bar ``rightbars`` after a pivot, the pivot's value; na
    elsewhere. The candidate must be ≤ the ``leftbars`` bars before it and strictly <
    the ``rightbars`` bars after it."""
    return like(_pivot(as_float(source), leftbars, rightbars, pick_max=False), source)
