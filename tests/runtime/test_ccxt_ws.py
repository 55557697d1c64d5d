"""CcxtWebsocketClient against the local exchange's websocket streams through the real ccxt.pro
``binanceusdm`` client: decoding, drops mid-candle, repeated drops, stalls, REST back-fill,
clean shutdown. The exchange clock is moved trade by trade by the test while the client
streams; whatever the timing, the ticks must equal the served trades exactly."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
import pandas as pd
import pytest

from quantbridge.datasets.exchange import (
    FaultRule,
    LocalExchange,
    MarketData,
    StreamFaultRule,
    binanceusdm_pro_client,
)
from quantbridge.datasets.exchange.market import SymbolSeries, SymbolSpec
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.domain import Quote, Tick
from quantbridge.runtime.marketdata.ccxt_ws import (
    CcxtWebsocketClient,
    ReconnectPolicy,
    StreamEvent,
    StreamEventKind,
    TradeSequencer,
)
from quantbridge.runtime.marketdata.client import MarketEvent

from ..local_exchange_fixtures import MovingClock, random_walk_bars

SYMBOL = "BTC/USDT:USDT"
START = pd.Timestamp("2024-03-01 12:00", tz="UTC")
FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.2)
#: Trades 0..9 are history when a test starts; the clock then moves through 10..LAST.
FIRST, LAST = 10, 89
T = TypeVar("T")


def make_bars(n: int) -> pd.DataFrame:
    """Deterministic 1-minute bars (the exchange synthesises four trades per bar)."""
    return random_walk_bars(n, seed=5, start=2000.0, step_sd=3.0)


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(0)


@pytest.fixture
def exchange(clock: MovingClock) -> Iterator[LocalExchange]:
    market = MarketData.from_bars(make_bars(30), clock=clock)
    clock.ms = int(market.symbols[0].trade_ms[FIRST - 1])
    with LocalExchange(market) as running:
        yield running


def series_of(exchange: LocalExchange) -> SymbolSeries:
    return exchange.market.symbols[0]


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` (bounded) and fail on anything the event loop reported (a task destroyed
    while pending, a future's exception never retrieved...)."""
    reported: list[dict[str, Any]] = []

    async def main() -> T:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        async with asyncio.timeout(30):
            return await work

    result = asyncio.run(main())
    gc.collect()  # a future's unretrieved exception is reported when it is collected
    assert reported == []
    return result


def expected_ticks(series: SymbolSeries, start: int, stop: int, received: pd.Timestamp) -> list[Tick]:
    rows = series.trades.iloc[start:stop]
    return [
        Tick(
            SYMBOL, pd.Timestamp(int(ms), unit="ms", tz="UTC"), received, Decimal(repr(p)), Decimal(repr(a)), s, int(i)
        )
        for ms, p, a, s, i in zip(
            series.trade_ms[start:stop],
            rows["price"].tolist(),
            rows["amount"].tolist(),
            rows["side"].tolist(),
            series.trade_ids[start:stop],
            strict=True,
        )
    ]


async def subscribed(exchange: LocalExchange, stream: str, after: int = 0) -> None:
    """Wait until a connection (numbered above ``after``) is subscribed to ``stream``."""
    for _ in range(500):
        if any(stream in info.streams and info.id > after for info in exchange.streams.connections()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no connection subscribed to {stream}")


async def advance(clock: MovingClock, series: SymbolSeries, start: int, stop: int, pause: float) -> None:
    """Move the exchange clock trade by trade (trades keep being published during outages)."""
    for position in range(start, stop):
        clock.ms = int(series.trade_ms[position])
        await asyncio.sleep(pause)


async def stream_through(
    exchange: LocalExchange,
    clock: MovingClock,
    client: CcxtWebsocketClient,
    stream: str = "btcusdt@aggTrade",
    pause: float = 0.003,
) -> list[MarketEvent]:
    """Stream while the clock moves through trades FIRST..LAST (one every ``pause`` s); collect
    until trade LAST's tick; close the client and check that nothing is left running."""
    series = series_of(exchange)
    last_id = int(series.trade_ids[LAST])
    events: list[MarketEvent] = []

    async def consume() -> None:
        async for event in client.events():
            events.append(event)
            if isinstance(event, Tick) and event.trade_id == last_id:
                return

    consumer = asyncio.create_task(consume())
    try:
        await subscribed(exchange, stream)
        await advance(clock, series, FIRST, LAST + 1, pause)
        await asyncio.wait_for(consumer, 10)
    finally:
        consumer.cancel()
        await client.close()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    return events


def new_client(
    exchange: LocalExchange, *, keepalive_ms: int | None = None, config: dict[str, Any] | None = None, **options: Any
) -> tuple[CcxtWebsocketClient, list[StreamEvent], SimulatedClock]:
    recorded: list[StreamEvent] = []
    pro = binanceusdm_pro_client(exchange.url, rate_limit_ms=0, keepalive_ms=keepalive_ms, config=config)
    runtime_clock = SimulatedClock(START)
    options.setdefault("policy", FAST)
    client = CcxtWebsocketClient(pro, [SYMBOL], runtime_clock, on_event=recorded.append, **options)
    return client, recorded, runtime_clock


def kinds(events: list[StreamEvent]) -> list[StreamEventKind]:
    return [event.kind for event in events]


# --- streaming ----------------------------------------------------------------------------------


def test_events_when_trades_stream_yield_the_served_trades_as_decimal_ticks_stamped_by_the_clock(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    client, recorded, runtime_clock = new_client(exchange)

    ticks = run(stream_through(exchange, clock, client))

    assert ticks == expected_ticks(series_of(exchange), FIRST, LAST + 1, runtime_clock.now())
    assert recorded == []
    assert client.stats.duplicates == 0 and client.stats.backfilled == 0


def test_events_when_server_drops_mid_candle_reconnect_backfill_and_equal_the_served_trades(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    # trades 10..14 are streamed, then the socket closes after the 2nd trade of the 4-trade bar 12..15
    exchange.streams.faults.add(StreamFaultRule.drop(5, stream="*@aggTrade"))
    client, recorded, runtime_clock = new_client(exchange)

    ticks = run(stream_through(exchange, clock, client))

    assert ticks == expected_ticks(series_of(exchange), FIRST, LAST + 1, runtime_clock.now())
    assert kinds(recorded)[:1] == [StreamEventKind.DISCONNECTED]
    assert "closing code 1001" in recorded[0].detail and recorded[0].at == runtime_clock.now()
    assert {StreamEventKind.RECONNECTED, StreamEventKind.BACKFILLED} <= set(kinds(recorded))
    assert (client.stats.disconnects, client.stats.reconnects) == (1, 1)
    assert client.stats.backfilled > 0
    backfills = exchange.requests.records("/fapi/v1/aggTrades")
    assert backfills and all("fromId" in record.query for record in backfills)


def test_events_when_connection_drops_repeatedly_still_equal_the_served_trades(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    exchange.streams.faults.add(
        StreamFaultRule.drop(7, stream="*@aggTrade", times=2), StreamFaultRule.abort(3, stream="*@aggTrade")
    )
    client, recorded, runtime_clock = new_client(exchange)

    ticks = run(stream_through(exchange, clock, client))

    assert ticks == expected_ticks(series_of(exchange), FIRST, LAST + 1, runtime_clock.now())
    assert (client.stats.disconnects, client.stats.reconnects) == (3, 3)
    assert kinds(recorded).count(StreamEventKind.DISCONNECTED) == 3
    assert exchange.streams.faults.rules == ()


def test_events_when_two_symbols_stream_and_one_drops_keep_each_symbol_complete(clock: MovingClock) -> None:
    bars = make_bars(30)
    market = MarketData(
        [SymbolSeries(SymbolSpec.for_symbol(s), bars * k) for s, k in (("BTCUSDT", 1), ("ETHUSDT", 0.5))], clock=clock
    )
    btc, eth = market.symbols
    clock.ms = int(btc.trade_ms[FIRST - 1])
    ether = "ETH/USDT:USDT"

    async def scenario(client: CcxtWebsocketClient, exchange: LocalExchange) -> list[MarketEvent]:
        events: list[MarketEvent] = []
        iterator = client.events()
        try:
            pending = asyncio.ensure_future(anext(iterator))
            for stream in ("btcusdt@aggTrade", "ethusdt@aggTrade"):
                await subscribed(exchange, stream)
            driver = asyncio.create_task(advance(clock, btc, FIRST, LAST + 1, 0.003))
            events.append(await pending)
            while sum(isinstance(e, Tick) and e.trade_id == int(btc.trade_ids[LAST]) for e in events) < 2:
                events.append(await anext(iterator))
            await driver
            return events
        finally:
            await client.close()

    with LocalExchange(market) as exchange:
        exchange.streams.faults.add(StreamFaultRule.drop(6, stream="ethusdt@*"))
        pro = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
        runtime_clock = SimulatedClock(START)
        client = CcxtWebsocketClient(pro, [SYMBOL, ether], runtime_clock, policy=FAST)
        events = run(scenario(client, exchange))

    by_symbol = {name: [e for e in events if e.symbol == name] for name in (SYMBOL, ether)}
    assert by_symbol[SYMBOL] == expected_ticks(btc, FIRST, LAST + 1, runtime_clock.now())
    assert by_symbol[ether] == [
        replace(tick, symbol=ether) for tick in expected_ticks(eth, FIRST, LAST + 1, runtime_clock.now())
    ]
    assert (client.stats.disconnects, client.stats.reconnects) == (1, 1)


def test_events_when_the_stream_resends_what_rest_delivered_drop_the_duplicates(clock: MovingClock) -> None:
    market = MarketData.from_bars(make_bars(30), clock=clock)
    series = market.symbols[0]
    clock.ms = int(series.trade_ms[FIRST - 1])
    exchange = LocalExchange(market)
    exchange.streams.poll_interval = 3600.0  # the test publishes, step by step
    exchange.faults.add(FaultRule.delay("/fapi/v1/aggTrades", seconds=0.5))  # REST answers after the clock moved
    exchange.streams.faults.add(StreamFaultRule.drop(2, stream="*@aggTrade"))

    async def scenario(client: CcxtWebsocketClient) -> list[MarketEvent]:
        ticks: list[MarketEvent] = []
        iterator = client.events()
        try:
            pending = asyncio.ensure_future(anext(iterator))
            await subscribed(exchange, "btcusdt@aggTrade")
            first = exchange.streams.connections()[0].id
            clock.ms = int(series.trade_ms[12])
            exchange.streams.publish()  # 10 and 11 are streamed, then the socket closes
            clock.ms = int(series.trade_ms[16])  # REST back-fills 12..16
            await subscribed(exchange, "btcusdt@aggTrade", after=first)
            exchange.streams.publish()  # the new connection is sent 13..16 again
            while client.stats.backfilled == 0:
                await asyncio.sleep(0.01)
            clock.ms = int(series.trade_ms[LAST])
            exchange.streams.publish()
            ticks.append(await pending)
            while not (isinstance(ticks[-1], Tick) and ticks[-1].trade_id == int(series.trade_ids[LAST])):
                ticks.append(await anext(iterator))
            return ticks
        finally:
            await client.close()

    with exchange:
        client, _, runtime_clock = new_client(exchange)
        ticks = run(scenario(client))

    assert ticks == expected_ticks(series, FIRST, LAST + 1, runtime_clock.now())
    assert (client.stats.duplicates, client.stats.backfilled) == (4, 5)


def test_events_when_the_market_goes_quiet_after_a_drop_backfill_once_reconnected(clock: MovingClock) -> None:
    market = MarketData.from_bars(make_bars(30), clock=clock)
    series = market.symbols[0]
    clock.ms = int(series.trade_ms[FIRST - 1])
    exchange = LocalExchange(market)
    exchange.streams.poll_interval = 3600.0  # the test publishes, step by step
    exchange.streams.faults.add(StreamFaultRule.drop(2, stream="*@aggTrade"))
    policy = ReconnectPolicy(initial_delay=0.5, max_delay=1.0, catch_up_after=0.2)

    async def scenario(client: CcxtWebsocketClient) -> list[MarketEvent]:
        iterator = client.events()
        try:
            pending = asyncio.ensure_future(anext(iterator))
            await subscribed(exchange, "btcusdt@aggTrade")
            first = exchange.streams.connections()[0].id
            clock.ms = int(series.trade_ms[12])
            exchange.streams.publish()  # 10 and 11 are streamed, then the socket closes
            while client.stats.backfilled == 0:  # the loss's back-fill: 12
                await asyncio.sleep(0.01)
            clock.ms = int(series.trade_ms[LAST])
            exchange.streams.publish()  # 13..LAST go to nobody: the client is still backing off
            assert not any(info.id > first for info in exchange.streams.connections())
            async with asyncio.timeout(5):  # nothing more is streamed: only the catch-up brings them
                ticks = [await pending]
                while not (isinstance(ticks[-1], Tick) and ticks[-1].trade_id == int(series.trade_ids[LAST])):
                    ticks.append(await anext(iterator))
            return ticks
        finally:
            await client.close()

    with exchange:
        client, recorded, runtime_clock = new_client(exchange, policy=policy)
        ticks = run(scenario(client))

    assert ticks == expected_ticks(series, FIRST, LAST + 1, runtime_clock.now())
    assert [e.count for e in recorded if e.kind is StreamEventKind.BACKFILLED] == [1, LAST - 12]
    assert len(exchange.requests.records("/market/ws/0")) == 2


def test_events_when_server_stalls_notice_the_missing_pongs_reconnect_and_lose_nothing(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    exchange.streams.faults.add(StreamFaultRule.stall(8, stream="*@aggTrade"))  # frozen until the client leaves
    client, recorded, runtime_clock = new_client(exchange, keepalive_ms=100)

    ticks = run(stream_through(exchange, clock, client, pause=0.015))  # ~1.2 s of trades

    assert ticks == expected_ticks(series_of(exchange), FIRST, LAST + 1, runtime_clock.now())
    disconnects = [event for event in recorded if event.kind is StreamEventKind.DISCONNECTED]
    assert disconnects and "RequestTimeout" in disconnects[0].detail
    assert client.stats.reconnects >= 1 and client.stats.backfilled > 0
    assert len(exchange.requests.records("/market/ws/0")) >= 2


def test_events_when_no_trade_arrives_for_the_idle_timeout_reset_the_websocket_and_backfill(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    # the stalled server stops answering pings too, but ccxt only pings every 180 s by default
    exchange.streams.faults.add(StreamFaultRule.stall(8, stream="*@aggTrade"))
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, idle_timeout=0.2)
    client, recorded, runtime_clock = new_client(exchange, policy=policy)

    ticks = run(stream_through(exchange, clock, client, pause=0.015))  # ~1.2 s of trades

    assert ticks == expected_ticks(series_of(exchange), FIRST, LAST + 1, runtime_clock.now())
    assert kinds(recorded)[:1] == [StreamEventKind.STALLED]
    assert StreamEventKind.RECONNECTED in kinds(recorded)
    assert client.stats.stalls >= 1 and client.stats.backfilled > 0
    assert len(exchange.requests.records("/market/ws/0")) >= 2  # the stalled socket was replaced


def test_events_when_trade_stream_is_dropped_backfill_over_historical_trades(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    exchange.streams.faults.add(StreamFaultRule.drop(5, stream="*@trade"))
    client, _, runtime_clock = new_client(exchange, stream="trade", config={"apiKey": "local"})

    ticks = run(stream_through(exchange, clock, client, "btcusdt@trade"))

    assert ticks == expected_ticks(series_of(exchange), FIRST, LAST + 1, runtime_clock.now())
    assert exchange.requests.records("/fapi/v1/historicalTrades")
    assert not exchange.requests.records("/fapi/v1/aggTrades")


def test_start_after_when_given_backfills_from_that_trade_before_streaming(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)
    client, recorded, runtime_clock = new_client(exchange, start_after={SYMBOL: int(series.trade_ids[3])})

    ticks = run(stream_through(exchange, clock, client))

    assert ticks == expected_ticks(series, 4, LAST + 1, runtime_clock.now())
    assert recorded[0].kind is StreamEventKind.BACKFILLED and recorded[0].count == FIRST - 4


def test_on_event_when_the_callback_raises_keeps_streaming(exchange: LocalExchange, clock: MovingClock) -> None:
    exchange.streams.faults.add(StreamFaultRule.drop(3, stream="*@aggTrade"))

    def broken(event: StreamEvent) -> None:
        raise RuntimeError(f"notifier down: {event.kind}")

    pro = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
    runtime_clock = SimulatedClock(START)
    client = CcxtWebsocketClient(pro, [SYMBOL], runtime_clock, policy=FAST, on_event=broken)

    ticks = run(stream_through(exchange, clock, client))

    assert ticks == expected_ticks(series_of(exchange), FIRST, LAST + 1, runtime_clock.now())
    assert client.stats.disconnects == 1


def test_events_when_quotes_enabled_yield_the_book_top_stamped_with_the_event_time(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)
    client, _, _ = new_client(exchange, trades=False, quotes=True)

    async def scenario() -> Quote:
        try:
            iterator = client.events()
            pending = asyncio.ensure_future(anext(iterator))
            await subscribed(exchange, "btcusdt@bookTicker")
            clock.ms = int(series.trade_ms[FIRST])
            first = await pending
            assert isinstance(first, Quote)
            return first
        finally:
            await client.close()

    quote = run(scenario())
    bid = Decimal(repr(float(series.trades["price"].iloc[FIRST]))).quantize(Decimal("0.1"))
    assert (quote.symbol, quote.ts, quote.received) == (SYMBOL, pd.Timestamp(clock.ms, unit="ms", tz="UTC"), START)
    assert (quote.bid, quote.ask) == (bid, bid + Decimal("0.1"))
    assert quote.bid_size == quote.ask_size == Decimal("0.01")


# --- lifecycle and errors -----------------------------------------------------------------------


def test_close_when_streaming_leaves_no_task_no_session_and_ends_every_iterator(
    exchange: LocalExchange, clock: MovingClock
) -> None:
    series = series_of(exchange)
    pro = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
    client = CcxtWebsocketClient(pro, [SYMBOL], SimulatedClock(START), quotes=True, policy=FAST)

    async def scenario() -> tuple[list[MarketEvent], set[asyncio.Task[Any]]]:
        iterator = client.events()
        pending = asyncio.ensure_future(anext(iterator))
        await subscribed(exchange, "btcusdt@aggTrade")
        clock.ms = int(series.trade_ms[FIRST])
        await pending
        await client.close()
        await client.close()  # idempotent
        left = asyncio.all_tasks() - {asyncio.current_task()}
        return [event async for event in client.events()], left

    after_close, left = run(scenario())
    assert after_close == []
    assert left == set()
    assert pro.session is None and not pro.clients
    for _ in range(100):
        if not exchange.streams.connections():
            break
        asyncio.run(asyncio.sleep(0.01))
    assert exchange.streams.connections() == []


def test_events_when_the_symbol_is_not_listed_raise_bad_symbol(exchange: LocalExchange) -> None:
    pro = binanceusdm_pro_client(exchange.url, rate_limit_ms=0)
    client = CcxtWebsocketClient(pro, ["ETH/USDT:USDT"], SimulatedClock(START), policy=FAST)

    async def scenario() -> None:
        try:
            async for _ in client.events():
                pass
        finally:
            await client.close()

    with pytest.raises(ccxt.BadSymbol):
        run(scenario())


def test_start_when_closed_raises() -> None:
    client = CcxtWebsocketClient(object(), [SYMBOL], SimulatedClock(START), owns_exchange=False)
    asyncio.run(client.close())
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(client.start())


# --- the functional core ------------------------------------------------------------------------


def test_sequencer_when_ids_repeat_or_go_back_rejects_them_as_duplicates() -> None:
    sequencer = TradeSequencer()
    accepted = [sequencer.accept(trade_id) for trade_id in (5, 6, 6, 4, 7)]
    assert accepted == [True, True, False, False, True]
    assert sequencer.last_id == 7


def test_sequencer_when_ids_jump_asks_for_a_fill_if_consecutive_or_after_a_seam() -> None:
    consecutive = TradeSequencer(10)
    assert [consecutive.needs_fill(i) for i in (10, 11, 13)] == [False, False, True]
    sparse = TradeSequencer(10, consecutive=False)
    assert sparse.needs_fill(13)  # a known last id at start is a seam
    sparse.accept(13)
    assert not sparse.needs_fill(20)
    sparse.mark_seam()
    assert sparse.needs_fill(20)
    assert not TradeSequencer().needs_fill(99)  # nothing to join to yet


def test_reconnect_policy_when_attempts_grow_doubles_the_delay_up_to_the_cap() -> None:
    policy = ReconnectPolicy(initial_delay=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(10_000) == 3.0
    with pytest.raises(ValueError, match="idle_timeout"):
        ReconnectPolicy(idle_timeout=0)
    with pytest.raises(ValueError, match="catch_up_after"):
        ReconnectPolicy(catch_up_after=-1.0)
    with pytest.raises(ValueError, match="max_delay"):
        ReconnectPolicy(initial_delay=2.0, max_delay=1.0)
