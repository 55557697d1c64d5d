"""Causality (look-ahead) check: every catalogue prototype keeps its past signals when
later bars arrive; a prototype that peeks at the next bar is caught at the exact bar,
column and cut."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.signals import Signals
from quantbridge.validation.causality import causality_cuts, check_causality


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return read_bars(sample_path("BTCUSDT_1h.parquet")).iloc[:1000]


def peeking(bars: pd.DataFrame, length: int = 5) -> Signals:
    """Long when the *next* close is higher (look-ahead through ``shift(-1)``)."""
    close = bars["close"]
    sma = close.rolling(length).mean()
    with np.errstate(invalid="ignore"):
        up = (close.shift(-1) > close).to_numpy()
    return Signals.build(pd.DatetimeIndex(bars.index), long_entry=up, indicators={"sma": sma})


def centred(bars: pd.DataFrame) -> Signals:
    """A centred rolling mean (uses two bars after each bar) as an indicator only."""
    mean = bars["close"].rolling(5, center=True).mean()
    return Signals.build(pd.DatetimeIndex(bars.index), indicators={"centred": mean})


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_check_causality_when_catalogue_prototype_passes(bars: pd.DataFrame, name: str) -> None:
    result = check_causality(CATALOGUE.get(name), bars)

    assert result.passed, result.violations[:3]
    assert result.violation_count == 0
    assert len(result.cuts) >= 20
    assert "long_entry" in result.columns


def test_check_causality_when_signal_uses_next_close_fails_at_the_cut_bar(bars: pd.DataFrame) -> None:
    result = check_causality(peeking, bars, cuts=[100, 500])

    assert not result.passed
    assert result.moved_columns() == ("long_entry",)
    # on a prefix of `cut` bars the last bar has no next close: False there, the full run knows it
    full_up = bool(bars["close"].iloc[100] > bars["close"].iloc[99])
    first = result.violations[0]
    assert (first.bar, first.column, first.cut) == (99, "long_entry", 100)
    assert (first.prefix_value, first.full_value) == (False, full_up)
    assert first.time == bars.index[99]
    assert {v.bar for v in result.violations} <= {99, 499}


def test_check_causality_when_indicator_is_centred_reports_last_two_bars(bars: pd.DataFrame) -> None:
    result = check_causality(centred, bars, cuts=[300])

    assert [(v.bar, v.column, v.cut) for v in result.violations] == [
        (298, "indicator:centred", 300),
        (299, "indicator:centred", 300),
    ]
    assert np.isnan(float(str(result.violations[0].prefix_value)))
    assert result.violations[0].full_value == pytest.approx(bars["close"].iloc[296:301].mean())


def test_check_causality_when_indicators_excluded_misses_indicator_look_ahead(bars: pd.DataFrame) -> None:
    assert check_causality(centred, bars, cuts=[300], indicators=False).passed


def test_to_dict_when_failed_is_json_with_violations(bars: pd.DataFrame) -> None:
    result = check_causality(peeking, bars, step=250, tail=2, random_cuts=0)

    data = json.loads(json.dumps(result.to_dict()))

    assert data["passed"] is False
    assert data["cuts"] == [1, 251, 501, 751, 998, 999]
    first = data["violations"][0]
    assert set(first) == {"bar", "time", "column", "prefix_value", "full_value", "cut"}
    # a prefix's last bar has no next close (False); it moved only where the full run says True
    assert (first["column"], first["prefix_value"], first["full_value"]) == ("long_entry", False, True)
    assert first["bar"] == first["cut"] - 1
    assert first["time"] == bars.index[first["bar"]].isoformat()


def test_to_html_when_failed_lists_the_bar_and_column(bars: pd.DataFrame) -> None:
    html = check_causality(centred, bars, cuts=[300]).to_html()

    assert "FAILED: 2 moved value(s)" in html
    assert "<td>298</td>" in html
    assert "indicator:centred" in html


def test_to_html_when_passed_says_passed(bars: pd.DataFrame) -> None:
    html = check_causality(CATALOGUE.get("sma_crossover"), bars, cuts=[100]).to_html()

    assert "passed" in html
    assert "<table>" not in html


def test_causality_cuts_when_seeded_are_deterministic_and_include_the_tail() -> None:
    first = causality_cuts(1000, step=100, tail=3, random_cuts=5, seed=7)

    assert first == causality_cuts(1000, step=100, tail=3, random_cuts=5, seed=7)
    assert {1, 101, 901, 997, 998, 999} <= set(first)
    assert max(first) == 999
    assert first != causality_cuts(1000, step=100, tail=3, random_cuts=5, seed=8)


def test_check_causality_when_cut_out_of_range_raises(bars: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="cuts must lie"):
        check_causality(peeking, bars, cuts=[len(bars)])
