"""Reference libraries' versions of the benchmark strategies, shared by the benchmarks."""

from __future__ import annotations

import contextlib
import io
import warnings

import pandas as pd
import talib

__all__ = ["run_backtesting_py"]


def run_backtesting_py(bars: pd.DataFrame, fast: int, slow: int, *, sma: bool = True) -> pd.Series:
    """backtesting.py on ``bars``: the SMA(fast/slow) crossover (one unit, reversing,
    next-open fills) or, with ``sma=False``, a strategy that does nothing. Returns its stats."""
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(talib.SMA, self.data.Close, fast)
            self.slow = self.I(talib.SMA, self.data.Close, slow)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy(size=1)
            elif crossover(self.slow, self.fast):
                self.sell(size=1)

    class Idle(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            pass

        def next(self) -> None:
            pass

    data = bars.rename(columns=str.capitalize).tz_localize(None)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):  # no progress bar
        warnings.simplefilter("ignore")
        test = Backtest(data, SmaCross if sma else Idle, cash=10**12, exclusive_orders=True, finalize_trades=True)
        return test.run()
