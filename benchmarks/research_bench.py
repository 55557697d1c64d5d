"""Research layer: the SMA crossover through our simulator vs vectorbt alone vs
backtesting.py on the same bars in one process, and a 100-combination sweep.

    python -m benchmarks.research_bench [--bars 1000000] [--sweep-bars 100000]

Every engine fills at the next bar's open, trades one unit, no costs. Numba's and
vectorbt's first-call compilation is excluded (each is warmed on a small frame first).
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import pandas as pd

from quantbridge.datasets.synth import generate_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.simulator import simulate

from .common import Row, measure, print_table
from .references import run_backtesting_py

FAST, SLOW = 10, 50


def _bars(n: int) -> pd.DataFrame:
    return generate_bars(start=pd.Timestamp("2000-01-01", tz="UTC"), periods=n, timeframe="1m", seed=2)


def _vectorbt_alone(bars: pd.DataFrame, fast: int | list[int], slow: int | list[int]) -> object:
    """The idiomatic vectorbt crossover, next-open fills (signals shifted, priced at open)."""
    import vectorbt as vbt

    close = pd.Series(bars["close"].to_numpy(), index=pd.DatetimeIndex(bars.index).tz_localize(None))
    fast_ma = vbt.MA.run(close, fast, short_name="fast")
    slow_ma = vbt.MA.run(close, slow, short_name="slow")
    entries = fast_ma.ma_crossed_above(slow_ma).vbt.fshift(1)
    exits = fast_ma.ma_crossed_below(slow_ma).vbt.fshift(1)
    return vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        short_entries=exits,
        short_exits=entries,
        price=pd.Series(bars["open"].to_numpy(), index=close.index),
        size=1.0,
        upon_opposite_entry="reverse",
    )


def _backtesting_py(bars: pd.DataFrame) -> object:
    return run_backtesting_py(bars, FAST, SLOW)


def _ours(bars: pd.DataFrame, engine: str) -> object:
    signals = CATALOGUE.get("sma_crossover")(bars, fast=FAST, slow=SLOW)
    return simulate(bars, signals, engine=engine)


def crossover_rows(n: int) -> list[Row]:
    bars = _bars(n)
    warm = bars.iloc[:2000]
    _ours(warm, "kernel"), _ours(warm, "vectorbt"), _vectorbt_alone(warm, FAST, SLOW)
    vbt_seconds = measure(lambda: _vectorbt_alone(bars, FAST, SLOW))
    bt_seconds = measure(lambda: _backtesting_py(bars), repeat=1)
    rows = [Row("vectorbt alone (MA.run + from_signals)", n, "bars", vbt_seconds)]
    for engine in ("kernel", "vectorbt"):
        seconds = measure(lambda e=engine: _ours(bars, e))  # type: ignore[misc]
        rows.append(
            Row(f"simulate(engine={engine}) incl. prototype", n, "bars", seconds, "vectorbt alone", vbt_seconds)
        )
        rows.append(Row(f"simulate(engine={engine}) incl. prototype", n, "bars", seconds, "backtesting.py", bt_seconds))
    rows.append(Row("backtesting.py Backtest.run", n, "bars", bt_seconds))
    return rows


def sweep_rows(n: int) -> list[Row]:
    bars = _bars(n)
    fasts, slows = list(range(5, 55, 5)), list(range(60, 260, 20))
    combos = list(itertools.product(fasts, slows))
    spec = CATALOGUE.get("sma_crossover")

    def ours() -> None:
        for fast, slow in combos:
            simulate(bars, spec(bars, fast=fast, slow=slow), engine="kernel")

    def vectorbt_broadcast() -> None:
        fast_list, slow_list = zip(*combos, strict=True)
        _vectorbt_alone(bars, list(fast_list), list(slow_list))

    _vectorbt_alone(bars.iloc[:2000], [5, 10], [60, 80])
    vbt_seconds = measure(vectorbt_broadcast, repeat=1)
    ours_seconds = measure(ours, repeat=1)
    return [
        Row(
            "sweep: 100 × simulate(kernel), one process",
            len(combos),
            "combos",
            ours_seconds,
            "vectorbt broadcast",
            vbt_seconds,
        ),
        Row("sweep: vectorbt broadcast (100 columns)", len(combos), "combos", vbt_seconds),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--sweep-bars", type=int, default=100_000)
    args = parser.parse_args()
    np.seterr(all="ignore")
    print_table(f"SMA({FAST}/{SLOW}) crossover, {args.bars:,} bars", crossover_rows(args.bars))
    print_table(f"100-combination SMA sweep, {args.sweep_bars:,} bars", sweep_rows(args.sweep_bars))


if __name__ == "__main__":
    main()
