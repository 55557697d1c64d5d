"""A first comparison of the catalogue's TradingView built-ins with TradingView's own
trade lists (count, first entries, trade-by-trade prices, quantities, times, total P&L).

    python -m quantbridge.research.tradingview_check [--data DIR]

The full reconciliation (every export format, timezone detection, classified
differences) belongs to ``quantbridge.validation``; this reads the ISO-dated trade lists
in ``tradingview/builtin_strategies/`` only.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import ExecutionModel, Instrument
from quantbridge.datasets.paths import reference_data_dir
from quantbridge.datasets.readers import read_bars

from .catalogue import CATALOGUE, TRADINGVIEW_BUILTINS
from .simulator import simulate

__all__ = ["BuiltinComparison", "compare_builtin", "read_iso_trade_list", "reference_model"]

#: The FX symbol behind ``builtin_strategies/ohlcv.csv``: prices on a 0.00001 grid,
#: quantities on TradingView's 0.1 lot step (every sized quantity in the exports is a
#: multiple of 0.1), the trading day rolling at 17:00 New York (FX session).
REFERENCE_INSTRUMENT = Instrument(symbol="EURUSD", tick_size=0.00001, qty_step=0.1)


def reference_model(base: ExecutionModel) -> ExecutionModel:
    """``base`` (a built-in's strategy properties) on the reference FX symbol."""
    return base.model_copy(
        update={"instrument": REFERENCE_INSTRUMENT, "session_timezone": "America/New_York", "session_start": "17:00"}
    )


def read_iso_trade_list(path: Path) -> pd.DataFrame:
    """One row per trade from a TradingView list with ISO ``Date/Time`` (entry and exit
    rows paired by ``Trade #``)."""
    raw = pd.read_csv(path)
    entries = raw[raw["Type"].str.startswith("Entry")].set_index("Trade #")
    exits = raw[raw["Type"].str.startswith("Exit")].set_index("Trade #")
    return pd.DataFrame(
        {
            "side": entries["Type"].str.removeprefix("Entry ").to_numpy(),
            "entry_time": pd.to_datetime(entries["Date/Time"], utc=True).to_numpy(),
            "entry_price": entries["Price USD"].to_numpy(dtype=float),
            "quantity": entries["Position size (qty)"].to_numpy(dtype=float),
            "exit_time": pd.to_datetime(exits.loc[entries.index, "Date/Time"], utc=True).to_numpy(),
            "exit_price": exits.loc[entries.index, "Price USD"].to_numpy(dtype=float),
            "exit_signal": exits.loc[entries.index, "Signal"].to_numpy(),
            "pnl": exits.loc[entries.index, "Net P&L USD"].to_numpy(dtype=float),
            "cumulative_pnl": exits.loc[entries.index, "Cumulative P&L USD"].to_numpy(dtype=float),
        }
    )


@dataclass(frozen=True)
class BuiltinComparison:
    name: str
    reference_trades: int
    our_trades: int
    matched: int
    first_mismatch: int | None
    our_pnl: float
    reference_pnl: float

    @property
    def match(self) -> float:
        return self.matched / self.reference_trades if self.reference_trades else 1.0


def _matches(ours: pd.DataFrame, theirs: pd.DataFrame) -> np.ndarray:
    n = min(len(ours), len(theirs))
    a, b = ours.iloc[:n], theirs.iloc[:n]
    still_open = (b["exit_signal"] == "Open").to_numpy()
    exit_time_ok = (a["exit_time"].to_numpy() == b["exit_time"].to_numpy()) | still_open
    return np.asarray(
        (a["side"].to_numpy() == b["side"].to_numpy())
        & (a["entry_time"].to_numpy() == b["entry_time"].to_numpy())
        & np.isclose(a["entry_price"], b["entry_price"], rtol=0, atol=1e-9)
        & np.isclose(a["exit_price"], b["exit_price"], rtol=0, atol=1e-9)
        & np.isclose(a["quantity"], b["quantity"], rtol=1e-12, atol=0)
        & exit_time_ok
    )


def compare_builtin(name: str, folder: Path) -> BuiltinComparison:
    """Simulate prototype ``name`` on ``folder/ohlcv.csv`` and compare with its trade list."""
    spec = CATALOGUE.get(name)
    bars = read_bars(folder / "ohlcv.csv")
    result = simulate(bars, spec(bars), spec.rules, reference_model(spec.model), engine="kernel")
    theirs = read_iso_trade_list(folder / f"{TRADINGVIEW_BUILTINS[name]}_trades.csv")
    ok = _matches(result.trades, theirs)
    bad = np.flatnonzero(~ok)
    return BuiltinComparison(
        name=name,
        reference_trades=len(theirs),
        our_trades=len(result.trades),
        matched=int(ok.sum()),
        first_mismatch=int(bad[0]) if len(bad) else None,
        our_pnl=float(result.trades["pnl"].sum()),
        reference_pnl=float(theirs["cumulative_pnl"].iloc[-1]) if len(theirs) else 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=reference_data_dir() / "tradingview" / "builtin_strategies")
    folder = parser.parse_args().data
    print(f"{'prototype':22} {'TV trades':>9} {'ours':>6} {'matched':>8} {'match':>7} {'our P&L':>14} {'TV P&L*':>14}")
    for name in TRADINGVIEW_BUILTINS:
        c = compare_builtin(name, folder)
        print(
            f"{c.name:22} {c.reference_trades:9d} {c.our_trades:6d} {c.matched:8d} {c.match:7.1%} "
            f"{c.our_pnl:14.5f} {c.reference_pnl:14.5f}"
        )
    print("* TradingView's final Cumulative P&L (rounded by the export to its display precision)")


if __name__ == "__main__":
    main()
