"""OrderExecutor: sends orders to the venue and keeps the OrderStore in step with what
the venue reports, through the order state machine.

Nothing is lost: every order is stored before anything else happens to it; a venue
that raises on submission rejects the orders with the error as the reason; a report
the state machine forbids (or one about an order we never sent) is logged and
notified, and the stored order keeps its last legal state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from ..domain.events import OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected, VenueEvent
from ..domain.orders import IllegalTransition, Order, OrderError, OrderStatus
from ..venue.base import Venue
from .notifications import Level, NotificationCenter
from .order_store import DuplicateOrderError, OrderStore

__all__ = ["OrderExecutor"]

_log = logging.getLogger(__name__)


class OrderExecutor:
    def __init__(self, store: OrderStore, venue: Venue, notifications: NotificationCenter) -> None:
        self.store = store
        self._venue = venue
        self._notifications = notifications

    def register(self, order: Order) -> bool:
        """Store a new order; False (logged) when its client order id already exists."""
        try:
            self.store.add(order)
        except DuplicateOrderError as exc:
            _log.warning("order not placed: %s", exc)
            self._notifications.notify(
                order.created, Level.WARNING, "duplicate_order", str(exc), order=order.client_order_id
            )
            return False
        return True

    def reject(self, order: Order, reason: str, ts: pd.Timestamp) -> Order:
        """A stored new order rejected before submission (risk)."""
        rejected = order.transition(OrderStatus.REJECTED, ts, reason=reason)
        self.store.update(rejected)
        _log.info("order %s rejected: %s", order.client_order_id, reason)
        self._notifications.notify(
            ts, Level.WARNING, "order_rejected", reason, order=order.client_order_id, symbol=order.symbol
        )
        return rejected

    def submit(self, orders: Sequence[Order], ts: pd.Timestamp) -> None:
        """Send stored new orders to the venue, in decision order."""
        if not orders:
            return
        sent = [order.transition(OrderStatus.SUBMITTED, ts) for order in orders]
        for order in sent:
            self.store.update(order)
        try:
            self._venue.submit(sent)
        except Exception as exc:  # a failing venue must not lose the orders: reject them with the error
            _log.exception("venue failed on submit")
            for order in sent:
                current = self.store.get(order.client_order_id)
                if current is not None and current.status is OrderStatus.SUBMITTED:
                    self.reject(current, f"venue error: {exc}", ts)

    def cancel(self, client_order_id: str, strategy_id: str, ts: pd.Timestamp) -> None:
        order = self.store.get(client_order_id)
        if order is None or order.strategy_id != strategy_id:
            _log.warning("cancel %s by %s: no such order of that strategy", client_order_id, strategy_id)
            return
        if order.is_terminal:
            _log.info("cancel %s: already %s", client_order_id, order.status.value)
            return
        if order.status is OrderStatus.NEW:
            self.store.update(order.transition(OrderStatus.CANCELLED, ts, reason="cancelled before submission"))
            return
        self._venue.cancel(client_order_id)

    def on_venue_event(self, event: VenueEvent) -> Order | None:
        """Apply a venue report; returns the updated order (None if it is not ours)."""
        key = event.fill.client_order_id if isinstance(event, OrderFilled) else event.client_order_id
        if not key:
            return None
        order = self.store.get(key)
        if order is None:
            _log.error("venue reported %s for unknown order %s", type(event).__name__, key)
            return None
        try:
            updated = self._apply(order, event)
        except (IllegalTransition, OrderError) as exc:
            _log.error("venue report not applied: %s", exc)
            self._notifications.notify(event.ts, Level.ERROR, "illegal_transition", str(exc), order=key)
            return order
        self.store.update(updated)
        return updated

    def _apply(self, order: Order, event: VenueEvent) -> Order:
        if isinstance(event, OrderFilled):
            return order.apply_fill(event.fill)
        if isinstance(event, OrderAccepted):
            accepted = order.transition(OrderStatus.ACCEPTED, event.ts)
            return accepted if not event.venue_order_id else _with_venue_id(accepted, event.venue_order_id)
        if isinstance(event, OrderRejected):
            self._notifications.notify(
                event.ts, Level.WARNING, "order_rejected", event.reason, order=order.client_order_id
            )
            return order.transition(OrderStatus.REJECTED, event.ts, reason=event.reason)
        if isinstance(event, OrderCancelled):
            self._notifications.notify(
                event.ts, Level.INFO, "order_cancelled", event.reason, order=order.client_order_id
            )
            return order.transition(OrderStatus.CANCELLED, event.ts, reason=event.reason)
        assert isinstance(event, OrderExpired)
        self._notifications.notify(event.ts, Level.INFO, "order_expired", event.reason, order=order.client_order_id)
        return order.transition(OrderStatus.EXPIRED, event.ts, reason=event.reason)


def _with_venue_id(order: Order, venue_order_id: str) -> Order:
    return replace(order, venue_order_id=venue_order_id)
