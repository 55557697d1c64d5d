"""Shared by the local-exchange tests: a settable exchange clock, random-walk bars and
markets whose trades are scripted price by price."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from quantbridge.datasets.exchange import MarketData, binanceusdm_async_client
from quantbridge.datasets.resample import aggregate_trades

T = TypeVar("T")


class MovingClock:
    """The exchange's market clock in epoch ms; the test moves it by setting ``ms``."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def random_walk_bars(
    n: int,
    *,
    seed: int,
    start: float = 1000.0,
    step_sd: float = 2.0,
    wick: tuple[float, float] = (0.0, 2.0),
    freq: str = "1min",
) -> pd.DataFrame:
    """Deterministic bars on a 0.1 price grid: a normal random walk of closes, each open
    the previous close, wicks drawn uniformly from ``wick`` beyond the body."""
    rng = np.random.default_rng(seed)
    close = np.round(start + np.cumsum(rng.normal(0, step_sd, n)), 1)
    open_ = np.concatenate([[start], close[:-1]])
    high = np.round(np.maximum(open_, close) + rng.uniform(*wick, n), 1)
    low = np.round(np.minimum(open_, close) - rng.uniform(*wick, n), 1)
    volume = np.round(rng.uniform(1, 10, n), 3)
    index = pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC", name="open_time").as_unit("ns")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def scripted_trades(prices: Sequence[float], *, start: str = "2024-01-01", every: str = "15s") -> pd.DataFrame:
    """Trades at ``prices``, one every ``every`` from ``start`` (amount 1, ids from 1); a
    trade is a buy when its price is at or above the previous one."""
    values = np.asarray(prices, dtype=np.float64)
    previous = np.concatenate([values[:1], values[:-1]])
    return pd.DataFrame(
        {
            "ts": pd.date_range(start, periods=len(values), freq=every, tz="UTC").as_unit("ns"),
            "price": values,
            "amount": 1.0,
            "side": np.where(values >= previous, "buy", "sell"),
            "trade_id": np.arange(1, len(values) + 1, dtype=np.int64),
        }
    )


def scripted_market(
    prices: Sequence[float], *, clock: Callable[[], int] | None = None, every: str = "15s", timeframe: str = "1m"
) -> MarketData:
    """A BTCUSDT market whose trades are exactly ``prices`` (see :func:`scripted_trades`) and
    whose ``timeframe`` bars aggregate them."""
    trades = scripted_trades(prices, every=every)
    bars = aggregate_trades(trades, timeframe)
    return MarketData.from_bars(bars, timeframe=timeframe, trades=trades, clock=clock)


def trade_ms(trades: pd.DataFrame, index: int) -> int:
    """Epoch ms of trade row ``index``."""
    return int(pd.Timestamp(trades["ts"].iloc[index]).value // 1_000_000)


def with_async_client(
    url: str, scenario: Callable[[Any], Awaitable[T]], *, api_key: str = "local-test-key", timeout_ms: int = 10_000
) -> T:
    """Run ``scenario(client)`` with a fresh ccxt async ``binanceusdm`` client of account
    ``api_key`` at ``url`` (markets loaded; closed afterwards), in a new event loop."""

    async def main() -> T:
        client = binanceusdm_async_client(url, rate_limit_ms=0, timeout_ms=timeout_ms, api_key=api_key, secret="s")
        try:
            await client.load_markets()
            return await scenario(client)
        finally:
            await client.close()

    return asyncio.run(main())
