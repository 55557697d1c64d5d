"""SqlOrderStore: the :class:`~quantbridge.runtime.components.order_store.OrderStore` port on SQL.

Same semantics and exceptions as ``InMemoryOrderStore``. What it adds:

* every ``add`` / ``update`` is its own committed transaction: durable when the method
  returns (a failed write leaves store and cache unchanged);
* the client order id is UNIQUE per account in the database, so ``add`` raises
  ``DuplicateOrderError`` also for an order an earlier process wrote;
* one process owns an account: the store loads that account's orders at construction
  (creation order) and serves reads from that write-through cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..components.order_store import DuplicateOrderError, InMemoryOrderStore, UnknownOrderError
from ..domain.orders import Intent, Order, OrderStatus, OrderType, Side
from ..domain.protection import Protection, ScaleOutLevel
from ._base import checked_account, reading
from .schema import OrderRow

__all__ = ["SqlOrderStore", "protection_from_json", "protection_to_json"]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def protection_to_json(protection: Protection | None) -> str | None:
    """``protection`` as canonical JSON (Decimals as text), None for None."""
    if protection is None:
        return None
    document = {
        "stop_loss_pct": _text(protection.stop_loss_pct),
        "take_profit_pct": _text(protection.take_profit_pct),
        "trailing_stop_pct": _text(protection.trailing_stop_pct),
        "scale_outs": [[str(level.at_pct), str(level.fraction)] for level in protection.scale_outs],
        "cooldown_bars": protection.cooldown_bars,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def protection_from_json(text: str | None) -> Protection | None:
    """The inverse of :func:`protection_to_json`."""
    if text is None:
        return None
    document: dict[str, Any] = json.loads(text)
    return Protection(
        stop_loss_pct=_decimal(document["stop_loss_pct"]),
        take_profit_pct=_decimal(document["take_profit_pct"]),
        trailing_stop_pct=_decimal(document["trailing_stop_pct"]),
        scale_outs=tuple(ScaleOutLevel(Decimal(at), Decimal(fraction)) for at, fraction in document["scale_outs"]),
        cooldown_bars=int(document["cooldown_bars"]),
    )


def _values(order: Order) -> dict[str, Any]:
    """The columns an order writes (everything but id, account and run)."""
    return {
        "client_order_id": order.client_order_id,
        "strategy_id": order.strategy_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "intent": order.intent.value,
        "qty": order.qty,
        "signal_bar": order.signal_bar,
        "created": order.created,
        "price": order.price,
        "stop": order.stop,
        "budget": order.budget,
        "tag": order.tag,
        "expire_at": order.expire_at,
        "protection": protection_to_json(order.protection),
        "status": order.status.value,
        "filled_qty": order.filled_qty,
        "leaves_qty": order.leaves_qty,
        "avg_price": order.avg_price,
        "commission": order.commission,
        "updated": order.updated,
        "reason": order.reason,
        "venue_order_id": order.venue_order_id,
    }


def _order(row: OrderRow) -> Order:
    return Order(
        client_order_id=row.client_order_id,
        strategy_id=row.strategy_id,
        symbol=row.symbol,
        side=Side(row.side),
        type=OrderType(row.type),
        intent=Intent(row.intent),
        qty=row.qty,
        signal_bar=row.signal_bar,
        created=row.created,
        price=row.price,
        stop=row.stop,
        budget=row.budget,
        tag=row.tag,
        expire_at=row.expire_at,
        protection=protection_from_json(row.protection),
        status=OrderStatus(row.status),
        filled_qty=row.filled_qty,
        leaves_qty=row.leaves_qty,
        avg_price=row.avg_price,
        commission=row.commission,
        updated=row.updated,
        reason=row.reason,
        venue_order_id=row.venue_order_id,
    )


class SqlOrderStore:
    """The orders of ``account`` in the database of ``engine`` (see the module docstring).
    ``run_id`` (a ``runs`` row, or None) is recorded with each order this store adds."""

    def __init__(self, engine: Engine, account: str, run_id: int | None = None) -> None:
        self._engine = engine
        self.account = checked_account(account)
        self.run_id = run_id
        self._cache = InMemoryOrderStore()
        self._reload()

    def _reload(self) -> None:
        """Rebuild the cache from the database, in creation order."""
        query = select(OrderRow).where(OrderRow.account == self.account).order_by(OrderRow.id)
        cache = InMemoryOrderStore()
        with reading(self._engine) as session:
            for row in session.scalars(query):
                cache.add(_order(row))
        self._cache = cache

    def _exists(self, client_order_id: str) -> bool:
        query = select(OrderRow.id).where(OrderRow.account == self.account, OrderRow.client_order_id == client_order_id)
        with reading(self._engine) as session:
            return session.scalar(query) is not None

    def add(self, order: Order) -> None:
        """Store a new order; ``DuplicateOrderError`` if its client order id is in this account already."""
        existing = self._cache.get(order.client_order_id)
        if existing is not None:
            self._cache.add(order)  # raises DuplicateOrderError with the in-memory store's message
        statement = insert(OrderRow).values(account=self.account, run_id=self.run_id, **_values(order))
        try:
            with self._engine.begin() as connection:
                connection.execute(statement)
        except IntegrityError:
            if not self._exists(order.client_order_id):
                raise  # another constraint (an unknown run id): not a duplicate
            self._reload()  # written by another process: show it from now on
            raise DuplicateOrderError(
                f"client order id {order.client_order_id} already exists in account {self.account} (stored earlier)"
            ) from None
        self._cache.add(order)

    def update(self, order: Order) -> None:
        """Replace the stored value of an existing order; ``UnknownOrderError`` if there is none."""
        key = order.client_order_id
        if self._cache.get(key) is None:
            self._cache.update(order)  # raises UnknownOrderError with the in-memory store's message
        statement = (
            update(OrderRow)
            .where(OrderRow.account == self.account, OrderRow.client_order_id == key)
            .values(**_values(order))
        )
        with self._engine.begin() as connection:
            changed = connection.execute(statement).rowcount
        if changed != 1:
            raise UnknownOrderError(f"client order id {key} is no longer in the database (account {self.account})")
        self._cache.update(order)

    def get(self, client_order_id: str) -> Order | None:
        return self._cache.get(client_order_id)

    def open_orders(self, strategy_id: str | None = None, symbol: str | None = None) -> tuple[Order, ...]:
        return self._cache.open_orders(strategy_id, symbol)

    def __iter__(self) -> Iterator[Order]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)
