"""The ccxt REST polling client: the real async ccxt ``binanceusdm`` client against the local
exchange in-process, whose clock is the test's SimulatedClock (trades appear as it
advances). Every wait of the client advances that clock, so hours of polling take a
second. Faults (429, 5xx, malformed and truncated bodies, timeouts) are injected mid-stream."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.exchange import FaultKind, FaultRule, LocalExchange, MarketData, binanceusdm_async_client
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.domain import Quote, Tick
from quantbridge.runtime.marketdata.ccxt_rest import (
    Backoff,
    CcxtRestClient,
    MalformedResponseError,
    PollPolicy,
    TradePaging,
    decode_trade,
)
from quantbridge.runtime.marketdata.client import MarketDataClient, MarketEvent

SYMBOL = "BTC/USDT:USDT"
START = pd.Timestamp("2024-01-01", tz="UTC")
TRADES = "/fapi/v1/aggTrades"


def minute_bars(n: int, *, quiet: slice | None = None) -> pd.DataFrame:
    """``n`` one-minute bars on a 0.1 grid (the exchange synthesises four trades per bar
    with volume); bars in ``quiet`` have no volume, hence no trades."""
    rng = np.random.default_rng(4)
    close = np.round(1000 + np.cumsum(rng.normal(0, 1, n)), 1)
    open_ = np.concatenate([[1000.0], close[:-1]])
    volume = np.round(rng.uniform(1, 5, n), 3)
    if quiet is not None:
        volume[quiet] = 0.0
    index = pd.date_range(START, periods=n, freq="1min", name="open_time").as_unit("ns")
    return pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close) + 0.5, "low": np.minimum(open_, close) - 0.5, "close": close}
        | {"volume": volume},
        index=index,
    )


def exchange_for(bars: pd.DataFrame, clock: SimulatedClock) -> LocalExchange:
    return LocalExchange(MarketData.from_bars(bars, clock=lambda: clock.now().value // 1_000_000))


@dataclass
class SimulatedSleep:
    """The client's sleep: advance the clock by the wait, close the client once ``stop_at`` is reached."""

    clock: SimulatedClock
    stop_at: pd.Timestamp
    client: CcxtRestClient | None = None
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance_to(self.clock.now() + pd.Timedelta(seconds=seconds))
        if self.clock.now() >= self.stop_at and self.client is not None:
            await self.client.close()
        await asyncio.sleep(0)


@dataclass
class Run:
    events: list[MarketEvent]
    client: CcxtRestClient
    sleep: SimulatedSleep

    @property
    def ticks(self) -> list[Tick]:
        return [e for e in self.events if isinstance(e, Tick)]

    @property
    def quotes(self) -> list[Quote]:
        return [e for e in self.events if isinstance(e, Quote)]


def run_stream(
    exchange: LocalExchange, clock: SimulatedClock, stop_at: pd.Timestamp, *, timeout_ms: int = 5_000, **kw: Any
) -> Run:
    """Collect the client's events until the clock reaches ``stop_at``."""
    sleep = SimulatedSleep(clock, stop_at)

    async def collect() -> Run:
        ccxt_client = binanceusdm_async_client(exchange.url, rate_limit_ms=0, timeout_ms=timeout_ms)
        client = CcxtRestClient(ccxt_client, [SYMBOL], clock, sleep=sleep, **kw)
        sleep.client = client
        typed: MarketDataClient = client
        events = [event async for event in typed.events()]
        await client.close()
        return Run(events, client, sleep)

    return asyncio.run(collect())


def served(exchange: LocalExchange) -> pd.DataFrame:
    return exchange.market.series("BTCUSDT").trades


def assert_all_trades_once(ticks: list[Tick], trades: pd.DataFrame) -> None:
    assert [t.trade_id for t in ticks] == trades["trade_id"].tolist()
    assert [t.price for t in ticks] == [Decimal(repr(p)) for p in trades["price"]]
    assert [t.amount for t in ticks] == [Decimal(repr(a)) for a in trades["amount"]]
    assert [t.side for t in ticks] == trades["side"].tolist()
    assert [t.ts for t in ticks] == list(pd.DatetimeIndex(trades["ts"]))


def add_fault(exchange: LocalExchange, rule: FaultRule, now: pd.Timestamp) -> None:
    """A clock timer's action: the fault applies from ``now`` on."""
    exchange.faults.add(rule)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START + pd.Timedelta(minutes=20))


@pytest.fixture
def exchange(clock: SimulatedClock) -> Iterator[LocalExchange]:
    with exchange_for(minute_bars(90), clock) as running:
        yield running


#: While catching up (seeded, probabilistic: some of the first pages fail) …
CATCH_UP_FAULTS = [
    FaultRule(FaultKind.MALFORMED, TRADES, probability=0.4, times=2),
    FaultRule(FaultKind.HTTP_ERROR, TRADES, status=502, probability=0.4, times=1),
]
#: … and live, one at each of these minutes.
LIVE_FAULTS = {
    25: FaultRule.rate_limit(TRADES, retry_after=3),
    35: FaultRule.http_error(TRADES, status=503),
    45: FaultRule.http_error(TRADES, status=500),
    55: FaultRule.malformed(TRADES),
    65: FaultRule.truncated(TRADES),
    75: FaultRule.http_error("/fapi/v1/ticker/bookTicker", status=502),
    85: FaultRule.malformed("/fapi/v1/ticker/bookTicker"),
}


@pytest.mark.parametrize("paging", list(TradePaging))
def test_events_when_faults_hit_mid_stream_emit_every_trade_once_in_id_order(
    exchange: LocalExchange, clock: SimulatedClock, paging: TradePaging
) -> None:
    exchange.faults.replace(tuple(CATCH_UP_FAULTS), seed=3)
    for minute, rule in LIVE_FAULTS.items():
        clock.set_timer(START + pd.Timedelta(minutes=minute), functools.partial(add_fault, exchange, rule))
    policy = PollPolicy(interval=pd.Timedelta(seconds=20), page_limit=7, paging=paging)
    run = run_stream(exchange, clock, START + pd.Timedelta(minutes=95), since=START, policy=policy)
    assert_all_trades_once(run.ticks, served(exchange))
    faulted = [r.fault for r in exchange.requests.records() if r.fault is not None]
    assert sorted(set(faulted)) == ["http_error", "malformed", "rate_limit", "truncated"]
    assert run.client.stats.retries == len(faulted) == len(LIVE_FAULTS) + 3
    assert (run.client.stats.duplicates > 0) is (paging is TradePaging.SINCE)  # SINCE pages overlap by design
    assert 3.0 in run.sleep.waits  # the 429's Retry-After, waited on the clock


def test_events_when_a_request_times_out_retry_it_without_losing_a_trade(
    exchange: LocalExchange, clock: SimulatedClock
) -> None:
    clock.set_timer(
        START + pd.Timedelta(minutes=40), lambda _: exchange.faults.add(FaultRule.timeout(TRADES, seconds=1.0))
    )
    policy = PollPolicy(interval=pd.Timedelta(seconds=30), quotes=False)
    run = run_stream(exchange, clock, START + pd.Timedelta(minutes=95), timeout_ms=400, since=START, policy=policy)
    assert_all_trades_once(run.ticks, served(exchange))
    assert run.client.stats.failures == {"RequestTimeout": 1}


def test_events_when_trades_appear_over_time_stamp_received_from_the_clock_at_each_poll(
    exchange: LocalExchange, clock: SimulatedClock
) -> None:
    policy = PollPolicy(interval=pd.Timedelta(seconds=10), quotes=False)
    run = run_stream(exchange, clock, START + pd.Timedelta(minutes=60), policy=policy)
    ticks = run.ticks
    polls = {START + pd.Timedelta(minutes=20) + pd.Timedelta(seconds=10 * k) for k in range(300)}
    assert ticks and {t.received for t in ticks} <= polls
    assert all(pd.Timedelta(0) <= t.received - t.ts < pd.Timedelta(seconds=10) for t in ticks)
    expected = served(exchange)  # since defaults to the clock's now; the last poll was the last received
    live = expected[(expected["ts"] >= START + pd.Timedelta(minutes=20)) & (expected["ts"] <= ticks[-1].received)]
    assert_all_trades_once(ticks, live)


def test_events_when_the_last_price_moves_emit_a_quote_per_change_of_the_top_of_book(
    exchange: LocalExchange, clock: SimulatedClock
) -> None:
    policy = PollPolicy(interval=pd.Timedelta(seconds=5), trades=False)
    quotes = run_stream(exchange, clock, START + pd.Timedelta(minutes=30), policy=policy).quotes
    tops = [(q.bid, q.ask) for q in quotes]
    assert len(quotes) > 10 and all(a != b for a, b in itertools.pairwise(tops))
    assert all(q.ask - q.bid == Decimal("0.1") and q.ts == q.received for q in quotes)


def test_events_when_an_hour_without_trades_follows_since_skip_empty_windows_to_the_first_trade() -> None:
    clock = SimulatedClock(START + pd.Timedelta(hours=4))
    with exchange_for(minute_bars(200, quiet=slice(0, 150)), clock) as exchange:
        policy = PollPolicy(interval=pd.Timedelta(seconds=30), quotes=False)
        run = run_stream(exchange, clock, START + pd.Timedelta(hours=4, minutes=1), since=START, policy=policy)
        assert_all_trades_once(run.ticks, served(exchange))
        windows = [r.query.get("startTime") for r in exchange.requests.records(TRADES)][:4]
    assert windows == [str(START.value // 1_000_000 + k * 3_600_000) for k in range(3)] + [None]


def test_events_when_resumed_from_ids_continue_after_the_last_trade(
    exchange: LocalExchange, clock: SimulatedClock
) -> None:
    policy = PollPolicy(interval=pd.Timedelta(seconds=30), quotes=False)
    run = run_stream(exchange, clock, START + pd.Timedelta(minutes=95), from_ids={SYMBOL: 100}, policy=policy)
    assert_all_trades_once(run.ticks, served(exchange).iloc[100:])
    assert run.client.cursors == {SYMBOL: int(served(exchange)["trade_id"].to_numpy()[-1])}


def test_events_when_the_symbol_is_unknown_raise_instead_of_retrying(
    exchange: LocalExchange, clock: SimulatedClock
) -> None:
    import ccxt

    async def first_event() -> None:
        client = CcxtRestClient(binanceusdm_async_client(exchange.url, rate_limit_ms=0), ["ETH/USDT:USDT"], clock)
        try:
            async for _ in client.events():
                break
        finally:
            await client.close()

    with pytest.raises(ccxt.BadSymbol):
        asyncio.run(first_event())


def test_client_when_built_switches_on_ccxt_rate_limiting_and_binance_id_paging(
    exchange: LocalExchange, clock: SimulatedClock
) -> None:
    ccxt_client = binanceusdm_async_client(exchange.url, config={"enableRateLimit": False})
    client = CcxtRestClient(ccxt_client, [SYMBOL], clock)
    assert ccxt_client.enableRateLimit is True and client.paging is TradePaging.FROM_ID
    asyncio.run(client.close())


def test_client_when_resuming_by_id_with_since_paging_and_no_since_raises(
    exchange: LocalExchange, clock: SimulatedClock
) -> None:
    ccxt_client = binanceusdm_async_client(exchange.url)
    with pytest.raises(ValueError, match="give since="):
        CcxtRestClient(ccxt_client, [SYMBOL], clock, from_ids={SYMBOL: 5}, policy=PollPolicy(paging=TradePaging.SINCE))
    asyncio.run(ccxt_client.close())


def test_backoff_when_retrying_grows_exponentially_to_the_cap_and_honours_retry_after() -> None:
    backoff = Backoff(base=0.5, factor=2.0, cap=3.0, max_retry_after=10.0)
    assert [backoff.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert (backoff.delay(0, retry_after=7.0), backoff.delay(0, retry_after=60.0)) == (7.0, 10.0)


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "1", "timestamp": None, "price": 1.0, "amount": 1.0, "side": "buy"},
        {"id": None, "timestamp": 1, "price": 1.0, "amount": 1.0, "side": "buy"},
        {"id": "1", "timestamp": 1, "price": None, "amount": 1.0, "side": "buy"},
        {"id": "1", "timestamp": 1, "price": 1.0, "amount": 1.0, "side": None},
        "{",
    ],
)
def test_decode_trade_when_a_field_is_missing_raises_malformed_response(raw: object) -> None:
    with pytest.raises(MalformedResponseError):
        decode_trade(SYMBOL, raw, START)
