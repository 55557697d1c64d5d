"""Immutable domain values of the runtime: markets, ticks, quotes, candles, orders, fills.

Prices, quantities, cash and P&L are ``Decimal``, quantised to the market's precision.
Every event carries the time it happened (``ts``) and the time the engine received it
(``received``), both UTC.
"""

from .market import Market, MarketError
from .marketdata import Candle, Quote, Tick
from .time import ensure_utc

__all__ = ["Candle", "Market", "MarketError", "Quote", "Tick", "ensure_utc"]
