"""Binance USD-M market-stream names and event payloads (the JSON ccxt.pro's ``binanceusdm`` parses).

Stream names are Binance's: a lower-case symbol, ``@`` and the event name
(``btcusdt@aggTrade``, ``btcusdt@trade``, ``btcusdt@bookTicker``, ``btcusdt@ticker``,
``btcusdt@miniTicker``), or an all-market stream (``!bookTicker``, ``!ticker@arr``,
``!miniTicker@arr``). Numbers travel as strings, written by :func:`wire.num` like the
REST answers, so a stream and ``GET /fapi/v1/aggTrades`` describe a trade identically.

Each dataset trade is its own aggregate trade, so ``a`` (aggTrade), ``t`` (trade) and
the REST ids are the same number; ``m`` (buyer is maker) is true when the taker sold.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import numpy as np

from . import wire
from .market import SymbolSeries
from .snapshots import book_snapshot, ticker_24h

__all__ = ["StreamBatch", "StreamKind", "StreamName", "parse_stream"]

_dumps: Final = functools.partial(json.dumps, separators=(",", ":"))


class StreamKind(StrEnum):
    """The event a stream carries (Binance's stream-name suffix)."""

    AGG_TRADE = "aggTrade"
    TRADE = "trade"
    BOOK_TICKER = "bookTicker"
    TICKER = "ticker"
    MINI_TICKER = "miniTicker"


#: Kinds that have an all-market variant, and its name.
_ALL_MARKET: Final = {
    "!bookTicker": StreamKind.BOOK_TICKER,
    "!ticker@arr": StreamKind.TICKER,
    "!miniTicker@arr": StreamKind.MINI_TICKER,
}


@dataclass(frozen=True, slots=True)
class StreamName:
    """A parsed stream name; ``symbol`` is the exchange id, None for an all-market stream."""

    raw: str
    kind: StreamKind
    symbol: str | None

    def covers(self, symbol: str) -> bool:
        return self.symbol is None or self.symbol == symbol


def parse_stream(raw: str, listed: Collection[str]) -> StreamName | None:
    """The stream called ``raw`` if the exchange serves it (symbol listed, event known), else None."""
    if raw in _ALL_MARKET:
        return StreamName(raw, _ALL_MARKET[raw], None)
    symbol, _, event = raw.partition("@")
    if symbol != symbol.lower() or symbol.upper() not in listed:
        return None
    try:
        kind = StreamKind(event)
    except ValueError:
        return None
    return StreamName(raw, kind, symbol.upper())


class StreamBatch:
    """The events one publisher step produces for one symbol: the trades ``[start, stop)``
    that became visible and the book/ticker state at ``now_ms``. Payloads are built on first
    use and shared by every connection (as JSON text)."""

    def __init__(self, series: SymbolSeries, start: int, stop: int, now_ms: int) -> None:
        self.series = series
        self.symbol = series.spec.symbol
        self.start, self.stop, self.now_ms = start, stop, now_ms
        self._texts: dict[StreamKind, list[str]] = {}

    def texts(self, kind: StreamKind) -> list[str]:
        """The JSON payloads of ``kind`` in this batch (one per trade for trade streams)."""
        if kind not in self._texts:
            self._texts[kind] = [_dumps(payload) for payload in self._payloads(kind)]
        return self._texts[kind]

    def _payloads(self, kind: StreamKind) -> list[dict[str, Any]]:
        if kind in (StreamKind.AGG_TRADE, StreamKind.TRADE):
            return self._trades(kind)
        if kind is StreamKind.BOOK_TICKER:
            return [self._book_ticker()]
        return [self._ticker(mini=kind is StreamKind.MINI_TICKER)]

    def _trades(self, kind: StreamKind) -> list[dict[str, Any]]:
        rows = self.series.trades.iloc[self.start : self.stop]
        ids = self.series.trade_ids[self.start : self.stop]
        times = self.series.trade_ms[self.start : self.stop]
        prices = rows["price"].to_numpy(dtype=np.float64)
        amounts = rows["amount"].to_numpy(dtype=np.float64)
        sells = (rows["side"] == "sell").to_numpy()
        maker = agg_trade_event if kind is StreamKind.AGG_TRADE else trade_event
        return [
            maker(self.symbol, int(ids[i]), prices[i], amounts[i], int(times[i]), bool(sells[i]), self.now_ms)
            for i in range(len(ids))
        ]

    def _book_ticker(self) -> dict[str, Any]:
        book = book_snapshot(self.series, self.now_ms, 1)
        bid = book.bids[0] if book.bids else None
        ask = book.asks[0] if book.asks else None
        return {
            "e": "bookTicker",
            "u": book.update_id,
            "s": self.symbol,
            "b": wire.num(bid[0]) if bid else "0",
            "B": wire.num(bid[1]) if bid else "0",
            "a": wire.num(ask[0]) if ask else "0",
            "A": wire.num(ask[1]) if ask else "0",
            "T": self.now_ms,
            "E": self.now_ms,
        }

    def _ticker(self, *, mini: bool) -> dict[str, Any]:
        stats = wire.ticker_24h_payload(self.symbol, ticker_24h(self.series, self.now_ms))
        event = {
            "e": "24hrMiniTicker" if mini else "24hrTicker",
            "E": self.now_ms,
            "s": self.symbol,
            "c": stats["lastPrice"],
            "o": stats["openPrice"],
            "h": stats["highPrice"],
            "l": stats["lowPrice"],
            "v": stats["volume"],
            "q": stats["quoteVolume"],
        }
        if mini:
            return event
        return event | {
            "p": stats["priceChange"],
            "P": stats["priceChangePercent"],
            "w": stats["weightedAvgPrice"],
            "Q": stats["lastQty"],
            "O": stats["openTime"],
            "C": stats["closeTime"],
            "F": stats["firstId"],
            "L": stats["lastId"],
            "n": stats["count"],
        }


def agg_trade_event(
    symbol: str, trade_id: int, price: float, amount: float, time_ms: int, sell: bool, now_ms: int
) -> dict[str, Any]:
    """One ``<symbol>@aggTrade`` event (the trade is its own aggregate: ``f == l == a``)."""
    return {
        "e": "aggTrade",
        "E": now_ms,
        "s": symbol,
        "a": trade_id,
        "p": wire.num(price),
        "q": wire.num(amount),
        "f": trade_id,
        "l": trade_id,
        "T": time_ms,
        "m": sell,
    }


def trade_event(
    symbol: str, trade_id: int, price: float, amount: float, time_ms: int, sell: bool, now_ms: int
) -> dict[str, Any]:
    """One ``<symbol>@trade`` event (USD-M shape: ``X`` is the order type, always ``MARKET``)."""
    return {
        "e": "trade",
        "E": now_ms,
        "T": time_ms,
        "s": symbol,
        "t": trade_id,
        "p": wire.num(price),
        "q": wire.num(amount),
        "X": "MARKET",
        "m": sell,
    }


def combined(stream: str, payload: str) -> str:
    """A payload wrapped the way ``/stream`` (combined) connections deliver it."""
    return f'{{"stream":{_dumps(stream)},"data":{payload}}}'
