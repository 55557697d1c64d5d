"""Events: what the core's queue carries.

Every event says when it happened (``ts``) and when the engine received it
(``received``), both UTC. The core processes them one at a time in ``(ts, sequence)``
order, the sequence being the order in which they were queued.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .fills import Fill
from .marketdata import Candle, Quote, Tick

__all__ = [
    "CandleClosed",
    "Event",
    "OrderAccepted",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderRejected",
    "QuoteReceived",
    "TickReceived",
    "VenueEvent",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    ts: pd.Timestamp
    received: pd.Timestamp


# ---- market data ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class TickReceived(Event):
    tick: Tick


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteReceived(Event):
    quote: Quote


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleClosed(Event):
    """A closed candle (``ts`` is its close time)."""

    candle: Candle


# ---- venue reports ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(Event):
    client_order_id: str
    venue_order_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(Event):
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(Event):
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(Event):
    client_order_id: str
    reason: str = "expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(Event):
    fill: Fill


VenueEvent = OrderAccepted | OrderRejected | OrderCancelled | OrderExpired | OrderFilled
