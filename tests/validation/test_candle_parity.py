"""Candle parity: the streaming CandleAggregator against exchange klines — through the
local exchange (real ccxt client, REST), and on real Binance / TradingView data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest

from quantbridge.datasets.exchange import LocalExchange, MarketData, binanceusdm_async_client
from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.datasets.resample import aggregate_trades
from quantbridge.validation.candles import (
    CandleParity,
    compare_candles,
    exchange_candle_parity,
    resampled_parity,
    synthesised_tick_parity,
)

SYMBOL = "BTC/USDT:USDT"
CRYPTO = "crypto"


@pytest.fixture(scope="module")
def day_trades() -> pd.DataFrame:
    trades = pd.read_parquet(sample_path("BTCUSDT_trades_1d.parquet"))
    start = trades["ts"].iloc[0].floor("h")
    return trades[trades["ts"] < start + pd.Timedelta(hours=2)].reset_index(drop=True)


def through_exchange(trades: pd.DataFrame, timeframe: str) -> CandleParity:
    bars = aggregate_trades(trades, "1m")
    since = pd.Timestamp(bars.index[0])

    async def run(url: str) -> CandleParity:
        client = binanceusdm_async_client(url, rate_limit_ms=0)
        try:
            return await exchange_candle_parity(
                client, SYMBOL, timeframe, since=since, until=since + pd.Timedelta(hours=2)
            )
        finally:
            await client.close()

    with LocalExchange(MarketData.from_bars(bars, trades=trades, timeframe="1m")) as exchange:
        return asyncio.run(run(exchange.url))


@pytest.mark.parametrize(("timeframe", "bars"), [("1m", 120), ("15m", 8), ("1h", 2)])
def test_exchange_candle_parity_when_local_exchange_serves_trades_matches_all_klines(
    day_trades: pd.DataFrame, timeframe: str, bars: int
) -> None:
    result = through_exchange(day_trades, timeframe)

    assert result.compared == bars
    assert result.match == 1.0
    assert result.identical
    assert result.fields == ("open", "high", "low", "close", "volume")


def test_compare_candles_when_bars_differ_classifies_fields_and_missing() -> None:
    index = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC", name="open_time")
    left = pd.DataFrame(
        {"open": [1.0, 2, 3, 4], "high": 5.0, "low": 0.5, "close": [1.0, 2, 3, 4], "volume": 1.0}, index
    )
    right = left.copy()
    right.loc[index[1], "open"] = 2.1
    right.loc[index[2], ["high", "volume"]] = [6.0, 2.0]
    right = right.drop(index[3])
    left = left.drop(index[0])

    result = compare_candles(left, right, left_label="tv", right_label="api", start=index[0], end=index[3])

    assert [(d.time, d.kind, d.fields) for d in result.differences] == [
        (index[0], "missing_left", ()),
        (index[1], "differs", ("open",)),
        (index[2], "differs", ("high", "volume")),
        (index[3], "missing_right", ()),
    ]
    assert result.counts() == {
        "open_differs": 1,
        "high_differs": 1,
        "low_differs": 0,
        "close_differs": 0,
        "volume_differs": 1,
        "missing_in_tv": 1,
        "missing_in_api": 1,
    }
    assert (result.compared, result.matched, result.match) == (4, 0, 0.0)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["differences"][1]["left"]["open"] == 2.0
    assert data["differences"][1]["right"]["open"] == 2.1
    assert data["differences"][0]["left"] is None
    assert "missing_in_tv: 1" in result.to_html()


@pytest.fixture(scope="module")
def crypto(reference_data: Path) -> dict[str, pd.DataFrame]:
    folder = reference_data / CRYPTO
    return {
        "tv_1h": read_bars(folder / "BINANCE_BTCUSDT.P_1h_tradingview.csv"),
        "tv_5m": read_bars(folder / "BINANCE_BTCUSDT.P_5m_tradingview.csv"),
        "api_1h": read_bars(folder / "BINANCE_BTCUSDT_usdm_1h_api.csv"),
    }


@pytest.mark.reference_data
def test_synthesised_tick_parity_when_ticks_come_from_exchange_klines_matches_every_bar(
    crypto: dict[str, pd.DataFrame],
) -> None:
    klines = crypto["api_1h"].loc["2024"]

    result = synthesised_tick_parity(klines, seed=11, label="binance_1h")

    assert result.compared == 8784
    assert result.identical
    assert "volume" in result.fields


@pytest.mark.reference_data
def test_resampled_parity_when_tradingview_5m_aggregates_to_1h_matches_complete_hours(
    crypto: dict[str, pd.DataFrame],
) -> None:
    result = resampled_parity(crypto["tv_5m"], crypto["tv_1h"], "1h", fine_label="tv_5m", coarse_label="tv_1h")

    assert result.compared == 1712
    assert result.match == 1.0
    assert result.fields == ("open", "high", "low", "close")
    assert result.end == pd.Timestamp("2026-06-30 07:00", tz="UTC")  # 08:00 is incomplete in the 5m export


@pytest.mark.reference_data
def test_compare_candles_when_tradingview_vs_exchange_klines_reports_the_known_differing_bars(
    crypto: dict[str, pd.DataFrame],
) -> None:
    result = compare_candles(
        crypto["tv_1h"], crypto["api_1h"], name="TV vs Binance 1h", left_label="tradingview", right_label="binance"
    )

    assert result.compared == 20816
    assert len(result.differences) == 50
    assert result.match >= 0.99
    assert result.counts() == {
        "open_differs": 47,
        "high_differs": 2,
        "low_differs": 1,
        "close_differs": 2,
        "missing_in_tradingview": 0,
        "missing_in_binance": 0,
    }
    worst = next(d for d in result.differences if d.time == pd.Timestamp("2024-10-28 21:00", tz="UTC"))
    assert worst.fields == ("high", "low", "close")
    assert worst.left == (69623.0, 69776.8, 69480.3, 69770.2)
    assert worst.right == (69623.0, 69766.2, 69603.1, 69650.0)
