"""Runtime market data: ticks → 1m candles through the streaming CandleAggregator, next to
the vectorised ``datasets.resample.aggregate_trades`` (pandas) on the same trades in the
same process, and what turning a trades frame into Decimal ``Tick`` objects costs.

    python -m benchmarks.aggregator_bench [--ticks 1000000]

The streaming rows feed pre-built ``Tick`` objects one call at a time (the engine's
path); "replay → aggregator" adds the frame → Tick conversion (chunked, as
``ReplayClient.iter_events`` does it). The "gc paused" row shows how much of the
conversion is the cyclic garbage collector walking the new objects.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Callable

import pandas as pd

from quantbridge.datasets.resample import EmptyBars, aggregate_quotes, aggregate_trades
from quantbridge.datasets.synth import generate_quotes, generate_trades
from quantbridge.runtime.domain import Candle, Quote, Tick
from quantbridge.runtime.marketdata.aggregator import CandleAggregator, EmptyPolicy
from quantbridge.runtime.marketdata.frames import quote_events, trade_ticks
from quantbridge.runtime.marketdata.replay import ReplayClient, ReplayStream

from .common import Row, measure, print_table

SYMBOL = "BTCUSDT"
START = pd.Timestamp("2024-01-01", tz="UTC")
MINUTE = pd.Timedelta(minutes=1)


def _trades(n: int) -> pd.DataFrame:
    days = 1
    while True:  # the generator's rate is per time: extend the window until it holds n trades
        frame = generate_trades(start=START, end=START + pd.Timedelta(days=days), seed=1)
        if len(frame) >= n:
            return frame.iloc[:n].reset_index(drop=True)
        days = days * 2


def _quotes(n: int) -> pd.DataFrame:
    days = 1
    while True:
        frame = generate_quotes(start=START, end=START + pd.Timedelta(days=days), seed=1)
        if len(frame) >= n:
            return frame.iloc[:n].reset_index(drop=True)
        days = days * 2


def _stream(events: list[Tick] | list[Quote], source: str, empty: EmptyPolicy) -> list[Candle]:
    agg = CandleAggregator(SYMBOL, MINUTE, source="quotes" if source == "quotes" else "trades", empty=empty)
    on_event = agg.on_event
    out: list[Candle] = []
    for event in events:
        closed = on_event(event)
        if closed:
            out += closed
    return out + agg.flush()


def _replay_into_aggregator(frame: pd.DataFrame) -> list[Candle]:
    agg = CandleAggregator(SYMBOL, MINUTE)
    out: list[Candle] = []
    for event in ReplayClient([ReplayStream(SYMBOL, frame)]).iter_events():
        closed = agg.on_event(event)
        if closed:
            out += closed
    return out + agg.flush()


def _gc_paused(action: Callable[[], object]) -> Callable[[], object]:
    """``action`` with the cyclic garbage collector paused: what allocating a million
    objects costs without the collector's passes over them (the library never does this)."""

    def paused() -> object:
        gc.disable()
        try:
            return action()
        finally:
            gc.enable()

    return paused


def trade_rows(n: int, repeat: int) -> list[Row]:
    frame = _trades(n)
    pandas_seconds = measure(lambda: aggregate_trades(frame, "1m"), repeat)
    fill_seconds = measure(lambda: aggregate_trades(frame, "1m", EmptyBars.FILL), repeat)
    convert_seconds = measure(lambda: trade_ticks(frame, SYMBOL), repeat)
    paused_seconds = measure(_gc_paused(lambda: trade_ticks(frame, SYMBOL)), repeat)
    ticks = trade_ticks(frame, SYMBOL)
    if len(_stream(ticks, "trades", EmptyPolicy.SKIP)) != len(aggregate_trades(frame, "1m")):
        raise RuntimeError("streaming and vectorised candle counts differ")
    skip_seconds = measure(lambda: _stream(ticks, "trades", EmptyPolicy.SKIP), repeat)
    filled_seconds = measure(lambda: _stream(ticks, "trades", EmptyPolicy.FILL), repeat)
    replay_seconds = measure(lambda: _replay_into_aggregator(frame), repeat)
    vectorised = "aggregate_trades (pandas)"
    return [
        Row("aggregate_trades 1m (vectorised pandas)", n, "ticks", pandas_seconds),
        Row("CandleAggregator 1m, SKIP (streaming, Decimal)", n, "ticks", skip_seconds, vectorised, pandas_seconds),
        Row("CandleAggregator 1m, FILL (streaming, Decimal)", n, "ticks", filled_seconds, vectorised, fill_seconds),
        Row("frame → Decimal Ticks (trade_ticks)", n, "ticks", convert_seconds, vectorised, pandas_seconds),
        Row("frame → Decimal Ticks, gc paused", n, "ticks", paused_seconds, "trade_ticks", convert_seconds),
        Row("replay → aggregator (convert + stream)", n, "ticks", replay_seconds, vectorised, pandas_seconds),
    ]


def quote_rows(n: int, repeat: int) -> list[Row]:
    frame = _quotes(n)
    pandas_seconds = measure(lambda: aggregate_quotes(frame, "1m"), repeat)
    convert_seconds = measure(lambda: quote_events(frame, SYMBOL), repeat)
    quotes = quote_events(frame, SYMBOL)
    stream_seconds = measure(lambda: _stream(quotes, "quotes", EmptyPolicy.SKIP), repeat)
    vectorised = "aggregate_quotes (pandas)"
    return [
        Row("aggregate_quotes 1m (vectorised pandas)", n, "quotes", pandas_seconds),
        Row("CandleAggregator 1m mid, SKIP (streaming)", n, "quotes", stream_seconds, vectorised, pandas_seconds),
        Row("frame → Decimal Quotes (quote_events)", n, "quotes", convert_seconds, vectorised, pandas_seconds),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print_table(f"Trade ticks → 1m candles, {args.ticks:,} ticks", trade_rows(args.ticks, args.repeat))
    print_table(f"Quotes → 1m mid candles, {args.quotes:,} quotes", quote_rows(args.quotes, args.repeat))


if __name__ == "__main__":
    main()
