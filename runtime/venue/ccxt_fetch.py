"""Reads the ccxt venue repeats: the account's trades of a symbol since a time (all pages),
an order by exchange id, the open orders of a symbol — decoded, retried as reads."""

from __future__ import annotations

import logging
from typing import Any, Final

from .ccxt_decode import ExchangeOrder, ExchangeTrade, decode_order, decode_trade
from .ccxt_errors import Failure, RequestFailedError
from .ccxt_orders import lookup_params
from .ccxt_requests import Requester

__all__ = ["PAGE_LIMIT", "my_trades", "open_orders", "order_by_client_id", "order_by_id"]

_log = logging.getLogger(__name__)
#: Trades per page (Binance's maximum for userTrades).
PAGE_LIMIT: Final = 1000


async def my_trades(requests: Requester, symbol: str, since_ms: int | None) -> list[ExchangeTrade]:
    """The account's trades of ``symbol`` from ``since_ms`` on (inclusive), every page; from
    ``None``: the exchange's most recent page. Pages overlap at their edges; trades are
    returned once each, in time order."""
    found: dict[str, ExchangeTrade] = {}
    since = since_ms
    while True:
        page = await _trades_page(requests, symbol, since)
        found.update((trade.trade_id, trade) for trade in page)
        if since is None or len(page) < PAGE_LIMIT:
            break
        last = max(trade.ts.value // 1_000_000 for trade in page)
        if last <= since:  # a full page at one millisecond: step past it
            _log.warning("%s: more than %d trades at %d ms; some may be missed", symbol, PAGE_LIMIT, since)
            last = since + 1
        since = last
    return sorted(found.values(), key=lambda trade: trade.sort_key)


async def _trades_page(requests: Requester, symbol: str, since: int | None) -> list[ExchangeTrade]:
    exchange = requests.exchange
    raw = await requests.read(f"{symbol} trades", lambda: exchange.fetch_my_trades(symbol, since, PAGE_LIMIT, {}))
    return [decode_trade(item) for item in _listed(raw, f"{symbol} trades")]


async def order_by_id(requests: Requester, venue_id: str, symbol: str, *, conditional: bool) -> ExchangeOrder:
    """The order with exchange id ``venue_id`` (a conditional order is looked up among the
    exchange's trigger/algo orders)."""
    exchange = requests.exchange
    params: dict[str, Any] = {"trigger": True} if conditional else {}
    raw = await requests.read(f"order {venue_id}", lambda: exchange.fetch_order(venue_id, symbol, params))
    return decode_order(raw)


async def order_by_client_id(
    requests: Requester, client_order_id: str, symbol: str, *, conditional: bool, retry: bool
) -> ExchangeOrder | None:
    """Our order ``client_order_id`` as the exchange has it, None when it has no such order
    (``OrderNotFound``); other failures are raised — after retries when ``retry``."""
    exchange = requests.exchange
    params = lookup_params(client_order_id, conditional=conditional)
    send = requests.read if retry else requests.once
    try:
        raw = await send(f"look up {client_order_id}", lambda: exchange.fetch_order(None, symbol, params))
    except RequestFailedError as failed:
        if failed.failure is Failure.NOT_FOUND:
            return None
        raise
    return decode_order(raw)


async def open_orders(requests: Requester, symbol: str, *, conditional: bool = False) -> list[ExchangeOrder]:
    """The open orders of ``symbol`` at the exchange (its trigger/algo orders when ``conditional``)."""
    exchange = requests.exchange
    params: dict[str, Any] = {"trigger": True} if conditional else {}
    raw = await requests.read(f"{symbol} open orders", lambda: exchange.fetch_open_orders(symbol, None, None, params))
    return [decode_order(item) for item in _listed(raw, f"{symbol} open orders")]


def _listed(raw: Any, what: str) -> list[Any]:
    from ..marketdata.ccxt_rest import MalformedResponseError

    if not isinstance(raw, list):
        raise MalformedResponseError(f"{what}: expected a list, got {type(raw).__name__}")
    return raw
