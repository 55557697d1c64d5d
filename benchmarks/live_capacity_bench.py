"""How many strategies × symbols one runtime process sustains: trade ticks of M symbols,
merged in time order, replayed at full speed through the engine paper and live use (the
ReplayClient, one CandleAggregator per symbol, the SMA(10/30) crossover on every symbol's
1-minute candles, the risk chain with the kill switch, the simulated venue), on a
SimulatedClock.

    python -m benchmarks.live_capacity_bench [--symbols 1,8,32,128] [--minutes 240] [--ticks-per-bar 60]

The table gives ticks/s and the largest tick rate per symbol the process keeps up with
(``sustained ticks/s ÷ M``), to compare with the markets traded. With the in-memory
stores; the SQL store adds commits per order and fill, not per tick.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import pandas as pd
from rich.console import Console
from rich.table import Table

from quantbridge.datasets.execution import ExecutionModel, Instrument
from quantbridge.datasets.synth import generate_bars, synthesize_ticks_from_bars
from quantbridge.runtime.backtest import market_for
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.components.risk_config import RiskConfig
from quantbridge.runtime.core import EngineConfig, build_engine
from quantbridge.runtime.marketdata.aggregator import CandleAggregator
from quantbridge.runtime.marketdata.replay import ReplayClient, ReplayStream
from quantbridge.runtime.strategies import STRATEGIES
from quantbridge.runtime.venue.simulated import SimulatedVenue, SimulatedVenueConfig

MODEL = ExecutionModel(instrument=Instrument(symbol="SYNTH", tick_size=0.01, qty_step=0.001), initial_capital=1e12)
START = pd.Timestamp("2024-01-01", tz="UTC")
MINUTE = pd.Timedelta(minutes=1)


def _ticks(symbols: int, minutes: int, per_bar: float) -> list[ReplayStream]:
    streams = []
    for n in range(symbols):
        bars = generate_bars(start=START, periods=minutes, timeframe="1m", seed=100 + n, tick_size=0.01)
        ticks = synthesize_ticks_from_bars(bars, seed=n, ticks_per_bar=per_bar, price_step=0.01)
        streams.append(ReplayStream(f"S{n:03d}", ticks, "trades"))
    return streams


def _run(streams: list[ReplayStream]) -> tuple[float, int, int, int]:
    """Seconds, ticks, candles, orders of one full-speed replay."""
    markets = {s.symbol: market_for(MODEL, symbol=s.symbol, lot_size=Decimal("0.001")) for s in streams}
    clock = SimulatedClock(START)
    venue = SimulatedVenue(markets, clock, SimulatedVenueConfig(MODEL))
    engine = build_engine(
        markets=markets,
        clock=clock,
        venue=venue,
        config=EngineConfig(model=MODEL, risk=RiskConfig()),
        aggregators=lambda symbol: CandleAggregator(symbol, MINUTE, start=START),
    )
    spec = STRATEGIES.get("sma_crossover")
    params = spec.bind({"fast": 10, "slow": 30})
    for symbol in markets:
        engine.strategies.add(f"sma-{symbol}", symbol, spec.create(params), params=params, window=spec.window(params))
    replay = ReplayClient(streams)
    started = time.perf_counter()
    ticks = 0
    for event in replay.iter_events():
        if event.ts > clock.now():
            clock.advance_to(event.ts)
        engine.feed(event)
        engine.run_until_idle()
        ticks += 1
    engine.finish()
    seconds = time.perf_counter() - started
    stats = engine.stats
    return seconds, ticks, stats.market_data.candles, stats.orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", default="1,8,32,128", help="comma-separated symbol counts")
    parser.add_argument("--minutes", type=int, default=240, help="minutes of data per symbol")
    parser.add_argument("--ticks-per-bar", type=float, default=60.0, help="trades per 1-minute bar")
    args = parser.parse_args()
    table = Table(title="one process, M symbols × 1 SMA strategy each, ticks replayed at full speed")
    for column in ("symbols", "ticks", "candles", "orders", "seconds", "ticks/s", "sustained ticks/s per symbol"):
        table.add_column(column, justify="right")
    for count in (int(part) for part in args.symbols.split(",")):
        streams = _ticks(count, args.minutes, args.ticks_per_bar)
        seconds, ticks, candles, orders = _run(streams)
        rate = ticks / seconds
        table.add_row(
            str(count),
            f"{ticks:,}",
            f"{candles:,}",
            f"{orders:,}",
            f"{seconds:.2f}",
            f"{rate:,.0f}",
            f"{rate / count:,.0f}",
        )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
