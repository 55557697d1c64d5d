"""ReplayClient: deterministic ``(ts, sequence)`` order, synchronous and async streams,
pacing against an injected clock, frame → Decimal conversion, and bars → ticks → candles."""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.synth import generate_bars, generate_quotes, generate_trades
from quantbridge.runtime.clock import SimulatedClock, WallClock
from quantbridge.runtime.domain import Quote, Tick
from quantbridge.runtime.marketdata.aggregator import CandleAggregator, EmptyPolicy
from quantbridge.runtime.marketdata.client import MarketDataClient, MarketEvent
from quantbridge.runtime.marketdata.frames import decimals, trade_ticks
from quantbridge.runtime.marketdata.replay import ReplayClient, ReplayStream

SYMBOL = "BTCUSDT"
START = pd.Timestamp("2024-01-01", tz="UTC")


def trades(*rows: tuple[str, float, float]) -> pd.DataFrame:
    """Trades (offset, price, amount) with ids 1, 2, …"""
    return pd.DataFrame(
        {
            "ts": [START + pd.Timedelta(offset) for offset, _, _ in rows],
            "price": [price for _, price, _ in rows],
            "amount": [amount for _, _, amount in rows],
            "side": ["buy"] * len(rows),
            "trade_id": np.arange(1, len(rows) + 1),
        }
    )


def quotes(*rows: tuple[str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": [START + pd.Timedelta(offset) for offset, _, _ in rows],
            "bid": [bid for _, bid, _ in rows],
            "ask": [ask for _, _, ask in rows],
            "bid_size": 1.0,
            "ask_size": 2.0,
        }
    )


def collect(client: MarketDataClient) -> list[MarketEvent]:
    async def run() -> list[MarketEvent]:
        return [event async for event in client.events()]

    return asyncio.run(run())


def describe(events: list[MarketEvent]) -> list[tuple[str, pd.Timestamp, Decimal]]:
    return [(e.symbol, e.ts, e.price if isinstance(e, Tick) else e.bid) for e in events]


def test_iter_events_when_streams_share_timestamps_orders_by_time_then_stream_then_row() -> None:
    first = ReplayStream("AAA", trades(("2s", 1.0, 1.0), ("1s", 2.0, 1.0), ("2s", 3.0, 1.0)))
    second = ReplayStream("BBB", quotes(("1s", 10.0, 11.0), ("2s", 20.0, 21.0)), "quotes")
    events = list(ReplayClient([first, second]).iter_events())
    assert describe(events) == [
        ("AAA", START + pd.Timedelta("1s"), Decimal("2.0")),
        ("BBB", START + pd.Timedelta("1s"), Decimal("10.0")),
        ("AAA", START + pd.Timedelta("2s"), Decimal("1.0")),
        ("AAA", START + pd.Timedelta("2s"), Decimal("3.0")),
        ("BBB", START + pd.Timedelta("2s"), Decimal("20.0")),
    ]
    assert isinstance(events[1], Quote) and events[1].ask_size == Decimal("2.0")


def test_iter_events_when_chunked_gives_the_same_events_as_one_chunk() -> None:
    frame_a = generate_trades(start=START, end=START + pd.Timedelta(minutes=10), seed=1)
    frame_b = generate_quotes(start=START, end=START + pd.Timedelta(minutes=10), seed=1)
    streams = [ReplayStream("AAA", frame_a), ReplayStream("AAA", frame_b, "quotes")]
    whole = list(ReplayClient(streams).iter_events())
    chunked = list(ReplayClient(streams, chunk_size=7).iter_events())
    assert len(whole) == len(frame_a) + len(frame_b) and whole == chunked
    assert [e.ts for e in whole] == sorted(e.ts for e in whole)


def test_events_when_as_fast_as_possible_yield_what_iter_events_does_with_received_after_latency() -> None:
    frame = trades(("1s", 1.0, 1.0), ("3s", 2.0, 0.5))
    client = ReplayClient([ReplayStream(SYMBOL, frame)], latency=pd.Timedelta(milliseconds=25))
    events = collect(client)
    assert events == list(client.iter_events())
    assert [e.received - e.ts for e in events] == [pd.Timedelta(milliseconds=25)] * 2


def test_events_when_paced_on_a_simulated_clock_sleep_the_scaled_gaps_and_stamp_received() -> None:
    frame = trades(("0s", 1.0, 1.0), ("10s", 2.0, 1.0), ("10s", 3.0, 1.0), ("30s", 4.0, 1.0))
    clock = SimulatedClock(pd.Timestamp("2030-01-01", tz="UTC"))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance_to(clock.now() + pd.Timedelta(seconds=seconds))

    client = ReplayClient([ReplayStream(SYMBOL, frame)], clock=clock, speed=2.0, sleep=sleep)
    events = collect(client)
    assert waits == [5.0, 10.0]
    assert [e.received - clock.now() for e in events] == [pd.Timedelta(seconds=s) for s in (-15, -10, -10, 0)]
    assert [e.ts for e in events] == list(pd.DatetimeIndex(frame["ts"]))  # event times keep their recorded values


def test_events_when_paced_on_the_wall_clock_take_the_scaled_real_time() -> None:
    frame = trades(("0s", 1.0, 1.0), ("1s", 2.0, 1.0), ("2s", 3.0, 1.0))
    client = ReplayClient([ReplayStream(SYMBOL, frame)], clock=WallClock(), speed=20.0)
    started = time.monotonic()
    events = collect(client)
    elapsed = time.monotonic() - started
    assert 0.1 <= elapsed < 1.0  # 2 s of data at 20× real time
    gaps = [(b.received - a.received).total_seconds() for a, b in itertools.pairwise(events)]
    assert all(0.04 <= gap < 0.5 for gap in gaps)


def test_close_when_called_mid_stream_ends_the_async_stream() -> None:
    frame = generate_trades(start=START, end=START + pd.Timedelta(minutes=5), seed=2)
    client = ReplayClient([ReplayStream(SYMBOL, frame)])

    async def run() -> int:
        seen = 0
        async for _ in client.events():
            seen += 1
            if seen == 10:
                await client.close()
        return seen

    assert asyncio.run(run()) == 10
    asyncio.run(client.close())  # safe to call twice


def test_init_when_speed_has_no_clock_or_is_not_positive_raises() -> None:
    stream = ReplayStream(SYMBOL, trades(("0s", 1.0, 1.0)))
    with pytest.raises(ValueError, match="needs a clock"):
        ReplayClient([stream], speed=2.0)
    with pytest.raises(ValueError, match="positive factor"):
        ReplayClient([stream], clock=WallClock(), speed=0.0)


def test_trade_ticks_when_converting_format_each_price_as_its_shortest_decimal_or_exactly() -> None:
    frame = trades(("0s", 0.1, 0.3), ("1s", 42000.1, 1e-8), ("2s", 0.1, 0.3))
    shortest = trade_ticks(frame, SYMBOL)
    assert [(t.price, t.amount) for t in shortest] == [
        (Decimal("0.1"), Decimal("0.3")),
        (Decimal("42000.1"), Decimal("1E-8")),
        (Decimal("0.1"), Decimal("0.3")),
    ]
    assert shortest[0].price is shortest[2].price  # formatted once, shared
    exact, missing = decimals(np.array([0.1, float("nan")]), "exact")
    assert exact == Decimal.from_float(0.1) != Decimal("0.1") and missing.is_nan()


def test_trade_ticks_when_a_side_is_unknown_raises_naming_it() -> None:
    frame = trades(("0s", 1.0, 1.0)).assign(side="hold")
    with pytest.raises(ValueError, match="'hold'"):
        trade_ticks(frame, SYMBOL)


def test_replayed_bars_when_aggregated_rebuild_every_bar_exactly() -> None:
    bars = generate_bars(start=START, periods=300, timeframe="5m", seed=9)
    stream = ReplayStream.from_bars(bars, SYMBOL, seed=1)
    agg = CandleAggregator(SYMBOL, pd.Timedelta(minutes=5), empty=EmptyPolicy.FILL, start=START)
    candles = [c for event in ReplayClient([stream], decimals="exact").iter_events() for c in agg.on_event(event)]
    candles += agg.flush()
    assert [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in candles] == [
        (t, *(Decimal(float(x)) for x in row))
        for t, row in zip(bars.index, bars[["open", "high", "low", "close", "volume"]].to_numpy(), strict=True)
    ]


def test_from_file_when_given_trades_quotes_or_bars_replays_each_kind(tmp_path: Path) -> None:
    trade_file, quote_file, bar_file = tmp_path / "t.parquet", tmp_path / "q.parquet", tmp_path / "b.parquet"
    generate_trades(start=START, end=START + pd.Timedelta(minutes=2), seed=3).to_parquet(trade_file)
    generate_quotes(start=START, end=START + pd.Timedelta(minutes=2), seed=3).to_parquet(quote_file)
    generate_bars(start=START, periods=10, timeframe="1m", seed=3).to_parquet(bar_file)
    kinds = {
        name: {type(e).__name__ for e in ReplayClient([ReplayStream.from_file(path, SYMBOL)]).iter_events()}
        for name, path in [("trades", trade_file), ("quotes", quote_file), ("bars", bar_file)]
    }
    assert kinds == {"trades": {"Tick"}, "quotes": {"Quote"}, "bars": {"Tick"}}
    assert len(ReplayClient([ReplayStream.from_file(bar_file, SYMBOL, seed=1)])) >= 40  # ≥ 4 ticks a bar
