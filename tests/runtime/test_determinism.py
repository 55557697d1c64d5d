"""Same inputs and configuration give byte-identical outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel, Instrument, SizingType
from quantbridge.datasets.paths import sample_path
from quantbridge.runtime.backtest import BacktestConfig, market_for, run_backtest, run_backtest_on_ticks, write_outputs
from quantbridge.runtime.strategies import STRATEGIES

MODEL = ExecutionModel(
    instrument=Instrument(symbol="BTCUSDT", tick_size=0.01, qty_step=0.001),
    sizing=SizingType.PERCENT_OF_EQUITY,
    size=25,
    commission=0.05,
    slippage=1,
)
NAMES = ("trades.csv", "equity.csv", "metrics.json")


def config(name: str, **params: object) -> BacktestConfig:
    spec = STRATEGIES.get(name)
    return BacktestConfig(strategy=spec, params=spec.bind(params), market=market_for(MODEL), model=MODEL)


def outputs(result: object, folder: Path) -> dict[str, bytes]:
    paths = write_outputs(result, folder, report=False)  # type: ignore[arg-type]
    return {name: paths[name].read_bytes() for name in NAMES}


def test_backtest_when_run_twice_on_bars_writes_byte_identical_outputs(tmp_path: Path) -> None:
    bars = pd.read_parquet(sample_path("BTCUSDT_1h.parquet"))
    first = outputs(run_backtest(bars, config("sma_crossover", fast=5, slow=30)), tmp_path / "a")
    second = outputs(run_backtest(bars, config("sma_crossover", fast=5, slow=30)), tmp_path / "b")
    assert first == second
    assert first["trades.csv"].count(b"\n") > 100


def test_backtest_when_run_twice_on_ticks_writes_byte_identical_outputs(tmp_path: Path) -> None:
    ticks = pd.read_parquet(sample_path("BTCUSDT_trades_1d.parquet")).iloc[:25_000]
    interval = pd.Timedelta(minutes=5)
    runs = [run_backtest_on_ticks(ticks, config("sma_crossover", fast=3, slow=12), interval=interval) for _ in "ab"]
    first, second = (outputs(result, tmp_path / name) for result, name in zip(runs, "ab", strict=True))
    assert first == second
    assert first["trades.csv"].count(b"\n") > 5
