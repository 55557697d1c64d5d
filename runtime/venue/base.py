"""The Venue port: where orders go and where fills come from.

A venue is an edge of the runtime. The core hands it orders (``submit``, ``cancel``) and
market data it may need (``on_candle``); the venue reports what happened — accepted,
rejected, filled, cancelled, expired — as events through the sink it was attached to,
now (a simulated venue) or later (a ccxt venue, from its asyncio side). It never calls
back into the core otherwise, so a simulated and a real venue are interchangeable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ..domain.events import Event
from ..domain.marketdata import Candle
from ..domain.orders import Order

__all__ = ["EventSink", "Venue"]

EventSink = Callable[[Event], None]


class Venue(Protocol):
    """Orders in, events out.

    * ``attach(sink)`` — where to report events (called once, by the engine);
    * ``submit(orders)`` — orders decided together (one strategy step), in decision
      order; each is answered by ``OrderAccepted`` or ``OrderRejected``, then fills;
    * ``cancel(client_order_id)`` — answered by ``OrderCancelled`` if it was working;
    * ``on_candle(candle)`` — a closed candle, before strategies see it (a simulated
      venue fills against it; a real one ignores it).
    """

    def attach(self, sink: EventSink) -> None: ...

    def submit(self, orders: Sequence[Order]) -> None: ...

    def cancel(self, client_order_id: str) -> None: ...

    def on_candle(self, candle: Candle) -> None: ...
