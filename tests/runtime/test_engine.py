"""The core: event order, what a strategy sees, and candles closed from ticks or the clock."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pandas as pd
import pytest

from quantbridge.datasets.paths import sample_path
from quantbridge.runtime.backtest import candles_from_bars, run_backtest
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.components.notifications import MemorySink, NotificationCenter
from quantbridge.runtime.core import Engine, EngineConfig, EventQueue, build_engine, pump
from quantbridge.runtime.domain.events import Event, OrderAccepted
from quantbridge.runtime.domain.market import Market
from quantbridge.runtime.domain.marketdata import Tick
from quantbridge.runtime.domain.orders import Side
from quantbridge.runtime.domain.positions import PositionSide
from quantbridge.runtime.marketdata.aggregator import CandleAggregator
from quantbridge.runtime.marketdata.replay import ReplayClient, ReplayStream
from quantbridge.runtime.strategy import Context, MemoryStateStore
from quantbridge.runtime.venue.simulated import SimulatedVenue

from .helpers import Script, config_for, flat_bars

T0 = pd.Timestamp("2024-01-01", tz="UTC")
HOUR = pd.Timedelta(hours=1)
MARKET = Market("BTCUSDT", Decimal("0.01"), Decimal("0.001"))


def accepted(minutes: int, key: str) -> OrderAccepted:
    ts = T0 + pd.Timedelta(minutes=minutes)
    return OrderAccepted(client_order_id=key, ts=ts, received=ts)


def test_event_queue_when_popped_orders_by_time_then_arrival() -> None:
    queue = EventQueue()
    for event in (accepted(5, "a"), accepted(1, "b"), accepted(5, "c"), accepted(1, "d"), accepted(3, "e")):
        queue.push(event)
    order = []
    while queue:
        popped = queue.pop()
        assert isinstance(popped, OrderAccepted)
        order.append(popped.client_order_id)
    assert order == ["b", "d", "e", "a", "c"]


def test_event_when_created_is_immutable_and_carries_both_times() -> None:
    event: Event = accepted(1, "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.ts = T0  # type: ignore[misc]
    assert event.received == event.ts


class Recorder:
    """Keeps what it saw on each call (copies: windows are only valid during the call)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def on_candle(self, ctx: Context) -> None:
        self.calls.append(
            {
                "index": ctx.bars.index,
                "open_time": ctx.bars.last.open_time,
                "close_time": ctx.bars.last.close_time,
                "closes": ctx.bars.close.tolist(),
                "position": ctx.position.qty,
            }
        )
        if ctx.bars.index == 0:
            ctx.buy()


def tick_engine(strategy: object, grace: pd.Timedelta | None = None) -> tuple[Engine, SimulatedClock]:

    clock = SimulatedClock(T0)
    markets = {"BTCUSDT": MARKET}
    config = EngineConfig(grace=grace or pd.Timedelta(0))
    engine = build_engine(
        markets=markets,
        clock=clock,
        venue=SimulatedVenue(markets, clock),
        config=config,
        notifications=NotificationCenter([MemorySink()]),
        aggregators=lambda symbol: CandleAggregator(symbol, HOUR, start=T0, grace=config.grace),
    )
    engine.strategies.add("rec", "BTCUSDT", strategy, window=3)  # type: ignore[arg-type]
    return engine, clock


def feed_ticks(engine: Engine, clock: SimulatedClock, minutes_prices: list[tuple[float, str]]) -> list[pd.Timestamp]:
    """Feed ticks; returns the clock time after each one."""
    times = []
    for n, (minutes, price) in enumerate(minutes_prices):
        ts = T0 + pd.Timedelta(minutes=minutes)
        clock.advance_to(ts)
        engine.feed(Tick("BTCUSDT", ts, ts, Decimal(price), Decimal(1), "buy", n + 1))
        engine.run_until_idle()
        times.append(clock.now())
    return times


def test_strategy_when_fed_ticks_sees_only_closed_candles_when_they_close() -> None:
    recorder = Recorder()
    engine, clock = tick_engine(recorder)
    feed_ticks(engine, clock, [(1, "100"), (30, "105"), (59, "101"), (61, "102"), (90, "99"), (121, "98")])
    assert [c["index"] for c in recorder.calls] == [0, 1]
    assert [c["open_time"] for c in recorder.calls] == [T0, T0 + HOUR]
    assert recorder.calls[0]["closes"] == [101.0]  # the 01:01 tick is not in it
    assert all(c["close_time"] <= T0 + 2 * HOUR for c in recorder.calls)


def test_candle_when_ticks_stop_is_closed_by_the_clock_after_the_grace() -> None:
    recorder = Recorder()
    engine, clock = tick_engine(recorder, grace=pd.Timedelta(seconds=5))
    feed_ticks(engine, clock, [(1, "100"), (59, "101")])
    clock.advance_to(T0 + HOUR + pd.Timedelta(seconds=4))
    engine.run_until_idle()
    assert recorder.calls == []
    clock.advance_to(T0 + HOUR + pd.Timedelta(seconds=5))
    engine.run_until_idle()
    assert [c["open_time"] for c in recorder.calls] == [T0]


def test_fills_when_the_next_candle_opens_are_booked_before_the_strategy_sees_it() -> None:
    recorder = Recorder()
    engine, clock = tick_engine(recorder)
    feed_ticks(engine, clock, [(1, "100"), (61, "102"), (121, "103")])
    assert [c["position"] for c in recorder.calls] == [0, 1]
    assert engine.account.position("BTCUSDT").side is PositionSide.LONG
    (order,) = engine.orders.store
    assert order.avg_price == Decimal(102) and order.side is Side.BUY


def test_window_when_declared_holds_at_most_that_many_closed_bars() -> None:
    recorder = Recorder()
    engine, clock = tick_engine(recorder)
    feed_ticks(engine, clock, [(60 * h + 1, str(100 + h)) for h in range(6)])
    assert [len(c["closes"]) for c in recorder.calls] == [1, 2, 3, 3, 3]  # type: ignore[arg-type]
    assert recorder.calls[-1]["closes"] == [102.0, 103.0, 104.0]


class Mutating:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_candle(self, ctx: Context) -> None:
        for attempt in (
            lambda: ctx.bars.close.__setitem__(0, 1.0),
            lambda: ctx.params.__setitem__("x", 1),  # type: ignore[index]
            lambda: setattr(ctx.position, "side", PositionSide.LONG),
            lambda: setattr(ctx, "equity", Decimal(1)),
        ):
            try:
                attempt()
            except (ValueError, TypeError, AttributeError, dataclasses.FrozenInstanceError) as exc:
                self.errors.append(type(exc).__name__)
        ctx.state.set("seen", int(ctx.state.get("seen") or 0) + 1)


def test_context_when_a_strategy_tries_to_change_it_refuses_except_its_state() -> None:

    strategy = Mutating()
    result = run_backtest(flat_bars(3), config_for(strategy))  # type: ignore[arg-type]
    assert len(strategy.errors) == 12 and not result.failed
    assert result.stats.strategy_errors == 0


def test_state_store_when_given_an_unstorable_value_raises() -> None:
    store = MemoryStateStore()
    store.set("n", Decimal("1.5"))
    with pytest.raises(TypeError, match="not a storable value"):
        store.set("bad", [1, 2])  # type: ignore[arg-type]
    assert dict(store.items()) == {"n": Decimal("1.5")}


def test_engine_when_adding_a_second_strategy_on_a_symbol_refuses() -> None:
    engine, _ = tick_engine(Recorder())
    with pytest.raises(ValueError, match="already has a strategy"):
        engine.strategies.add("other", "BTCUSDT", Script({}))


def test_same_strategy_when_fed_bars_or_the_ticks_behind_them_sees_the_same_candles() -> None:
    """One code path: candles from a bar feed and from aggregated ticks reach the strategy alike."""

    via_ticks = Recorder()
    engine, clock = tick_engine(via_ticks)
    feed_ticks(engine, clock, [(1, "100"), (30, "105"), (59, "101"), (61, "102"), (121, "98")])
    via_bars = Recorder()
    engine2, clock2 = tick_engine(via_bars)
    bars = pd.DataFrame(
        {
            "open": [100.0, 102.0],
            "high": [105.0, 102.0],
            "low": [100.0, 102.0],
            "close": [101.0, 102.0],
            "volume": [3.0, 1.0],
        },
        index=pd.DatetimeIndex([T0, T0 + HOUR], name="open_time"),
    )
    for candle in candles_from_bars(bars, MARKET, HOUR):
        clock2.advance_to(candle.close_time)
        engine2.feed(candle)
        engine2.run_until_idle()
    assert via_ticks.calls == via_bars.calls


def test_pump_when_fed_by_a_replay_client_trades_like_the_backtest_driver() -> None:
    ticks = pd.read_parquet(sample_path("BTCUSDT_trades_1d.parquet")).iloc[:8_000]
    recorder = Recorder()
    engine, clock = tick_engine(recorder)

    def advance(ts: pd.Timestamp) -> None:
        if ts > clock.now():
            clock.advance_to(ts)

    fed = asyncio.run(pump(engine, ReplayClient([ReplayStream("BTCUSDT", ticks)]), step=advance))
    engine.finish()
    again = Recorder()
    engine2, clock2 = tick_engine(again)
    for tick in ReplayClient([ReplayStream("BTCUSDT", ticks)]).iter_events():
        advance_to = tick.ts if tick.ts > clock2.now() else clock2.now()
        clock2.advance_to(advance_to)
        engine2.feed(tick)
        engine2.run_until_idle()
    engine2.finish()
    assert fed == len(ticks) and len(recorder.calls) >= 2
    assert recorder.calls == again.calls
    assert list(engine.orders.store) == list(engine2.orders.store)
