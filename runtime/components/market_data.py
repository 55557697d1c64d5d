"""MarketDataRouter: the gate between market data and the core.

Ticks and quotes go through one candle aggregator per symbol (injected: the
``CandleAggregator`` of :mod:`quantbridge.runtime.marketdata.aggregator`); candles from
a bar feed come in directly. Whatever arrives is checked first, and what fails is
dropped with a clear outcome (a log record, a notification, a counter) instead of
reaching a strategy: an unknown symbol, a NaN or non-positive price, a candle whose
high/low do not contain its open/close, a tick stamped before the last closed candle
ended, a candle not after the previous one. A partial candle (the aggregator started
mid-interval) is not traded. Candles close on the first tick past their end or, when
ticks stop, on a clock timer at ``close_time + grace``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import partial
from typing import Protocol

import pandas as pd

from ..clock import Clock
from ..domain.events import CandleClosed
from ..domain.market import Market
from ..domain.marketdata import Candle, Quote, Tick
from ..venue.base import EventSink
from .notifications import Level, NotificationCenter

__all__ = ["AggregatorFactory", "CandleSource", "MarketDataRouter", "MarketDataStats"]

_log = logging.getLogger(__name__)


class CandleSource(Protocol):
    """What the router needs of a candle aggregator."""

    @property
    def interval(self) -> pd.Timedelta: ...

    def on_tick(self, tick: Tick) -> list[Candle]: ...

    def on_quote(self, quote: Quote) -> list[Candle]: ...

    def on_time(self, now: pd.Timestamp) -> list[Candle]: ...

    def flush(self) -> list[Candle]: ...


AggregatorFactory = Callable[[str], CandleSource]


@dataclass(frozen=True, slots=True)
class MarketDataStats:
    ticks: int = 0
    quotes: int = 0
    candles: int = 0
    unknown_symbol: int = 0
    invalid: int = 0
    late: int = 0
    partial: int = 0


def _positive(value: Decimal) -> bool:
    return value.is_finite() and value > 0


def _candle_problem(candle: Candle) -> str | None:
    prices = (candle.open, candle.high, candle.low, candle.close)
    if not (_positive(prices[0]) and _positive(prices[1]) and _positive(prices[2]) and _positive(prices[3])):
        return f"prices {', '.join(str(p) for p in prices)} are not all positive finite numbers"
    if not candle.volume.is_finite() or candle.volume < 0:
        return f"volume {candle.volume} is not a finite number >= 0"
    if candle.low > min(candle.open, candle.close) or candle.high < max(candle.open, candle.close):
        return f"high {candle.high} / low {candle.low} do not contain open {candle.open} and close {candle.close}"
    return None


class MarketDataRouter:
    """Checks market data and turns it into ``CandleClosed`` events (module docstring)."""

    def __init__(
        self,
        markets: Mapping[str, Market],
        clock: Clock,
        notifications: NotificationCenter,
        aggregators: AggregatorFactory | None = None,
        grace: pd.Timedelta | None = None,
    ) -> None:
        self._markets = dict(markets)
        self._clock = clock
        self._notifications = notifications
        self._factory = aggregators
        self._grace = pd.Timedelta(0) if grace is None else grace
        self._aggregators: dict[str, CandleSource] = {}
        self._last_open: dict[str, int] = {}
        self._closed_to: dict[str, int] = {}
        self._timer_at: dict[str, int] = {}
        self._counts = {f.name: 0 for f in fields(MarketDataStats)}
        self._sink: EventSink | None = None
        self.on_partial: Callable[[Candle], None] | None = None
        """Called with a partial candle instead of dropping it for good: a live session
        fetches that candle, now closed, from the exchange and feeds it as a bar (so the
        strategy's history has no hole where the runtime started mid-candle)."""

    def attach(self, sink: EventSink) -> None:
        self._sink = sink

    @property
    def stats(self) -> MarketDataStats:
        return MarketDataStats(**self._counts)

    # ---- inputs ------------------------------------------------------------------------------
    def on_tick(self, tick: Tick) -> None:
        if not self._tick_ok(tick.symbol, tick.ts, (tick.price, tick.amount)):
            return
        self._counts["ticks"] += 1
        aggregator = self._aggregator(tick.symbol)
        self._emit_all(aggregator.on_tick(tick))
        self._schedule(tick.symbol, tick.ts, aggregator.interval)

    def on_quote(self, quote: Quote) -> None:
        if not self._tick_ok(quote.symbol, quote.ts, (quote.bid, quote.ask)):
            return
        self._counts["quotes"] += 1
        aggregator = self._aggregator(quote.symbol)
        self._emit_all(aggregator.on_quote(quote))
        self._schedule(quote.symbol, quote.ts, aggregator.interval)

    def on_candle(self, candle: Candle) -> None:
        """A closed candle from a bar feed or an aggregator."""
        if candle.symbol not in self._markets:
            self._drop("unknown_symbol", f"candle for unknown symbol {candle.symbol!r}", candle.close_time)
            return
        problem = _candle_problem(candle)
        if problem is not None:
            self._drop(
                "invalid", f"{candle.symbol} candle at {candle.open_time.isoformat()}: {problem}", candle.close_time
            )
            return
        if candle.open_time.value <= self._last_open.get(candle.symbol, -(2**62)):
            message = f"{candle.symbol} candle at {candle.open_time.isoformat()} is not after the previous candle"
            self._drop("late", message, candle.close_time)
            return
        close_time = candle.close_time
        self._closed_to[candle.symbol] = close_time.value
        if candle.partial:
            self._counts["partial"] += 1
            _log.info("%s partial candle at %s not traded", candle.symbol, candle.open_time.isoformat())
            if self.on_partial is not None:
                self.on_partial(candle)
            else:
                self._last_open[candle.symbol] = candle.open_time.value
            return
        self._last_open[candle.symbol] = candle.open_time.value
        self._counts["candles"] += 1
        self._emit(CandleClosed(candle=candle, ts=close_time, received=self._clock.now()))

    def flush(self) -> None:
        """End of data: close the candles still open."""
        for aggregator in self._aggregators.values():
            self._emit_all(aggregator.flush())

    # ---- internals ---------------------------------------------------------------------------
    def _tick_ok(self, symbol: str, ts: pd.Timestamp, values: tuple[Decimal, Decimal]) -> bool:
        if symbol not in self._markets:
            self._drop("unknown_symbol", f"tick for unknown symbol {symbol!r}", ts)
            return False
        if not all(_positive(v) for v in values):
            self._drop(
                "invalid",
                f"{symbol} tick at {ts.isoformat()}: {values[0]} / {values[1]} is not positive and finite",
                ts,
            )
            return False
        if ts.value < self._closed_to.get(symbol, -(2**62)):
            closed = pd.Timestamp(self._closed_to[symbol], tz="UTC").isoformat()
            self._drop("late", f"{symbol} tick at {ts.isoformat()} is before the last closed candle's end {closed}", ts)
            return False
        return True

    def _aggregator(self, symbol: str) -> CandleSource:
        aggregator = self._aggregators.get(symbol)
        if aggregator is None:
            if self._factory is None:
                raise RuntimeError("ticks need a candle aggregator: give MarketDataRouter an aggregator factory")
            aggregator = self._aggregators[symbol] = self._factory(symbol)
        return aggregator

    def _schedule(self, symbol: str, ts: pd.Timestamp, interval: pd.Timedelta) -> None:
        """A timer that closes the current candle at its end + grace if no tick does."""
        width = interval.value
        due = ts.value - ts.value % width + width + self._grace.value
        if due > self._timer_at.get(symbol, -(2**62)):
            self._timer_at[symbol] = due
            self._clock.set_timer(pd.Timestamp(due, tz="UTC"), partial(self._on_timer, symbol))

    def _on_timer(self, symbol: str, now: pd.Timestamp) -> None:
        self._emit_all(self._aggregators[symbol].on_time(now))

    def _emit_all(self, candles: list[Candle]) -> None:
        for candle in candles:
            self.on_candle(candle)

    def _drop(self, kind: str, message: str, ts: pd.Timestamp) -> None:
        self._counts[kind] += 1
        _log.warning("market data dropped (%s): %s", kind, message)
        self._notifications.notify(ts, Level.WARNING, "bad_input", message, reason=kind)

    def _emit(self, event: CandleClosed) -> None:
        if self._sink is None:
            raise RuntimeError("MarketDataRouter: attach(sink) before use")
        self._sink(event)
