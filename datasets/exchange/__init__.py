"""A local Binance-USDM-compatible exchange that serves a dataset, for tests and offline demos.

* :class:`MarketData` / :class:`SymbolSeries` / :class:`SymbolSpec` — what is served.
* :class:`LocalExchange` — the server on a loopback port, in-process; :func:`serve`
  runs it in the foreground (``python -m quantbridge.datasets.exchange --data FILE``).
* :class:`Venue` (``LocalExchange.venue``) — accounts (:class:`AccountConfig`), orders,
  conditional (algo) orders and fills: the signed order endpoints (``/fapi/v1/order``,
  ``/fapi/v1/algoOrder``…) and a matching engine over the replayed market.
* :class:`ReplayClock` — a moving exchange clock (start, speed, pause/resume/set), so the
  dataset plays "live": ``LocalExchange(market, clock=ReplayClock(start_ms, speed))``.
* :class:`FaultPlan` / :class:`FaultRule` — programmable 429s, 5xx, timeouts,
  malformed bodies, delays, lost responses (the request takes effect, the answer is
  lost), order rejections with Binance error codes, answers delayed or dropped after the
  order was placed; :class:`RequestLog` — what clients asked.
* :func:`binanceusdm_client` / :func:`binanceusdm_async_client` — real ccxt clients
  pointed at it (ccxt is imported when one is built).
* :class:`StreamHub` (``LocalExchange.streams``) — websocket market streams published as
  the exchange clock moves; :class:`StreamFaultRule` drops, aborts or stalls connections;
  :func:`binanceusdm_pro_client` — the real ccxt.pro client pointed at them.
"""

from __future__ import annotations

from .accounts import AccountConfig
from .ccxt_client import binanceusdm_async_client, binanceusdm_client, binanceusdm_pro_client, point_at, point_ws_at
from .clock import ReplayClock
from .faults import BINANCE_ERROR_MESSAGES, FaultKind, FaultPlan, FaultRule, FaultRuleError
from .loading import load_market
from .market import MarketData, SymbolSeries, SymbolSpec
from .matching import Venue
from .requestlog import RequestLog, RequestRecord
from .server import LocalExchange, serve
from .stream_connection import ConnectionInfo
from .stream_faults import StreamAction, StreamFaultPlan, StreamFaultRule
from .streams import StreamHub

__all__ = [
    "BINANCE_ERROR_MESSAGES",
    "AccountConfig",
    "ConnectionInfo",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "FaultRuleError",
    "LocalExchange",
    "MarketData",
    "ReplayClock",
    "RequestLog",
    "RequestRecord",
    "StreamAction",
    "StreamFaultPlan",
    "StreamFaultRule",
    "StreamHub",
    "SymbolSeries",
    "SymbolSpec",
    "Venue",
    "binanceusdm_async_client",
    "binanceusdm_client",
    "binanceusdm_pro_client",
    "load_market",
    "point_at",
    "point_ws_at",
    "serve",
]
