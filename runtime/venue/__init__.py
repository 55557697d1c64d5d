"""Venues: the port and the simulated implementation (a ccxt venue comes later)."""

from .base import EventSink, Venue
from .simulated import SimulatedVenue, SimulatedVenueConfig

__all__ = ["EventSink", "SimulatedVenue", "SimulatedVenueConfig", "Venue"]
