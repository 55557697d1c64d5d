"""The local exchange's matching engine: orders of every account against the replayed market.

Deterministic and simple, by design:

* ``MARKET`` fills in full at once at the last price of the market clock (last trade,
  else last bar close), taker, no slippage.
* ``LIMIT`` fills at once (taker, at the last price) when marketable, else rests; a
  resting buy fills in full at its limit price (maker) at the first replayed trade at
  or below it, a sell at or above it.
* ``STOP_MARKET`` on ``/fapi/v1/order`` (legacy: Binance now routes it to the Algo
  Service) triggers at the first trade at or beyond its stop price (buy: at or above,
  sell: at or below) and fills at that trade's price (taker).
* ``reduceOnly`` orders are refused (-2022) when placed against a flat position or one on
  the same side; when they fill, they fill at most the position's size (the rest, or all
  of it when the position is gone by then, expires: status ``EXPIRED``).

Conditional (algo) orders (:meth:`Venue.place_algo`, ``/fapi/v1/algoOrder``) rest in the
Algo Service without a margin check. ``STOP_MARKET``/``STOP`` trigger at the first trade
at or beyond the trigger price against the order's side (buy: at or above, sell: at or
below), ``TAKE_PROFIT_MARKET``/``TAKE_PROFIT`` at the first trade at or beyond it the
other way. A trigger places the "actual order" — ``MARKET``, or ``LIMIT`` at the algo's
price — with a new order id and the algo order's client id as its client order id: a
market one fills at once at the triggering trade's price (taker), a limit one fills at
that price when marketable, else rests and fills as a resting limit from the next trade
on. The algo order reports the actual order's id and goes ``TRIGGERED`` → ``FINISHED``
once that order is done. A trigger that cannot trade is refused: ``REJECTED`` when the
margin check fails or a reduce-only order finds no position to reduce, ``EXPIRED`` when
a ``closePosition`` order finds no position (a close-position order closes the whole
position, whatever its size at the trigger).

Resting orders are checked whenever the engine is :meth:`Venue.sync`-ed (the order
routes do so on every request, and the server every few milliseconds), over the trades
that happened between the previous sync and the market clock, in trade order; on the
same trade, resting orders fill in order id order before algo orders trigger in algo id
order. Fill times are the trades' times, so when the sync runs does not matter. Each
trade is matched once: a clock set back matches nothing until it passes the furthest
trade matched before.

Client ids (``newClientOrderId``, ``clientAlgoId``) are unique per account (API key),
across every order and algo order ever placed (-4116 for a duplicate).
"""

from __future__ import annotations

import heapq
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import numpy as np

from . import wire
from .accounts import ZERO, Account, AccountConfig
from .market import MarketData, SymbolSeries, UnknownSymbolError
from .orders import (
    AlgoOrder,
    AlgoRequest,
    AlgoStatus,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from .wire import BinanceError

__all__ = ["ALGO_ID_BASE", "Fill", "Order", "OrderRequest", "OrderStatus", "OrderType", "Venue"]

_CLIENT_ID: Final = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
#: Algo ids start above this, so an algo id is never mistaken for an order id.
ALGO_ID_BASE: Final = 1_000_000_000
_RESTING: Final = 0
_ALGO: Final = 1


@dataclass(slots=True)
class _Book:
    orders: dict[int, Order] = field(default_factory=dict)
    by_client_id: dict[tuple[str, str], int] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    algos: dict[int, AlgoOrder] = field(default_factory=dict)
    algo_by_client_id: dict[tuple[str, str], int] = field(default_factory=dict)


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


def _marketable(request: OrderRequest, price: Decimal) -> bool:
    if request.type is OrderType.MARKET:
        return True
    if request.type is OrderType.LIMIT:
        return price <= request.price if request.side == "BUY" else price >= request.price
    return False  # a stop already beyond the market is rejected by the routes


class Venue:
    """Accounts, orders, algo orders and fills over a :class:`MarketData` (thread-safe)."""

    def __init__(self, market: MarketData, config: AccountConfig | None = None) -> None:
        self.market = market
        self.config = config if config is not None else AccountConfig()
        self._accounts: dict[str, Account] = {}
        self._book = _Book()
        self._cursor: dict[str, int] = {}
        self._next_order_id = 1
        self._next_algo_id = ALGO_ID_BASE + 1
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

    def _market_price(self, symbol: str) -> Decimal:
        last = self.last_price(symbol)
        if last is None:
            raise BinanceError(-2010, "Order would immediately trigger or no market price yet.")
        return last

    # --- orders -------------------------------------------------------------------

    def place(self, key: str, request: OrderRequest) -> Order:
        """Accept (and possibly fill) a new order; :class:`BinanceError` when rejected."""
        with self._lock:
            self.sync()
            series = self.series(request.symbol)
            client_id = self._client_id(key, request.client_id, f"local-{self._next_order_id}")
            last = self._market_price(request.symbol)
            if request.reduce_only:
                self._check_reduces(key, request.symbol, request.side)
            now = self.market.now_ms()
            order = Order(key, self._next_order_id, client_id, request, now, updated_ms=now)
            if _marketable(request, last):
                self._check_margin(key, order, last, series.spec.quote)
            self._register(order)
            if _marketable(request, last):
                self._fill(order, last, maker=False, now_ms=now)
            return order

    def _register(self, order: Order) -> None:
        self._next_order_id = max(self._next_order_id, order.order_id + 1)
        self._book.orders[order.order_id] = order
        self._book.by_client_id[(order.account, order.client_id)] = order.order_id

    def _client_id(self, key: str, client_id: str | None, default: str) -> str:
        if client_id is None:
            return default
        if not _CLIENT_ID.match(client_id):
            raise BinanceError(-4015, "Client order id is not valid.")
        if (key, client_id) in self._book.by_client_id or (key, client_id) in self._book.algo_by_client_id:
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        return client_id

    def _check_reduces(self, key: str, symbol: str, side: str) -> None:
        held = self.account(key).position(symbol, self.series(symbol).spec.quote).amount
        if held == 0 or (held > 0) == (side == "BUY"):
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")

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

    def cancel_all(self, key: str, symbol: str) -> list[Order]:
        """Cancel every open order of this account in ``symbol``; returns them."""
        with self._lock:
            canceled = self.open_orders(key, symbol)
            now = self.market.now_ms()
            for order in canceled:
                order.status, order.updated_ms = OrderStatus.CANCELED, now
            return canceled

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

    # --- algo (conditional) orders ------------------------------------------------

    def place_algo(self, key: str, request: AlgoRequest) -> AlgoOrder:
        """Accept a conditional order (no margin check until it triggers); -2021 when the
        market is already at or beyond its trigger, -2022 for a reduce-only order that
        would not reduce the position, -4116 for a duplicate client id."""
        with self._lock:
            self.sync()
            self.series(request.symbol)
            client_id = self._client_id(key, request.client_id, f"local-algo-{self._next_algo_id}")
            if request.triggered_by(self._market_price(request.symbol)):
                raise BinanceError(-2021, "Order would immediately trigger.")
            if request.reduce_only:
                self._check_reduces(key, request.symbol, request.side)
            now = self.market.now_ms()
            algo = AlgoOrder(key, self._next_algo_id, client_id, request, now, updated_ms=now)
            self._next_algo_id += 1
            self._book.algos[algo.algo_id] = algo
            self._book.algo_by_client_id[(key, client_id)] = algo.algo_id
            return algo

    def find_algo(self, key: str, algo_id: int | None, client_id: str | None, symbol: str | None = None) -> AlgoOrder:
        """The algo order by algo id or client algo id; -2013 when this account has none such."""
        with self._lock:
            self.sync()
            if algo_id is None and client_id is not None:
                algo_id = self._book.algo_by_client_id.get((key, client_id))
            algo = self._book.algos.get(algo_id) if algo_id is not None else None
            if algo is None or algo.account != key or symbol not in (None, algo.symbol):
                raise BinanceError(-2013, "Order does not exist.")
            return algo

    def cancel_algo(self, key: str, algo_id: int | None, client_id: str | None, symbol: str | None = None) -> AlgoOrder:
        """Cancel a waiting algo order; -2011 when it has triggered or ended already."""
        with self._lock:
            algo = self.find_algo(key, algo_id, client_id, symbol)
            if algo.state is not AlgoStatus.NEW:
                raise BinanceError(-2011, "Unknown order sent.")
            algo.state, algo.updated_ms = AlgoStatus.CANCELED, self.market.now_ms()
            return algo

    def algo_orders(self, key: str, symbol: str | None = None, *, open_only: bool = False) -> list[AlgoOrder]:
        """This account's algo orders (in ``symbol``), in algo id order; ``open_only``: still waiting."""
        with self._lock:
            self.sync()
            return [
                a
                for a in self._book.algos.values()
                if a.account == key and symbol in (None, a.symbol) and (not open_only or a.state is AlgoStatus.NEW)
            ]

    def cancel_all_algos(self, key: str, symbol: str) -> list[AlgoOrder]:
        """Cancel every waiting algo order of this account in ``symbol``; returns them."""
        with self._lock:
            canceled = self.algo_orders(key, symbol, open_only=True)
            now = self.market.now_ms()
            for algo in canceled:
                algo.state, algo.updated_ms = AlgoStatus.CANCELED, now
            return canceled

    # --- matching -----------------------------------------------------------------

    def sync(self) -> None:
        """Match resting orders and trigger algo orders against the trades replayed since the previous sync."""
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
        symbol = series.spec.symbol
        prices = series.trades["price"].to_numpy(dtype=np.float64)[start:end]
        times = series.trade_ms[start:end]
        queue: list[tuple[int, int, int]] = []
        for order in self._book.orders.values():
            if order.status is OrderStatus.NEW and order.symbol == symbol:
                index = _first_cross(order, prices)
                if index is not None:
                    queue.append((index, _RESTING, order.order_id))
        for algo in self._book.algos.values():
            if algo.state is AlgoStatus.NEW and algo.symbol == symbol:
                index = algo.request.first_trigger(prices)
                if index is not None:
                    queue.append((index, _ALGO, algo.algo_id))
        heapq.heapify(queue)
        while queue:
            index, kind, ident = heapq.heappop(queue)
            price, now_ms = _decimal(float(prices[index])), int(times[index])
            if kind == _RESTING:
                self._fill_resting(self._book.orders[ident], price, now_ms)
                continue
            resting = self._trigger(self._book.algos[ident], price, now_ms)
            later = None if resting is None else _first_cross(resting, prices[index + 1 :])
            if resting is not None and later is not None:
                heapq.heappush(queue, (index + 1 + later, _RESTING, resting.order_id))

    def _fill_resting(self, order: Order, trade_price: Decimal, now_ms: int) -> None:
        if order.status is not OrderStatus.NEW:
            return
        limit = order.request.type is OrderType.LIMIT
        self._fill(order, order.request.price if limit else trade_price, maker=limit, now_ms=now_ms)

    def _trigger(self, algo: AlgoOrder, price: Decimal, now_ms: int) -> Order | None:
        """Trigger ``algo`` at a trade at ``price``: place its actual order (filled at once when
        marketable); returns that order when it rests."""
        request = algo.request
        algo.trigger_ms = algo.updated_ms = now_ms
        quantity = self._trigger_quantity(algo)
        if quantity is None:
            return None
        actual = Order(
            algo.account,
            self._next_order_id,
            algo.client_id,
            OrderRequest(
                request.symbol,
                request.side,
                OrderType.LIMIT if request.is_limit else OrderType.MARKET,
                quantity,
                request.price if request.is_limit else ZERO,
                client_id=algo.client_id,
                time_in_force=request.time_in_force,
                reduce_only=request.reduce_only or request.close_position,
            ),
            now_ms,
            updated_ms=now_ms,
            algo_id=algo.algo_id,
        )
        marketable = _marketable(actual.request, price)
        if marketable and not actual.request.reduce_only:
            try:
                self._check_margin(algo.account, actual, price, self.series(request.symbol).spec.quote)
            except BinanceError:
                algo.state = AlgoStatus.REJECTED
                return None
        self._register(actual)
        algo.state, algo.actual = AlgoStatus.TRIGGERED, actual
        if marketable:
            self._fill(actual, price, maker=False, now_ms=now_ms)
            return None
        return actual

    def _trigger_quantity(self, algo: AlgoOrder) -> Decimal | None:
        """What the actual order trades; None (and the algo ends) when there is nothing to trade."""
        request = algo.request
        held = self.account(algo.account).position(request.symbol, self.series(request.symbol).spec.quote).amount
        reduces = held != 0 and (held > 0) != (request.side == "BUY")
        if request.close_position:
            if not reduces:
                algo.state = AlgoStatus.EXPIRED
                return None
            return abs(held)
        if request.reduce_only and not reduces:
            algo.state = AlgoStatus.REJECTED
            return None
        return request.quantity

    def _fillable(self, order: Order) -> Decimal:
        """The quantity ``order`` may fill now: all of it, or for reduce-only at most the position."""
        quantity = order.request.quantity
        if not order.request.reduce_only:
            return quantity
        held = self.account(order.account).position(order.symbol, self.series(order.symbol).spec.quote).amount
        if held == 0 or (held > 0) == (order.sign > 0):
            return ZERO
        return min(quantity, abs(held))

    def _fill(self, order: Order, price: Decimal, *, maker: bool, now_ms: int) -> None:
        quantity = self._fillable(order)
        order.updated_ms = now_ms
        if quantity <= 0:
            order.status = OrderStatus.EXPIRED
            return
        quote = self.series(order.symbol).spec.quote
        settlement = self.account(order.account).settle(
            order.symbol, quote, order.sign * quantity, price, maker=maker, now_ms=now_ms
        )
        order.status = OrderStatus.FILLED if quantity == order.request.quantity else OrderStatus.EXPIRED
        order.executed, order.avg_price = quantity, price
        self._book.fills.append(Fill(self._next_trade_id, order, price, quantity, maker, settlement, now_ms))
        self._next_trade_id += 1
