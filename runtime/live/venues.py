"""The venues a session trades on, behind one small protocol with an async lifecycle.

Paper trading uses the backtest's :class:`~..venue.simulated.SimulatedVenue` on the live
candles (same fills, same costs); live trading a ccxt venue. Both are started before the
first candle and closed after the last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..domain.marketdata import Candle
from ..domain.orders import Order
from ..venue.base import EventSink, Venue
from ..venue.simulated import SimulatedVenue

__all__ = ["LiveVenue", "PaperVenue"]


class LiveVenue(Venue, Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


class PaperVenue:
    """A SimulatedVenue with the lifecycle of a live one (nothing to connect)."""

    def __init__(self, simulated: SimulatedVenue) -> None:
        self.simulated = simulated

    def attach(self, sink: EventSink) -> None:
        self.simulated.attach(sink)

    def submit(self, orders: Sequence[Order]) -> None:
        self.simulated.submit(orders)

    def cancel(self, client_order_id: str) -> None:
        self.simulated.cancel(client_order_id)

    def on_candle(self, candle: Candle) -> None:
        self.simulated.on_candle(candle)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
