"""Market data clients and the CandleAggregator.

A client is an edge of the runtime: it turns a source (a file replay, ccxt REST
polling, ccxt websocket streams) into a stream of :class:`~..domain.Tick` /
:class:`~..domain.Quote` events. The core consumes them synchronously, one at a time.
"""

from .client import MarketDataClient, MarketEvent

__all__ = ["MarketDataClient", "MarketEvent"]
