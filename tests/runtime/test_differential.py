"""Differential test: the runtime (a strategy placing orders through its context, the
simulated venue filling them) and the research simulator (the same decisions as Signals)
produce the same trades on random bars — market entries and exits, one-bar stop
entries, reversals, pyramiding, both fill timings, ties in the bar path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantbridge.datasets.execution import CommissionType, ExecutionModel, Instrument, Timing
from quantbridge.research.signals import Signals
from quantbridge.research.simulator import simulate
from quantbridge.runtime.backtest import run_backtest
from quantbridge.runtime.components.margin import MarginConfig
from quantbridge.runtime.strategy import Context

from .helpers import config_for
from .test_strategies_parity import assert_same_trades

N = 40
MODELS = {
    "next_open": ExecutionModel(instrument=Instrument(tick_size=0.01, qty_step=0.001)),
    "bar_close": ExecutionModel(instrument=Instrument(tick_size=0.01, qty_step=0.001), timing=Timing.BAR_CLOSE),
    "pyramiding_costs": ExecutionModel(
        instrument=Instrument(tick_size=0.01, qty_step=0.001),
        pyramiding=3,
        commission=0.1,
        commission_type=CommissionType.PERCENT,
    ),
}


@st.composite
def random_bars(draw: st.DrawFn) -> pd.DataFrame:
    """Integer prices (ties in the bar path are common), valid OHLC."""
    steps = draw(st.lists(st.integers(-3, 3), min_size=N, max_size=N))
    gaps = draw(st.lists(st.integers(-2, 2), min_size=N, max_size=N))
    wicks = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=N, max_size=N))
    rows, close = [], 100
    for step, gap, (up, down) in zip(steps, gaps, wicks, strict=True):
        open_ = close + gap
        close = max(open_ + step, 50)
        rows.append((open_, max(open_, close) + up, min(open_, close) - down, close))
    index = pd.date_range("2024-01-01", periods=N, freq="1h", tz="UTC", name="open_time").as_unit("ns")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index, dtype="float64")
    frame["volume"] = 1.0
    return frame


@st.composite
def random_signals(draw: st.DrawFn) -> dict[str, np.ndarray]:
    def flags(p: float) -> np.ndarray:
        return np.array(draw(st.lists(st.booleans(), min_size=N, max_size=N))) & (
            np.array(draw(st.lists(st.floats(0, 1), min_size=N, max_size=N))) < p
        )

    stop = np.array(draw(st.lists(st.integers(-3, 3), min_size=N, max_size=N)), dtype=float)
    return {
        "long_entry": flags(0.5),
        "short_entry": flags(0.3),
        "long_exit": flags(0.3),
        "short_exit": flags(0.3),
        "stop_offset": np.where(flags(0.5), stop, np.nan),
    }


class SignalScript:
    """Places, on each bar, the orders the Signals row describes (Pine semantics)."""

    def __init__(self, signals: dict[str, np.ndarray], closes: np.ndarray) -> None:
        self.s = signals
        self.closes = closes

    def on_candle(self, ctx: Context) -> None:
        i, side = ctx.bars.index, ctx.position.side.sign
        if (self.s["long_exit"][i] and side > 0) or (self.s["short_exit"][i] and side < 0):
            ctx.close()
        stop = self.closes[i] + self.s["stop_offset"][i]
        if self.s["long_entry"][i]:
            ctx.buy(stop=stop, good_for=1) if not np.isnan(stop) else ctx.buy()
        if self.s["short_entry"][i]:
            ctx.sell()


@pytest.mark.parametrize("name", sorted(MODELS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bars=random_bars(), signals=random_signals())
def test_runtime_when_given_random_orders_trades_like_the_research_simulator(
    name: str, bars: pd.DataFrame, signals: dict[str, np.ndarray]
) -> None:
    model = MODELS[name]
    closes = bars["close"].to_numpy()
    long_stop = closes + signals["stop_offset"]
    research = simulate(
        bars,
        Signals.build(
            pd.DatetimeIndex(bars.index),
            long_entry=signals["long_entry"],
            long_exit=signals["long_exit"],
            short_entry=signals["short_entry"],
            short_exit=signals["short_exit"],
            long_entry_stop=np.where(signals["long_entry"], long_stop, np.nan),
        ),
        model=model,
        engine="kernel",
    ).trades
    config = config_for(SignalScript(signals, closes), model, margin=MarginConfig(leverage=100, maintenance_rate=0))  # type: ignore[arg-type]
    ours = run_backtest(bars, config).trades
    if research.empty:
        assert ours.empty
        return
    assert_same_trades(ours, research)
