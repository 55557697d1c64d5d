"""Binance USD-M wire formats: the JSON shapes ccxt's ``binanceusdm`` parses.

Numbers travel as strings, as Binance sends them. Floats are written in their
shortest round-tripping positional form (``"42000.1"``, never ``"4.2e4"``), so a
client parsing them gets the dataset's values back bit for bit; Binance pads to the
symbol's precision instead, which parses to the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import numpy as np
import pandas as pd

from .market import SymbolSpec
from .snapshots import BookSnapshot, Ticker24h

__all__ = [
    "BinanceError",
    "agg_trade_rows",
    "book_payload",
    "exchange_info",
    "kline_rows",
    "num",
    "recent_trade_rows",
    "ticker_24h_payload",
]

#: Binance's "never expires" delivery date for perpetual contracts.
PERPETUAL_DELIVERY_MS: Final = 4133404800000
_ORDER_TYPES: Final = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]
_RATE_LIMITS: Final = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]


class BinanceError(Exception):
    """An error answered the Binance way: HTTP ``status`` and ``{"code": code, "msg": msg}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


def num(value: float | Decimal) -> str:
    """A number as Binance writes it: a string, positional, no exponent."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(np.format_float_positional(float(value), trim="-"))


def _symbol_entry(spec: SymbolSpec, onboard_ms: int) -> dict[str, Any]:
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": onboard_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.quote,
        "pricePrecision": spec.price_precision,
        "quantityPrecision": spec.quantity_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": _filters(spec),
        "orderTypes": list(_ORDER_TYPES),
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }


def _filters(spec: SymbolSpec) -> list[dict[str, Any]]:
    lot = {"stepSize": num(spec.step_size), "maxQty": num(spec.max_qty), "minQty": num(spec.step_size)}
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": num(spec.tick_size),
            "maxPrice": "4529764",
            "tickSize": num(spec.tick_size),
        },
        {"filterType": "LOT_SIZE", **lot},
        {"filterType": "MARKET_LOT_SIZE", **lot},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
        {"filterType": "MIN_NOTIONAL", "notional": num(spec.min_notional)},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"},
    ]


def exchange_info(symbols: Sequence[tuple[SymbolSpec, int]], server_ms: int) -> dict[str, Any]:
    """``GET /fapi/v1/exchangeInfo`` for ``(spec, onboard_ms)`` pairs."""
    assets = sorted({spec.quote for spec, _ in symbols})
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": list(_RATE_LIMITS),
        "exchangeFilters": [],
        "assets": [{"asset": asset, "marginAvailable": True, "autoAssetExchange": "-10000"} for asset in assets],
        "symbols": [_symbol_entry(spec, onboard) for spec, onboard in symbols],
    }


def kline_rows(frame: pd.DataFrame, width_ms: int) -> list[list[Any]]:
    """Kline arrays ``[openTime, o, h, l, c, volume, closeTime, quoteVolume, trades,
    takerBuyBase, takerBuyQuote, "0"]`` from :meth:`SymbolSeries.klines` rows."""
    open_ms = pd.DatetimeIndex(frame.index).as_unit("ns").asi8 // 1_000_000
    columns = [frame[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close", "volume")]
    quote, buy_base, buy_quote = (
        frame[name].to_numpy(dtype=np.float64) for name in ("quote_volume", "taker_buy_base", "taker_buy_quote")
    )
    counts = frame["trades"].to_numpy(dtype=np.int64)
    return [
        [
            int(open_ms[i]),
            *(num(column[i]) for column in columns),
            int(open_ms[i]) + width_ms - 1,
            num(quote[i]),
            int(counts[i]),
            num(buy_base[i]),
            num(buy_quote[i]),
            "0",
        ]
        for i in range(len(frame))
    ]


def _trade_arrays(trades: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (
        trades["trade_id"].to_numpy(dtype=np.int64),
        trades["price"].to_numpy(dtype=np.float64),
        trades["amount"].to_numpy(dtype=np.float64),
        pd.DatetimeIndex(trades["ts"]).as_unit("ns").asi8 // 1_000_000,
        (trades["side"] == "sell").to_numpy(),
    )


def agg_trade_rows(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """``GET /fapi/v1/aggTrades`` entries; each trade is its own aggregate (``f == l == a``).
    ``m`` (buyer is maker) is true when the taker sold."""
    ids, prices, amounts, times, sells = _trade_arrays(trades)
    return [
        {
            "a": int(ids[i]),
            "p": num(prices[i]),
            "q": num(amounts[i]),
            "f": int(ids[i]),
            "l": int(ids[i]),
            "T": int(times[i]),
            "m": bool(sells[i]),
        }
        for i in range(len(ids))
    ]


def recent_trade_rows(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """``GET /fapi/v1/trades`` (and ``historicalTrades``) entries."""
    ids, prices, amounts, times, sells = _trade_arrays(trades)
    return [
        {
            "id": int(ids[i]),
            "price": num(prices[i]),
            "qty": num(amounts[i]),
            "quoteQty": num(prices[i] * amounts[i]),
            "time": int(times[i]),
            "isBuyerMaker": bool(sells[i]),
        }
        for i in range(len(ids))
    ]


def ticker_24h_payload(symbol: str, ticker: Ticker24h) -> dict[str, Any]:
    """``GET /fapi/v1/ticker/24hr`` for one symbol."""
    change = ticker.last - ticker.open
    percent = 100.0 * change / ticker.open if ticker.open else 0.0
    average = ticker.quote_volume / ticker.volume if ticker.volume else ticker.last
    return {
        "symbol": symbol,
        "priceChange": num(change),
        "priceChangePercent": f"{percent:.3f}",
        "weightedAvgPrice": num(average),
        "lastPrice": num(ticker.last),
        "lastQty": num(ticker.last_qty),
        "openPrice": num(ticker.open),
        "highPrice": num(ticker.high),
        "lowPrice": num(ticker.low),
        "volume": num(ticker.volume),
        "quoteVolume": num(ticker.quote_volume),
        "openTime": ticker.open_ms,
        "closeTime": ticker.close_ms,
        "firstId": ticker.first_id,
        "lastId": ticker.last_id,
        "count": ticker.count,
    }


def book_payload(book: BookSnapshot, now_ms: int) -> dict[str, Any]:
    """``GET /fapi/v1/depth``."""
    return {
        "lastUpdateId": book.update_id,
        "E": now_ms,
        "T": now_ms,
        "bids": [[num(price), num(size)] for price, size in book.bids],
        "asks": [[num(price), num(size)] for price, size in book.asks],
    }
