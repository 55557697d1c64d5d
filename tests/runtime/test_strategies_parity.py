"""The hand-written runtime strategies trade exactly like their research prototypes in the
research simulator (and, on TradingView's data, like TradingView)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.execution import ExecutionModel, Instrument, SizingType, SlippageType
from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.reference import reference_model
from quantbridge.research.simulator import simulate
from quantbridge.runtime.backtest import BacktestConfig, market_for, run_backtest
from quantbridge.runtime.strategies import STRATEGIES
from quantbridge.validation.tradingview import read_tradingview_trades, reconcile

PAIRS = [("sma_crossover", "sma_crossover"), ("rsi", "tv_rsi")]
EXACT = ("side", "entry_time", "entry_bar", "exit_bar", "bars_held", "entry_signal", "exit_reason", "is_open")
BTC = Instrument(symbol="BTCUSDT", tick_size=0.01, qty_step=0.001)
SIZED = ExecutionModel(
    instrument=BTC,
    sizing=SizingType.PERCENT_OF_EQUITY,
    size=10,
    commission=0.04,
    slippage=2,
    slippage_type=SlippageType.TICKS,
    initial_capital=100_000,
)


def assert_same_trades(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert len(ours) == len(theirs) > 0
    for column in EXACT:
        same = ours[column].to_numpy() == theirs[column].to_numpy()
        assert same.all(), f"{column}: first difference at trade {int(np.flatnonzero(~same)[0]) + 1}"
    assert np.array_equal(pd.isna(ours["exit_time"]), pd.isna(theirs["exit_time"]))
    closed = ~ours["is_open"].to_numpy()
    assert (ours["exit_time"].to_numpy()[closed] == theirs["exit_time"].to_numpy()[closed]).all()
    for column in ("entry_price", "exit_price"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=0, atol=1e-9, err_msg=column)
    np.testing.assert_allclose(ours["quantity"], theirs["quantity"], rtol=1e-12, atol=0)
    for column in ("commission", "pnl"):  # the runtime keeps money on a 1e-8 grid, the simulator in floats
        np.testing.assert_allclose(ours[column], theirs[column], rtol=0, atol=1e-6, err_msg=column)


def runtime_trades(name: str, bars: pd.DataFrame, model: ExecutionModel) -> pd.DataFrame:
    spec = STRATEGIES.get(name)
    config = BacktestConfig(strategy=spec, params=spec.bind(), market=market_for(model), model=model)
    result = run_backtest(bars, config)
    assert not result.failed and not result.notifications
    return result.trades


def research_trades(prototype: str, bars: pd.DataFrame, model: ExecutionModel) -> pd.DataFrame:
    spec = CATALOGUE.get(prototype)
    return simulate(bars, spec(bars), model=model, engine="kernel").trades


@pytest.fixture(scope="module")
def btc_bars() -> pd.DataFrame:
    return pd.read_parquet(sample_path("BTCUSDT_1h.parquet"))


@pytest.mark.parametrize("model", [ExecutionModel(instrument=BTC), SIZED], ids=["one_unit", "sized_with_costs"])
@pytest.mark.parametrize(("strategy", "prototype"), PAIRS)
def test_strategy_when_backtested_on_sample_matches_research_simulator_trade_for_trade(
    strategy: str, prototype: str, model: ExecutionModel, btc_bars: pd.DataFrame
) -> None:
    assert_same_trades(runtime_trades(strategy, btc_bars, model), research_trades(prototype, btc_bars, model))


@pytest.fixture(scope="module")
def tradingview_folder(reference_data: Path) -> Path:
    return reference_data / "tradingview" / "builtin_strategies"


@pytest.mark.reference_data
@pytest.mark.parametrize(("strategy", "prototype"), PAIRS)
def test_strategy_when_backtested_on_tradingview_bars_matches_research_simulator_trade_for_trade(
    strategy: str, prototype: str, tradingview_folder: Path
) -> None:
    bars = read_bars(tradingview_folder / "ohlcv.csv")
    model = reference_model(CATALOGUE.get(prototype).model)
    assert_same_trades(runtime_trades(strategy, bars, model), research_trades(prototype, bars, model))


@pytest.mark.reference_data
def test_rsi_strategy_when_backtested_on_tradingview_bars_matches_tradingview_trade_list(
    tradingview_folder: Path,
) -> None:
    bars = read_bars(tradingview_folder / "ohlcv.csv")
    ours = runtime_trades("rsi", bars, reference_model(CATALOGUE.get("tv_rsi").model))
    theirs = read_tradingview_trades(tradingview_folder / "rsi_trades.csv")
    result = reconcile(ours, theirs, bars)
    assert (result.reference_trades, result.our_trades, result.matched) == (194, 194, 194)
    assert result.match == 1.0
