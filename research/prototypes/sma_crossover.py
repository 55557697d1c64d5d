"""The hello-world prototype: long when a fast SMA crosses above a slow one, short when
it crosses below (always in the market, like a Pine script with two strategy.entry calls)."""

from __future__ import annotations

import pandas as pd
import talib

from ..registry import Param, PrototypeSpec
from ..signals import Signals
from ._common import crossover, crossunder

__all__ = ["SPEC", "sma_crossover"]


def sma_crossover(bars: pd.DataFrame, fast: int = 10, slow: int = 50, allow_short: bool = True) -> Signals:
    """Cross of two simple moving averages of the close (TA-Lib SMA; identical to
    TradingView's ``ta.sma``)."""
    if fast >= slow:
        raise ValueError(f"fast ({fast}) must be shorter than slow ({slow})")
    close = bars["close"].to_numpy(dtype="float64")
    fast_ma = talib.SMA(close, fast)
    slow_ma = talib.SMA(close, slow)
    up = crossover(fast_ma, slow_ma)
    down = crossunder(fast_ma, slow_ma)
    return Signals.build(
        pd.DatetimeIndex(bars.index),
        long_entry=up,
        long_exit=down if not allow_short else None,
        short_entry=down if allow_short else None,
        long_name="SmaLE",
        short_name="SmaSE",
        indicators={"fast": pd.Series(fast_ma, index=bars.index), "slow": pd.Series(slow_ma, index=bars.index)},
    )


SPEC = PrototypeSpec(
    name="sma_crossover",
    function=sma_crossover,
    description="Fast/slow SMA crossover, long and (optionally) short.",
    params=(
        Param("fast", 10, low=2, high=500, help="fast SMA length"),
        Param("slow", 50, low=3, high=2000, help="slow SMA length"),
        Param("allow_short", True, help="go short on a cross down (else just exit)"),
    ),
    lookback=lambda p: int(p["slow"]) + 1,
)
