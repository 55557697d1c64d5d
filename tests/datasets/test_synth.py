"""Synthetic data: determinism, schema, the stylised facts, and ticks that rebuild bars.

Every realism check has a twin with the feature switched off, which shows the
statistic really separates the two (so the assertion can fail).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantbridge.datasets.problems import ValidationReport
from quantbridge.datasets.resample import EmptyBars, aggregate_trades
from quantbridge.datasets.schemas import BAR_COLUMNS, QUOTE_COLUMNS, TIME_DTYPE, TRADE_COLUMNS
from quantbridge.datasets.synth import (
    BarModel,
    TickModel,
    generate_bars,
    generate_market,
    generate_quotes,
    generate_trades,
    synthesize_ticks_from_bars,
)
from quantbridge.datasets.timeframes import parse_timeframe
from quantbridge.datasets.validation import validate_bars, validate_quotes, validate_trades

OHLC = ["open", "high", "low", "close"]
QUIET = TickModel(branching=0.0, seasonality=0.0, activity_vol=0.0, quiet_spells_per_hour=0.0, trade_rate=0.5)


def assert_clean(report: ValidationReport) -> None:
    assert report.problems == (), report.messages(limit=5)


def log_returns(bars: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(bars["close"].to_numpy()))


def kurtosis(x: np.ndarray) -> float:
    centred = x - x.mean()
    return float((centred**4).mean() / (centred**2).mean() ** 2)


def acf1(x: np.ndarray) -> float:
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


def hour_ratio(volume: pd.Series) -> float:
    by_hour = volume.groupby(pd.DatetimeIndex(volume.index).hour).mean()
    return float(by_hour.max() / by_hour.min())


def gaps_ns(trades: pd.DataFrame) -> np.ndarray:
    return np.diff(pd.DatetimeIndex(trades["ts"]).asi8).astype(np.float64)


@pytest.fixture(scope="module")
def year_of_bars() -> pd.DataFrame:
    return generate_bars(start="2023-01-01", periods=365 * 24, seed=11)


@pytest.fixture(scope="module")
def week_of_trades() -> pd.DataFrame:
    return generate_trades(start="2024-01-01", end="2024-01-08", seed=3, model=TickModel(trade_rate=0.5))


# --- bars -------------------------------------------------------------------------------


def test_generate_bars_when_same_seed_returns_identical_frames() -> None:
    first = generate_bars(start="2024-01-01", periods=500, seed=7)
    pd.testing.assert_frame_equal(first, generate_bars(start="2024-01-01", periods=500, seed=7))


def test_generate_bars_when_seed_differs_returns_different_prices() -> None:
    first = generate_bars(start="2024-01-01", periods=500, seed=7)
    second = generate_bars(start="2024-01-01", periods=500, seed=8)
    assert not np.array_equal(first["close"].to_numpy(), second["close"].to_numpy())


def test_generate_bars_when_generated_validates_with_no_problems(year_of_bars: pd.DataFrame) -> None:
    assert_clean(validate_bars(year_of_bars))
    assert list(year_of_bars.columns) == list(BAR_COLUMNS)
    assert year_of_bars.index.name == "open_time"
    assert str(year_of_bars.index.dtype) == TIME_DTYPE


def test_generate_bars_when_generated_opens_at_previous_close_on_tick_grid(year_of_bars: pd.DataFrame) -> None:
    assert year_of_bars["open"].iloc[0] == 30_000.0
    np.testing.assert_array_equal(year_of_bars["open"].to_numpy()[1:], year_of_bars["close"].to_numpy()[:-1])
    prices = year_of_bars[OHLC].to_numpy()
    np.testing.assert_array_equal(np.round(prices, 2), prices)


def test_generate_bars_when_student_t_returns_kurtosis_above_3(year_of_bars: pd.DataFrame) -> None:
    assert kurtosis(log_returns(year_of_bars)) > 4.0


def test_generate_bars_when_gaussian_without_garch_returns_kurtosis_near_3() -> None:
    model = BarModel(tail_dof=None, garch_alpha=0.0, garch_beta=0.0, vol_seasonality=0.0)
    bars = generate_bars(start="2023-01-01", periods=365 * 24, seed=11, model=model)
    assert kurtosis(log_returns(bars)) < 3.3


def test_generate_bars_when_garch_abs_returns_autocorrelate_at_lag_1(year_of_bars: pd.DataFrame) -> None:
    returns = log_returns(year_of_bars)
    threshold = 4.0 / np.sqrt(len(returns))
    assert acf1(np.abs(returns)) > threshold
    assert abs(acf1(returns)) < threshold  # clustering without predictable direction


def test_generate_bars_when_no_garch_no_seasonality_abs_returns_uncorrelated() -> None:
    model = BarModel(garch_alpha=0.0, garch_beta=0.0, vol_seasonality=0.0)
    returns = log_returns(generate_bars(start="2023-01-01", periods=365 * 24, seed=11, model=model))
    assert abs(acf1(np.abs(returns))) < 4.0 / np.sqrt(len(returns))


def test_generate_bars_when_seasonal_volume_by_hour_is_u_shaped(year_of_bars: pd.DataFrame) -> None:
    by_hour = year_of_bars["volume"].groupby(year_of_bars.index.hour).mean()
    assert hour_ratio(year_of_bars["volume"]) > 1.5
    assert by_hour.loc[[0, 1, 22, 23]].mean() > 1.3 * by_hour.loc[[10, 11, 12, 13]].mean()


def test_generate_bars_when_no_seasonality_volume_by_hour_is_flat() -> None:
    model = BarModel(vol_seasonality=0.0, volume_seasonality=0.0)
    bars = generate_bars(start="2023-01-01", periods=365 * 24, seed=11, model=model)
    assert hour_ratio(bars["volume"]) < 1.25


def test_generate_bars_when_generated_volume_follows_abs_return(year_of_bars: pd.DataFrame) -> None:
    moves = np.abs(log_returns(year_of_bars))
    assert np.corrcoef(moves, year_of_bars["volume"].to_numpy()[1:])[0, 1] > 0.3


def test_generate_bars_when_daily_timeframe_returns_daily_index() -> None:
    bars = generate_bars(start="2024-01-01", periods=10, timeframe="1d", seed=1, start_price=100.0, tick_size=0.5)
    assert (np.diff(bars.index.asi8) == parse_timeframe("1d").value).all()
    assert (np.round(bars[OHLC].to_numpy() * 2) == bars[OHLC].to_numpy() * 2).all()
    assert_clean(validate_bars(bars))


def test_generate_bars_when_start_not_bar_aligned_raises_naming_start() -> None:
    with pytest.raises(ValueError, match=r"^start: .* is not a 1h bar open time"):
        generate_bars(start="2024-01-01T00:30", periods=5, seed=1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"garch_alpha": 0.2, "garch_beta": 0.85}, "garch_alpha"),
        ({"tail_dof": 2.0}, "tail_dof"),
        ({"annual_vol": 0.0}, "annual_vol"),
        ({"vol_seasonality": 2.0}, "vol_seasonality"),
    ],
)
def test_bar_model_when_parameter_invalid_raises_naming_it(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        BarModel(**changes)


# --- trades and quotes ------------------------------------------------------------------


def test_generate_trades_when_same_seed_returns_identical_frames() -> None:
    first = generate_trades(start="2024-01-01", end="2024-01-01T03:00", seed=4)
    pd.testing.assert_frame_equal(first, generate_trades(start="2024-01-01", end="2024-01-01T03:00", seed=4))


def test_generate_trades_when_seed_differs_returns_different_trades() -> None:
    first = generate_trades(start="2024-01-01", end="2024-01-01T01:00", seed=4)
    second = generate_trades(start="2024-01-01", end="2024-01-01T01:00", seed=5)
    assert len(first) != len(second) or not np.array_equal(first["price"].to_numpy(), second["price"].to_numpy())


def test_generate_trades_when_generated_validates_with_schema(week_of_trades: pd.DataFrame) -> None:
    assert_clean(validate_trades(week_of_trades))
    assert list(week_of_trades.columns) == list(TRADE_COLUMNS)
    assert str(week_of_trades["ts"].dtype) == TIME_DTYPE
    assert week_of_trades["trade_id"].dtype == np.int64
    assert (np.diff(week_of_trades["trade_id"].to_numpy()) == 1).all()
    assert set(week_of_trades["side"].unique()) == {"buy", "sell"}
    prices = week_of_trades["price"].to_numpy()
    np.testing.assert_array_equal(np.round(prices, 2), prices)
    ts = pd.DatetimeIndex(week_of_trades["ts"])
    assert ts.min() >= pd.Timestamp("2024-01-01", tz="UTC") and ts.max() < pd.Timestamp("2024-01-08", tz="UTC")


def test_generate_trades_when_hawkes_has_quiet_gaps_and_bursts(week_of_trades: pd.DataFrame) -> None:
    gaps = gaps_ns(week_of_trades)
    assert gaps.max() > 50 * gaps.mean()
    assert gaps.max() > 100 * max(float(np.median(gaps)), 1.0)
    assert gaps.std() / gaps.mean() > 1.5


def test_generate_trades_when_poisson_model_has_no_bursts_or_long_silences() -> None:
    gaps = gaps_ns(generate_trades(start="2024-01-01", end="2024-01-03", seed=3, model=QUIET))
    assert 0.95 < gaps.std() / gaps.mean() < 1.05
    assert gaps.max() < 20 * gaps.mean()


def test_generate_trades_when_seasonal_more_trades_at_session_edges(week_of_trades: pd.DataFrame) -> None:
    per_hour = week_of_trades.groupby(week_of_trades["ts"].dt.hour).size()
    assert per_hour.loc[[0, 1, 22, 23]].mean() > 1.3 * per_hour.loc[[10, 11, 12, 13]].mean()


def test_generate_trades_when_window_extended_keeps_earlier_trades() -> None:
    short = generate_trades(start="2024-01-01", end="2024-01-01T02:30", seed=9)
    long = generate_trades(start="2024-01-01", end="2024-01-01T05:00", seed=9)
    assert len(long) > len(short)
    pd.testing.assert_frame_equal(long.iloc[: len(short)], short)


def test_generate_trades_when_progress_given_reports_each_hour_chunk() -> None:
    calls: list[tuple[int, int]] = []
    window = {"start": "2024-01-01", "end": "2024-01-01T02:30"}
    generate_trades(**window, seed=1, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_generate_market_when_trades_print_at_prevailing_quote() -> None:
    model = TickModel(time_resolution_ns=1)
    trades, quotes = generate_market(start="2024-01-01", end="2024-01-01T02:00", seed=2, model=model)
    joined = pd.merge_asof(trades, quotes, on="ts", direction="backward").dropna(subset=["bid"])
    expected = np.where(joined["side"] == "buy", joined["ask"], joined["bid"])
    assert len(joined) > 0.9 * len(trades)
    np.testing.assert_array_equal(joined["price"].to_numpy(), expected)


def test_generate_market_when_called_matches_separate_generators() -> None:
    start, end = "2024-01-01", "2024-01-01T02:00"
    trades, quotes = generate_market(start=start, end=end, seed=6)
    pd.testing.assert_frame_equal(trades, generate_trades(start=start, end=end, seed=6))
    pd.testing.assert_frame_equal(quotes, generate_quotes(start=start, end=end, seed=6))


def test_generate_quotes_when_generated_never_crossed_and_spread_widens_when_busy() -> None:
    quotes = generate_quotes(start="2024-01-01", end="2024-01-02", seed=1)
    assert_clean(validate_quotes(quotes))
    assert list(quotes.columns) == list(QUOTE_COLUMNS)
    spread = quotes["ask"] - quotes["bid"]
    assert (spread >= 0.01 - 1e-9).all()
    minutes = quotes.groupby(quotes["ts"].dt.floor("1min"))
    per_minute = pd.DataFrame({"count": minutes.size(), "spread": spread.groupby(quotes["ts"].dt.floor("1min")).mean()})
    assert per_minute["count"].corr(per_minute["spread"]) > 0.3


def test_generate_quotes_when_default_mid_moves_are_fat_tailed() -> None:
    quotes = generate_quotes(start="2024-01-01", end="2024-01-01T06:00", seed=1)
    moves = np.diff(np.log(((quotes["bid"] + quotes["ask"]) / 2).to_numpy()))
    assert kurtosis(moves) > 4.0


def test_generate_trades_when_end_not_after_start_raises_naming_end() -> None:
    with pytest.raises(ValueError, match=r"^end: "):
        generate_trades(start="2024-01-02", end="2024-01-01", seed=1)


def test_tick_model_when_branching_explosive_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="branching"):
        TickModel(branching=1.0)


# --- ticks from bars ---------------------------------------------------------------------


def rebuilt(trades: pd.DataFrame, timeframe: str, empty: EmptyBars = EmptyBars.SKIP) -> pd.DataFrame:
    return aggregate_trades(trades, timeframe, empty)


def test_synthesize_ticks_when_bars_generated_rebuilds_them_exactly(year_of_bars: pd.DataFrame) -> None:
    bars = year_of_bars.iloc[:2000]
    trades = synthesize_ticks_from_bars(bars, seed=1, price_step=0.01)
    assert_clean(validate_trades(trades))
    pd.testing.assert_frame_equal(rebuilt(trades, "1h"), bars, check_exact=True)
    assert trades.attrs["volume"] == "bars"


def test_synthesize_ticks_when_same_seed_returns_identical_frames(year_of_bars: pd.DataFrame) -> None:
    bars = year_of_bars.iloc[:100]
    first = synthesize_ticks_from_bars(bars, seed=3)
    pd.testing.assert_frame_equal(first, synthesize_ticks_from_bars(bars, seed=3))
    assert not first["ts"].equals(synthesize_ticks_from_bars(bars, seed=4)["ts"])


def test_synthesize_ticks_when_bar_path_visits_nearer_extreme_first(year_of_bars: pd.DataFrame) -> None:
    bars = year_of_bars.iloc[:500]
    trades = synthesize_ticks_from_bars(bars, seed=2, price_step=0.01)
    bucket = trades["ts"].dt.floor("1h")
    for open_time, ticks in trades.groupby(bucket):
        bar = bars.loc[open_time]
        prices = ticks["price"].to_numpy()
        first_high, first_low = int(np.argmax(prices == bar["high"])), int(np.argmax(prices == bar["low"]))
        high_nearer = bar["high"] - bar["open"] <= bar["open"] - bar["low"]
        assert (first_high <= first_low) if high_nearer else (first_low < first_high), open_time
        assert prices[0] == bar["open"] and prices[-1] == bar["close"]


def test_synthesize_ticks_when_in_between_prices_given_step_stay_on_grid(year_of_bars: pd.DataFrame) -> None:
    bars = year_of_bars.iloc[:200]
    trades = synthesize_ticks_from_bars(bars, seed=2, price_step=0.5)
    prices = trades["price"].to_numpy()
    own = np.isin(prices, bars[OHLC].to_numpy().ravel())
    assert (~own).sum() > len(prices) / 2
    np.testing.assert_array_equal(np.round(prices[~own] * 2), prices[~own] * 2)


def test_synthesize_ticks_when_zero_volume_filler_bars_skips_them_and_fill_restores_them() -> None:
    bars = generate_bars(start="2024-01-01", periods=6, timeframe="1m", seed=5)
    filler = bars.index[3]
    previous_close = bars["close"].iloc[2]
    bars.loc[filler, ["open", "high", "low", "close", "volume"]] = [previous_close] * 4 + [0.0]
    trades = synthesize_ticks_from_bars(bars, seed=1)
    assert filler not in set(trades["ts"].dt.floor("1min"))
    pd.testing.assert_frame_equal(rebuilt(trades, "1m", EmptyBars.FILL), bars, check_exact=True, check_freq=False)


def test_synthesize_ticks_when_volume_absent_and_none_assigns_synthetic_volume() -> None:
    bars = generate_bars(start="2024-01-01", periods=50, seed=5).assign(volume=np.nan)
    trades = synthesize_ticks_from_bars(bars, seed=1, volume=None)
    assert trades.attrs["volume"] == "synthetic"
    assert_clean(validate_trades(trades))
    pd.testing.assert_frame_equal(rebuilt(trades, "1h")[OHLC], bars[OHLC], check_exact=True)


def test_synthesize_ticks_when_volume_absent_by_default_raises_pointing_to_none() -> None:
    bars = generate_bars(start="2024-01-01", periods=5, seed=5).drop(columns="volume")
    with pytest.raises(ValueError, match="volume=None"):
        synthesize_ticks_from_bars(bars, seed=1)


def test_synthesize_ticks_when_bars_not_epoch_aligned_raises() -> None:
    bars = generate_bars(start="2024-01-01", periods=5, seed=5)
    bars.index = bars.index + pd.Timedelta(minutes=30)
    with pytest.raises(ValueError, match="not multiples of the bar width"):
        synthesize_ticks_from_bars(bars, seed=1)


def test_synthesize_ticks_when_single_bar_without_timeframe_raises_naming_timeframe() -> None:
    bars = generate_bars(start="2024-01-01", periods=1, seed=5)
    with pytest.raises(ValueError, match=r"^timeframe: "):
        synthesize_ticks_from_bars(bars, seed=1)


def test_synthesize_ticks_when_too_few_ticks_per_bar_raises_naming_it() -> None:
    bars = generate_bars(start="2024-01-01", periods=3, seed=5)
    with pytest.raises(ValueError, match=r"^ticks_per_bar: "):
        synthesize_ticks_from_bars(bars, seed=1, ticks_per_bar=3)


TIMEFRAMES = ("1s", "1m", "5m", "1h", "1d")
PRICES = st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False)


@st.composite
def bar_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    """Valid OHLCV bars: arbitrary open/close, high >= both, low <= both (and > 0),
    positive volume, epoch-aligned open times with random gaps."""
    timeframe = draw(st.sampled_from(TIMEFRAMES))
    width = parse_timeframe(timeframe).value
    n = draw(st.integers(min_value=1, max_value=8))
    first = draw(st.integers(min_value=0, max_value=2_000_000_000 * 10**9 // width))
    steps = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=n, max_size=n))
    rows = []
    for _ in range(n):
        o, c = draw(PRICES), draw(PRICES)
        high = max(o, c) * draw(st.floats(min_value=1.0, max_value=3.0))
        low = min(o, c) * draw(st.floats(min_value=0.01, max_value=1.0))
        volume = draw(st.floats(min_value=1e-9, max_value=1e12))
        rows.append((o, high, low, c, volume))
    ticks = (first + np.cumsum(steps) - steps[0]) * width
    index = pd.DatetimeIndex(np.asarray(ticks, dtype=np.int64).view("datetime64[ns]"), name="open_time")
    frame = pd.DataFrame(rows, columns=list(BAR_COLUMNS), index=index.tz_localize("UTC"))
    return frame, timeframe


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bar_frames(), seed=st.integers(min_value=0, max_value=2**32), step=st.sampled_from([None, 0.01, 1.0]))
def test_synthesize_ticks_when_bars_arbitrary_aggregation_returns_them_exactly(
    case: tuple[pd.DataFrame, str], seed: int, step: float | None
) -> None:
    bars, timeframe = case
    trades = synthesize_ticks_from_bars(bars, seed=seed, timeframe=timeframe, price_step=step, ticks_per_bar=8)
    assert_clean(validate_trades(trades))
    # volume tolerance: zero — the amounts are split so that every partial sum is exact
    pd.testing.assert_frame_equal(rebuilt(trades, timeframe), bars, check_exact=True)
