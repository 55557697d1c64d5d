"""The simulator against two oracles: vectorbt (same process, hypothesis-generated
signals) and backtesting.py (a plain crossover, trade for trade)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantbridge.datasets.execution import CommissionType, ExecutionModel, Timing
from quantbridge.datasets.synth import generate_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.rules import PositionRules
from quantbridge.research.signals import Signals
from quantbridge.research.simulator import simulate

COMPARED = ["side", "entry_bar", "exit_bar", "entry_price", "exit_price", "quantity", "exit_reason", "is_open"]


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return generate_bars(start=pd.Timestamp("2024-01-01", tz="UTC"), periods=400, timeframe="1h", seed=11)


def plain_signals(index: pd.DatetimeIndex, seed: int, density: float) -> Signals:
    """At most one action per bar (vectorbt books an exit and an opposite entry on one
    bar as a single reversal, Pine as two orders; the simulator refuses vectorbt then)."""
    rng = np.random.default_rng(seed)
    action = np.where(rng.random(len(index)) < density * 4, rng.integers(0, 4, len(index)), -1)
    return Signals.build(
        index, long_entry=action == 0, long_exit=action == 1, short_entry=action == 2, short_exit=action == 3
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    density=st.sampled_from([0.01, 0.05, 0.2]),
    timing=st.sampled_from(list(Timing)),
    commission=st.sampled_from([0.0, 0.1]),
    commission_type=st.sampled_from([CommissionType.PERCENT, CommissionType.PER_ORDER]),
    size=st.sampled_from([1.0, 0.5, 3.0]),
)
def test_kernel_when_signals_are_plain_matches_vectorbt_trade_for_trade(
    bars: pd.DataFrame,
    seed: int,
    density: float,
    timing: Timing,
    commission: float,
    commission_type: CommissionType,
    size: float,
) -> None:
    signals = plain_signals(pd.DatetimeIndex(bars.index), seed, density)
    model = ExecutionModel(timing=timing, commission=commission, commission_type=commission_type, size=size)
    ours = simulate(bars, signals, model=model, engine="kernel")
    oracle = simulate(bars, signals, model=model, engine="vectorbt")
    assert len(ours.trades) == len(oracle.trades)
    pd.testing.assert_frame_equal(ours.trades[COMPARED], oracle.trades[COMPARED], check_dtype=False, atol=1e-9, rtol=0)
    np.testing.assert_allclose(ours.trades["pnl"], oracle.trades["pnl"], atol=1e-9, rtol=1e-12)
    np.testing.assert_allclose(ours.equity.to_numpy(), oracle.equity.to_numpy(), atol=1e-6, rtol=1e-12)


def test_auto_engine_when_rules_present_uses_kernel(bars: pd.DataFrame) -> None:
    signals = plain_signals(pd.DatetimeIndex(bars.index), 1, 0.05)
    assert simulate(bars, signals).engine == "vectorbt"
    assert simulate(bars, signals, PositionRules(stop_loss_pct=2)).engine == "kernel"


def test_vectorbt_engine_when_semantics_not_expressible_refuses(bars: pd.DataFrame) -> None:
    both = np.zeros(len(bars), dtype=bool)
    both[5] = True
    signals = Signals.build(pd.DatetimeIndex(bars.index), long_exit=both, short_entry=both)
    with pytest.raises(ValueError, match="vectorbt cannot express"):
        simulate(bars, signals, engine="vectorbt")


def backtesting_trades(bars: pd.DataFrame, fast: int, slow: int) -> pd.DataFrame:
    import talib
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

    data = bars.rename(columns=str.capitalize).tz_localize(None)
    test = Backtest(data, SmaCross, cash=1_000_000, commission=0.0, exclusive_orders=True, finalize_trades=True)
    return test.run()["_trades"]


# backtesting.py 0.6 calls pandas APIs that pandas 3 deprecates; the warnings are theirs.
@pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::pandas.errors.Pandas4Warning"
)
def test_simulator_when_plain_crossover_matches_backtesting_py_trade_for_trade(bars: pd.DataFrame) -> None:
    signals = CATALOGUE.get("sma_crossover")(bars, fast=10, slow=30)
    ours = simulate(bars, signals, engine="kernel").trades
    theirs = backtesting_trades(bars, 10, 30)
    assert len(ours) == len(theirs) > 10
    np.testing.assert_array_equal(ours["entry_bar"], theirs["EntryBar"])
    np.testing.assert_allclose(ours["entry_price"], theirs["EntryPrice"], rtol=1e-12)
    np.testing.assert_array_equal(np.where(ours["side"] == "long", 1, -1), np.sign(theirs["Size"]))
    # A trade still open at the end: we mark it at the last close (TradingView's "Open"
    # row); backtesting.py's finalize_trades closes it a bar earlier. Compare closed ones.
    closed = ~ours["is_open"].to_numpy()
    assert closed.sum() == len(ours) - 1
    np.testing.assert_array_equal(ours["exit_bar"][closed], theirs["ExitBar"][closed])
    np.testing.assert_allclose(ours["exit_price"][closed], theirs["ExitPrice"][closed], rtol=1e-12)
    np.testing.assert_allclose(ours["pnl"][closed], theirs["PnL"][closed], atol=1e-9)
