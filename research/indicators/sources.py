"""Pine's built-in price sources computed from a bars frame.

``hl2 = (high + low) / 2``, ``hlc3 = (high + low + close) / 3``,
``ohlc4 = (open + high + low + close) / 4``, ``hlcc4 = (high + low + 2 * close) / 4``;
``open/high/low/close/volume`` are the columns themselves (as float).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pandas as pd

__all__ = ["SOURCES", "hl2", "hlc3", "hlcc4", "ohlc4", "source"]


def hl2(bars: pd.DataFrame) -> pd.Series:
    """``(high + low) / 2``."""
    return ((bars["high"] + bars["low"]) / 2).rename("hl2")


def hlc3(bars: pd.DataFrame) -> pd.Series:
    """``(high + low + close) / 3``."""
    return ((bars["high"] + bars["low"] + bars["close"]) / 3).rename("hlc3")


def ohlc4(bars: pd.DataFrame) -> pd.Series:
    """``(open + high + low + close) / 4``."""
    return ((bars["open"] + bars["high"] + bars["low"] + bars["close"]) / 4).rename("ohlc4")


def hlcc4(bars: pd.DataFrame) -> pd.Series:
    """``(high + low + close + close) / 4``."""
    return ((bars["high"] + bars["low"] + bars["close"] + bars["close"]) / 4).rename("hlcc4")


def _column(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    def get(bars: pd.DataFrame) -> pd.Series:
        return bars[name].astype("float64").rename(name)

    get.__doc__ = f"The ``{name}`` column."
    return get


#: Every Pine source name and how to compute it from bars.
SOURCES: Final[dict[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "open": _column("open"),
    "high": _column("high"),
    "low": _column("low"),
    "close": _column("close"),
    "volume": _column("volume"),
    "hl2": hl2,
    "hlc3": hlc3,
    "ohlc4": ohlc4,
    "hlcc4": hlcc4,
}


def source(bars: pd.DataFrame, name: str) -> pd.Series:
    """The Pine source ``name`` (``"close"``, ``"hl2"``, …) of ``bars``."""
    try:
        return SOURCES[name](bars)
    except KeyError:
        raise ValueError(f"unknown Pine source {name!r}; expected one of {', '.join(SOURCES)}") from None
