"""Orders and fills of the local exchange's matching engine (plain data, no behaviour).

:class:`Order` is an order of Binance's matching engine (``/fapi/v1/order``);
:class:`AlgoOrder` is a conditional order of Binance's Algo Service
(``/fapi/v1/algoOrder``): it waits for its trigger, then places an :class:`Order` (its
"actual order") that carries the algo order's client id.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import numpy as np

from .accounts import ZERO, Settlement

__all__ = [
    "AlgoOrder",
    "AlgoRequest",
    "AlgoStatus",
    "AlgoType",
    "Fill",
    "Order",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
]


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"


class OrderStatus(StrEnum):
    NEW = "NEW"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    """A reduce-only order that found less (or nothing) to reduce: filled in part or not at all."""


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
    reduce_only: bool = False


@dataclass(slots=True)
class Order:
    """An order's state; ``account`` is the API key that owns it; ``algo_id`` names the algo
    order that placed it (None for an order the client placed itself)."""

    account: str
    order_id: int
    client_id: str
    request: OrderRequest
    created_ms: int
    status: OrderStatus = OrderStatus.NEW
    executed: Decimal = ZERO
    avg_price: Decimal = ZERO
    updated_ms: int = 0
    algo_id: int | None = None

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


class AlgoType(StrEnum):
    """Conditional order types: ``STOP*`` trigger when the price moves against a position
    held on the other side (a buy at or above, a sell at or below the trigger),
    ``TAKE_PROFIT*`` when it moves in favour (a buy at or below, a sell at or above)."""

    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    STOP = "STOP"
    TAKE_PROFIT = "TAKE_PROFIT"


class AlgoStatus(StrEnum):
    """Binance's algo statuses (ccxt: NEW → open, TRIGGERED/FINISHED → closed, CANCELED →
    canceled, REJECTED → rejected, EXPIRED → expired)."""

    NEW = "NEW"
    CANCELED = "CANCELED"
    TRIGGERED = "TRIGGERED"
    FINISHED = "FINISHED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class AlgoRequest:
    """A new conditional order as the client sent it (already parsed). ``quantity`` is zero
    for ``close_position`` (the position's size is taken when it triggers)."""

    symbol: str
    side: str
    type: AlgoType
    trigger_price: Decimal
    quantity: Decimal = ZERO
    price: Decimal = ZERO
    client_id: str | None = None
    time_in_force: str = "GTC"
    reduce_only: bool = False
    close_position: bool = False

    @property
    def is_limit(self) -> bool:
        """``STOP``/``TAKE_PROFIT`` place a limit order at ``price`` when triggered."""
        return self.type in (AlgoType.STOP, AlgoType.TAKE_PROFIT)

    @property
    def _triggers_upwards(self) -> bool:
        stop = self.type in (AlgoType.STOP, AlgoType.STOP_MARKET)
        return stop == (self.side == "BUY")

    def triggered_by(self, price: Decimal) -> bool:
        """Whether a trade at ``price`` triggers it."""
        return price >= self.trigger_price if self._triggers_upwards else price <= self.trigger_price

    def first_trigger(self, prices: np.ndarray) -> int | None:
        """Index of the first of ``prices`` that triggers it."""
        level = float(self.trigger_price)
        hits = prices >= level if self._triggers_upwards else prices <= level
        found = np.flatnonzero(hits)
        return int(found[0]) if len(found) else None


@dataclass(slots=True)
class AlgoOrder:
    """A conditional order's state. Once triggered, ``actual`` is the order it placed; the
    algo order is FINISHED when that order is no longer open (filled, canceled, expired)."""

    account: str
    algo_id: int
    client_id: str
    request: AlgoRequest
    created_ms: int
    state: AlgoStatus = AlgoStatus.NEW
    updated_ms: int = 0
    trigger_ms: int = 0
    actual: Order | None = None

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def status(self) -> AlgoStatus:
        if self.state is AlgoStatus.TRIGGERED and self.actual is not None and self.actual.status is not OrderStatus.NEW:
            return AlgoStatus.FINISHED
        return self.state
