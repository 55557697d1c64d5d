"""The OrderStore port and its in-memory implementation.

A store keeps every order the runtime created, under its client order id, which is
unique: adding an id twice raises :class:`DuplicateOrderError` (a SQL store enforces
the same with a UNIQUE constraint, so a duplicate is impossible also across restarts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from ..domain.orders import TERMINAL, Order

__all__ = ["DuplicateOrderError", "InMemoryOrderStore", "OrderStore", "UnknownOrderError"]


class DuplicateOrderError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class UnknownOrderError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class OrderStore(Protocol):
    """Orders by client order id.

    * ``add`` a new order (``DuplicateOrderError`` if the id exists);
    * ``update`` replaces the stored value of an existing order (``UnknownOrderError``);
    * ``get`` returns it or None; ``open_orders`` those not in a terminal state, in
      creation order, optionally of one strategy / symbol; ``__iter__`` all of them in
      creation order.
    """

    def add(self, order: Order) -> None: ...

    def update(self, order: Order) -> None: ...

    def get(self, client_order_id: str) -> Order | None: ...

    def open_orders(self, strategy_id: str | None = None, symbol: str | None = None) -> tuple[Order, ...]: ...

    def __iter__(self) -> Iterator[Order]: ...

    def __len__(self) -> int: ...


class InMemoryOrderStore:
    """Orders in a dict (insertion ordered, so iteration is deterministic)."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._open: dict[str, None] = {}

    def add(self, order: Order) -> None:
        key = order.client_order_id
        if key in self._orders:
            raise DuplicateOrderError(f"client order id {key} already exists (status {self._orders[key].status.value})")
        self._orders[key] = order
        self._track(order)

    def update(self, order: Order) -> None:
        key = order.client_order_id
        if key not in self._orders:
            raise UnknownOrderError(f"client order id {key} is not in the store")
        self._orders[key] = order
        self._track(order)

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def open_orders(self, strategy_id: str | None = None, symbol: str | None = None) -> tuple[Order, ...]:
        found = (self._orders[key] for key in self._open)
        return tuple(
            o
            for o in found
            if (strategy_id is None or o.strategy_id == strategy_id) and (symbol is None or o.symbol == symbol)
        )

    def __iter__(self) -> Iterator[Order]:
        return iter(list(self._orders.values()))

    def __len__(self) -> int:
        return len(self._orders)

    def _track(self, order: Order) -> None:
        if order.status in TERMINAL:
            self._open.pop(order.client_order_id, None)
        else:
            self._open[order.client_order_id] = None
