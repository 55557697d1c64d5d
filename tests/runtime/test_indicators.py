"""The one-bar-at-a-time indicators equal their vectorised references bit for bit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.indicators import tradingview as ta
from quantbridge.research.indicators._core import rolling_sum
from quantbridge.runtime.indicators import crossed_over, crossed_under, pine_sum, rma_step, rsi_value, sma_step


def incremental_sma(values: np.ndarray, period: int) -> np.ndarray:
    out, total = np.full(len(values), np.nan), 0.0
    for i, x in enumerate(values.tolist()):
        oldest = values[i - period + 1] if i >= period - 1 else math.nan
        out[i], total = sma_step(total, x, float(oldest), i, period)
    return out


def incremental_rsi(values: np.ndarray, length: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    up = down = math.nan
    for i in range(length, len(values)):
        if i == length:
            changes = np.diff(values[: length + 1]).tolist()
            up = pine_sum([max(c, 0.0) for c in changes]) / length
            down = pine_sum([max(-c, 0.0) for c in changes]) / length
        else:
            change = float(values[i] - values[i - 1])
            up, down = rma_step(up, max(change, 0.0), length), rma_step(down, max(-change, 0.0), length)
        out[i] = rsi_value(up, down)
    return out


def closes(reference_data: Path | None) -> list[np.ndarray]:
    series = [pd.read_parquet(sample_path("BTCUSDT_1h.parquet"))["close"].to_numpy()]
    if reference_data is not None:
        series.append(
            read_bars(reference_data / "tradingview" / "builtin_strategies" / "ohlcv.csv")["close"].to_numpy()
        )
    return series


@pytest.mark.parametrize("period", [1, 2, 10, 50])
def test_sma_step_when_run_over_sample_equals_talib_sma_bit_for_bit(period: int) -> None:
    (values,) = closes(None)
    assert np.array_equal(incremental_sma(values, period), talib.SMA(values, period), equal_nan=True)


@pytest.mark.parametrize("length", [2, 14, 30])
def test_rsi_steps_when_run_over_sample_equal_tradingview_rsi_bit_for_bit(length: int) -> None:
    (values,) = closes(None)
    reference = ta.rsi(pd.Series(values), length).to_numpy()
    assert np.array_equal(incremental_rsi(values, length), reference, equal_nan=True)


@pytest.mark.reference_data
def test_indicator_steps_when_run_over_tradingview_bars_equal_their_references(reference_data: Path) -> None:
    values = closes(reference_data)[1]
    assert np.array_equal(incremental_sma(values, 50), talib.SMA(values, 50), equal_nan=True)
    assert np.array_equal(incremental_rsi(values, 14), ta.rsi(pd.Series(values), 14).to_numpy(), equal_nan=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e-6, 1e-6), st.sampled_from([0.1, 0.2, 0.3, 1e16])
        ),
        min_size=1,
        max_size=30,
    )
)
def test_pine_sum_when_first_window_summed_equals_tradingview_rolling_sum(values: list[float]) -> None:
    reference = rolling_sum(np.asarray(values), len(values))[-1]
    assert pine_sum(values) == reference or (math.isnan(reference) and math.isnan(pine_sum(values)))


@pytest.mark.parametrize(
    ("up", "down", "expected"), [(1.0, 0.0, 100.0), (0.0, 0.0, 100.0), (0.0, 1.0, 0.0), (1.0, 1.0, 50.0)]
)
def test_rsi_value_when_one_side_is_zero_follows_tradingview(up: float, down: float, expected: float) -> None:
    assert rsi_value(up, down) == expected


def test_crossings_when_values_touch_or_are_nan_follow_pine() -> None:
    assert crossed_over(2.0, 1.0, 1.0, 1.0) and not crossed_over(2.0, 1.0, 1.5, 1.0)
    assert crossed_under(0.5, 1.0, 1.0, 1.0) and not crossed_under(0.5, 1.0, 0.9, 1.0)
    assert not crossed_over(2.0, 1.0, math.nan, 1.0) and not crossed_under(0.5, math.nan, 1.0, 1.0)
