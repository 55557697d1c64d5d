"""The local exchange's moving clock: :class:`ReplayClock` itself, ``/_admin/clock``, the
market and the matching engine following it (orders fill as it passes the trades, with
no client request), and ``--start``/``--speed`` on the command line. Clients are the
real ccxt ones; servers run on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from quantbridge.cli.main import app
from quantbridge.datasets.exchange import LocalExchange, MarketData, ReplayClock, binanceusdm_client

from ..local_exchange_fixtures import MovingClock, random_walk_bars, scripted_market, trade_ms, with_async_client

SYMBOL = "BTC/USDT:USDT"
API_KEY = "clock-test-key"
MINUTE_MS = 60_000
PRICES = [100.0, 100.2, 99.8, 100.1, 100.0, 100.4, 99.6, 99.1, 98.8, 99.5, 100.6, 101.4, 101.0, 100.5]


class FakeMonotonic:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.seconds = 500.0

    def __call__(self) -> float:
        return self.seconds


def request_json(url: str, data: Any = None) -> tuple[int, Any]:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def wait_until(condition: Callable[[], bool], timeout: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# --- ReplayClock --------------------------------------------------------------------------


def test_replay_clock_when_running_advances_speed_times_real_time_and_pauses_resumes_without_jumping() -> None:
    seconds = FakeMonotonic()
    clock = ReplayClock(1_000_000, speed=60.0, monotonic=seconds)
    seconds.seconds += 2.0
    assert clock() == 1_000_000 + 120_000
    clock.pause()
    seconds.seconds += 10.0
    assert (clock(), clock.paused) == (1_120_000, True)
    clock.resume()
    seconds.seconds += 0.5
    assert clock() == 1_150_000
    clock.set_speed(2.0)
    assert clock() == 1_150_000
    seconds.seconds += 1.0
    assert clock.state() == {"now_ms": 1_152_000, "speed": 2.0, "paused": False}


def test_replay_clock_when_set_jumps_either_way_and_keeps_its_running_state() -> None:
    seconds = FakeMonotonic()
    clock = ReplayClock(5_000, paused=True, monotonic=seconds)
    seconds.seconds += 3.0
    assert clock.now_ms == 5_000
    clock.set(2_000)
    seconds.seconds += 3.0
    assert clock() == 2_000
    clock.resume()
    clock.set(9_000)
    seconds.seconds += 0.25
    assert clock() == 9_250


@pytest.mark.parametrize("speed", [0.0, -1.0, float("inf"), float("nan")])
def test_replay_clock_when_given_a_speed_that_is_not_a_positive_finite_number_refuses_it(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        ReplayClock(0, speed=speed)
    with pytest.raises(ValueError, match="speed"):
        ReplayClock(0).set_speed(speed)


# --- a live exchange ---------------------------------------------------------------------


@pytest.fixture
def minute_market() -> MarketData:
    return MarketData.from_bars(random_walk_bars(240, seed=5, freq="1min"))


def test_moving_clock_when_time_passes_makes_new_klines_and_trades_appear(minute_market: MarketData) -> None:
    start = minute_market.start_ms + 30 * MINUTE_MS
    clock = ReplayClock(start, speed=1200.0)  # 20 replayed minutes per second
    with LocalExchange(minute_market, clock=clock) as exchange:
        client = binanceusdm_client(exchange.url, rate_limit_ms=0)
        try:
            before = client.fetch_ohlcv(SYMBOL, "1m", since=minute_market.start_ms, limit=1000)
            trades_before = client.fetch_trades(SYMBOL, limit=1000)
            time.sleep(0.3)
            after = client.fetch_ohlcv(SYMBOL, "1m", since=minute_market.start_ms, limit=1000)
            trades_after = client.fetch_trades(SYMBOL, limit=1000)
            _, state = request_json(f"{exchange.url}/_admin/clock")
        finally:
            client.close()
    assert len(after) >= len(before) + 4  # 0.3 s at 20 min/s: about 6 minutes
    assert before[-1][0] >= start - MINUTE_MS
    assert after[-1][0] <= state["now_ms"] and state["now_ms"] - after[-1][0] < MINUTE_MS
    assert trades_after[-1]["timestamp"] > trades_before[-1]["timestamp"]
    assert (state["speed"], state["paused"], state["settable"]) == (1200.0, False, True)


def test_moving_clock_when_it_passes_a_trigger_fills_the_orders_with_no_client_request() -> None:
    market = scripted_market(PRICES)
    trades = market.series("BTCUSDT").trades
    clock = ReplayClock(trade_ms(trades, 4), paused=True)
    with LocalExchange(market, clock=clock) as exchange:

        async def place(client: Any) -> None:
            await client.create_order(SYMBOL, "market", "buy", 0.02, None, {"clientOrderId": "qb-open"})
            await client.create_order(
                SYMBOL, "market", "sell", 0.01, None, {"stopPrice": 99.2, "reduceOnly": True, "clientOrderId": "qb-sl"}
            )
            await client.create_order(SYMBOL, "limit", "sell", 0.01, 101.2, {"clientOrderId": "qb-tp"})

        with_async_client(exchange.url, place, api_key=API_KEY)
        asked = exchange.requests.count()
        position = exchange.venue.account(API_KEY).position("BTCUSDT", "USDT")
        assert position.amount == Decimal("0.02")
        status, state = request_json(f"{exchange.url}/_admin/clock", {"speed": 600.0, "paused": False})
        assert (status, state["paused"], state["speed"]) == (200, False, 600.0)
        assert wait_until(lambda: position.amount == 0)  # 8 trades of 15 s at 10 min/s: ~0.2 s
        assert exchange.requests.count() == asked
        request_json(f"{exchange.url}/_admin/clock", {"paused": True})
        fills = with_async_client(exchange.url, lambda client: client.fetch_my_trades(SYMBOL), api_key=API_KEY)
    assert [(f["side"], f["price"], f["timestamp"]) for f in fills[1:]] == [
        ("sell", 99.1, trade_ms(trades, 7)),
        ("sell", 101.2, trade_ms(trades, 11)),
    ]


def test_admin_clock_when_posted_sets_pauses_and_speeds_up_the_clock_and_refuses_bad_bodies() -> None:
    market = scripted_market(PRICES)
    with LocalExchange(market, clock=ReplayClock(market.start_ms, paused=True)) as exchange:
        url = f"{exchange.url}/_admin/clock"
        assert request_json(url) == (200, {"now_ms": market.start_ms, "speed": 1.0, "paused": True, "settable": True})
        target = market.end_ms - MINUTE_MS
        assert request_json(url, {"now_ms": target, "speed": 4}) == (
            200,
            {"now_ms": target, "speed": 4.0, "paused": True, "settable": True},
        )
        assert exchange.market.now_ms() == target
        client = binanceusdm_client(exchange.url, rate_limit_ms=0)
        try:
            assert client.fetch_ohlcv(SYMBOL, "1m", since=market.start_ms)[-1][0] == target
        finally:
            client.close()
        for bad in ({"speed": 0}, {"now_ms": "soon"}, {"paused": "yes"}, {"now": 1}, [1]):
            status, body = request_json(url, bad)
            assert status == 400, bad
            assert "error" in body
        assert request_json(url)[1]["now_ms"] == target


def test_admin_clock_when_the_clock_is_not_a_replay_clock_reads_it_and_refuses_to_set_it() -> None:
    clock = MovingClock(1_700_000_000_000)
    with LocalExchange(scripted_market(PRICES, clock=clock)) as exchange:
        url = f"{exchange.url}/_admin/clock"
        assert request_json(url) == (200, {"now_ms": clock.ms, "speed": 0.0, "paused": True, "settable": False})
        status, body = request_json(url, {"paused": False})
    assert status == 409
    assert "ReplayClock" in body["error"]


# --- command line ------------------------------------------------------------------------


@pytest.fixture
def bars_file(tmp_path: Path) -> Path:
    path = tmp_path / "bars.parquet"
    random_walk_bars(600, seed=3, freq="1min").to_parquet(path)
    return path


def test_module_main_when_given_start_and_speed_serves_a_clock_that_runs_from_start(bars_file: Path) -> None:
    command = [sys.executable, "-m", "quantbridge.datasets.exchange", "--data", str(bars_file)]
    command += ["--start", "2024-01-01T02:00", "--speed", "600"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        first = request_json(f"{url}/_admin/clock")[1]
        time.sleep(0.2)
        second = request_json(f"{url}/_admin/clock")[1]
        client = binanceusdm_client(url, rate_limit_ms=0)
        try:
            rows = client.fetch_ohlcv(SYMBOL, "1h", since=int(pd.Timestamp("2024-01-01", tz="UTC").value // 10**6))
        finally:
            client.close()
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=10)
    start = int(pd.Timestamp("2024-01-01T02:00", tz="UTC").value // 1_000_000)
    assert (first["paused"], first["speed"]) == (False, 600.0)
    assert start <= first["now_ms"] < second["now_ms"]
    assert second["now_ms"] - first["now_ms"] >= 0.2 * 600 * 1000
    assert [r[0] for r in rows] == [start - 2 * 3_600_000, start - 3_600_000, start]  # 02:00 bar is still open
    assert server.returncode == 0, errors


def test_module_main_when_not_asked_for_a_moving_clock_serves_a_paused_settable_one_at_the_end(bars_file: Path) -> None:
    command = [sys.executable, "-m", "quantbridge.datasets.exchange", "--data", str(bars_file)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        state = request_json(f"{url}/_admin/clock")[1]
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=10)
    end = int(pd.Timestamp("2024-01-01T10:00", tz="UTC").value // 1_000_000)  # 600 one-minute bars
    assert state == {"now_ms": end, "speed": 1.0, "paused": True, "settable": True}
    assert server.returncode == 0, errors


def test_clock_options_when_now_is_combined_with_start_or_speed_exit_2(bars_file: Path) -> None:
    result = CliRunner().invoke(
        app, ["exchange", "serve", "--data", str(bars_file), "--now", "2024-01-01T03:00", "--speed", "2"]
    )
    assert result.exit_code == 2
    assert "--now" in result.output
    module = subprocess.run(
        [
            sys.executable,
            "-m",
            "quantbridge.datasets.exchange",
            "--data",
            str(bars_file),
            "--now",
            "2024-01-01",
            "--start",
            "2024-01-01",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert module.returncode == 2
    assert "--now" in module.stderr
    help_text = CliRunner().invoke(app, ["exchange", "serve", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--start" in help_text and "--speed" in help_text


def test_ccxt_when_the_clock_is_paused_sees_the_market_stand_still(minute_market: MarketData) -> None:
    clock = ReplayClock(minute_market.start_ms + 60 * MINUTE_MS, speed=1200.0)
    clock.pause()
    with LocalExchange(minute_market, clock=clock) as exchange:
        client = binanceusdm_client(exchange.url, rate_limit_ms=0)
        try:
            first = client.fetch_trades(SYMBOL, limit=5)
            time.sleep(0.1)
            second = client.fetch_trades(SYMBOL, limit=5)
        finally:
            client.close()
    assert [t["id"] for t in first] == [t["id"] for t in second]
    assert first[-1]["timestamp"] <= clock()
