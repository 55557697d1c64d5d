"""The local exchange's matching engine: orders of every account against the replayed market.

Deterministic and simple, by design:

* ``MARKET`` fills in full at once at the last price of the market clock (last trade,
  else last bar close), taker, no slippage.
* ``LIMIT`` fills at once (taker, at the last price) when marketable, else rests; a
  resting buy fills in full at its limit price (maker) at the first replayed trade at
  or below it, a sell at or above it.
* ``STOP_MARKET`` triggers at the first trade at or beyond its stop price (buy: at or
  above, sell: at or below) and fills at that trade's price (taker).

Resting orders are checked whenever the engine is :meth:`Venue.sync`-ed (the order
routes do so on every request), over the trades that happened between the previous
sync and the market clock; orders that cross on the same trade fill in order id order.
``newClientOrderId`` is unique per account (API key), across every order ever placed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final

import numpy as np

from . import wire
from .accounts import ZERO, Account, AccountConfig, Settlement
from .market import MarketData, SymbolSeries, UnknownSymbolError
from .wire import BinanceError

__all__ = ["Fill", "Order", "OrderRequest", "OrderStatus", "OrderType", "Venue"]

_CLIENT_ID: Final = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"


class OrderStatus(StrEnum):
    NEW = "NEW"
    FILLED = "FILLED"
    CANCELED = "CANCELED"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as the client sent it (already parsed)."""

    symbol: str
    side: str
    type: OrderType
    quantity: Decimal
    price: Decimal = ZERO
    stop_price: Decimal = ZERO
    client_id: str | None = None
    time_in_force: str = "GTC"


@dataclass(slots=True)
class Order:
    """An order's state; ``account`` is the API key that owns it."""

    account: str
    order_id: int
    client_id: str
    request: OrderRequest
    created_ms: int
    status: OrderStatus = OrderStatus.NEW
    executed: Decimal = ZERO
    avg_price: Decimal = ZERO
    updated_ms: int = 0

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def sign(self) -> int:
        return 1 if self.request.side == "BUY" else -1


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution (a user trade)."""

    trade_id: int
    order: Order
    price: Decimal
    quantity: Decimal
    maker: bool
    settlement: Settlement
    time_ms: int


@dataclass(slots=True)
class _Book:
    orders: dict[int, Order] = field(default_factory=dict)
    by_client_id: dict[tuple[str, str], int] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)


def _decimal(value: float) -> Decimal:
    return Decimal(wire.num(value))


def _first_cross(order: Order, prices: np.ndarray) -> int | None:
    """Index of the first trade price that fills (limit) or triggers (stop) ``order``."""
    request = order.request
    if request.type is OrderType.LIMIT:
        level = float(request.price)
        hits = prices <= level if order.sign > 0 else prices >= level
    else:
        level = float(request.stop_price)
        hits = prices >= level if order.sign > 0 else prices <= level
    found = np.flatnonzero(hits)
    return int(found[0]) if len(found) else None


class Venue:
    """Accounts, orders and fills over a :class:`MarketData` (thread-safe)."""

    def __init__(self, market: MarketData, config: AccountConfig | None = None) -> None:
        self.market = market
        self.config = config if config is not None else AccountConfig()
        self._accounts: dict[str, Account] = {}
        self._book = _Book()
        self._cursor: dict[str, int] = {}
        self._next_order_id = 1
        self._next_trade_id = 1
        self._lock = threading.RLock()

    def account(self, key: str) -> Account:
        """The account of API key ``key`` (opened with the configured balances on first use)."""
        with self._lock:
            found = self._accounts.get(key)
            if found is None:
                found = self._accounts[key] = Account(self.config)
            return found

    def series(self, symbol: str) -> SymbolSeries:
        try:
            return self.market.series(symbol)
        except UnknownSymbolError:
            raise BinanceError(-1121, "Invalid symbol.") from None

    def last_price(self, symbol: str) -> Decimal | None:
        price = self.series(symbol).last_price(self.market.now_ms())
        return None if price is None else _decimal(price)

    def marks(self) -> dict[str, Decimal]:
        now = self.market.now_ms()
        return {s.spec.symbol: _decimal(p) for s in self.market.symbols if (p := s.last_price(now)) is not None}

    # --- orders -------------------------------------------------------------------

    def place(self, key: str, request: OrderRequest) -> Order:
        """Accept (and possibly fill) a new order; :class:`BinanceError` when rejected."""
        with self._lock:
            self.sync()
            series = self.series(request.symbol)
            client_id = self._client_id(key, request.client_id)
            last = self.last_price(request.symbol)
            if last is None:
                raise BinanceError(-2010, "Order would immediately trigger or no market price yet.")
            now = self.market.now_ms()
            order = Order(key, self._next_order_id, client_id, request, now, updated_ms=now)
            if self._fills_now(order, last):
                self._check_margin(key, order, last, series.spec.quote)
            self._next_order_id += 1
            self._book.orders[order.order_id] = order
            self._book.by_client_id[(key, client_id)] = order.order_id
            if self._fills_now(order, last):
                self._fill(order, last, maker=False, now_ms=now)
            return order

    def _client_id(self, key: str, client_id: str | None) -> str:
        if client_id is None:
            return f"local-{self._next_order_id}"
        if not _CLIENT_ID.match(client_id):
            raise BinanceError(-4015, "Client order id is not valid.")
        if (key, client_id) in self._book.by_client_id:
            raise BinanceError(-2010, "ClientOrderId is duplicated.")
        return client_id

    @staticmethod
    def _fills_now(order: Order, last: Decimal) -> bool:
        request = order.request
        if request.type is OrderType.MARKET:
            return True
        if request.type is OrderType.LIMIT:
            return last <= request.price if order.sign > 0 else last >= request.price
        return False  # a stop already beyond the market is rejected by the routes

    def _check_margin(self, key: str, order: Order, price: Decimal, quote: str) -> None:
        account = self.account(key)
        position = account.position(order.symbol, quote)
        quantity = order.request.quantity
        held = position.amount
        increase = max(abs(held + order.sign * quantity) - abs(held), ZERO)
        required = increase * price / position.leverage + quantity * price * account.fee_rate(False)
        if required > account.available(quote, self.marks()):
            raise BinanceError(-2019, "Margin is insufficient.")

    def cancel(self, key: str, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        with self._lock:
            self.sync()
            order = self.find(key, symbol, order_id, client_id)
            if order.status is not OrderStatus.NEW:
                raise BinanceError(-2011, "Unknown order sent.")
            order.status = OrderStatus.CANCELED
            order.updated_ms = self.market.now_ms()
            return order

    def find(self, key: str, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        """The order by id or client id; -2013 when this account has no such order."""
        with self._lock:
            self.sync()
            if order_id is None and client_id is not None:
                order_id = self._book.by_client_id.get((key, client_id))
            order = self._book.orders.get(order_id) if order_id is not None else None
            if order is None or order.account != key or order.symbol != symbol:
                raise BinanceError(-2013, "Order does not exist.")
            return order

    def open_orders(self, key: str, symbol: str | None = None) -> list[Order]:
        with self._lock:
            self.sync()
            return [
                o
                for o in self._book.orders.values()
                if o.account == key and o.status is OrderStatus.NEW and symbol in (None, o.symbol)
            ]

    def fills(self, key: str, symbol: str) -> list[Fill]:
        with self._lock:
            self.sync()
            return [f for f in self._book.fills if f.order.account == key and f.order.symbol == symbol]

    # --- matching -----------------------------------------------------------------

    def sync(self) -> None:
        """Match resting orders against the trades replayed since the previous sync."""
        with self._lock:
            now = self.market.now_ms()
            for series in self.market.symbols:
                symbol = series.spec.symbol
                end = series.visible_trades(now)
                start = self._cursor.get(symbol, end)
                if end > start:
                    self._match(series, start, end)
                self._cursor[symbol] = max(start, end)

    def _match(self, series: SymbolSeries, start: int, end: int) -> None:
        prices = series.trades["price"].to_numpy(dtype=np.float64)[start:end]
        resting = [
            o for o in self._book.orders.values() if o.status is OrderStatus.NEW and o.symbol == series.spec.symbol
        ]
        hits: list[tuple[int, int, Order]] = []
        for order in resting:
            index = _first_cross(order, prices)
            if index is not None:
                hits.append((index, order.order_id, order))
        for index, _, order in sorted(hits, key=lambda hit: hit[:2]):
            limit = order.request.type is OrderType.LIMIT
            price = order.request.price if limit else _decimal(float(prices[index]))
            self._fill(order, price, maker=limit, now_ms=int(series.trade_ms[start + index]))

    def _fill(self, order: Order, price: Decimal, *, maker: bool, now_ms: int) -> None:
        quantity = order.request.quantity
        quote = self.series(order.symbol).spec.quote
        settlement = self.account(order.account).settle(
            order.symbol, quote, order.sign * quantity, price, maker=maker, now_ms=now_ms
        )
        order.status, order.executed, order.avg_price, order.updated_ms = OrderStatus.FILLED, quantity, price, now_ms
        self._book.fills.append(Fill(self._next_trade_id, order, price, quantity, maker, settlement, now_ms))
        self._next_trade_id += 1
