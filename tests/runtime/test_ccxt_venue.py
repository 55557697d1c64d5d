"""CcxtVenue against the local exchange through the real async ccxt ``binanceusdm`` client:
orders sent, accepted, filled and cancelled as the exchange reports them. Nothing of ours
is mocked; the exchange's market clock is moved by the test.

This module also holds the harness the other ``test_ccxt_venue_*`` modules use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

import pandas as pd
import pytest

from quantbridge.datasets.exchange import LocalExchange, MarketData, binanceusdm_async_client
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.components.notifications import MemorySink, NotificationCenter
from quantbridge.runtime.domain.events import (
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from quantbridge.runtime.domain.market import Market
from quantbridge.runtime.domain.orders import Intent, Order, OrderStatus, OrderType, Side, client_order_id
from quantbridge.runtime.domain.protection import Protection
from quantbridge.runtime.marketdata.ccxt_rest import Backoff
from quantbridge.runtime.venue import CcxtVenue, RetryPolicy, Venue

from ..local_exchange_fixtures import MovingClock, random_walk_bars

SYMBOL: Final = "BTC/USDT:USDT"
BINANCE_SYMBOL: Final = "BTCUSDT"
API_KEY: Final = "venue-test-key-5d1e9a7c"
SECRET: Final = "venue-test-secret-c04f77b2"
START: Final = pd.Timestamp("2024-01-01T10:50", tz="UTC")
HOUR_MS: Final = 3_600_000
ORDER_PATH: Final = "/fapi/v1/order"
MARKET: Final = Market(
    SYMBOL,
    tick_size=Decimal("0.1"),
    lot_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal(5),
    base="BTC",
    quote="USDT",
)
#: Quick retries; a "not found" is trusted at once (the local exchange keeps client ids unique forever).
FAST: Final = RetryPolicy(attempts=3, backoff=Backoff(base=0.01, factor=2.0, cap=0.05), settle=0.0)
TAKER: Final = Decimal("0.0005")
MAKER: Final = Decimal("0.0002")


# ---- harness -------------------------------------------------------------------------------------
@dataclass
class World:
    """The exchange (with its market clock) and the runtime's side: clock, account positions,
    what the venue reported and notified."""

    exchange: LocalExchange
    market_clock: MovingClock
    clock: SimulatedClock = field(default_factory=lambda: SimulatedClock(START))
    positions: dict[str, Decimal] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    notes: MemorySink = field(default_factory=MemorySink)

    def position_of(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, Decimal(0))

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def fills(self) -> list[Any]:
        return [e.fill for e in self.of(OrderFilled)]

    def last_price(self) -> Decimal:
        price = self.exchange.venue.last_price(BINANCE_SYMBOL)
        assert price is not None
        return price

    def trades_ahead(self, n: int) -> pd.DataFrame:
        """The next ``n`` trades the exchange will replay."""
        series = self.exchange.market.series(BINANCE_SYMBOL)
        return series.trades.iloc[series.visible_trades(self.market_clock.ms) :].iloc[:n]

    def move_to(self, ts: Any) -> None:
        self.market_clock.ms = int(pd.Timestamp(ts).value // 1_000_000)

    def posts(self, path: str = ORDER_PATH) -> list[Any]:
        return [r for r in self.exchange.requests.records(path) if r.method == "POST"]

    def exchange_fills(self) -> list[Any]:
        return self.exchange.venue.fills(API_KEY, BINANCE_SYMBOL)

    def exchange_position(self) -> Decimal:
        return Decimal(self.exchange.venue.account(API_KEY).position(BINANCE_SYMBOL, "USDT").amount)


@contextlib.contextmanager
def world(n_bars: int = 48) -> Iterator[World]:
    bars = random_walk_bars(n_bars, seed=11, start=1000.0, step_sd=3.0, wick=(0.5, 3.0), freq="1h")
    market_clock = MovingClock(START.value // 1_000_000)
    with LocalExchange(MarketData.from_bars(bars, clock=market_clock)) as exchange:
        yield World(exchange, market_clock)


def ccxt_client(w: World, *, timeout_ms: int = 3_000, api_key: str = API_KEY) -> Any:
    return binanceusdm_async_client(
        w.exchange.url, rate_limit_ms=0, timeout_ms=timeout_ms, api_key=api_key, secret=SECRET
    )


@contextlib.asynccontextmanager
async def live(
    w: World,
    *,
    retry: RetryPolicy = FAST,
    timeout_ms: int = 3_000,
    known_fills: tuple[str, ...] = (),
    adopt: tuple[Order, ...] = (),
    poll_interval: float = 0.03,
    sleep: Callable[[float], Any] = asyncio.sleep,
    drain: float = 5.0,
) -> AsyncIterator[CcxtVenue]:
    """A started venue on a fresh ccxt client; closed (and the client closed) afterwards."""
    client = ccxt_client(w, timeout_ms=timeout_ms)
    venue = CcxtVenue(
        client,
        {SYMBOL: MARKET},
        w.clock,
        NotificationCenter([w.notes]),
        w.position_of,
        retry=retry,
        poll_interval=poll_interval,
        known_fills=known_fills,
        sleep=sleep,
    )
    port: Venue = venue
    port.attach(w.events.append)
    venue.adopt(adopt)
    await venue.start()
    try:
        yield venue
    finally:
        await venue.close(drain)
        await client.close()


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (really) until ``predicate()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


async def settle_polls(venue: CcxtVenue, w: World, polls: int = 3) -> None:
    """Let the venue poll a few more times."""
    seen = venue.polls
    await until(lambda: venue.polls >= seen + polls)


def order(
    side: Side,
    *,
    kind: OrderType = OrderType.MARKET,
    intent: Intent = Intent.ENTRY,
    qty: str = "0.01",
    price: str | None = None,
    stop: str | None = None,
    budget: str | None = None,
    bar: int = 0,
    protection: Protection | None = None,
) -> Order:
    """A submitted order with the runtime's deterministic client id (``bar`` tells orders apart)."""
    signal_bar = START + pd.Timedelta(hours=bar)
    return Order(
        client_order_id=client_order_id("venue-test", SYMBOL, signal_bar, f"{intent.value}-{side.value}"),
        strategy_id="venue-test",
        symbol=SYMBOL,
        side=side,
        type=kind,
        intent=intent,
        qty=Decimal(qty),
        signal_bar=signal_bar,
        created=START,
        price=None if price is None else Decimal(price),
        stop=None if stop is None else Decimal(stop),
        budget=None if budget is None else Decimal(budget),
        protection=protection,
        status=OrderStatus.SUBMITTED,
    )


def run(scenario: Callable[[], Any]) -> None:
    asyncio.run(scenario())


# ---- orders and fills ----------------------------------------------------------------------------
def test_market_order_when_sent_is_accepted_then_filled_once_with_the_exchange_trade() -> None:
    with world() as w:
        buy = order(Side.BUY, qty="0.01")

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderFilled)))
                await settle_polls(venue, w)
                assert venue.following() == ()

        price = w.last_price()
        run(scenario)
        accepted = w.of(OrderAccepted)
        (fill,) = w.fills()
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]
        assert (accepted[0].client_order_id, accepted[0].venue_order_id, accepted[0].ts) == (
            buy.client_order_id,
            "1",
            START,
        )
        assert (fill.fill_id, fill.client_order_id, fill.symbol, fill.side) == (
            f"{SYMBOL}#1",
            buy.client_order_id,
            SYMBOL,
            Side.BUY,
        )
        assert (fill.qty, fill.price, fill.leaves_qty) == (Decimal("0.01"), price, Decimal(0))
        assert fill.commission == price * Decimal("0.01") * TAKER
        assert (fill.ts, fill.received) == (START, START)
        (sent,) = w.posts()
        assert (sent.form["newClientOrderId"], sent.form["type"], sent.form["quantity"]) == (
            buy.client_order_id,
            "MARKET",
            "0.01",
        )
        assert "reduceOnly" not in sent.form


def test_limit_order_when_resting_is_filled_after_the_exchange_clock_crosses_its_price() -> None:
    with world() as w:
        ahead = w.trades_ahead(12)
        low = Decimal(str(ahead["price"].min()))
        assert low < w.last_price()
        buy = order(Side.BUY, kind=OrderType.LIMIT, qty="0.02", price=str(low))
        crossing = ahead[ahead["price"] <= float(low)].iloc[0]

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderAccepted)))
                await settle_polls(venue, w)
                assert w.of(OrderFilled) == []
                assert venue.following() == (buy.client_order_id,)
                w.move_to(crossing["ts"])
                await until(lambda: bool(w.of(OrderFilled)))
                await settle_polls(venue, w)
                assert venue.following() == ()

        run(scenario)
        (fill,) = w.fills()
        assert (fill.qty, fill.price, fill.leaves_qty) == (Decimal("0.02"), low, Decimal(0))
        assert fill.commission == low * Decimal("0.02") * MAKER
        assert fill.ts == pd.Timestamp(crossing["ts"]).tz_convert("UTC")
        assert w.of(OrderCancelled) == []


def test_limit_entry_with_a_budget_is_sized_at_its_price_and_floored_to_the_lot() -> None:
    with world() as w:
        price = (w.last_price() * Decimal("0.5")).quantize(Decimal("0.1"))
        buy = order(Side.BUY, kind=OrderType.LIMIT, qty="0.001", price=str(price), budget="100")

        async def send() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderAccepted)))

        run(send)
        (sent,) = w.posts()
        assert Decimal(sent.form["quantity"]) == (Decimal(100) / price).quantize(
            Decimal("0.001"), rounding="ROUND_DOWN"
        )


def test_exit_when_sent_is_reduce_only_and_closes_the_position() -> None:
    with world() as w:
        entry = order(Side.BUY, qty="0.01", bar=0)
        exit_ = order(Side.SELL, intent=Intent.EXIT, qty="0.01", bar=1)

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([entry])
                await until(lambda: len(w.of(OrderFilled)) == 1)
                w.positions[SYMBOL] = Decimal("0.01")
                venue.submit([exit_])
                await until(lambda: len(w.of(OrderFilled)) == 2)

        run(scenario)
        entry_post, exit_post = w.posts()
        assert (exit_post.form["side"], exit_post.form["reduceOnly"], exit_post.form["quantity"]) == (
            "SELL",
            "true",
            "0.01",
        )
        assert "reduceOnly" not in entry_post.form
        assert w.exchange_position() == 0
        assert w.fills()[1].client_order_id == exit_.client_order_id


def test_exit_when_there_is_no_position_is_refused_by_the_exchange_as_reduce_only_and_notified() -> None:
    with world() as w:
        exit_ = order(Side.SELL, intent=Intent.EXIT, qty="0.01")

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([exit_])
                await until(lambda: bool(w.of(OrderRejected)))

        run(scenario)
        (rejected,) = w.of(OrderRejected)
        assert rejected.client_order_id == exit_.client_order_id
        assert "ReduceOnly Order is rejected" in rejected.reason
        assert w.exchange_position() == 0
        assert len(w.posts()) == 1  # refused: not retried
        # reported as an event only: the OrderExecutor that applies it notifies it (once)
        assert [n for n in w.notes.received if n.kind == "order_rejected"] == []


def test_entry_against_an_opposite_position_sends_the_position_plus_its_quantity() -> None:
    with world() as w:
        short = order(Side.SELL, qty="0.01", bar=0)
        reverse = order(Side.BUY, qty="0.02", bar=1)

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([short])
                await until(lambda: len(w.of(OrderFilled)) == 1)
                w.positions[SYMBOL] = Decimal("-0.01")
                venue.submit([reverse])
                await until(lambda: len(w.of(OrderFilled)) == 2)

        run(scenario)
        assert w.posts()[1].form["quantity"] == "0.03"
        fill = w.fills()[1]
        assert (fill.client_order_id, fill.qty, fill.leaves_qty) == (
            reverse.client_order_id,
            Decimal("0.03"),
            Decimal(0),
        )
        assert w.exchange_position() == Decimal("0.02")


def test_amount_finer_than_the_exchange_precision_is_truncated_before_sending() -> None:
    with world() as w:
        buy = order(Side.BUY, qty="0.0127")

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderFilled)))

        run(scenario)
        assert w.posts()[0].form["quantity"] == "0.012"
        assert w.fills()[0].qty == Decimal("0.012")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: order(Side.BUY, qty="0.0004"), "amount 0.0004 does not fit the exchange's amount precision"),
        (
            lambda: order(Side.BUY, kind=OrderType.LIMIT, qty="0.001", price="900"),
            "is below the exchange's minimum cost 5 (limits.cost.min)",
        ),
        (
            lambda: order(Side.BUY, qty="0.01", protection=Protection(stop_loss_pct=Decimal(1))),
            "protective exits are not supported on a ccxt venue yet",
        ),
    ],
    ids=["below-amount-precision", "below-min-cost", "protection"],
)
def test_order_the_exchange_limits_forbid_is_rejected_locally_without_any_request(
    make: Callable[[], Order], expected: str
) -> None:
    with world() as w:
        bad = make()

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([bad])
                await until(lambda: bool(w.of(OrderRejected)))

        run(scenario)
        (rejected,) = w.of(OrderRejected)
        assert expected in rejected.reason
        assert rejected.client_order_id == bad.client_order_id
        assert w.posts() == [] and w.posts("/fapi/v1/algoOrder") == []
        assert w.notes.received == []  # the OrderExecutor notifies the rejection it applies


def test_orders_of_one_submit_are_sent_in_decision_order_and_each_answered() -> None:
    with world() as w:
        first, second, third = (order(Side.BUY, qty="0.01", bar=i) for i in range(3))

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([first, second, third])
                await until(lambda: len(w.of(OrderFilled)) == 3)

        run(scenario)
        assert [p.form["newClientOrderId"] for p in w.posts()] == [o.client_order_id for o in (first, second, third)]
        assert [e.client_order_id for e in w.of(OrderAccepted)] == [o.client_order_id for o in (first, second, third)]


def test_cancel_of_a_resting_limit_is_reported_cancelled_and_nothing_stays_open() -> None:
    with world() as w:
        price = (w.last_price() * Decimal("0.5")).quantize(Decimal("0.1"))
        buy = order(Side.BUY, kind=OrderType.LIMIT, qty="0.01", price=str(price))

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                venue.cancel(buy.client_order_id)  # queued behind the send: never overtakes it
                await until(lambda: bool(w.of(OrderCancelled)))
                assert venue.following() == ()

        run(scenario)
        assert [type(e) for e in w.events] == [OrderAccepted, OrderCancelled]
        assert w.of(OrderCancelled)[0].reason == "cancelled on request"
        assert w.exchange.venue.open_orders(API_KEY) == []
        (deleted,) = [r for r in w.exchange.requests.records(ORDER_PATH) if r.method == "DELETE"]
        assert deleted.status == 200


def test_stop_order_waits_at_the_exchange_then_fills_once_when_the_market_crosses_it() -> None:
    with world() as w:
        ahead = w.trades_ahead(12)
        high = Decimal(str(ahead["price"].max()))
        assert high > w.last_price()
        stop = order(Side.BUY, kind=OrderType.STOP, qty="0.01", stop=str(high))
        crossing = ahead[ahead["price"] >= float(high)].iloc[0]

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([stop])
                await until(lambda: bool(w.of(OrderAccepted)))
                await settle_polls(venue, w)
                assert w.of(OrderFilled) == []
                w.move_to(ahead["ts"].iloc[-1])
                await until(lambda: bool(w.of(OrderFilled)))
                await settle_polls(venue, w)
                assert venue.following() == ()

        run(scenario)
        (sent,) = w.posts("/fapi/v1/algoOrder")
        assert (sent.form["type"], sent.form["triggerPrice"], sent.form["clientAlgoId"]) == (
            "STOP_MARKET",
            str(high),
            stop.client_order_id,
        )
        (fill,) = w.fills()
        assert (fill.client_order_id, fill.qty, fill.leaves_qty) == (stop.client_order_id, Decimal("0.01"), Decimal(0))
        assert fill.price == Decimal(str(crossing["price"]))
        assert [type(e) for e in w.events] == [OrderAccepted, OrderFilled]


def test_cancel_of_a_waiting_stop_order_is_reported_cancelled() -> None:
    with world() as w:
        high = (w.last_price() * Decimal("1.5")).quantize(Decimal("0.1"))
        stop = order(Side.BUY, kind=OrderType.STOP, qty="0.01", stop=str(high))

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([stop])
                await until(lambda: bool(w.of(OrderAccepted)))
                venue.cancel(stop.client_order_id)
                await until(lambda: bool(w.of(OrderCancelled)))

        run(scenario)
        assert [type(e) for e in w.events] == [OrderAccepted, OrderCancelled]
        assert w.exchange.venue.algo_orders(API_KEY, BINANCE_SYMBOL, open_only=True) == []


def test_order_whose_good_till_time_passes_is_cancelled_at_the_exchange_and_reported_expired() -> None:
    with world() as w:
        price = (w.last_price() * Decimal("0.5")).quantize(Decimal("0.1"))
        buy = replace(
            order(Side.BUY, kind=OrderType.LIMIT, qty="0.01", price=str(price)), expire_at=START + pd.Timedelta(hours=1)
        )

        async def scenario() -> None:
            async with live(w) as venue:
                venue.submit([buy])
                await until(lambda: bool(w.of(OrderAccepted)))
                await settle_polls(venue, w)
                assert w.of(OrderExpired) == []
                w.clock.advance_to(START + pd.Timedelta(hours=1))
                await until(lambda: bool(w.of(OrderExpired)))

        run(scenario)
        assert [type(e) for e in w.events] == [OrderAccepted, OrderExpired]
        assert w.of(OrderExpired)[0].reason == "expired (good till time)"
        assert w.exchange.venue.open_orders(API_KEY) == []
