"""Tick-to-order latency inside the runtime, live mode, on the local exchange.

A live TradingSession (ccxt.pro trade stream, CandleAggregator, engine, risk chain, SQL
store on a SQLite file, CcxtVenue with the real async ccxt client) trades a strategy that
reverses its position on every closed candle, while the local exchange replays 1-minute
bars ``--speed`` times faster than real time. For each order it measures, from the moment
the stream handed the engine the tick that closed the candle:

* **decided** — the order reached ``venue.submit`` (aggregation, strategy, risk, the
  order committed to the store as submitted);
* **sent** — ccxt's ``create_order`` was called (the venue's worker picked it up,
  precision and limits applied);
* **acknowledged** — the exchange's answer was back (loopback HTTP round trip).

    python -m benchmarks.live_latency_bench [--orders 200] [--speed 600]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from quantbridge.datasets.exchange import LocalExchange, MarketData
from quantbridge.datasets.exchange.accounts import AccountConfig
from quantbridge.datasets.exchange.ccxt_client import binanceusdm_async_client, binanceusdm_pro_client
from quantbridge.datasets.exchange.clock import ReplayClock
from quantbridge.datasets.execution import ExecutionModel, Instrument
from quantbridge.datasets.synth import generate_bars
from quantbridge.runtime.clock import ScaledClock
from quantbridge.runtime.domain.orders import Order
from quantbridge.runtime.live import Mode, SessionConfig, SessionTiming, TradingSession
from quantbridge.runtime.marketdata.ccxt_ws import CcxtWebsocketClient
from quantbridge.runtime.registry import StrategySpec
from quantbridge.runtime.store import TradingStore
from quantbridge.runtime.strategy import Context
from quantbridge.runtime.venue import CcxtVenue

MODEL = ExecutionModel(instrument=Instrument(symbol="BTCUSDT", tick_size=0.1, qty_step=0.001), initial_capital=1e9)


class Flip:
    """Long after a down bar, short after an up bar: an order on (almost) every candle."""

    def on_candle(self, ctx: Context) -> None:
        bar = ctx.bars.last
        if bar.close > bar.open and ctx.position.qty >= 0:
            ctx.sell(qty=0.01)
        elif bar.close <= bar.open and ctx.position.qty <= 0:
            ctx.buy(qty=0.01)


FLIP = StrategySpec(name="flip", factory=Flip, description="reverses on every candle", window=lambda _: 5)


class Probe:
    """Timestamps (perf_counter) of the last tick handed over and of each order's steps."""

    def __init__(self) -> None:
        self.last_tick = 0.0
        self.decided: list[float] = []
        self.sent: list[float] = []
        self.acked: list[float] = []
        self._tick_of: dict[str, float] = {}

    def order_decided(self, orders: Sequence[Order]) -> None:
        now = time.perf_counter()
        for order in orders:
            self._tick_of[order.client_order_id] = self.last_tick
            self.decided.append(now - self.last_tick)

    def tick_of(self, params: dict[str, Any]) -> float | None:
        return self._tick_of.get(str(params.get("newClientOrderId") or params.get("clientOrderId") or ""))


class ProbedVenue(CcxtVenue):
    probe: Probe

    def submit(self, orders: Sequence[Order]) -> None:
        self.probe.order_decided(orders)
        super().submit(orders)


def _probe_create(rest: Any, probe: Probe) -> None:
    original = rest.create_order

    async def create_order(*args: Any) -> Any:
        tick = probe.tick_of(args[5] if len(args) > 5 else {})
        started = time.perf_counter()
        result = await original(*args)
        if tick is not None:
            probe.sent.append(started - tick)
            probe.acked.append(time.perf_counter() - tick)
        return result

    rest.create_order = create_order


async def _session(url: str, db: str, probe: Probe, orders: int) -> None:
    rest = binanceusdm_async_client(url, api_key="bench", secret="bench", rate_limit_ms=0)
    _probe_create(rest, probe)
    speed = 600.0
    clock = ScaledClock(pd.Timestamp(await rest.fetch_time(), unit="ms", tz="UTC"), speed)
    config = SessionConfig(
        mode=Mode.LIVE, account="bench", exchange="local", strategy_id="flip", spec=FLIP, params={},
        symbol="BTC/USDT:USDT", timeframe="1m", model=MODEL, warmup_bars=5, timing=SessionTiming(),
    )  # fmt: skip

    def stream(symbols: Any, clk: Any) -> Any:
        client = CcxtWebsocketClient(binanceusdm_pro_client(url, rate_limit_ms=0), symbols, clk)
        events = client.events

        async def tapped() -> AsyncIterator[Any]:
            async for event in events():
                probe.last_tick = time.perf_counter()
                yield event

        client.events = tapped  # type: ignore[method-assign]
        return client

    def venue(session: TradingSession) -> Any:
        made = ProbedVenue(
            rest, {session.market.symbol: session.market}, session.clock, session.notifications,
            lambda symbol: session.engine.account.position(symbol).qty, poll_interval=0.2,
        )  # fmt: skip
        made.probe = probe
        return made

    store = TradingStore.open(db, "bench")
    session = TradingSession(config, exchange=rest, store=store, clock=clock, stream_factory=stream,
                             venue_factory=venue)  # fmt: skip

    async def stop_when_done() -> None:
        while len(probe.acked) < orders:
            await asyncio.sleep(0.1)
        session.stop("enough orders")

    watcher = asyncio.create_task(stop_when_done())
    try:
        await session.run()
    finally:
        watcher.cancel()
        store.close()
        await rest.close()


def _row(table: Table, name: str, values: list[float]) -> None:
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    table.add_row(name, f"{len(ms)}", f"{statistics.median(ms):.2f}", f"{p99:.2f}", f"{ms[-1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders to measure")
    parser.add_argument("--speed", type=float, default=600.0, help="replay speed of the local exchange")
    args = parser.parse_args()
    bars = generate_bars(start=pd.Timestamp("2024-01-01", tz="UTC"), periods=20_000, timeframe="1m", seed=4,
                         tick_size=0.1)  # fmt: skip
    clock = ReplayClock(int(bars.index[50].value // 1_000_000), args.speed)
    market = MarketData.from_bars(bars, clock=clock)
    probe = Probe()
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalExchange(market, accounts=AccountConfig(balances={"USDT": Decimal(10**9)})) as exchange,
    ):
        asyncio.run(_session(exchange.url, f"sqlite:///{Path(folder) / 'bench.db'}", probe, args.orders))
    table = Table(title=f"tick-to-order latency, live mode on the local exchange (replay {args.speed:g}×, SQLite)")
    for column in ("from the closing tick to", "orders", "median ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column.startswith("from") else "right")
    _row(table, "order decided (venue.submit)", probe.decided)
    _row(table, "request sent (ccxt create_order)", probe.sent)
    _row(table, "exchange acknowledged", probe.acked)
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
