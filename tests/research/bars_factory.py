"""Tiny hand-made bar frames for simulator specifications."""

from __future__ import annotations

import numpy as np
import pandas as pd


def bars_from(
    rows: list[tuple[float, float, float, float]], start: str = "2024-01-01", freq: str = "1h"
) -> pd.DataFrame:
    """Bars from (open, high, low, close) rows, hourly from ``start`` UTC."""
    index = pd.date_range(start, periods=len(rows), freq=freq, tz="UTC", name="open_time").as_unit("ns")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index, dtype="float64")
    frame["volume"] = 1.0
    return frame


def flat_bars(n: int, price: float = 100.0) -> pd.DataFrame:
    return bars_from([(price, price + 1, price - 1, price)] * n)


def flags(n: int, *on: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[list(on)] = True
    return out
