"""Venues: the port, the simulated implementation and the ccxt (live) implementation."""

from .base import EventSink, Venue
from .ccxt_decode import ExchangeOrder, VenueBalance, VenuePosition
from .ccxt_errors import Redactor, RequestFailedError, RetryPolicy
from .ccxt_snapshot import VenueOrder, VenueSnapshot
from .ccxt_venue import CcxtVenue
from .simulated import SimulatedVenue, SimulatedVenueConfig

__all__ = [
    "CcxtVenue",
    "EventSink",
    "ExchangeOrder",
    "Redactor",
    "RequestFailedError",
    "RetryPolicy",
    "SimulatedVenue",
    "SimulatedVenueConfig",
    "Venue",
    "VenueBalance",
    "VenueOrder",
    "VenuePosition",
    "VenueSnapshot",
]
