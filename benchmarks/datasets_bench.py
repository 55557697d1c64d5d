"""Datasets layer: read 1M bars (Parquet, CSV), validate 1M bars, generate 10M ticks.

Each reader is compared with the plain pandas call it wraps (same file, same process),
so the table shows what parsing, time checks and validation cost on top.

    python -m benchmarks.datasets_bench [--bars 1000000] [--ticks 10000000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from quantbridge.datasets.readers import read_bars
from quantbridge.datasets.synth import generate_bars, generate_trades
from quantbridge.datasets.validation import validate_bars

from .common import Row, measure, print_table


def _bars(n: int) -> pd.DataFrame:
    return generate_bars(start=pd.Timestamp("2000-01-01", tz="UTC"), periods=n, timeframe="1m", seed=1)


def _files(bars: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    parquet = folder / "bars.parquet"
    csv = folder / "bars.csv"
    bars.to_parquet(parquet)
    out = bars.reset_index()
    out["open_time"] = out["open_time"].astype("int64") // 10**9
    out.rename(columns={"open_time": "time"}).to_csv(csv, index=False)
    return parquet, csv


def run(n_bars: int, n_ticks: int) -> list[Row]:
    bars = _bars(n_bars)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        parquet, csv = _files(bars, Path(tmp))
        rows.append(
            Row(
                "read_bars Parquet (validated)",
                n_bars,
                "bars",
                measure(lambda: read_bars(parquet)),
                "pandas.read_parquet",
                measure(lambda: pd.read_parquet(parquet)),
            )
        )
        rows.append(
            Row(
                "read_bars CSV epoch s (validated)",
                n_bars,
                "bars",
                measure(lambda: read_bars(csv), repeat=1),
                "pandas.read_csv",
                measure(lambda: pd.read_csv(csv), repeat=1),
            )
        )
    rows.append(Row("validate_bars", n_bars, "bars", measure(lambda: validate_bars(bars))))
    rows.append(_tick_row(n_ticks))
    return rows


def _tick_row(n_ticks: int) -> Row:
    """generate_trades over enough days for ``n_ticks`` (the default model prints about
    173k trades a day), timed once."""
    start = pd.Timestamp("2024-01-01", tz="UTC")
    end = start + pd.Timedelta(days=max(1, round(n_ticks / 173_000)))
    produced: list[int] = []

    def generate() -> None:
        produced.append(len(generate_trades(start=start, end=end, seed=3)))

    seconds = measure(generate, repeat=1)
    return Row("generate_trades (Hawkes arrivals)", produced[-1], "ticks", seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=10_000_000)
    args = parser.parse_args()
    print_table("datasets: read, validate, generate", run(args.bars, args.ticks))


if __name__ == "__main__":
    main()
