"""The downloader and the Parquet cache, driven through the real ccxt client against a
local exchange on loopback; the server's request log shows what was asked for."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.cache import CachedSeries, open_series, sanitise_symbol, write_parquet_atomic
from quantbridge.datasets.download import (
    PageValidationError,
    RetriesExhaustedError,
    RetryPolicy,
    UnknownSymbolError,
    fetch_bars,
    fetch_trades,
)
from quantbridge.datasets.exchange import FaultRule, LocalExchange, MarketData, binanceusdm_client
from quantbridge.datasets.problems import DataValidationError
from quantbridge.datasets.schemas import DataKind

SYMBOL = "BTC/USDT:USDT"
KLINES = "/fapi/v1/klines"
AGG_TRADES = "/fapi/v1/aggTrades"
HOUR_MS = 3_600_000
FAST = RetryPolicy(max_retries=3, base_delay=0.01, factor=2.0, max_delay=0.05)


def make_bars(n: int, start: str = "2024-01-20", seed: int = 11) -> pd.DataFrame:
    """Deterministic 1h bars on a 0.1 price grid."""
    rng = np.random.default_rng(seed)
    close = np.round(500 + np.cumsum(rng.normal(0, 1, n)), 1)
    open_ = np.concatenate([[500.0], close[:-1]])
    high = np.round(np.maximum(open_, close) + rng.uniform(0, 1, n), 1)
    low = np.round(np.minimum(open_, close) - rng.uniform(0, 1, n), 1)
    volume = np.round(rng.uniform(1, 10, n), 3)
    index = pd.date_range(start, periods=n, freq="1h", tz="UTC", name="open_time").as_unit("ns")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def ms(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1_000_000)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_bars(1200)  # 50 days from 2024-01-20: January and February (and 2 bars of March)


@pytest.fixture(scope="module")
def market(bars: pd.DataFrame) -> MarketData:
    return MarketData.from_bars(bars)


@pytest.fixture
def exchange(market: MarketData) -> Iterator[LocalExchange]:
    with LocalExchange(market) as running:
        yield running


@pytest.fixture
def client(exchange: LocalExchange) -> Iterator[Any]:
    made = binanceusdm_client(exchange.url, rate_limit_ms=0, timeout_ms=2000)
    yield made
    made.close()


def cached_bars(root: Path, exchange: str = "binanceusdm") -> CachedSeries:
    return open_series(exchange, SYMBOL, DataKind.BARS, "1h", root=root)


def cached_trades(root: Path) -> CachedSeries:
    return open_series("binanceusdm", SYMBOL, DataKind.TRADES, root=root)


def starts(exchange: LocalExchange, path: str = KLINES) -> list[int]:
    return [int(r.query["startTime"]) for r in exchange.requests.records(path)]


# --- bars ---------------------------------------------------------------------------


def test_fetch_bars_when_range_needs_three_pages_stores_the_dataset_in_month_files(
    bars: pd.DataFrame, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    summary = fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False)
    series = cached_bars(tmp_path)
    pd.testing.assert_frame_equal(series.read(), bars, check_freq=False)
    assert [p.name for p in series.month_files()] == ["2024-01.parquet", "2024-02.parquet", "2024-03.parquet"]
    assert starts(exchange) == [ms(bars.index[0]), ms(bars.index[500]), ms(bars.index[1000])]  # 500 per page
    assert {r.query["limit"] for r in exchange.requests.records(KLINES)} == {"500"}
    assert (summary.rows_fetched, summary.rows_cached, summary.requests, summary.retries) == (1200, 0, 5, 0)
    assert summary.files_written == series.month_files()


def test_fetch_bars_when_run_again_requests_no_klines_at_all(
    exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False)
    exchange.requests.clear()
    summary = fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False)
    assert exchange.requests.count(KLINES) == 0
    assert (summary.rows_fetched, summary.rows_cached, summary.files_written) == (0, 1200, [])


def test_fetch_bars_when_until_moves_later_requests_only_bars_after_the_cached_ones(
    bars: pd.DataFrame, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    fetch_bars(client, SYMBOL, "1h", "2024-01-20", bars.index[700], cache=tmp_path, progress=False)
    exchange.requests.clear()
    summary = fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False)
    assert starts(exchange) == [ms(bars.index[700])]
    assert (summary.rows_fetched, summary.rows_cached) == (500, 700)
    pd.testing.assert_frame_equal(cached_bars(tmp_path).read(), bars, check_freq=False)


def test_fetch_bars_when_since_is_before_the_cache_requests_only_the_missing_front(
    bars: pd.DataFrame, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    fetch_bars(client, SYMBOL, "1h", bars.index[300], cache=tmp_path, progress=False)
    exchange.requests.clear()
    fetch_bars(client, SYMBOL, "1h", bars.index[0], cache=tmp_path, progress=False)
    ends = [int(r.query["endTime"]) for r in exchange.requests.records(KLINES)]
    assert starts(exchange) == [ms(bars.index[0])]
    assert ends == [ms(bars.index[300]) - 1]
    pd.testing.assert_frame_equal(cached_bars(tmp_path).read(), bars, check_freq=False)


def test_fetch_bars_when_exchange_clock_is_inside_the_last_bar_never_stores_that_open_bar(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    inside_last = ms(bars.index[-1]) + HOUR_MS // 2
    with LocalExchange(MarketData.from_bars(bars, clock=lambda: inside_last)) as running:
        client = binanceusdm_client(running.url, rate_limit_ms=0)
        fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False)
        client.close()
    assert cached_bars(tmp_path).last_time() == bars.index[-2]


def test_fetch_bars_when_now_is_injected_uses_it_instead_of_the_server_time(
    bars: pd.DataFrame, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    now = bars.index[100] + pd.Timedelta(hours=1)  # bar 100 has just closed
    fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False, now=lambda: now)
    assert cached_bars(tmp_path).last_time() == bars.index[100]
    assert exchange.requests.count("/fapi/v1/time") == 0


def test_fetch_bars_when_429_has_retry_after_waits_what_the_header_asks_then_succeeds(
    bars: pd.DataFrame, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.rate_limit(KLINES, retry_after=1))
    started = time.monotonic()
    summary = fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False, retry=FAST)
    assert time.monotonic() - started >= 1.0
    assert (summary.retries, summary.retry_waits) == (1, [1.0])
    assert [r.status for r in exchange.requests.records(KLINES)] == [429, 200, 200, 200]
    pd.testing.assert_frame_equal(cached_bars(tmp_path).read(), bars, check_freq=False)


def test_fetch_bars_when_5xx_answers_twice_retries_with_exponential_backoff(
    bars: pd.DataFrame, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.http_error(KLINES, status=502), FaultRule.http_error(KLINES, status=500))
    summary = fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False, retry=FAST)
    assert (summary.retries, summary.retry_waits) == (2, [0.01, 0.02])
    assert [r.status for r in exchange.requests.records(KLINES)][:3] == [502, 500, 200]
    pd.testing.assert_frame_equal(cached_bars(tmp_path).read(), bars, check_freq=False)


def test_fetch_bars_when_bodies_are_malformed_or_truncated_retries_then_stores_everything(
    bars: pd.DataFrame, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.malformed(KLINES), FaultRule.truncated(KLINES))
    summary = fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False, retry=FAST)
    assert summary.retries == 2
    assert [r.fault for r in exchange.requests.records(KLINES)][:3] == ["malformed", "truncated", None]
    pd.testing.assert_frame_equal(cached_bars(tmp_path).read(), bars, check_freq=False)


def test_fetch_bars_when_request_times_out_retries_then_succeeds(
    bars: pd.DataFrame, exchange: LocalExchange, tmp_path: Path
) -> None:
    client = binanceusdm_client(exchange.url, rate_limit_ms=0, timeout_ms=250)
    exchange.faults.add(FaultRule.timeout(KLINES, seconds=0.8))
    summary = fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False, retry=FAST)
    client.close()
    assert summary.retries == 1
    assert starts(exchange)[:2] == [ms(bars.index[0])] * 2
    pd.testing.assert_frame_equal(cached_bars(tmp_path).read(), bars, check_freq=False)


def test_fetch_bars_when_malformed_beyond_max_retries_fails_naming_symbol_timeframe_and_range(
    exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.malformed(KLINES, times=None))
    with pytest.raises(RetriesExhaustedError) as failed:
        fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False, retry=FAST)
    message = str(failed.value)
    assert "BTC/USDT:USDT 1h bars 2024-01-20T00:00:00+00:00 .. 2024-03-10T00:00:00+00:00" in message
    assert "failed after 3 retries" in message and "not JSON" in message
    assert exchange.requests.count(KLINES) == 4
    assert cached_bars(tmp_path).month_files() == []


def test_fetch_bars_when_retry_after_exceeds_the_limit_fails_at_once(
    exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.rate_limit(KLINES, retry_after=600))
    with pytest.raises(RetriesExhaustedError, match="asks to wait 600s"):
        fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False, retry=FAST)
    assert exchange.requests.count(KLINES) == 1


def test_fetch_bars_when_symbol_unknown_raises_before_requesting_any_bars(
    exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    with pytest.raises(UnknownSymbolError, match="no market 'BTC/USDC:USDC'"):
        fetch_bars(client, "BTC/USDC:USDC", "1h", "2024-01-20", cache=tmp_path, progress=False)
    assert exchange.requests.count(KLINES) == 0


def test_fetch_bars_when_a_page_is_invalid_raises_naming_the_page_and_keeps_only_earlier_pages(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    market = MarketData.from_bars(bars)
    served = market.series("BTCUSDT").bars
    served.iloc[600, served.columns.get_loc("high")] = served["low"].iat[600] - 1.0  # the exchange sends a broken bar
    with LocalExchange(market) as running:
        client = binanceusdm_client(running.url, rate_limit_ms=0)
        with pytest.raises(PageValidationError) as failed:
            fetch_bars(client, SYMBOL, "1h", "2024-01-20", cache=tmp_path, progress=False)
        client.close()
    assert f"page from {bars.index[500].isoformat()}" in str(failed.value)
    assert "high_below_open_close" in str(failed.value)
    pd.testing.assert_frame_equal(cached_bars(tmp_path).read(), bars.iloc[:500], check_freq=False)


# --- trades -------------------------------------------------------------------------


def served_trades(market: MarketData, since: str, until: str) -> pd.DataFrame:
    trades = market.series("BTCUSDT").trades
    chosen = trades[(trades["ts"] >= pd.Timestamp(since, tz="UTC")) & (trades["ts"] < pd.Timestamp(until, tz="UTC"))]
    return chosen.reset_index(drop=True)


def test_fetch_trades_when_range_spans_pages_stores_exactly_the_served_trades(
    market: MarketData, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    summary = fetch_trades(client, SYMBOL, "2024-01-25", "2024-02-03", cache=tmp_path, progress=False, page_limit=300)
    expected = served_trades(market, "2024-01-25", "2024-02-03")
    pd.testing.assert_frame_equal(cached_trades(tmp_path).read(), expected, check_dtype=False)
    records = exchange.requests.records(AGG_TRADES)
    assert records[0].query["startTime"] == str(ms(pd.Timestamp("2024-01-25", tz="UTC")))
    from_ids = [int(r.query["fromId"]) for r in records[1:]]
    first_id = int(expected["trade_id"].iat[0])
    assert from_ids == [first_id + 4 + 300 * k for k in range(len(from_ids))]  # 4 trades in the first hour window
    assert summary.rows_fetched == len(expected) == 9 * 24 * 4


def test_fetch_trades_when_until_moves_later_resumes_from_the_last_cached_trade_id(
    market: MarketData, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    fetch_trades(client, SYMBOL, "2024-01-25", "2024-01-27", cache=tmp_path, progress=False)
    last_id = cached_trades(tmp_path).last_trade_id()
    assert last_id is not None
    exchange.requests.clear()
    fetch_trades(client, SYMBOL, "2024-01-25", "2024-01-30", cache=tmp_path, progress=False)
    records = exchange.requests.records(AGG_TRADES)
    assert [r.query.get("fromId") for r in records] == [str(last_id + 1)]
    expected = served_trades(market, "2024-01-25", "2024-01-30")
    pd.testing.assert_frame_equal(cached_trades(tmp_path).read(), expected, check_dtype=False)


def test_fetch_trades_when_first_hours_have_no_trades_steps_through_hour_windows(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    quiet = bars.iloc[:48].copy()
    quiet.iloc[:3, quiet.columns.get_loc("volume")] = 0.0  # no trades in the first three hours
    with LocalExchange(MarketData.from_bars(quiet)) as running:
        client = binanceusdm_client(running.url, rate_limit_ms=0)
        fetch_trades(client, SYMBOL, quiet.index[0], quiet.index[10], cache=tmp_path, progress=False)
        client.close()
        windows = [
            (int(r.query["startTime"]), int(r.query["endTime"])) for r in running.requests.records(AGG_TRADES)[:4]
        ]
    assert windows == [(ms(quiet.index[k]), ms(quiet.index[k]) + HOUR_MS - 1) for k in range(4)]
    assert cached_trades(tmp_path).read()["ts"].iat[0] == quiet.index[3]


def test_fetch_trades_when_rate_limited_retries_and_stores_all(
    market: MarketData, exchange: LocalExchange, client: Any, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.rate_limit(AGG_TRADES, retry_after=0), FaultRule.truncated(AGG_TRADES))
    summary = fetch_trades(client, SYMBOL, "2024-01-25", "2024-01-26", cache=tmp_path, progress=False, retry=FAST)
    assert summary.retries == 2
    expected = served_trades(market, "2024-01-25", "2024-01-26")
    pd.testing.assert_frame_equal(cached_trades(tmp_path).read(), expected, check_dtype=False)


# --- cache --------------------------------------------------------------------------


def test_sanitise_symbol_when_symbol_has_slash_and_colon_gives_a_folder_name() -> None:
    assert sanitise_symbol("BTC/USDT:USDT") == "BTC_USDT_USDT"
    with pytest.raises(ValueError, match="expected letters or digits"):
        sanitise_symbol("/:")


def test_cached_series_when_merged_twice_keeps_one_row_per_time_and_the_newest_values(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    series = cached_bars(tmp_path)
    series.merge(bars.iloc[:400])
    changed = bars.iloc[200:500].copy()  # bar 200 opens on 2024-01-28, bar 499 in February
    changed["volume"] += 1.0
    written = series.merge(changed)
    got = series.read()
    assert [p.name for p in written] == ["2024-01.parquet", "2024-02.parquet"]
    assert len(got) == 500
    assert (got["volume"].iloc[200:] == changed["volume"]).all()
    assert (got["volume"].iloc[:200] == bars["volume"].iloc[:200]).all()
    assert series.last_time() == bars.index[499]
    assert (series.folder / "2024-01.parquet").relative_to(tmp_path).parts[:3] == (
        "binanceusdm",
        "BTC_USDT_USDT",
        "bars_1h",
    )


def test_cached_series_when_reading_a_range_returns_only_rows_inside_it(bars: pd.DataFrame, tmp_path: Path) -> None:
    series = cached_bars(tmp_path)
    series.merge(bars)
    got = series.read(bars.index[250], bars.index[900])
    pd.testing.assert_frame_equal(got, bars.iloc[250:900], check_freq=False)


def test_cached_series_when_a_month_file_is_invalid_raises_naming_the_file(bars: pd.DataFrame, tmp_path: Path) -> None:
    series = cached_bars(tmp_path)
    broken = bars.iloc[:10].copy()
    broken.iloc[4, broken.columns.get_loc("low")] = broken["high"].iat[4] + 5
    write_parquet_atomic(broken, series.folder / "2024-01.parquet", index=True)
    with pytest.raises(DataValidationError, match=r"2024-01\.parquet row 4"):
        series.read()


def test_write_parquet_atomic_when_serialisation_fails_keeps_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "2024-01.parquet"
    write_parquet_atomic(pd.DataFrame({"x": [1, 2]}), path)
    unwritable = pd.DataFrame({"x": [object(), object()]})
    with pytest.raises(Exception, match="object"):
        write_parquet_atomic(unwritable, path)
    assert pd.read_parquet(path)["x"].tolist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-01.parquet"]


def test_remove_stale_temp_files_when_writer_is_dead_deletes_only_its_files(tmp_path: Path) -> None:
    series = cached_trades(tmp_path)
    series.folder.mkdir(parents=True)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    dead = series.folder / f".2024-01.parquet.abc.{dead_pid}.tmp"
    alive = series.folder / f".2024-02.parquet.def.{os.getpid()}.tmp"
    dead.write_bytes(b"half")
    alive.write_bytes(b"half")
    assert series.remove_stale_temp_files() == [dead]
    assert series.temp_files() == [alive]
    assert series.read().empty
