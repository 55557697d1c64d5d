"""HTTP handlers for Binance USD-M's public market-data endpoints (``/fapi/v1/...``).

Parameters follow Binance: integers in the query string, ``limit`` defaults and
maxima per endpoint, and errors as ``{"code": ..., "msg": ...}`` with HTTP 400 (see
:class:`~quantbridge.datasets.exchange.wire.BinanceError`), which ccxt turns into
its matching exceptions (``-1121`` → ``BadSymbol``, ``-1120`` → ``BadRequest``, …).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Final

import pandas as pd
from aiohttp import web

from . import wire
from .market import IntervalError, MarketData, SymbolSeries, UnknownSymbolError, window
from .snapshots import book_snapshot, ticker_24h
from .wire import BinanceError

__all__ = ["MARKET_KEY", "add_market_routes", "binance_errors", "binance_json"]

MARKET_KEY: Final = web.AppKey("market", MarketData)
_HOUR_MS: Final = 3_600_000
_INTEGER: Final = re.compile(r"^-?[0-9]{1,20}$")
_DEPTH_LIMITS: Final = (5, 10, 20, 50, 100, 500, 1000)
_dumps = functools.partial(json.dumps, separators=(",", ":"))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def binance_json(data: Any, status: int = 200) -> web.Response:
    """A JSON response the way Binance sends it (compact, ``application/json``)."""
    return web.json_response(data, status=status, dumps=_dumps)


@web.middleware
async def binance_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn a :class:`BinanceError` raised by a handler into Binance's error answer."""
    try:
        return await handler(request)
    except BinanceError as error:
        return binance_json(error.payload(), status=error.status)


def _market(request: web.Request) -> MarketData:
    return request.app[MARKET_KEY]


def _required(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    if not value:
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not _INTEGER.match(raw):
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(raw)


def _limit(request: web.Request, default: int, maximum: int) -> int:
    value = _int(request, "limit")
    if value is None:
        return default
    if not 1 <= value <= maximum:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    return value


def _series(request: web.Request) -> SymbolSeries:
    try:
        return _market(request).series(_required(request, "symbol"))
    except UnknownSymbolError:
        raise BinanceError(-1121, "Invalid symbol.") from None


def _chosen_series(request: web.Request) -> list[SymbolSeries]:
    """One symbol when ``symbol`` is given, else every listed symbol."""
    return [_series(request)] if "symbol" in request.query else list(_market(request).symbols)


def _time_range(request: web.Request) -> tuple[int | None, int | None]:
    start, end = _int(request, "startTime"), _int(request, "endTime")
    if start is not None and end is not None and start > end:
        raise BinanceError(-1023, "Start time is greater than end time.")
    return start, end


async def ping(request: web.Request) -> web.Response:
    return binance_json({})


async def server_time(request: web.Request) -> web.Response:
    return binance_json({"serverTime": _market(request).now_ms()})


async def exchange_info(request: web.Request) -> web.Response:
    market = _market(request)
    listed = [(s.spec, int(s.open_ms[0]) if len(s.open_ms) else 0) for s in market.symbols]
    return binance_json(wire.exchange_info(listed, market.now_ms()))


async def klines(request: web.Request) -> web.Response:
    series = _series(request)
    interval = _required(request, "interval")
    try:
        width = series.interval_width(interval)
    except IntervalError:
        raise BinanceError(-1120, "Invalid interval.") from None
    start, end = _time_range(request)
    limit = _limit(request, 500, 1500)
    frame = series.klines(interval, _market(request).now_ms())
    open_ms = pd.DatetimeIndex(frame.index).as_unit("ns").asi8 // 1_000_000
    chosen = frame.iloc[window(open_ms, start, end, limit)]
    return binance_json(wire.kline_rows(chosen, int(width / pd.Timedelta(milliseconds=1))))


def _agg_window(request: web.Request, series: SymbolSeries, visible: int, limit: int) -> slice:
    from_id = _int(request, "fromId")
    start, end = _time_range(request)
    if from_id is not None:
        if start is not None or end is not None:
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
        return window(series.trade_ids[:visible], from_id, None, limit)
    if start is None and end is None:
        return window(series.trade_ms[:visible], None, None, limit)
    start = end - _HOUR_MS if start is None and end is not None else start
    end = start + _HOUR_MS if end is None and start is not None else end
    if start is None or end is None or end - start > _HOUR_MS:
        raise BinanceError(-1127, "More than 1 hours between startTime and endTime.")
    return window(series.trade_ms[:visible], start, end, limit)


async def agg_trades(request: web.Request) -> web.Response:
    series = _series(request)
    limit = _limit(request, 500, 1000)
    visible = series.visible_trades(_market(request).now_ms())
    chosen = series.trades.iloc[:visible].iloc[_agg_window(request, series, visible, limit)]
    return binance_json(wire.agg_trade_rows(chosen))


async def recent_trades(request: web.Request) -> web.Response:
    series = _series(request)
    limit = _limit(request, 500, 1000)
    visible = series.visible_trades(_market(request).now_ms())
    return binance_json(wire.recent_trade_rows(series.trades.iloc[max(0, visible - limit) : visible]))


async def historical_trades(request: web.Request) -> web.Response:
    series = _series(request)
    limit = _limit(request, 500, 500)
    visible = series.visible_trades(_market(request).now_ms())
    from_id = _int(request, "fromId")
    chosen = window(series.trade_ids[:visible], from_id, None, limit)
    return binance_json(wire.recent_trade_rows(series.trades.iloc[chosen]))


def _one_or_all(request: web.Request, entries: list[dict[str, Any]]) -> web.Response:
    return binance_json(entries[0] if "symbol" in request.query else entries)


async def ticker_24hr(request: web.Request) -> web.Response:
    now = _market(request).now_ms()
    entries = [wire.ticker_24h_payload(s.spec.symbol, ticker_24h(s, now)) for s in _chosen_series(request)]
    return _one_or_all(request, entries)


async def ticker_price(request: web.Request) -> web.Response:
    now = _market(request).now_ms()
    entries = [
        {"symbol": s.spec.symbol, "price": wire.num(s.last_price(now) or 0.0), "time": now}
        for s in _chosen_series(request)
    ]
    return _one_or_all(request, entries)


def _book_ticker(series: SymbolSeries, now: int) -> dict[str, Any]:
    book = book_snapshot(series, now, 1)
    empty = (Decimal(0), Decimal(0))
    bid, ask = (book.bids or (empty,))[0], (book.asks or (empty,))[0]
    return {
        "symbol": series.spec.symbol,
        "bidPrice": wire.num(bid[0]),
        "bidQty": wire.num(bid[1]),
        "askPrice": wire.num(ask[0]),
        "askQty": wire.num(ask[1]),
        "time": now,
        "lastUpdateId": book.update_id,
    }


async def book_ticker(request: web.Request) -> web.Response:
    now = _market(request).now_ms()
    return _one_or_all(request, [_book_ticker(s, now) for s in _chosen_series(request)])


async def depth(request: web.Request) -> web.Response:
    series = _series(request)
    limit = _int(request, "limit") or 500
    if limit not in _DEPTH_LIMITS:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    now = _market(request).now_ms()
    return binance_json(wire.book_payload(book_snapshot(series, now, limit), now))


def add_market_routes(app: web.Application) -> None:
    """Register the public market-data endpoints on ``app``."""
    routes: dict[str, Handler] = {
        "/fapi/v1/ping": ping,
        "/fapi/v1/time": server_time,
        "/fapi/v1/exchangeInfo": exchange_info,
        "/fapi/v1/klines": klines,
        "/fapi/v1/aggTrades": agg_trades,
        "/fapi/v1/trades": recent_trades,
        "/fapi/v1/historicalTrades": historical_trades,
        "/fapi/v1/ticker/24hr": ticker_24hr,
        "/fapi/v1/ticker/price": ticker_price,
        "/fapi/v2/ticker/price": ticker_price,
        "/fapi/v1/ticker/bookTicker": book_ticker,
        "/fapi/v1/depth": depth,
    }
    for path, handler in routes.items():
        app.router.add_get(path, handler)
