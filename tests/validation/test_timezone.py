"""Finding the chart timezone of a trade list with naive times, from the bars it ran on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.readers import read_bars
from quantbridge.validation.tradingview import (
    TimezoneDetectionError,
    candidate_zones,
    detect_timezone,
    read_tradingview_trades,
)

BUILTINS = Path("tradingview") / "builtin_strategies"
STEMS = ("rsi", "macd", "bollinger", "supertrend", "keltnerchannel", "channelbreakout", "barupdn")


@pytest.fixture(scope="module")
def reference_bars(reference_data: Path) -> pd.DataFrame:
    return read_bars(reference_data / BUILTINS / "ohlcv.csv")


def _strip_offsets(source: Path, target: Path) -> Path:
    text = source.read_text(encoding="utf-8")
    stripped = re.sub(r"(T\d{2}:\d{2}:\d{2})[-+]\d{4}", r"\1", text)
    assert stripped != text
    target.write_text(stripped, encoding="utf-8")
    return target


@pytest.mark.reference_data
@pytest.mark.parametrize("stem", STEMS)
def test_detect_timezone_when_builtin_offsets_are_stripped_recovers_new_york_with_dst(
    stem: str, reference_data: Path, reference_bars: pd.DataFrame, tmp_path: Path
) -> None:
    source = reference_data / BUILTINS / f"{stem}_trades.csv"
    naive = read_tradingview_trades(_strip_offsets(source, tmp_path / source.name))
    assert naive.timezone is None
    detection = detect_timezone(naive, reference_bars)
    assert detection.zone == "America/New_York"
    assert detection.score > 0.97
    assert detection.margin > 0.1  # no fixed offset follows DST: each is wrong half the year
    assert detection.best.at_bar_open == 1.0
    assert detection.best.inside_bar == 1.0
    # reading the naive times in the detected zone gives back exactly the file's instants
    original = read_tradingview_trades(source).trades
    recovered = detection.localize(naive).trades
    pd.testing.assert_series_equal(recovered["entry_time"], original["entry_time"])
    pd.testing.assert_series_equal(recovered["exit_time"], original["exit_time"])


def _hourly_bars(start: str, hours: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.5, hours)).round(2)
    open_ = np.concatenate([[100.0], close[:-1]]) + rng.normal(0, 0.05, hours).round(2)
    high = np.maximum(open_, close) + 0.3
    low = np.minimum(open_, close) - 0.3
    index = pd.date_range(start, periods=hours, freq="1h", tz="UTC", name="open_time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=index)


def _market_trades(bars: pd.DataFrame, entries: list[int], wall: str) -> pd.DataFrame:
    """Trades filled at the opens of bars ``entries[k]`` → ``entries[k] + 3``, written in ``wall`` time."""
    exits = [i + 3 for i in entries]

    def naive(positions: list[int]) -> pd.Series:
        return pd.Series(bars.index[positions].tz_convert(wall).tz_localize(None))

    return pd.DataFrame(
        {
            "trade_id": range(1, len(entries) + 1),
            "side": "long",
            "entry_time": naive(entries),
            "exit_time": naive(exits),
            "entry_price": bars["open"].to_numpy()[entries],
            "exit_price": bars["open"].to_numpy()[exits],
            "is_open": False,
        }
    )


def test_detect_timezone_when_chart_is_in_a_half_hour_zone_reports_it_and_its_equivalent() -> None:
    bars = _hourly_bars("2024-01-01", 24 * 20)
    trades = _market_trades(bars, list(range(5, 24 * 19, 7)), "Asia/Kolkata")
    detection = detect_timezone(trades, bars)
    assert detection.zone == "Asia/Kolkata"
    assert "UTC+05:30" in detection.equivalent
    assert detection.score == 1.0
    assert detection.runner_up_score < 0.9


def test_detect_timezone_when_times_are_utc_prefers_utc_over_equivalent_names() -> None:
    bars = _hourly_bars("2024-01-01", 24 * 20)
    trades = _market_trades(bars, list(range(5, 24 * 19, 5)), "UTC")
    detection = detect_timezone(trades, bars)
    assert detection.zone == "UTC"
    assert "Europe/London" in detection.equivalent  # in January London is on UTC


def test_detect_timezone_when_no_time_is_a_bar_open_refuses() -> None:
    bars = _hourly_bars("2024-01-01", 24 * 10)
    trades = _market_trades(bars, list(range(5, 200, 9)), "UTC")
    trades["entry_time"] += pd.Timedelta(minutes=7)
    trades["exit_time"] += pd.Timedelta(minutes=7)
    with pytest.raises(TimezoneDetectionError, match="no timezone aligns"):
        detect_timezone(trades, bars)


def test_detect_timezone_when_two_zones_read_equally_well_refuses() -> None:
    bars = _hourly_bars("2024-01-01", 24 * 10)
    bars[["open", "high", "low", "close"]] = 100.0  # a flat market: every hour looks the same
    trades = _market_trades(bars, list(range(5, 200, 9)), "UTC")
    with pytest.raises(TimezoneDetectionError, match="equally well"):
        detect_timezone(trades, bars, zones=["UTC", "UTC+01:00"])


def test_detect_timezone_when_times_are_already_aware_refuses() -> None:
    bars = _hourly_bars("2024-01-01", 24 * 10)
    trades = _market_trades(bars, [5, 20], "UTC")
    trades["entry_time"] = trades["entry_time"].dt.tz_localize("UTC")
    with pytest.raises(ValueError, match="already carry a timezone"):
        detect_timezone(trades, bars)


def test_candidate_zones_when_default_covers_every_quarter_hour_offset() -> None:
    zones = candidate_zones()
    offsets = [z for z in zones if z.startswith("UTC") and z != "UTC"]
    assert len(offsets) == (26 * 4 + 1) - 1  # −12:00 … +14:00 in 15 minutes, UTC±00:00 named "UTC"
    assert {"UTC-12:00", "UTC+05:45", "UTC+14:00", "America/New_York", "Europe/Moscow"} <= set(zones)
    assert zones[0] == "UTC"


def test_to_dict_when_detected_is_json_serialisable() -> None:
    bars = _hourly_bars("2024-06-01", 24 * 20)
    trades = _market_trades(bars, list(range(5, 24 * 19, 7)), "America/Chicago")
    summary = json.loads(json.dumps(detect_timezone(trades, bars).to_dict()))
    assert (summary["zone"], summary["score"], summary["fills"]) == ("America/Chicago", 1.0, 2 * len(trades))
    assert 0 < summary["margin"] < 1
    assert summary["runner_up_score"] < summary["score"]
