"""The Strategy API: what a strategy implements and the narrow context it is handed.

A strategy implements ``on_candle(ctx)``; it is called once per closed candle of its
symbol and never sees the engine, other strategies or a forming candle. The
:class:`Context` holds six things — the closed bars (``bars``), its ``position``,
``equity``, ``params``, a key-value ``state`` it owns, and the order API (``buy``,
``sell``, ``close``, ``cancel``; ``working_orders``) — and nothing can be changed
through it but the state and the orders.

Order semantics follow TradingView's strategy orders (see :mod:`.domain.orders`):

* ``buy()`` / ``sell()`` enter long / short (``strategy.entry``): a market order, or a
  stop (``stop=``) or limit (``limit=``) order; the quantity defaults to the execution
  model's sizing; an opposite position is reversed by the same order; a NaN level means
  a market order (Pine's ``stop=na``).
* ``close()`` exits the position (``strategy.close`` / ``strategy.exit``): at market or
  at a stop/limit level; None when there is nothing to close.
* ``cancel(order_id)`` cancels a working order.
* ``buy(..., protect=Protection(...))`` attaches protective exits (stop-loss,
  take-profit, trailing stop, scale-outs — Pine's ``strategy.exit(from_entry=…)``) to
  the position: the venue works them from the moment the entry fills, on the entry bar
  itself, and labels the exits by kind (:mod:`.domain.protection`).

Each returns the order's client id, deterministic from (strategy, symbol, bar, intent):
asking twice on one bar for the same thing is one order. Orders work until filled,
cancelled, or ``good_for`` bars have passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import pandas as pd

from .bars import BarWindow
from .domain.orders import Intent, Order, OrderType, Side, client_order_id
from .domain.positions import Position
from .domain.protection import Protection, ScaleOutLevel
from .execution import to_decimal

__all__ = [
    "BarWindow",
    "CancelRequest",
    "Context",
    "MemoryStateStore",
    "OrderApi",
    "OrderRequest",
    "ParamValue",
    "Protection",
    "Request",
    "ScaleOutLevel",
    "StateStore",
    "StateValue",
    "Strategy",
    "StrategyError",
]

ParamValue = bool | int | float | str
StateValue = bool | int | float | str | Decimal | None
Number = Decimal | float | int | str


class StrategyError(ValueError):
    """A strategy asked for something impossible (a negative quantity, stop and limit together…)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """An order a strategy asked for on the bar that opened at ``signal_bar`` (decided at
    ``decided``, that bar's close). ``qty`` None: size by the execution model (entries)
    or the whole position (exits)."""

    client_order_id: str
    strategy_id: str
    symbol: str
    intent: Intent
    side: Side
    order_type: OrderType
    signal_bar: pd.Timestamp
    decided: pd.Timestamp
    interval: pd.Timedelta
    qty: Decimal | None = None
    level: Decimal | None = None
    tag: str = ""
    good_for: int | None = None
    protect: Protection | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRequest:
    strategy_id: str
    client_order_id: str


Request = OrderRequest | CancelRequest


class StateStore(Protocol):
    """A strategy's own key-value state (kept across bars; persisted by durable stores)."""

    def get(self, key: str, default: StateValue = None) -> StateValue: ...

    def set(self, key: str, value: StateValue) -> None: ...

    def __contains__(self, key: object) -> bool: ...

    def items(self) -> Iterator[tuple[str, StateValue]]: ...


class MemoryStateStore:
    """The in-memory StateStore."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, StateValue] | None = None) -> None:
        self._values: dict[str, StateValue] = dict(values or {})

    def get(self, key: str, default: StateValue = None) -> StateValue:
        return self._values.get(key, default)

    def set(self, key: str, value: StateValue) -> None:
        if not isinstance(value, bool | int | float | str | Decimal | None):
            raise TypeError(
                f"state {key!r}: {type(value).__name__} is not a storable value (bool/int/float/str/Decimal/None)"
            )
        self._values[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def items(self) -> Iterator[tuple[str, StateValue]]:
        return iter(list(self._values.items()))


def _quantity(qty: Number | None) -> Decimal | None:
    if qty is None:
        return None
    value = to_decimal(qty)
    if not value.is_finite() or value <= 0:
        raise StrategyError(f"quantity {qty!r} must be a positive finite number")
    return value


def _level(value: Number | None, name: str) -> Decimal | None:
    """A stop/limit level; None or NaN means none (Pine's ``na``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    level = to_decimal(value)
    if level.is_nan():
        return None
    if not level.is_finite() or level <= 0:
        raise StrategyError(f"{name} {value!r} must be a positive finite price")
    return level


def _kind(stop: Decimal | None, limit: Decimal | None) -> tuple[OrderType, Decimal | None]:
    if stop is not None and limit is not None:
        raise StrategyError("give stop= or limit=, not both (place two orders for a bracket)")
    if stop is not None:
        return OrderType.STOP, stop
    if limit is not None:
        return OrderType.LIMIT, limit
    return OrderType.MARKET, None


class OrderApi:
    """Records the orders one strategy asks for on one bar."""

    __slots__ = ("_bar", "_interval", "_position", "_requests", "_strategy_id", "_working")

    def __init__(
        self,
        strategy_id: str,
        bar: BarWindow,
        position: Position,
        working: Callable[[], tuple[Order, ...]],
    ) -> None:
        self._strategy_id = strategy_id
        self._bar = bar.last
        self._interval = self._bar.interval
        self._position = position
        self._working = working
        self._requests: list[Request] = []

    @property
    def requests(self) -> tuple[Request, ...]:
        return tuple(self._requests)

    def working(self) -> tuple[Order, ...]:
        return self._working()

    def order(
        self,
        intent: Intent,
        side: Side,
        qty: Decimal | None,
        levels: tuple[Number | None, Number | None],
        tag: str,
        good_for: int | None,
        protect: Protection | None = None,
    ) -> str:
        order_type, level = _kind(_level(levels[0], "stop"), _level(levels[1], "limit"))
        if protect is not None and intent is not Intent.ENTRY:
            raise StrategyError("protect= goes with an entry (buy/sell), not an exit")
        if good_for is not None and good_for < 1:
            raise StrategyError(f"good_for {good_for}: expected at least 1 bar")
        candle = self._bar
        key = f"{intent.value}:{side.value}:{order_type.value}:{tag}"
        order_id = client_order_id(self._strategy_id, candle.symbol, candle.open_time, key)
        self._requests.append(
            OrderRequest(
                client_order_id=order_id,
                strategy_id=self._strategy_id,
                symbol=candle.symbol,
                intent=intent,
                side=side,
                order_type=order_type,
                signal_bar=candle.open_time,
                decided=candle.close_time,
                interval=self._interval,
                qty=qty,
                level=level,
                tag=tag,
                good_for=good_for,
                protect=protect,
            )
        )
        return order_id

    def close(
        self, qty: Number | None, levels: tuple[Number | None, Number | None], tag: str, good_for: int | None
    ) -> str | None:
        position = self._position
        if position.is_flat:
            return None
        side = Side.SELL if position.side.sign > 0 else Side.BUY
        return self.order(Intent.EXIT, side, _quantity(qty) or position.size, levels, tag, good_for)

    def cancel(self, order_id: str) -> None:
        self._requests.append(CancelRequest(strategy_id=self._strategy_id, client_order_id=order_id))


class Context:
    """What a strategy sees on each closed candle (read-only, except its state and orders)."""

    __slots__ = ("_bars", "_equity", "_orders", "_params", "_position", "_state")

    def __init__(
        self,
        bars: BarWindow,
        position: Position,
        equity: Decimal,
        params: Mapping[str, ParamValue],
        state: StateStore,
        orders: OrderApi,
    ) -> None:
        self._bars = bars
        self._position = position
        self._equity = equity
        self._params = params
        self._state = state
        self._orders = orders

    @property
    def bars(self) -> BarWindow:
        """Closed bars, oldest first; the newest is the one just closed."""
        return self._bars

    @property
    def position(self) -> Position:
        return self._position

    @property
    def equity(self) -> Decimal:
        """Cash plus open profit at this close."""
        return self._equity

    @property
    def params(self) -> Mapping[str, ParamValue]:
        return self._params

    @property
    def state(self) -> StateStore:
        return self._state

    @property
    def working_orders(self) -> tuple[Order, ...]:
        """This strategy's orders still working at the venue."""
        return self._orders.working()

    def buy(
        self,
        qty: Number | None = None,
        *,
        stop: Number | None = None,
        limit: Number | None = None,
        tag: str = "long",
        good_for: int | None = None,
        protect: Protection | None = None,
    ) -> str:
        """Enter long (reversing a short); returns the client order id. ``protect``
        attaches protective exits to the position from the moment the entry fills."""
        return self._orders.order(Intent.ENTRY, Side.BUY, _quantity(qty), (stop, limit), tag, good_for, protect)

    def sell(
        self,
        qty: Number | None = None,
        *,
        stop: Number | None = None,
        limit: Number | None = None,
        tag: str = "short",
        good_for: int | None = None,
        protect: Protection | None = None,
    ) -> str:
        """Enter short (reversing a long); returns the client order id (``protect``: as
        :meth:`buy`)."""
        return self._orders.order(Intent.ENTRY, Side.SELL, _quantity(qty), (stop, limit), tag, good_for, protect)

    def close(
        self,
        qty: Number | None = None,
        *,
        stop: Number | None = None,
        limit: Number | None = None,
        tag: str = "close",
        good_for: int | None = None,
    ) -> str | None:
        """Exit (all of, or ``qty`` of) the position; None when flat."""
        return self._orders.close(qty, (stop, limit), tag, good_for)

    def cancel(self, order_id: str) -> None:
        """Cancel a working order (unknown or finished orders are logged and ignored)."""
        self._orders.cancel(order_id)


class Strategy(Protocol):
    """A runtime strategy: called once per closed candle of its symbol."""

    def on_candle(self, ctx: Context) -> None: ...
