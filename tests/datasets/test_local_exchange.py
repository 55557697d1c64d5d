"""The local exchange against the real ccxt ``binanceusdm`` client (and raw HTTP where
ccxt hides the wire format). Servers run on loopback; nothing is mocked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.exchange import (
    FaultKind,
    FaultPlan,
    FaultRule,
    FaultRuleError,
    LocalExchange,
    MarketData,
    binanceusdm_async_client,
    binanceusdm_client,
)
from quantbridge.datasets.exchange.bar_trades import trades_from_bars
from quantbridge.datasets.exchange.faults import rule_from_mapping
from quantbridge.datasets.resample import aggregate_trades, resample_bars

SYMBOL = "BTC/USDT:USDT"
HOUR_MS = 3_600_000


def make_bars(n: int, start: str = "2024-01-01", freq: str = "1h", seed: int = 7) -> pd.DataFrame:
    """Deterministic bars on a 0.1 price grid."""
    rng = np.random.default_rng(seed)
    close = np.round(1000 + np.cumsum(rng.normal(0, 2, n)), 1)
    open_ = np.concatenate([[1000.0], close[:-1]])
    high = np.round(np.maximum(open_, close) + rng.uniform(0, 2, n), 1)
    low = np.round(np.minimum(open_, close) - rng.uniform(0, 2, n), 1)
    volume = np.round(rng.uniform(1, 10, n), 3)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="open_time").as_unit("ns")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def ms(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1_000_000)


def get_json(url: str, data: Any = None, method: str | None = None) -> tuple[int, Any, dict[str, str]]:
    """Status, parsed body and headers of one raw HTTP request (errors included)."""
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), dict(error.headers)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_bars(24 * 30)  # 30 days of 1h bars from a Monday


@pytest.fixture(scope="module")
def market(bars: pd.DataFrame) -> MarketData:
    return MarketData.from_bars(bars)


@pytest.fixture
def exchange(market: MarketData) -> Iterator[LocalExchange]:
    with LocalExchange(market) as running:
        yield running


@pytest.fixture
def client(exchange: LocalExchange) -> Iterator[Any]:
    made = binanceusdm_client(exchange.url, rate_limit_ms=0)
    yield made
    made.close()


def test_load_markets_when_exchange_info_served_lists_the_perpetual_with_its_tick_and_lot(
    exchange: LocalExchange, client: Any
) -> None:
    client.load_markets()
    market = client.market(SYMBOL)
    assert (market["id"], market["type"], market["linear"], market["settle"]) == ("BTCUSDT", "swap", True, "USDT")
    assert market["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
    assert market["limits"]["amount"]["min"] == 0.001
    assert [r.path for r in exchange.requests.records()] == ["/fapi/v1/exchangeInfo"]


def test_fetch_ohlcv_when_range_fits_one_page_returns_the_dataset_bars_exactly(bars: pd.DataFrame, client: Any) -> None:
    rows = client.fetch_ohlcv(SYMBOL, "1h", since=ms(bars.index[0]), limit=1000)
    assert len(rows) == len(bars)
    assert [r[0] for r in rows] == [ms(t) for t in bars.index]
    assert [r[1:] for r in rows] == bars.to_numpy().tolist()


def test_fetch_ohlcv_when_interval_is_coarser_returns_bars_resampled_from_the_base(
    bars: pd.DataFrame, client: Any
) -> None:
    for interval in ("4h", "1d"):
        expected = resample_bars(bars, interval)
        rows = client.fetch_ohlcv(SYMBOL, interval, since=ms(bars.index[0]), limit=1000)
        assert [r[0] for r in rows] == [ms(t) for t in expected.index], interval
        assert np.allclose([r[1:] for r in rows], expected.to_numpy(), rtol=0, atol=1e-9), interval


def test_fetch_ohlcv_when_interval_is_weekly_opens_each_bar_on_monday(bars: pd.DataFrame, client: Any) -> None:
    rows = client.fetch_ohlcv(SYMBOL, "1w", since=ms(bars.index[0]), limit=10)
    opens = pd.to_datetime([r[0] for r in rows], unit="ms", utc=True)
    assert len(rows) == 5  # 30 days from Monday 2024-01-01: four full weeks and a partial one
    assert set(opens.day_of_week) == {0}
    first_week = bars.loc[: bars.index[0] + pd.Timedelta(days=7) - pd.Timedelta(hours=1)]
    assert rows[0][1:5] == [
        first_week["open"].iat[0],
        first_week["high"].max(),
        first_week["low"].min(),
        first_week["close"].iat[-1],
    ]


def test_klines_when_queried_raw_follow_binance_row_format_and_window_rules(
    bars: pd.DataFrame, exchange: LocalExchange
) -> None:
    base = f"{exchange.url}/fapi/v1/klines?symbol=BTCUSDT&interval=1h"
    status, rows, _ = get_json(f"{base}&startTime={ms(bars.index[10])}&limit=3")
    assert status == 200
    first = rows[0]
    assert len(first) == 12
    assert first[0] == ms(bars.index[10]) and first[6] == ms(bars.index[10]) + HOUR_MS - 1
    assert all(isinstance(v, str) for v in first[1:6]) and first[8] == 4  # four synthesised trades per bar
    assert [r[0] for r in rows] == [ms(t) for t in bars.index[10:13]]
    _, rows, _ = get_json(f"{base}&endTime={ms(bars.index[50])}&limit=2")
    assert [r[0] for r in rows] == [ms(bars.index[49]), ms(bars.index[50])]
    _, rows, _ = get_json(f"{base}&startTime={ms(bars.index[5])}&endTime={ms(bars.index[7])}")
    assert [r[0] for r in rows] == [ms(t) for t in bars.index[5:8]]
    _, rows, _ = get_json(base)
    assert len(rows) == 500 and rows[-1][0] == ms(bars.index[-1])
    assert get_json(f"{base}&limit=1501")[:2] == (
        400,
        {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."},
    )


def test_klines_when_symbol_unknown_answer_400_code_1121_and_ccxt_raises_bad_symbol(
    exchange: LocalExchange, client: Any
) -> None:
    status, body, _ = get_json(f"{exchange.url}/fapi/v1/klines?symbol=NOPEUSDT&interval=1h")
    assert (status, body) == (400, {"code": -1121, "msg": "Invalid symbol."})
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        client.fapiPublicGetKlines({"symbol": "NOPEUSDT", "interval": "1h"})


def test_fetch_ohlcv_when_interval_finer_than_the_base_raises_bad_request_invalid_interval(client: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="Invalid interval"):
        client.fetch_ohlcv(SYMBOL, "1m", limit=5)


def test_trades_from_bars_when_aggregated_reproduce_every_bar(bars: pd.DataFrame) -> None:
    trades = trades_from_bars(bars, pd.Timedelta(hours=1))
    again = aggregate_trades(trades, "1h")
    assert len(trades) == 4 * len(bars)
    assert (
        again[["open", "high", "low", "close"]].to_numpy() == bars[["open", "high", "low", "close"]].to_numpy()
    ).all()
    assert np.allclose(again["volume"], bars["volume"], rtol=1e-12, atol=0)


def test_fetch_trades_when_paged_by_time_then_from_id_returns_consecutive_served_trades(
    bars: pd.DataFrame, market: MarketData, client: Any
) -> None:
    first = client.fetch_trades(SYMBOL, since=ms(bars.index[3]), limit=1000)
    # ccxt asks for [since, since + 1h] with both ends inclusive: bar 3's four trades and bar 4's first
    assert [t["timestamp"] for t in first] == [ms(bars.index[3]) + k * 900_000 for k in range(5)]
    after = client.fetch_trades(SYMBOL, limit=1000, params={"fromId": int(first[-1]["id"]) + 1})
    ids = [int(t["id"]) for t in first + after]
    assert ids == list(range(ids[0], ids[0] + 5 + 1000))
    served = market.series("BTCUSDT").trades.set_index("trade_id").loc[ids]
    assert [t["price"] for t in first + after] == served["price"].tolist()
    assert [t["side"] for t in first + after] == served["side"].tolist()


def test_agg_trades_when_window_longer_than_an_hour_raise_bad_request_1127(bars: pd.DataFrame, client: Any) -> None:
    start = ms(bars.index[0])
    with pytest.raises(ccxt.BadRequest, match="-1127"):
        client.fapiPublicGetAggTrades({"symbol": "BTCUSDT", "startTime": start, "endTime": start + 2 * HOUR_MS})


def test_fetch_ticker_when_clock_at_dataset_end_reports_the_last_24_hours(bars: pd.DataFrame, client: Any) -> None:
    ticker = client.fetch_ticker(SYMBOL)
    day = bars.iloc[-24:]
    assert ticker["last"] == bars["close"].iat[-1]
    assert (ticker["open"], ticker["high"], ticker["low"]) == (day["open"].iat[0], day["high"].max(), day["low"].min())
    assert ticker["baseVolume"] == pytest.approx(day["volume"].sum(), rel=1e-12)
    assert ticker["timestamp"] == ms(bars.index[-1]) + HOUR_MS


def test_fetch_order_book_when_asked_for_five_levels_returns_tick_spaced_levels_around_last(
    bars: pd.DataFrame, client: Any
) -> None:
    book = client.fetch_order_book(SYMBOL, limit=5)
    bids, asks = [p for p, _ in book["bids"]], [p for p, _ in book["asks"]]
    last = Decimal(str(float(bars["close"].iat[-1])))
    assert len(bids) == len(asks) == 5
    assert Decimal(str(bids[0])) <= last < Decimal(str(asks[0]))
    steps = np.diff([Decimal(str(p)) for p in [*reversed(bids), *asks]])
    assert set(steps) == {Decimal("0.1")}
    assert all(size > 0 for _, size in book["bids"] + book["asks"])


def test_bids_asks_and_last_prices_when_fetched_agree_with_depth_and_ticker(client: Any) -> None:
    book = client.fetch_order_book(SYMBOL, limit=5)
    top = client.fetch_bids_asks([SYMBOL])[SYMBOL]
    assert (top["bid"], top["ask"]) == (book["bids"][0][0], book["asks"][0][0])
    assert client.fetch_last_prices([SYMBOL])[SYMBOL]["price"] == client.fetch_ticker(SYMBOL)["last"]


def test_fetch_time_when_no_clock_given_is_the_close_of_the_last_bar(bars: pd.DataFrame, client: Any) -> None:
    assert client.fetch_time() == ms(bars.index[-1]) + HOUR_MS


def test_klines_when_clock_inside_the_data_serve_only_bars_opened_by_then(bars: pd.DataFrame) -> None:
    now = ms(bars.index[99]) + HOUR_MS // 2
    with LocalExchange(MarketData.from_bars(bars, clock=lambda: now)) as running:
        client = binanceusdm_client(running.url, rate_limit_ms=0)
        rows = client.fetch_ohlcv(SYMBOL, "1h", since=ms(bars.index[90]), limit=100)
        trades = client.fetch_trades(SYMBOL, limit=10)
        client.close()
    assert rows[-1][0] == ms(bars.index[99])  # the still-open bar is visible, as on a live exchange
    assert max(t["timestamp"] for t in trades) <= now


def test_rate_limit_fault_when_next_request_matches_answers_429_with_retry_after_then_recovers(
    exchange: LocalExchange, client: Any
) -> None:
    exchange.faults.add(FaultRule.rate_limit("/fapi/v1/klines", retry_after=2))
    status, body, headers = get_json(f"{exchange.url}/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=1")
    assert (status, body["code"], headers["Retry-After"]) == (429, -1003, "2")
    assert len(client.fetch_ohlcv(SYMBOL, "1h", limit=1)) == 1
    assert [(r.status, r.fault) for r in exchange.requests.records("/fapi/v1/klines")] == [
        (429, "rate_limit"),
        (200, None),
    ]


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        (FaultRule.rate_limit("/fapi/v1/klines", retry_after=1), ccxt.DDoSProtection),
        (FaultRule.http_error("/fapi/v1/klines", status=500), ccxt.OperationFailed),
        (FaultRule.http_error("/fapi/v1/klines", status=502), ccxt.ExchangeNotAvailable),
        (FaultRule.http_error("/fapi/v1/klines", status=503), ccxt.ExchangeNotAvailable),
    ],
)
def test_fault_when_injected_makes_ccxt_raise_its_transient_error(
    exchange: LocalExchange, client: Any, rule: FaultRule, error: type[Exception]
) -> None:
    client.load_markets()
    exchange.faults.add(rule)
    with pytest.raises(error):
        client.fetch_ohlcv(SYMBOL, "1h", limit=2)
    assert len(client.fetch_ohlcv(SYMBOL, "1h", limit=2)) == 2


def test_timeout_fault_when_longer_than_client_timeout_makes_ccxt_raise_request_timeout(
    exchange: LocalExchange,
) -> None:
    client = binanceusdm_client(exchange.url, rate_limit_ms=0, timeout_ms=200)
    client.load_markets()
    exchange.faults.add(FaultRule.timeout("/fapi/v1/klines", seconds=0.6))
    started = time.monotonic()
    with pytest.raises(ccxt.RequestTimeout):
        client.fetch_ohlcv(SYMBOL, "1h", limit=2)
    assert time.monotonic() - started < 0.6  # the client gave up before the held answer came
    client.close()
    deadline = time.monotonic() + 2.0
    while exchange.requests.records("/fapi/v1/klines")[0].status is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(r.status, r.fault) for r in exchange.requests.records("/fapi/v1/klines")] == [(499, "timeout")]


@pytest.mark.parametrize("rule", [FaultRule.malformed("/fapi/v1/klines"), FaultRule.truncated("/fapi/v1/klines")])
def test_malformed_body_when_served_ccxt_returns_null_rows_without_raising(
    exchange: LocalExchange, client: Any, rule: FaultRule
) -> None:
    # This is why the downloader checks raw bodies: ccxt swallows JSON errors and parses
    # the text character by character (rows of None; [] once filtered by `since`).
    client.load_markets()
    exchange.faults.add(rule)
    rows = client.fetch_ohlcv(SYMBOL, "1h", limit=5)
    assert rows and all(None in row for row in rows)
    with pytest.raises(json.JSONDecodeError):
        json.loads(client.last_http_response)


def test_delay_fault_when_set_slows_every_matching_request_but_not_others(exchange: LocalExchange, client: Any) -> None:
    client.load_markets()
    exchange.faults.add(FaultRule.delay("/fapi/v1/klines", seconds=0.15))
    started = time.monotonic()
    client.fetch_ohlcv(SYMBOL, "1h", limit=1)
    client.fetch_ohlcv(SYMBOL, "1h", limit=1)
    slowed = time.monotonic() - started
    started = time.monotonic()
    client.fetch_time()
    assert slowed >= 0.3
    assert time.monotonic() - started < 0.15
    assert len(exchange.faults.rules) == 1  # a delay without times stays


def test_fault_plan_when_probabilistic_and_seeded_fires_on_the_same_requests_each_time() -> None:
    def fired(seed: int) -> list[bool]:
        plan = FaultPlan((FaultRule(FaultKind.MALFORMED, "/fapi/*", probability=0.5),), seed=seed)
        return [plan.decide("/fapi/v1/klines").rule is not None for _ in range(40)]

    assert fired(3) == fired(3)
    assert 0 < sum(fired(3)) < 40
    assert fired(3) != fired(4)


def test_fault_plan_when_rule_has_times_stops_after_that_many_matches() -> None:
    plan = FaultPlan((FaultRule.http_error("/fapi/v1/klines", status=502, times=2),))
    decisions = [
        plan.decide(path).kind for path in ("/fapi/v1/time", "/fapi/v1/klines", "/fapi/v1/klines", "/fapi/v1/klines")
    ]
    assert decisions == [None, FaultKind.HTTP_ERROR, FaultKind.HTTP_ERROR, None]
    assert plan.rules == ()


def test_rule_from_mapping_when_a_field_has_the_wrong_type_names_the_field() -> None:
    with pytest.raises(FaultRuleError, match="'times' = 'two'"):
        rule_from_mapping({"kind": "http_error", "status": 503, "times": "two"})
    with pytest.raises(FaultRuleError, match="status must be one of"):
        rule_from_mapping({"kind": "http_error", "status": 404})


def test_admin_faults_when_posted_over_http_apply_to_the_next_request_and_are_logged(exchange: LocalExchange) -> None:
    rules = {"rules": [{"kind": "http_error", "path": "/fapi/v1/klines", "status": 503, "times": 1}], "seed": 1}
    status, body, _ = get_json(f"{exchange.url}/_admin/faults", rules, method="POST")
    assert (status, body["rules"][0]["status"]) == (200, 503)
    klines = f"{exchange.url}/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=1"
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(klines, timeout=5)
    failed.value.close()
    assert failed.value.code == 503
    assert get_json(klines)[0] == 200
    _, log, _ = get_json(f"{exchange.url}/_admin/requests")
    assert [(r["path"], r["status"], r["fault"]) for r in log["requests"]] == [
        ("/fapi/v1/klines", 503, "http_error"),
        ("/fapi/v1/klines", 200, None),
    ]
    assert log["requests"][0]["query"] == {"symbol": "BTCUSDT", "interval": "1h", "limit": "1"}


def test_admin_faults_when_rule_is_invalid_answer_400_naming_the_problem(exchange: LocalExchange) -> None:
    status, body, _ = get_json(f"{exchange.url}/_admin/faults", {"rules": [{"kind": "explode"}]}, method="POST")
    assert status == 400
    assert "kind 'explode' is not one of" in body["error"]


def test_async_client_when_pointed_at_local_exchange_fetches_the_dataset(
    bars: pd.DataFrame, exchange: LocalExchange
) -> None:
    async def fetch() -> list[list[float]]:
        client = binanceusdm_async_client(exchange.url, rate_limit_ms=0)
        try:
            rows: list[list[float]] = await client.fetch_ohlcv(SYMBOL, "1h", since=ms(bars.index[0]), limit=3)
            return rows
        finally:
            await client.close()

    rows = asyncio.run(fetch())
    assert [r[1:] for r in rows] == bars.iloc[:3].to_numpy().tolist()


def test_binanceusdm_client_when_built_points_every_http_api_url_at_the_local_server(exchange: LocalExchange) -> None:
    client = binanceusdm_client(exchange.url)
    urls = [u for u in client.urls["api"].values() if isinstance(u, str) and u.startswith("http")]
    assert urls and all(u.startswith(exchange.url + "/") for u in urls)
    assert client.urls["api"]["fapiPublic"] == exchange.url + "/fapi/v1"
    assert client.enableRateLimit is True
    client.close()


def test_module_main_when_given_a_parquet_file_prints_its_url_and_serves_it(bars: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "bars.parquet"
    bars.iloc[:48].to_parquet(data)
    command = [sys.executable, "-m", "quantbridge.datasets.exchange", "--data", str(data), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = binanceusdm_client(url, rate_limit_ms=0)
        rows = client.fetch_ohlcv(SYMBOL, "1h", since=ms(bars.index[0]), limit=100)
        client.close()
        assert [r[1:] for r in rows] == bars.iloc[:48].to_numpy().tolist()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert server.returncode == 0, errors
