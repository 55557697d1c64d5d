"""Readers: every real reference file of a bar kind loads and validates; every format
round-trips; ambiguous or wrong files fail with the file, line and field named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.paths import reference_data_dir
from quantbridge.datasets.problems import DataValidationError
from quantbridge.datasets.readers import (
    BarFormat,
    DataFormatError,
    TimeForm,
    detect_kind,
    load_bars,
    read_bars,
    read_quotes,
    read_trades,
)
from quantbridge.datasets.resample import resample_bars
from quantbridge.datasets.schemas import BAR_COLUMNS, DataKind

REFERENCE = reference_data_dir()
BAR_FILES = sorted(
    [
        *REFERENCE.glob("crypto/*.csv"),
        *REFERENCE.glob("tradingview/indicators/*.csv"),
        *REFERENCE.glob("tradingview/builtin_strategies/*ohlcv.csv"),
    ]
)


def sample_bars(n: int = 48) -> pd.DataFrame:
    index = pd.date_range("2024-03-01", periods=n, freq="1h", tz="UTC", name="open_time").as_unit("ns")
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(0, 1, n)).round(2)
    open_ = np.concatenate([[100.0], close[:-1]])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.5,
            "low": np.minimum(open_, close) - 0.5,
            "close": close,
            "volume": rng.uniform(1, 10, n).round(3),
        },
        index=index,
    )


@pytest.mark.reference_data
@pytest.mark.parametrize("path", BAR_FILES, ids=[p.name for p in BAR_FILES])
def test_load_bars_when_real_reference_file_validates_without_errors(path: Path, reference_data: Path) -> None:
    loaded = load_bars(path)
    assert loaded.report.ok, loaded.report.messages(5)
    assert len(loaded.frame) > 50
    assert list(loaded.frame.columns[:5]) == list(BAR_COLUMNS)
    assert str(loaded.frame.index.tz) == "UTC"
    assert loaded.frame.index.is_monotonic_increasing


@pytest.mark.reference_data
def test_load_bars_when_tradingview_export_keeps_indicator_columns(reference_data: Path) -> None:
    loaded = load_bars(reference_data / "tradingview/indicators/ta__ma.csv")
    assert loaded.format is BarFormat.TRADINGVIEW
    assert loaded.time_form is TimeForm.EPOCH_S
    assert "ta.ema(close, 20)" in loaded.extra_columns
    assert loaded.frame["ta.ema(close, 20)"].notna().sum() > 100


@pytest.mark.reference_data
def test_load_bars_when_iso_offsets_change_with_dst_converts_each_row_to_utc(reference_data: Path) -> None:
    frame = read_bars(reference_data / "tradingview/builtin_strategies/ohlcv.csv")
    # First row 2022-01-02T17:00-05:00 (EST), last 2025-09-12T16:00-04:00 (EDT).
    assert frame.index[0] == pd.Timestamp("2022-01-02 22:00", tz="UTC")
    assert frame.index[-1] == pd.Timestamp("2025-09-12 20:00", tz="UTC")


@pytest.mark.reference_data
def test_read_bars_when_tradingview_export_has_no_volume_marks_it_absent(reference_data: Path) -> None:
    loaded = load_bars(reference_data / "crypto/BINANCE_BTCUSDT.P_1h_tradingview.csv")
    assert not loaded.has_volume
    assert loaded.frame["volume"].isna().all()
    assert loaded.report.ok


@pytest.mark.reference_data
def test_resample_bars_when_5m_export_aggregated_to_1h_equals_1h_export(reference_data: Path) -> None:
    five = read_bars(reference_data / "crypto/BINANCE_BTCUSDT.P_5m_tradingview.csv")
    hourly = read_bars(reference_data / "crypto/BINANCE_BTCUSDT.P_1h_tradingview.csv")
    derived = resample_bars(five, "1h", complete_only=True)
    overlap = derived.index.intersection(hourly.index)
    assert len(overlap) > 1500
    cols = ["open", "high", "low", "close"]
    pd.testing.assert_frame_equal(derived.loc[overlap, cols], hourly.loc[overlap, cols], check_exact=True)


def write_klines(path: Path, bars: pd.DataFrame, header: bool, unit_ms: int = 1) -> None:
    opens = bars.index.asi8 // 1_000_000
    raw = pd.DataFrame(
        {
            "open_time": opens * unit_ms,
            "open": bars["open"],
            "high": bars["high"],
            "low": bars["low"],
            "close": bars["close"],
            "volume": bars["volume"],
            "close_time": (opens + 3_600_000 - 1) * unit_ms,
            "quote_volume": bars["volume"] * bars["close"],
            "count": 12,
            "taker_buy_volume": bars["volume"] / 2,
            "taker_buy_quote_volume": bars["volume"] * bars["close"] / 2,
            "ignore": 0,
        }
    )
    raw.to_csv(path, index=False, header=header)


@pytest.mark.parametrize("header", [True, False])
def test_read_bars_when_binance_klines_returns_bars_and_keeps_extras(tmp_path: Path, header: bool) -> None:
    bars = sample_bars()
    path = tmp_path / "BTCUSDT-1h-2024-03.csv"
    write_klines(path, bars, header)
    loaded = load_bars(path, timeframe="1h")
    assert loaded.format is BarFormat.BINANCE_KLINES
    pd.testing.assert_frame_equal(loaded.frame[list(BAR_COLUMNS)], bars, check_freq=False)
    assert "quote_volume" in loaded.frame.columns and "ignore" not in loaded.frame.columns


def test_read_bars_when_binance_klines_in_microseconds_reads_same_times(tmp_path: Path) -> None:
    bars = sample_bars()
    path = tmp_path / "k.csv"
    write_klines(path, bars, header=False, unit_ms=1000)
    assert load_bars(path).time_form is TimeForm.EPOCH_US
    assert read_bars(path).index.equals(bars.index)


def test_read_bars_when_kline_close_time_wrong_names_line(tmp_path: Path) -> None:
    bars = sample_bars()
    path = tmp_path / "k.csv"
    write_klines(path, bars, header=False)
    lines = path.read_text().splitlines()
    fields = lines[9].split(",")
    fields[6] = str(int(fields[6]) + 7_200_000)
    lines[9] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"line 10 field 'close_time'"):
        read_bars(path)


def test_read_bars_when_freqtrade_json_matches_source(tmp_path: Path) -> None:
    bars = sample_bars()
    rows = [[int(t // 1_000_000), *map(float, r)] for t, r in zip(bars.index.asi8, bars.to_numpy(), strict=True)]
    path = tmp_path / "BTC_USDT-1h.json"
    path.write_text(json.dumps(rows))
    assert load_bars(path).format is BarFormat.FREQTRADE_JSON
    pd.testing.assert_frame_equal(read_bars(path), bars, check_freq=False)


def test_read_bars_when_freqtrade_json_row_short_names_entry(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([[1704067200000, 1, 2, 0.5, 1.5, 10], [1704070800000, 1, 2]]))
    with pytest.raises(DataFormatError, match="entry 1"):
        read_bars(path)


def test_read_bars_when_freqtrade_feather_matches_source(tmp_path: Path) -> None:
    bars = sample_bars()
    path = tmp_path / "BTC_USDT-1h.feather"
    bars.reset_index().rename(columns={"open_time": "date"}).to_feather(path)
    pd.testing.assert_frame_equal(read_bars(path), bars, check_freq=False)


def test_read_bars_when_parquet_round_trips_with_extras(tmp_path: Path) -> None:
    bars = sample_bars()
    bars["rsi"] = np.linspace(0, 100, len(bars))
    path = tmp_path / "bars.parquet"
    bars.to_parquet(path)
    pd.testing.assert_frame_equal(read_bars(path), bars, check_freq=False)


def test_read_bars_when_naive_iso_times_without_tz_refuses_to_guess(tmp_path: Path) -> None:
    path = tmp_path / "naive.csv"
    path.write_text("time,open,high,low,close\n2024-01-01 00:00,1,2,0.5,1.5\n2024-01-01 01:00,1,2,0.5,1.5\n")
    with pytest.raises(DataFormatError, match=r"naive.csv line 2 field 'time'.*no UTC offset"):
        read_bars(path)


def test_read_bars_when_naive_iso_times_with_tz_converts_to_utc(tmp_path: Path) -> None:
    path = tmp_path / "naive.csv"
    path.write_text("time,open,high,low,close,volume\n2024-07-01 09:00,1,2,0.5,1.5,1\n2024-07-01 10:00,1,2,0.5,1.5,1\n")
    frame = read_bars(path, tz="America/New_York")
    assert frame.index[0] == pd.Timestamp("2024-07-01 13:00", tz="UTC")


def test_read_bars_when_epoch_units_mixed_names_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("time,open,high,low,close\n1704067200,1,2,0.5,1.5\n1704070800000,1,2,0.5,1.5\n")
    with pytest.raises(DataFormatError, match=r"line 3 field 'time'.*epoch s"):
        read_bars(path)


def test_read_bars_when_offset_missing_on_one_row_names_line(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    path.write_text(
        "time,open,high,low,close\n2024-01-01T00:00:00+00:00,1,2,0.5,1.5\n2024-01-01T01:00:00,1,2,0.5,1.5\n"
    )
    with pytest.raises(DataFormatError, match=r"line 3 .*no UTC offset while earlier rows do"):
        read_bars(path)


def test_read_bars_when_price_not_a_number_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("time,open,high,low,close\n1704067200,1,2,0.5,1.5\n1704070800,1,two,0.5,1.5\n")
    with pytest.raises(DataFormatError, match=r"line 3 field 'high': value 'two' is not a number"):
        read_bars(path)


def test_read_bars_when_two_time_columns_refuses_to_choose(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("date,time,open,high,low,close\n2024-01-01,1704067200,1,2,0.5,1.5\n")
    with pytest.raises(DataFormatError, match="ambiguous"):
        read_bars(path)


def test_read_bars_when_columns_differ_only_in_case_refuses(tmp_path: Path) -> None:
    path = tmp_path / "case.csv"
    path.write_text("time,open,high,low,close,Volume,volume\n1704067200,1,2,0.5,1.5,1,2\n")
    with pytest.raises(DataFormatError, match="differ only in case"):
        read_bars(path)


def test_read_bars_when_data_invalid_raises_with_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,open,high,low,close,volume\n1704067200,1,2,0.5,1.5,1\n1704070800,1,1.2,0.5,1.5,1\n")
    with pytest.raises(DataValidationError, match=r"row 1 \(line 3\).*high"):
        read_bars(path)


def test_read_bars_when_extension_unknown_says_what_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "bars.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(DataFormatError, match=r"expected \.csv, \.parquet"):
        read_bars(path)


def test_read_trades_when_binance_trades_csv_maps_is_buyer_maker_to_taker_side(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-trades.csv"
    path.write_text(
        "id,price,qty,quote_qty,time,is_buyer_maker\n"
        "1,100.5,0.2,20.1,1704067200000,true\n"
        "2,100.6,0.1,10.06,1704067200500,false\n"
    )
    assert detect_kind(path) is DataKind.TRADES
    trades = read_trades(path)
    assert trades["side"].tolist() == ["sell", "buy"]
    assert trades["trade_id"].tolist() == [1, 2]
    assert trades["ts"].iloc[1] == pd.Timestamp("2024-01-01 00:00:00.500", tz="UTC")
    assert "quote_qty" in trades.columns


def test_read_trades_when_duplicate_id_raises_with_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("ts,price,amount,side,trade_id\n1704067200000,1,1,buy,5\n1704067201000,1,1,sell,5\n")
    with pytest.raises(DataValidationError, match=r"row 1 \(line 3\).*duplicate_trade_id"):
        read_trades(path)


def test_read_quotes_when_binance_book_ticker_csv_maps_columns(tmp_path: Path) -> None:
    path = tmp_path / "bookTicker.csv"
    path.write_text(
        "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time\n"
        "1,100.0,2,100.1,3,1704067200000,1704067200001\n"
    )
    assert detect_kind(path) is DataKind.QUOTES
    quotes = read_quotes(path)
    assert quotes[["bid", "ask", "bid_size", "ask_size"]].iloc[0].tolist() == [100.0, 100.1, 2.0, 3.0]


def test_resample_bars_when_index_in_microseconds_keeps_complete_buckets() -> None:
    bars = sample_bars(24)
    bars.index = bars.index.as_unit("us")
    hourly_to_daily = resample_bars(bars, "1d", complete_only=True)
    assert len(hourly_to_daily) == 1
    assert hourly_to_daily["high"].iloc[0] == bars["high"].max()
