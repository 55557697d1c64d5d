"""The Engine: one event at a time, synchronously, in ``(ts, sequence)`` order.

The flow of a closed candle, each step an event so that everything the previous step
caused (fills, rejections) is processed before the next::

    CandleClosed ─> venue.on_candle (fills at the open / inside the bar, as events)
                 ─> StrategyDue ─> mark the account at the close; strategies decide;
                                   TradeExecutor → RiskManager → OrderExecutor → venue
                 ─> BarSettled  ─> one equity point at the close

Modes differ only in what is injected (clock, venue, stores, aggregators). A handler
that raises is logged, notified and counted; the engine goes on with the next event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..clock import Clock
from ..components.account import AccountStateStore
from ..components.market_data import MarketDataRouter, MarketDataStats
from ..components.notifications import Level, NotificationCenter
from ..components.order_executor import OrderExecutor
from ..components.risk import Reject, RiskManager
from ..components.strategy_manager import StrategyManager
from ..components.trade_executor import Refusal, TradeExecutor
from ..domain.events import (
    CandleClosed,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    QuoteReceived,
    TickReceived,
    VenueEvent,
)
from ..domain.market import Market
from ..domain.marketdata import Candle, Quote, Tick
from ..domain.orders import Order
from ..strategy import CancelRequest, Request
from ..venue.base import Venue

__all__ = ["BarSettled", "Engine", "EngineStats", "StrategyDue"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyDue(Event):
    """The venue has processed ``candle``: strategies may now decide on it."""

    candle: Candle


@dataclass(frozen=True, slots=True, kw_only=True)
class BarSettled(Event):
    """Everything decided on ``candle``'s close has been processed."""

    candle: Candle


@dataclass(frozen=True, slots=True)
class EngineStats:
    events: int
    errors: int
    strategy_errors: int
    orders: int
    fills: int
    market_data: MarketDataStats


class Engine:
    """Wires the components and drains the event queue."""

    def __init__(
        self,
        *,
        clock: Clock,
        markets: Mapping[str, Market],
        venue: Venue,
        market_data: MarketDataRouter,
        strategies: StrategyManager,
        trade_executor: TradeExecutor,
        risk: RiskManager,
        orders: OrderExecutor,
        account: AccountStateStore,
        notifications: NotificationCenter,
    ) -> None:
        from .queue import EventQueue

        self.clock = clock
        self.markets = dict(markets)
        self.venue = venue
        self.market_data = market_data
        self.strategies = strategies
        self.trade_executor = trade_executor
        self.risk = risk
        self.orders = orders
        self.account = account
        self.notifications = notifications
        self._queue = EventQueue()
        self._events = self._errors = self._fills = 0
        self._cancelling: set[str] = set()
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            TickReceived: self._on_tick,
            QuoteReceived: self._on_quote,
            CandleClosed: self._on_candle,
            StrategyDue: self._on_strategy_due,
            BarSettled: self._on_settled,
            OrderAccepted: self._on_venue,
            OrderRejected: self._on_venue,
            OrderCancelled: self._on_venue,
            OrderExpired: self._on_venue,
            OrderFilled: self._on_venue,
        }
        venue.attach(self.push)
        market_data.attach(self.push)

    # ---- inputs ------------------------------------------------------------------------------
    def push(self, event: Event) -> None:
        """Queue an event (the edges and the components call this)."""
        self._queue.push(event)

    def feed(self, item: Tick | Quote | Candle) -> None:
        """Market data from a client or a replay: ticks and quotes are queued; a candle
        from a bar feed is checked and queued as ``CandleClosed``."""
        now = self.clock.now()
        if isinstance(item, Tick):
            self.push(TickReceived(tick=item, ts=item.ts, received=now))
        elif isinstance(item, Quote):
            self.push(QuoteReceived(quote=item, ts=item.ts, received=now))
        else:
            self.market_data.on_candle(item)

    def run_until_idle(self) -> int:
        """Process queued events (and those they cause) until none is left; returns how many."""
        processed = 0
        queue = self._queue
        while queue:
            event = queue.pop()
            processed += 1
            try:
                self._handlers[type(event)](event)
            except Exception as exc:  # one bad event must not stop the engine: log, notify, count
                self._errors += 1
                _log.exception("engine: %s failed", type(event).__name__)
                self.notifications.notify(event.ts, Level.ERROR, "engine_error", f"{type(event).__name__}: {exc}")
        self._events += processed
        return processed

    def finish(self) -> None:
        """End of data: close the candles still open and process what follows."""
        self.market_data.flush()
        self.run_until_idle()

    @property
    def stats(self) -> EngineStats:
        return EngineStats(
            events=self._events,
            errors=self._errors,
            strategy_errors=self.strategies.errors,
            orders=len(self.orders.store),
            fills=self._fills,
            market_data=self.market_data.stats,
        )

    # ---- handlers ----------------------------------------------------------------------------
    def _on_tick(self, event: TickReceived) -> None:
        self.market_data.on_tick(event.tick)

    def _on_quote(self, event: QuoteReceived) -> None:
        self.market_data.on_quote(event.quote)

    def _on_candle(self, event: CandleClosed) -> None:
        self.venue.on_candle(event.candle)
        self.push(StrategyDue(candle=event.candle, ts=event.ts, received=event.received))

    def _on_strategy_due(self, event: StrategyDue) -> None:
        candle = event.candle
        self.account.set_mark(candle.symbol, candle.close)
        self._watch(event.ts)
        requests = self.strategies.on_candle(candle, self.account, self._working)
        self._route(requests, event)
        self._cancel_blocked(event.ts)
        self.push(BarSettled(candle=candle, ts=event.ts, received=self.clock.now()))

    def _on_settled(self, event: BarSettled) -> None:
        self.account.snapshot(event.candle)
        self._watch(event.ts)

    # ---- risk controls -----------------------------------------------------------------------
    def kill(self, reason: str) -> None:
        """Trip the kill switch now (CLI, Telegram): entries are blocked and working entry
        orders cancelled; call :meth:`run_until_idle` to process the cancellations."""
        now = self.clock.now()
        self.risk.kill(reason, now)
        self._cancel_blocked(now)

    def reset_risk(self, name: str) -> None:
        """Re-arm the breaker ``name`` (``kill_switch``, ``drawdown``, …)."""
        self.risk.reset(name, self.clock.now())

    def _watch(self, ts: pd.Timestamp) -> None:
        """Show the account to the risk rules; cancel what a tripped breaker blocks."""
        self.risk.observe(self.account, ts)
        self._cancel_blocked(ts)

    def _cancel_blocked(self, ts: pd.Timestamp) -> None:
        for order in self.risk.cancellations(self.orders.store.open_orders()):
            if order.client_order_id not in self._cancelling:
                self._cancelling.add(order.client_order_id)
                self.orders.cancel(order.client_order_id, order.strategy_id, ts)

    def _on_venue(self, event: VenueEvent) -> None:
        order = self.orders.on_venue_event(event)
        if isinstance(event, OrderFilled):
            self._fills += 1
            fill = event.fill
            self.account.apply_fill(fill, order)
            message = f"{fill.side.value} {fill.qty} {fill.symbol} @ {fill.price}"
            self.notifications.notify(
                fill.ts, Level.INFO, "fill", message, order=fill.client_order_id or fill.origin.value
            )

    # ---- order flow --------------------------------------------------------------------------
    def _working(self, strategy_id: str, symbol: str) -> tuple[Order, ...]:
        return self.orders.store.open_orders(strategy_id, symbol)

    def _route(self, requests: list[Request], event: StrategyDue) -> None:
        """Requests → orders → risk → one batch to the venue, in decision order."""
        ts = event.ts
        batch: list[Order] = []
        for request in requests:
            if isinstance(request, CancelRequest):
                self.orders.cancel(request.client_order_id, request.strategy_id, ts)
                continue
            order = self.trade_executor.to_order(request, self.account, ts)
            if isinstance(order, Refusal):
                self.notifications.notify(
                    ts, Level.DEBUG, "order_not_created", order.reason, order=request.client_order_id
                )
                continue
            if not self.orders.register(order):
                continue
            outcome = self.risk.evaluate(order, self.account, ts)
            if isinstance(outcome, Reject):
                self.orders.reject(order, outcome.reason, ts)
                continue
            if outcome is not order:
                self.orders.store.update(outcome)
            batch.append(outcome)
        self.orders.submit(batch, ts)
