"""What can be read off the data about the instrument it prices."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["infer_tick_size"]


def infer_tick_size(bars: pd.DataFrame, max_decimals: int = 10) -> float:
    """The coarsest power-of-ten grid all OHLC prices lie on (1.13734 → 1e-5).

    A decimal grid is what chart exports and exchange klines print; symbols quoted in
    fractions of other steps (a 0.25 future) come out at their decimal resolution
    (0.01), so pass the real tick size when you know it.
    """
    prices = bars[["open", "high", "low", "close"]].to_numpy(dtype=np.float64).ravel()
    prices = prices[np.isfinite(prices)]
    if len(prices) == 0:
        raise ValueError("no finite prices to infer a tick size from")
    for decimals in range(max_decimals + 1):
        scaled = prices * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return float(10.0**-decimals)
    return float(10.0**-max_decimals)
