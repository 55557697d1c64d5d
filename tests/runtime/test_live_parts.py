"""The pieces of paper/live trading around the session: credentials, crash points, the
exchange-time clock, market rules and warm-up history from the (local) exchange."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from quantbridge.datasets.exchange import LocalExchange, MarketData, binanceusdm_async_client
from quantbridge.runtime.clock import ScaledClock
from quantbridge.runtime.crashpoints import CRASH_ENV
from quantbridge.runtime.live.credentials import CredentialsError, load_credentials
from quantbridge.runtime.live.history import HistoryError, closed_candles, market_from_ccxt
from tests.local_exchange_fixtures import MovingClock, random_walk_bars

KEY, SECRET = "k3y-AbCdEf-0123456789", "s3cr3t-ZyXw-9876543210"


# ---- credentials -------------------------------------------------------------------------------
def _file(tmp_path: Path, mode: int, text: str | None = None) -> Path:
    path = tmp_path / "creds.json"
    path.write_text(text if text is not None else f'{{"api_key": "{KEY}", "secret": "{SECRET}"}}', encoding="utf-8")
    path.chmod(mode)
    return path


def test_credentials_from_an_owner_only_file_are_loaded_and_never_shown(tmp_path: Path) -> None:
    creds = load_credentials("binanceusdm", _file(tmp_path, 0o600), environ={})
    assert (creds.api_key, creds.secret) == (KEY, SECRET)
    for text in (repr(creds), str(creds), f"{creds}"):
        assert KEY not in text and SECRET not in text
        assert creds.fingerprint in text
    assert creds.secrets == (KEY, SECRET)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_credentials_file_readable_by_others_is_refused_naming_file_and_mode(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, mode)
    with pytest.raises(CredentialsError) as info:
        load_credentials("binanceusdm", path, environ={})
    message = str(info.value)
    assert str(path) in message and f"{mode:o}" in message and "chmod 600" in message
    assert KEY not in message and SECRET not in message


def test_credentials_file_without_secret_names_the_missing_field_not_the_key(tmp_path: Path) -> None:
    path = _file(tmp_path, 0o600, f'{{"api_key": "{KEY}"}}')
    with pytest.raises(CredentialsError, match="'api_key' and 'secret' are required") as info:
        load_credentials("binanceusdm", path, environ={})
    assert KEY not in str(info.value)


def test_credentials_from_environment_prefer_the_exchange_specific_pair() -> None:
    env = {
        "QUANTBRIDGE_API_KEY": "generic",
        "QUANTBRIDGE_SECRET": "generic-secret",
        "QUANTBRIDGE_BINANCEUSDM_API_KEY": KEY,
        "QUANTBRIDGE_BINANCEUSDM_SECRET": SECRET,
    }
    assert load_credentials("binanceusdm", environ=env).api_key == KEY
    assert load_credentials("bybit", environ=env).api_key == "generic"


def test_credentials_missing_everywhere_say_where_to_put_them() -> None:
    with pytest.raises(CredentialsError, match=r"QUANTBRIDGE_BINANCEUSDM_API_KEY.*--credentials"):
        load_credentials("binanceusdm", environ={})


# ---- crash points --------------------------------------------------------------------------------
def _run_with_crash(target: str) -> subprocess.CompletedProcess[str]:
    code = (
        "from quantbridge.runtime.crashpoints import crash_point\n"
        "for i in range(3):\n"
        "    print('reached', i, flush=True)\n"
        "    crash_point('after_send')\n"
        "print('survived', flush=True)\n"
    )
    env = {**os.environ, CRASH_ENV: target}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_crash_point_kills_the_process_with_sigkill_at_the_nth_visit() -> None:
    done = _run_with_crash("after_send:2")
    assert done.returncode == -9
    assert done.stdout.split("\n")[:2] == ["reached 0", "reached 1"]
    assert "survived" not in done.stdout


def test_crash_point_elsewhere_does_nothing_and_an_unknown_name_is_an_error() -> None:
    assert _run_with_crash("before_send").stdout.endswith("survived\n")
    failed = _run_with_crash("nowhere")
    assert failed.returncode == 1 and "expected one of before_send, after_send, after_fill" in failed.stderr


# ---- the clock on the exchange's time ------------------------------------------------------------
def test_scaled_clock_runs_speed_times_faster_from_its_origin_and_fires_due_timers() -> None:
    origin = pd.Timestamp("2024-03-01 12:00", tz="UTC")
    clock = ScaledClock(origin, speed=3600.0)
    fired: list[pd.Timestamp] = []
    clock.set_timer(origin + pd.Timedelta(minutes=1), fired.append)
    clock.set_timer(origin + pd.Timedelta(days=1), fired.append)
    time.sleep(0.05)
    elapsed = clock.now() - origin
    assert pd.Timedelta(minutes=3) <= elapsed < pd.Timedelta(minutes=30)
    assert clock.fire_due() == 1 and len(fired) == 1 and fired[0] >= origin + pd.Timedelta(minutes=1)
    assert clock.next_timer == origin + pd.Timedelta(days=1)
    assert clock.wall_seconds(pd.Timedelta(hours=1)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="speed must be above zero"):
        ScaledClock(origin, speed=0)


# ---- market rules and warm-up history from the exchange -----------------------------------------
@pytest.fixture
def local_exchange() -> LocalExchange:
    bars = random_walk_bars(600, seed=7)
    now = int(bars.index[400].value // 1_000_000) + 30_000  # 30 s into bar 400
    market = MarketData.from_bars(bars, tick_size=Decimal("0.1"), step_size=Decimal("0.001"), clock=MovingClock(now))
    with LocalExchange(market) as exchange:
        yield exchange


def test_market_from_ccxt_takes_tick_lot_and_minimums_from_the_exchange(local_exchange: LocalExchange) -> None:
    async def load() -> dict[str, object]:
        client = binanceusdm_async_client(local_exchange.url)
        try:
            return dict(await client.load_markets())
        finally:
            await client.close()

    markets = asyncio.run(load())
    market = market_from_ccxt("BTC/USDT:USDT", markets)
    assert (market.tick_size, market.lot_size) == (Decimal("0.1"), Decimal("0.001"))
    assert market.base == "BTC" and market.quote == "USDT"
    with pytest.raises(HistoryError, match="'ETH/USDT:USDT' is not listed"):
        market_from_ccxt("ETH/USDT:USDT", markets)


def test_closed_candles_are_the_last_n_closed_ones_on_the_tick_grid(local_exchange: LocalExchange) -> None:
    bars = random_walk_bars(600, seed=7)
    now = bars.index[400] + pd.Timedelta(seconds=30)

    async def fetch(count: int) -> list[object]:
        client = binanceusdm_async_client(local_exchange.url, rate_limit_ms=0)
        try:
            markets = await client.load_markets()
            return list(await closed_candles(client, market_from_ccxt("BTC/USDT:USDT", markets), "1m", count, now))
        finally:
            await client.close()

    candles = asyncio.run(fetch(120))
    assert len(candles) == 120
    opens = [c.open_time for c in candles]  # type: ignore[attr-defined]
    assert opens == list(bars.index[280:400])  # bar 400 is still forming: never handed out
    first = candles[0]
    assert first.close == Decimal(str(bars["close"].iloc[280]))  # type: ignore[attr-defined]
    assert len(asyncio.run(fetch(1000))) == 400  # only what exists (paged through 500-candle pages)


def test_candles_through_waits_until_the_exchange_serves_a_later_candle(local_exchange: LocalExchange) -> None:
    from quantbridge.runtime.live.history import candles_through

    bars = random_walk_bars(600, seed=7)

    async def fetch(first: int, last: int) -> list[object] | None:
        client = binanceusdm_async_client(local_exchange.url, rate_limit_ms=0)
        try:
            market = market_from_ccxt("BTC/USDT:USDT", await client.load_markets())
            got = await candles_through(client, market, "1m", bars.index[first], bars.index[last])
            return None if got is None else list(got)
        finally:
            await client.close()

    closed = asyncio.run(fetch(390, 399))  # bar 400 is forming at the exchange: 390..399 are closed
    assert closed is not None and [c.open_time for c in closed] == list(bars.index[390:400])  # type: ignore[attr-defined]
    assert asyncio.run(fetch(390, 400)) is None  # 400 itself is not closed by the exchange's clock
