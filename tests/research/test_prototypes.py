"""Catalogue prototypes: the registry contract, causality, and the oscillator rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.synth import generate_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.prototypes.oscillators import oscillator_signals
from quantbridge.research.registry import ParamError, UnknownPrototypeError

from .bars_factory import flat_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """Synthetic bars with small opening gaps (some built-ins, like BarUpDn, trade gaps)."""
    frame = generate_bars(start=pd.Timestamp("2024-01-01", tz="UTC"), periods=600, timeframe="1h", seed=5)
    jitter = np.random.default_rng(5).normal(0, 5.0, len(frame)).round(2)
    frame["open"] = frame["open"] + jitter
    frame["high"] = frame[["high", "open"]].max(axis=1)
    frame["low"] = frame[["low", "open"]].min(axis=1)
    return frame


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_prototype_when_run_on_prefix_gives_same_signals_as_full_history(name: str, bars: pd.DataFrame) -> None:
    spec = CATALOGUE.get(name)
    full = spec(bars).to_frame()
    for cut in (150, 377, 599):
        prefix = spec(bars.iloc[:cut]).to_frame()
        pd.testing.assert_frame_equal(prefix, full.iloc[:cut], check_freq=False)


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_prototype_when_defaults_used_produces_some_entries(name: str, bars: pd.DataFrame) -> None:
    signals = CATALOGUE.get(name)(bars)
    assert signals.long_entry.any() or signals.short_entry.any()
    assert CATALOGUE.get(name).warmup() >= 0


def test_registry_when_name_unknown_lists_known_names() -> None:
    with pytest.raises(UnknownPrototypeError, match=r"known: .*sma_crossover"):
        CATALOGUE.get("no_such")


def test_bind_when_param_unknown_names_expected_ones() -> None:
    with pytest.raises(ParamError, match=r"no parameter 'fastest' \(expected one of: allow_short, fast, slow\)"):
        CATALOGUE.get("sma_crossover").bind({"fastest": 3})


@pytest.mark.parametrize(
    ("value", "message"),
    [("ten", "not a valid int"), ("2.5", "not a valid int"), ("1", "below its minimum"), ("maybe", None)],
)
def test_bind_when_value_wrong_type_or_range_says_what_was_expected(value: str, message: str | None) -> None:
    spec = CATALOGUE.get("sma_crossover")
    name = "allow_short" if message is None else "fast"
    with pytest.raises(ParamError, match=message or "not a valid bool"):
        spec.bind({name: value})


def test_bind_when_strings_from_cli_converts_types() -> None:
    bound = CATALOGUE.get("osc_rsi").bind({"length": "21", "lower": "25", "mode": "momentum"})
    assert bound["length"] == 21 and bound["lower"] == 25.0 and bound["mode"] == "momentum"
    with pytest.raises(ParamError, match="not one of"):
        CATALOGUE.get("osc_rsi").bind({"exit": "sideways"})


def osc_path() -> tuple[pd.DataFrame, pd.Series]:
    values = [50, 25, 35, 55, 75, 65, 45, 20, 15, 40]
    bars = flat_bars(len(values))
    return bars, pd.Series(np.asarray(values, dtype=float), index=bars.index)


def test_oscillator_when_mean_reversion_enters_leaving_extremes_and_exits_at_mid() -> None:
    bars, values = osc_path()
    signals = oscillator_signals(bars, values, 30, 70, 50, "mean_reversion", "midpoint", "X")
    assert np.flatnonzero(signals.long_entry).tolist() == [2, 9]  # 25 -> 35 and 15 -> 40 cross above 30
    assert np.flatnonzero(signals.long_exit).tolist() == [3]  # 35 -> 55 crosses above 50
    assert np.flatnonzero(signals.short_entry).tolist() == [5]  # 75 -> 65 crosses below 70
    assert np.flatnonzero(signals.short_exit).tolist() == [1, 6]  # 50 -> 25 and 65 -> 45 cross below 50


def test_oscillator_when_momentum_enters_on_breakouts_and_exits_at_far_threshold() -> None:
    bars, values = osc_path()
    signals = oscillator_signals(bars, values, 30, 70, 50, "momentum", "breakout", "X")
    assert np.flatnonzero(signals.long_entry).tolist() == [4]  # 55 -> 75 above 70
    assert np.flatnonzero(signals.long_exit).tolist() == [1, 7]  # 50 -> 25 and 45 -> 20 below 30
    assert np.flatnonzero(signals.short_entry).tolist() == [1, 7]
    assert np.flatnonzero(signals.short_exit).tolist() == [4]  # back above 70


def test_oscillator_when_exit_opposite_has_no_exit_signals() -> None:
    bars, values = osc_path()
    signals = oscillator_signals(bars, values, 30, 70, 50, "mean_reversion", "opposite", "X")
    assert not signals.long_exit.any() and not signals.short_exit.any()


def test_oscillator_when_mode_unknown_names_the_choices() -> None:
    bars, values = osc_path()
    with pytest.raises(ValueError, match="expected 'mean_reversion' or 'momentum'"):
        oscillator_signals(bars, values, 30, 70, 50, "contrarian", "midpoint", "X")
