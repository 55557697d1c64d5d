"""Bad input and failures end in a clear, logged outcome — never an engine crash or a
lost order. (Insufficient margin: see test_margin.py.)"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

import pandas as pd
import pytest

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.runtime.backtest import run_backtest
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.components.notifications import Level, MemorySink, Notification, NotificationCenter
from quantbridge.runtime.core import Engine, build_engine
from quantbridge.runtime.domain.market import Market
from quantbridge.runtime.domain.marketdata import Candle, Tick
from quantbridge.runtime.domain.orders import Order, OrderStatus
from quantbridge.runtime.marketdata.aggregator import CandleAggregator
from quantbridge.runtime.strategy import Context
from quantbridge.runtime.venue.simulated import SimulatedVenue

from .helpers import Script, buy, config_for, flat_bars, run

T0 = pd.Timestamp("2024-01-01", tz="UTC")
HOUR = pd.Timedelta(hours=1)
MARKET = Market("BTCUSDT", Decimal("0.01"), Decimal("0.001"), min_qty=Decimal("0.01"))


def make_engine(sink: MemorySink, strategy: object | None = None) -> tuple[Engine, SimulatedClock]:

    clock = SimulatedClock(T0)
    markets = {"BTCUSDT": MARKET}
    engine = build_engine(
        markets=markets,
        clock=clock,
        venue=SimulatedVenue(markets, clock),
        notifications=NotificationCenter([sink]),
        aggregators=lambda symbol: CandleAggregator(symbol, HOUR, start=T0),
    )
    if strategy is not None:
        engine.strategies.add("script", "BTCUSDT", strategy)  # type: ignore[arg-type]
    return engine, clock


def tick(minutes: float, price: str = "100", symbol: str = "BTCUSDT", trade_id: int = 0) -> Tick:
    ts = T0 + pd.Timedelta(minutes=minutes)
    return Tick(symbol, ts, ts, Decimal(price), Decimal("0.5"), "buy", trade_id or int(minutes * 1000) + 1)


def feed(engine: Engine, clock: SimulatedClock, items: Sequence[Tick | Candle]) -> None:
    for item in items:
        clock.advance_to(max(clock.now(), item.ts if isinstance(item, Tick) else item.close_time))
        engine.feed(item)
        engine.run_until_idle()


def bad_inputs(sink: MemorySink) -> list[Notification]:
    return [n for n in sink.received if n.kind == "bad_input"]


def test_tick_when_stamped_before_last_closed_candle_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = MemorySink()
    engine, clock = make_engine(sink)
    with caplog.at_level(logging.WARNING):
        feed(engine, clock, [tick(10), tick(70), tick(30, trade_id=99), tick(80)])
    assert engine.stats.market_data.late == 1 and engine.stats.market_data.ticks == 3
    assert "before the last closed candle's end" in caplog.text
    assert [n.fields for n in bad_inputs(sink)] == [(("reason", "late"),)]


@pytest.mark.parametrize("price", ["NaN", "-1", "0", "Infinity"])
def test_tick_when_price_is_not_positive_finite_is_dropped_and_engine_goes_on(price: str) -> None:
    sink = MemorySink()
    engine, clock = make_engine(sink)
    feed(engine, clock, [tick(10), tick(20, price), tick(30)])
    assert engine.stats.market_data.invalid == 1 and engine.stats.market_data.ticks == 2
    assert engine.stats.errors == 0


def test_tick_when_symbol_unknown_is_dropped_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    sink = MemorySink()
    engine, clock = make_engine(sink)
    with caplog.at_level(logging.WARNING):
        feed(engine, clock, [tick(10, symbol="DOGEUSDT")])
    assert engine.stats.market_data.unknown_symbol == 1
    assert "unknown symbol 'DOGEUSDT'" in caplog.text


def candle(
    hour: int, o: str = "100", h: str = "101", low: str = "99", c: str = "100", symbol: str = "BTCUSDT"
) -> Candle:
    return Candle(symbol, HOUR, T0 + hour * HOUR, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(1))


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (candle(1, c="NaN"), "invalid"),
        (candle(1, h="99.5"), "invalid"),  # high below the open
        (candle(0), "late"),  # not after the previous candle
        (candle(1, symbol="ETHUSDT"), "unknown_symbol"),
    ],
)
def test_candle_when_invalid_is_not_shown_to_strategies(bad: Candle, reason: str) -> None:
    sink, script = MemorySink(), Script({})
    engine, clock = make_engine(sink, script)
    seen: list[int] = []
    script.on_candle = lambda ctx: seen.append(ctx.bars.index)  # type: ignore[method-assign]
    feed(engine, clock, [candle(0), bad, candle(2)])
    assert seen == [0, 1]  # candles 0 and 2
    assert [dict(n.fields)["reason"] for n in bad_inputs(sink)] == [reason]


def test_order_when_below_minimum_size_is_rejected_with_the_reason() -> None:
    market = Market("TEST", Decimal("0.01"), Decimal("0.001"), min_qty=Decimal("0.01"))
    result = run(flat_bars(3), {0: [buy(qty="0.005")]}, market=market)
    (order,) = result.orders
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "market: TEST: quantity 0.005 is below the minimum 0.01"
    assert any(n.kind == "order_rejected" for n in result.notifications)


def test_order_when_quantity_off_the_lot_grid_is_rejected_with_the_reason() -> None:
    (order,) = run(flat_bars(3), {0: [buy(qty="0.0015")]}).orders
    assert order.status is OrderStatus.REJECTED and "not a positive multiple of the lot size 0.001" in order.reason


def test_order_when_price_off_the_tick_grid_and_not_rounded_is_rejected_with_the_reason() -> None:
    (order,) = run(flat_bars(3), {0: [buy(stop="100.005")]}, round_prices=False).orders
    assert order.status is OrderStatus.REJECTED and "not a positive multiple of the tick size 0.01" in order.reason


class Failing:
    def __init__(self, fail_on: int) -> None:
        self.fail_on = fail_on
        self.calls = 0

    def on_candle(self, ctx: Context) -> None:
        self.calls += 1
        ctx.buy(tag=f"b{ctx.bars.index}")
        if ctx.bars.index == self.fail_on:
            raise ZeroDivisionError("boom")


def test_strategy_when_it_raises_is_logged_its_orders_discarded_and_called_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    strategy = Failing(fail_on=0)
    with caplog.at_level(logging.ERROR):
        result = run_backtest(flat_bars(4), config_for(strategy, ExecutionModel()))  # type: ignore[arg-type]
    assert strategy.calls == 4 and result.failed and result.stats.strategy_errors == 1
    assert "strategy script failed" in caplog.text and "ZeroDivisionError: boom" in caplog.text
    assert [o.tag for o in result.orders] == ["b1"]  # b0 discarded; b2, b3: pyramiding limit


class BrokenVenue(SimulatedVenue):
    def submit(self, orders: Sequence[Order]) -> None:
        raise ConnectionError("exchange unreachable")


def test_venue_when_submit_raises_rejects_the_orders_with_the_error_and_keeps_running() -> None:
    clock = SimulatedClock(T0)
    markets = {"BTCUSDT": MARKET}
    sink = MemorySink()
    engine = build_engine(
        markets=markets, clock=clock, venue=BrokenVenue(markets, clock), notifications=NotificationCenter([sink])
    )
    engine.strategies.add("script", "BTCUSDT", Script({0: [buy()], 1: [buy(tag="again")]}))
    feed(engine, clock, [candle(0), candle(1), candle(2)])
    orders = list(engine.orders.store)
    assert [o.status for o in orders] == [OrderStatus.REJECTED, OrderStatus.REJECTED]
    assert all(o.reason == "venue error: exchange unreachable" for o in orders)
    assert len(engine.account.curve) == 3 and engine.stats.errors == 0


class BrokenSink:
    level = Level.DEBUG

    def send(self, notification: Notification) -> None:
        raise TimeoutError("telegram is slow")


def test_notification_sink_when_failing_does_not_stop_trading() -> None:
    clock = SimulatedClock(T0)
    markets = {"BTCUSDT": MARKET}
    center = NotificationCenter([BrokenSink()])
    engine = build_engine(markets=markets, clock=clock, venue=SimulatedVenue(markets, clock), notifications=center)
    engine.strategies.add("script", "BTCUSDT", Script({0: [buy()]}))
    feed(engine, clock, [candle(0), candle(1), candle(2)])
    assert engine.account.position("BTCUSDT").qty == 1
    assert center.failures > 0 and engine.stats.errors == 0


def test_strategy_when_asking_for_a_negative_quantity_fails_that_bar_only() -> None:
    result = run(flat_bars(3), {0: [buy(qty=-1)], 1: [buy()]})
    assert result.stats.strategy_errors == 1
    assert [o.status for o in result.orders] == [OrderStatus.FILLED]


def test_duplicate_order_when_asked_twice_on_one_bar_is_placed_once() -> None:
    script = Script({0: [buy(), buy()]})
    result = run_backtest(flat_bars(3), config_for(script))
    first, second = script.ids[0]
    assert first == second and len(result.orders) == 1
    assert any(n.kind == "duplicate_order" for n in result.notifications)
