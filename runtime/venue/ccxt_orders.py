"""Turning a runtime :class:`Order` into the ccxt request the venue sends — or the reason
it cannot be sent — without any request reaching the exchange.

:func:`prepare` settles the size the way the simulated venue does, but at send time (a
resting order keeps that size even if the position changes before it fills):

* an ``ENTRY`` against an opposite position sends ``|position| + qty`` (one order that
  closes the position and opens the new one); an ``EXIT`` sends ``qty`` reduce-only (the
  exchange trades at most the position, and refuses an exit with nothing to reduce);
* a stop/limit entry with a ``budget`` (money) is sized ``budget / (level × contract
  size)`` at its limit or stop level, floored to the market's lot (the commission is not
  deducted: the venue does not know the fee model);

then applies the exchange's precision (``amount_to_precision``, ``price_to_precision``)
and limits (``markets[symbol]['limits']``: amount min/max, cost min — checked at the
limit or stop price; a market order's cost and a reduce-only exit's cost are left to
the exchange, which exempts reduce-only orders from its minimum notional). A failure is
a reason naming the field and the limit.

Orders with ``protection`` are refused: protective exits are not supported on a ccxt
venue yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ..domain.market import Market
from ..domain.orders import Intent, Order, OrderType

__all__ = ["PROTECTION_UNSUPPORTED", "Prepared", "prepare"]

PROTECTION_UNSUPPORTED: Final = "protective exits are not supported on a ccxt venue yet"
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready for ``exchange.create_order``: ``amount`` and ``price`` are the
    exchange-precision strings; ``qty`` is ``amount`` as a Decimal; ``conditional`` marks
    a stop (trigger) order, which Binance keeps apart as an algo order."""

    client_order_id: str
    symbol: str
    type: str
    side: str
    amount: str
    price: str | None
    params: Mapping[str, Any]
    qty: Decimal
    conditional: bool

    def lookup_params(self) -> dict[str, Any]:
        """Parameters that find this order by its client id (``fetch_order``/``cancel_order``)."""
        return lookup_params(self.client_order_id, conditional=self.conditional)


def lookup_params(client_order_id: str, *, conditional: bool) -> dict[str, Any]:
    """ccxt parameters addressing an order by client id (binance: ``origClientOrderId``; a
    conditional order needs ``trigger`` to be looked up among algo orders)."""
    params: dict[str, Any] = {"origClientOrderId": client_order_id}
    if conditional:
        params["trigger"] = True
    return params


def prepare(order: Order, exchange: Any, market: Market, position: Decimal) -> Prepared | str:
    """The request for ``order`` given the signed ``position`` in its symbol, or why it
    cannot be sent (see the module docstring)."""
    if order.protection is not None:
        return PROTECTION_UNSUPPORTED
    limits = _limits(exchange, order.symbol)
    if isinstance(limits, str):
        return limits
    qty = _quantity(order, market, position)
    if isinstance(qty, str):
        return qty
    amount = _to_precision(exchange.amount_to_precision, order.symbol, qty, "amount")
    if isinstance(amount, str):
        return amount
    level = order.price if order.type is OrderType.LIMIT else order.stop
    price = None if level is None else _to_precision(exchange.price_to_precision, order.symbol, level, "price")
    if isinstance(price, str):
        return price
    problem = _check_limits(order, limits, amount, price)
    if problem is not None:
        return problem
    return _request(order, amount, price)


def _limits(exchange: Any, symbol: str) -> Mapping[str, Any] | str:
    markets = getattr(exchange, "markets", None) or {}
    found = markets.get(symbol)
    if not isinstance(found, Mapping):
        return f"{symbol} is not a market of {getattr(exchange, 'id', 'the exchange')}"
    limits = found.get("limits")
    return limits if isinstance(limits, Mapping) else {}


def _quantity(order: Order, market: Market, position: Decimal) -> Decimal | str:
    qty = order.qty
    if order.budget is not None and order.intent is Intent.ENTRY and order.type is not OrderType.MARKET:
        level = order.price if order.type is OrderType.LIMIT else order.stop
        assert level is not None  # an Order's invariant: stop/limit orders carry their level
        qty = market.qty(order.budget / (level * market.contract_size))
        if qty <= 0:
            return f"budget {order.budget} buys less than one lot ({market.lot_size}) at {level}"
    if order.intent is Intent.ENTRY and position * order.side.sign < 0:
        qty += abs(position)  # a reversal: close the opposite position and open qty, in one order
    return qty


def _to_precision(convert: Any, symbol: str, value: Decimal, field: str) -> tuple[str, Decimal] | str:
    import ccxt

    try:
        text = str(convert(symbol, format(value, "f")))
        number = Decimal(text)
    except (ccxt.BaseError, InvalidOperation, ValueError) as error:
        return f"{field} {value} does not fit the exchange's {field} precision: {error}"
    if number <= 0:
        return f"{field} {value} rounds to {text} at the exchange's {field} precision"
    return text, number


def _check_limits(
    order: Order, limits: Mapping[str, Any], amount: tuple[str, Decimal], price: tuple[str, Decimal] | None
) -> str | None:
    qty = amount[1]
    low, high = _bounds(limits, "amount")
    if low is not None and qty < low:
        return f"amount {qty} is below the exchange's minimum amount {low} (limits.amount.min)"
    if high is not None and qty > high:
        return f"amount {qty} is above the exchange's maximum amount {high} (limits.amount.max)"
    cost_min, _ = _bounds(limits, "cost")
    if price is None or order.intent is Intent.EXIT or cost_min is None:
        return None
    cost = qty * price[1]
    if cost < cost_min:
        return (
            f"cost {cost} (amount {qty} x price {price[1]}) is below the exchange's minimum cost {cost_min}"
            " (limits.cost.min)"
        )
    return None


def _bounds(limits: Mapping[str, Any], name: str) -> tuple[Decimal | None, Decimal | None]:
    entry = limits.get(name)
    if not isinstance(entry, Mapping):
        return None, None
    return _limit(entry.get("min")), _limit(entry.get("max"))


def _limit(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or number <= 0:
        return None
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


def _request(order: Order, amount: tuple[str, Decimal], price: tuple[str, Decimal] | None) -> Prepared:
    params: dict[str, Any] = {"clientOrderId": order.client_order_id}
    if order.intent is Intent.EXIT:
        params["reduceOnly"] = True
    conditional = order.type is OrderType.STOP
    if conditional:
        assert price is not None
        params["triggerPrice"] = price[0]  # a stop-market order: ccxt sends STOP_MARKET with this trigger
    limit = order.type is OrderType.LIMIT
    return Prepared(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        type="limit" if limit else "market",
        side=order.side.value,
        amount=amount[0],
        price=price[0] if limit and price is not None else None,
        params=params,
        qty=amount[1],
        conditional=conditional,
    )
