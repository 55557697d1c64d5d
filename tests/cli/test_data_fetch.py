"""``quantbridge data fetch`` / ``fetch-trades`` / ``exchange serve`` against a local
exchange on loopback: exit codes, what lands in the cache, and resuming after SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import ccxt
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from quantbridge.cli.main import app
from quantbridge.datasets.cache import CachedSeries, open_series
from quantbridge.datasets.exchange import FaultRule, LocalExchange, MarketData, binanceusdm_client
from quantbridge.datasets.schemas import DataKind

SYMBOL = "BTC/USDT:USDT"
KLINES = "/fapi/v1/klines"
HOUR_MS = 3_600_000


def make_bars(n: int, start: str = "2024-01-01", seed: int = 5) -> pd.DataFrame:
    """Deterministic 1h bars on a 0.1 price grid."""
    rng = np.random.default_rng(seed)
    close = np.round(2000 + np.cumsum(rng.normal(0, 3, n)), 1)
    open_ = np.concatenate([[2000.0], close[:-1]])
    high = np.round(np.maximum(open_, close) + rng.uniform(0, 3, n), 1)
    low = np.round(np.minimum(open_, close) - rng.uniform(0, 3, n), 1)
    volume = np.round(rng.uniform(1, 10, n), 3)
    index = pd.date_range(start, periods=n, freq="1h", tz="UTC", name="open_time").as_unit("ns")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def ms(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1_000_000)


def fetch_args(url: str, cache: Path, *extra: str) -> list[str]:
    return [
        "data", "fetch", "--exchange", "local", "--exchange-url", url, "--symbol", SYMBOL, "--timeframe", "1h",
        "--since", "2024-01-01", "--cache", str(cache), "--no-progress", "--rate-limit-ms", "0", *extra,
    ]  # fmt: skip


def local_bars(cache: Path) -> CachedSeries:
    return open_series("local", SYMBOL, DataKind.BARS, "1h", root=cache)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_bars(24 * 91)  # January to March 2024: five pages of 500


@pytest.fixture
def exchange(bars: pd.DataFrame) -> Iterator[LocalExchange]:
    with LocalExchange(MarketData.from_bars(bars)) as running:
        yield running


runner = CliRunner()


def test_fetch_when_local_exchange_serves_bars_exits_0_and_caches_the_dataset(
    bars: pd.DataFrame, exchange: LocalExchange, tmp_path: Path
) -> None:
    result = runner.invoke(app, fetch_args(exchange.url, tmp_path))
    assert result.exit_code == 0, result.output
    assert "2184 bars fetched, 0 already cached" in result.stdout
    pd.testing.assert_frame_equal(local_bars(tmp_path).read(), bars, check_freq=False)


def test_fetch_trades_when_local_exchange_serves_trades_exits_0_and_caches_them(
    exchange: LocalExchange, tmp_path: Path
) -> None:
    args = ["data", "fetch-trades", "--exchange", "local", "--exchange-url", exchange.url, "--symbol", SYMBOL]
    args += ["--since", "2024-01-02", "--until", "2024-01-04", "--cache", str(tmp_path), "--no-progress"]
    result = runner.invoke(app, [*args, "--rate-limit-ms", "0"])
    assert result.exit_code == 0, result.output
    trades = open_series("local", SYMBOL, DataKind.TRADES, root=tmp_path).read()
    served = exchange.market.series("BTCUSDT").trades
    expected = served[(served["ts"] >= "2024-01-02") & (served["ts"] < "2024-01-04")].reset_index(drop=True)
    pd.testing.assert_frame_equal(trades, expected, check_dtype=False)
    assert "192 trades fetched" in result.stdout


def test_fetch_when_symbol_unknown_exits_2_naming_the_symbol(exchange: LocalExchange, tmp_path: Path) -> None:
    args = fetch_args(exchange.url, tmp_path)
    args[args.index(SYMBOL)] = "DOGE/USDT:USDT"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "no market 'DOGE/USDT:USDT'" in result.stderr
    assert exchange.requests.count(KLINES) == 0


def test_fetch_when_exchange_keeps_failing_exits_3_naming_symbol_timeframe_and_range(
    exchange: LocalExchange, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.http_error(KLINES, status=503, times=None))
    result = runner.invoke(app, fetch_args(exchange.url, tmp_path, "--max-retries", "2", "--retry-delay", "0.01"))
    assert result.exit_code == 3
    assert "BTC/USDT:USDT 1h bars 2024-01-01T00:00:00+00:00 .. 2024-04-01T00:00:00+00:00" in result.stderr
    assert "failed after 2 retries: ExchangeNotAvailable" in result.stderr
    assert exchange.requests.count(KLINES) == 3


def test_fetch_when_exchange_sends_an_invalid_page_exits_1_naming_the_problem(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    market = MarketData.from_bars(bars)
    served = market.series("BTCUSDT").bars
    served.iloc[10, served.columns.get_loc("low")] = -1.0
    with LocalExchange(market) as running:
        result = runner.invoke(app, fetch_args(running.url, tmp_path))
    assert result.exit_code == 1
    assert "invalid page" in result.stderr and "non_positive_price" in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--since": "last tuesday"}, "--since/--until"),
        ({"--exchange-url": None}, "--exchange local needs --exchange-url"),
        ({"--exchange": "kraken"}, "--exchange-url works with --exchange binanceusdm or local"),
    ],
)
def test_fetch_when_options_are_wrong_exits_2_saying_which(
    exchange: LocalExchange, tmp_path: Path, change: dict[str, str | None], message: str
) -> None:
    args = fetch_args(exchange.url, tmp_path)
    for option, value in change.items():
        position = args.index(option)
        if value is None:
            del args[position : position + 2]
        else:
            args[position + 1] = value
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_fetch_when_until_is_not_after_since_exits_2_before_any_request(
    exchange: LocalExchange, tmp_path: Path
) -> None:
    result = runner.invoke(app, fetch_args(exchange.url, tmp_path, "--until", "2023-12-31"))
    assert result.exit_code == 2
    assert "--until 2023-12-31T00:00:00+00:00 is not after --since 2024-01-01T00:00:00+00:00" in result.stderr
    assert exchange.requests.count() == 0


def wait_for(condition: object, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_fetch_when_killed_mid_download_leaves_a_valid_cache_and_the_rerun_fetches_only_the_rest(
    bars: pd.DataFrame, exchange: LocalExchange, tmp_path: Path
) -> None:
    exchange.faults.add(FaultRule.delay(KLINES, seconds=0.4))
    command = [sys.executable, "-m", "quantbridge.cli.main", *fetch_args(exchange.url, tmp_path)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: exchange.requests.count(KLINES) >= 3, "the third page request")
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL

    series = local_bars(tmp_path)
    partial = series.read()  # validates every month file
    assert 500 <= len(partial) < len(bars)
    pd.testing.assert_frame_equal(partial, bars.iloc[: len(partial)], check_freq=False)

    exchange.faults.clear()
    exchange.requests.clear()
    result = runner.invoke(app, fetch_args(exchange.url, tmp_path))
    assert result.exit_code == 0, result.output
    first_missing = ms(bars.index[len(partial)])
    requested = [int(r.query["startTime"]) for r in exchange.requests.records(KLINES)]
    missing_pages = -(-(len(bars) - len(partial)) // 500)
    assert requested == [first_missing + k * 500 * HOUR_MS for k in range(missing_pages)]
    pd.testing.assert_frame_equal(series.read(), bars, check_freq=False)
    assert series.temp_files() == []


def test_exchange_serve_when_run_as_a_subprocess_prints_its_url_and_takes_faults_over_http(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    data = tmp_path / "bars.parquet"
    bars.iloc[:72].to_parquet(data)
    command = [sys.executable, "-m", "quantbridge.cli.main", "exchange", "serve", "--data", str(data), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        rule = {"rules": [{"kind": "rate_limit", "path": KLINES, "retry_after": 0, "times": 1}]}
        posted = urllib.request.Request(f"{url}/_admin/faults", data=json.dumps(rule).encode(), method="POST")
        with urllib.request.urlopen(posted, timeout=5) as answer:
            assert answer.status == 200
        client = binanceusdm_client(url, rate_limit_ms=0)
        try:
            with pytest.raises(ccxt.DDoSProtection, match="429"):
                client.fetch_ohlcv(SYMBOL, "1h", since=ms(bars.index[0]), limit=100)
            rows = client.fetch_ohlcv(SYMBOL, "1h", since=ms(bars.index[0]), limit=100)
        finally:
            client.close()
        with urllib.request.urlopen(f"{url}/_admin/requests", timeout=5) as answer:
            log = json.loads(answer.read())["requests"]
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=10)
    assert [r[1:] for r in rows] == bars.iloc[:72].to_numpy().tolist()
    assert [(r["path"], r["status"]) for r in log] == [("/fapi/v1/exchangeInfo", 200), (KLINES, 429), (KLINES, 200)]
    assert server.returncode == 0, errors


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["data", "fetch"], ["--symbol", "--timeframe", "--since", "--exchange-url", "Exit codes"]),
        (["data", "fetch-trades"], ["--symbol", "--since", "--until", "--cache", "Exit codes"]),
        (["exchange", "serve"], ["--data", "--port", "--tick-size", "/_admin/faults"]),
    ],
)
def test_help_when_asked_for_a_command_explains_its_options(command: list[str], expected: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in expected:
        assert text in result.stdout, text


def test_cli_modules_when_imported_load_no_heavy_library() -> None:
    probe = (
        "import sys, quantbridge.cli.data_fetch, quantbridge.cli.exchange; "
        "print(sorted(m for m in ('ccxt', 'pandas', 'aiohttp', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
