"""The catalogue's TradingView built-ins reconciled with TradingView's own trade lists.

    python -m quantbridge.validation.tradingview.builtins [--data DIR]

Simulates each built-in prototype on ``builtin_strategies/ohlcv.csv`` (the reference FX
symbol, :mod:`quantbridge.research.reference`) and reconciles its trades with the
matching ``*_trades.csv`` export, printing one row per strategy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from quantbridge.datasets.paths import reference_data_dir
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE, TRADINGVIEW_BUILTINS
from quantbridge.research.reference import reference_model
from quantbridge.research.simulator import simulate

from .reconcile import Reconciliation, reconcile
from .trade_list import read_tradingview_trades

__all__ = ["reconcile_builtin"]


def reconcile_builtin(name: str, folder: Path, bars: pd.DataFrame | None = None) -> Reconciliation:
    """Simulate built-in ``name`` on ``folder/ohlcv.csv`` and reconcile it with its export."""
    spec = CATALOGUE.get(name)
    frame = bars if bars is not None else read_bars(folder / "ohlcv.csv")
    ours = simulate(frame, spec(frame), spec.rules, reference_model(spec.model), engine="kernel").trades
    theirs = read_tradingview_trades(folder / f"{TRADINGVIEW_BUILTINS[name]}_trades.csv")
    return reconcile(ours, theirs, frame, title=f"{name} vs TradingView")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=reference_data_dir() / "tradingview" / "builtin_strategies")
    folder = parser.parse_args().data
    bars = read_bars(folder / "ohlcv.csv")
    print(f"{'prototype':22} {'TV trades':>9} {'ours':>6} {'matched':>8} {'match':>7}")
    for name in TRADINGVIEW_BUILTINS:
        result = reconcile_builtin(name, folder, bars)
        print(f"{name:22} {result.reference_trades:9d} {result.our_trades:6d} {result.matched:8d} {result.match:7.1%}")


if __name__ == "__main__":
    main()
