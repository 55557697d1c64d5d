"""Warm-up sensitivity: how long signals and indicators depend on where the history
starts. Recursive indicators (RSI, EMA) need far more bars than their length; a
bar-pattern prototype needs one bar."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.validation.warmup import check_warmup, default_starts


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return read_bars(sample_path("BTCUSDT_1h.parquet")).iloc[:2000]


def gapped_bars(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    """Bars whose open is not the previous close (as on FX or stock charts), so BarUpDn fires often."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = np.concatenate([[100.0], close[:-1]]) + rng.normal(0, 0.3, n)
    index = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC", name="open_time")
    high = np.maximum(open_, close) + 0.2
    low = np.minimum(open_, close) - 0.2
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=index)


def test_check_warmup_when_rsi_recommends_finite_warmup_above_its_length(bars: pd.DataFrame) -> None:
    spec = CATALOGUE.get("tv_rsi")

    result = check_warmup(spec, bars)

    assert result.required == 181
    assert result.recommended == 200
    assert result.recommended >= 14
    assert result.declared == 210
    assert result.declared_sufficient is True
    assert all(run.indicators_agree_from is not None and run.indicators_agree_from >= 14 for run in result.runs)


def test_check_warmup_when_ema_prototype_is_measured_gap_shrinks_with_history(bars: pd.DataFrame) -> None:
    result = check_warmup(CATALOGUE.get("tv_macd"), bars)

    assert result.recommended is not None
    assert result.recommended >= 26
    assert math.isinf(result.gap_at(0))  # the window's MACD is still NaN at its start
    gaps = [result.gap_at(j) for j in (50, 100, 150, 200, 300)]
    assert gaps == sorted(gaps, reverse=True)  # converges geometrically, in price units
    assert 0 < gaps[-1] < 1e-6
    assert result.gap_at(500) == 0.0


def test_check_warmup_when_barupdn_needs_one_bar() -> None:
    result = check_warmup(CATALOGUE.get("tv_barupdn"), gapped_bars())

    assert result.required == 1
    assert result.recommended == 2
    assert result.declared_sufficient is True


def test_check_warmup_when_sma_crossover_requires_about_its_slow_length(bars: pd.DataFrame) -> None:
    result = check_warmup(CATALOGUE.get("sma_crossover"), bars)

    assert result.required == 49
    assert result.declared_sufficient is True


def test_to_dict_when_measured_is_json_with_runs_and_recommendation(bars: pd.DataFrame) -> None:
    result = check_warmup(CATALOGUE.get("tv_rsi"), bars, starts=[10, 300])

    data = json.loads(json.dumps(result.to_dict()))

    assert [run["start"] for run in data["runs"]] == [10, 300]
    assert data["recommended"] == result.recommended
    assert data["declared"] == 210
    assert data["indicator_gap"][0] == [0, None]  # NaN on the window's side at its start


def test_to_html_when_declared_too_short_says_so(bars: pd.DataFrame) -> None:
    too_short = dataclasses.replace(CATALOGUE.get("tv_rsi"), lookback=lambda _: 40)
    html = check_warmup(too_short, bars, starts=[50, 100]).to_html()

    assert "TOO SHORT" in html
    assert "<td>50</td>" in html


def test_default_starts_when_many_bars_spread_over_the_first_half() -> None:
    starts = default_starts(1000)

    assert starts[0] == 1
    assert starts[-1] == 500
    assert len(starts) == 10


def test_check_warmup_when_start_out_of_range_raises(bars: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="starts must lie"):
        check_warmup(CATALOGUE.get("tv_rsi"), bars, starts=[0])
