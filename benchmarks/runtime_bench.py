"""Runtime layer: bars per second through the whole event-driven runtime in backtest mode
(candle objects, event queue, simulated venue, strategy context, risk, account), with a
no-op strategy and with the SMA(10/50) crossover, side by side with backtrader and
backtesting.py running the same strategies on the same bars in the same process.

    python -m benchmarks.runtime_bench [--bars 100000] [--repeat 3]

Every engine fills market orders at the next bar's open and trades one unit, no costs;
the SMA runs' trade counts are printed so the comparison is of the same work.
"""

from __future__ import annotations

import argparse
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import ExecutionModel, Instrument
from quantbridge.datasets.synth import generate_bars
from quantbridge.runtime.backtest import BacktestConfig, BacktestResult, market_for, run_backtest
from quantbridge.runtime.registry import StrategySpec
from quantbridge.runtime.strategies import STRATEGIES
from quantbridge.runtime.strategy import Context

from .common import Row, measure, print_table
from .references import run_backtesting_py

FAST, SLOW = 10, 50
MODEL = ExecutionModel(instrument=Instrument(symbol="SYNTH", tick_size=0.01, qty_step=0.001), initial_capital=1e12)


class Noop:
    def on_candle(self, ctx: Context) -> None:
        return None


NOOP = StrategySpec(name="noop", factory=Noop, description="does nothing", window=lambda _: 1)


def _bars(n: int) -> pd.DataFrame:
    return generate_bars(start=pd.Timestamp("2000-01-01", tz="UTC"), periods=n, timeframe="1m", seed=2, tick_size=0.01)


def _ours(bars: pd.DataFrame, spec: StrategySpec) -> BacktestResult:
    params = spec.bind({"fast": FAST, "slow": SLOW} if spec.name == "sma_crossover" else {})
    config = BacktestConfig(
        strategy=spec, params=params, market=market_for(MODEL, lot_size=Decimal("0.001")), model=MODEL
    )
    return run_backtest(bars, config)


def _backtesting_py(bars: pd.DataFrame, sma: bool) -> int:
    return int(run_backtesting_py(bars, FAST, SLOW, sma=sma)["# Trades"])


def _backtrader(bars: pd.DataFrame, sma: bool) -> int:
    import backtrader as bt

    class SmaCross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=FAST), bt.ind.SMA(period=SLOW))
            self.trades = 0

        def next(self) -> None:
            if self.cross > 0:
                self.order_target_size(target=1)
            elif self.cross < 0:
                self.order_target_size(target=-1)

        def notify_trade(self, trade: object) -> None:
            self.trades += int(getattr(trade, "isclosed", False))

    class Idle(bt.Strategy):  # type: ignore[misc]
        trades = 0

        def next(self) -> None:
            pass

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars.tz_localize(None)))
    cerebro.addstrategy(SmaCross if sma else Idle)
    cerebro.broker.setcash(1e12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (strategy,) = cerebro.run()
    return int(strategy.trades)


def _warm_up(bars: pd.DataFrame) -> None:
    """First calls import and set up each library; they are not measured."""
    small = bars.iloc[:2000]
    for sma in (False, True):
        _ours(small, STRATEGIES.get("sma_crossover") if sma else NOOP)
        _backtesting_py(small, sma)
        _backtrader(small, sma)


def rows(n: int, repeat: int) -> list[Row]:
    bars = _bars(n)
    _warm_up(bars)
    out: list[Row] = []
    for label, spec, sma in (("no-op", NOOP, False), (f"SMA({FAST}/{SLOW})", STRATEGIES.get("sma_crossover"), True)):
        ours = measure(lambda s=spec: _ours(bars, s), repeat)  # type: ignore[misc]
        backtesting_s = measure(lambda s=sma: _backtesting_py(bars, s), repeat)  # type: ignore[misc]
        backtrader_s = measure(lambda s=sma: _backtrader(bars, s), repeat)  # type: ignore[misc]
        out += [
            Row(f"quantbridge runtime backtest, {label}", n, "bars", ours, "backtrader", backtrader_s),
            Row(f"quantbridge runtime backtest, {label}", n, "bars", ours, "backtesting.py", backtesting_s),
            Row(f"backtrader, {label}", n, "bars", backtrader_s),
            Row(f"backtesting.py, {label}", n, "bars", backtesting_s),
        ]
    runtime = len(_ours(bars, STRATEGIES.get("sma_crossover")).trades)
    backtrader, backtesting = _backtrader(bars, True), _backtesting_py(bars, True)
    print(f"SMA trades: runtime {runtime}, backtesting.py {backtesting}, backtrader {backtrader} (closed only)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    np.seterr(all="ignore")
    print_table(
        f"Event-driven backtests, {args.bars:,} one-minute bars (ours / ref > 1: we are slower)",
        rows(args.bars, args.repeat),
    )


if __name__ == "__main__":
    main()
