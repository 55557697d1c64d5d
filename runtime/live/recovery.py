"""Recovery on start: the stored account first, then the venue's word on everything else.

* :func:`restore_account` replays the stored fills (in the order they were recorded)
  into the account, so positions, cash and realised P&L are what the last run left.
* :class:`Reconciler` settles what a stop or a crash may have left open, *before* the
  first order of the new run, and records every correction in the store's
  reconciliation log (and alerts it):

  - paper: the simulated order book is not persisted, so orders left working are
    cancelled (``paper_restart``);
  - live: each stored open order is looked up at the exchange by its client id —
    missing and never acknowledged → rejected (``never_sent``: the crash came before the
    request left); found → its fills since the last stored one are applied once, its
    status taken (``order_status``, ``missing_fill``), and a working one adopted by the
    venue; fills of orders the runtime never placed are reported (``unknown_fill``);
    then the runtime's position in each symbol is compared with the exchange's — a
    difference left after all that trips the kill switch (``position``): the account
    was traded outside this runtime and a person must look before it trades again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import pandas as pd

from ..components.account import AccountStateStore
from ..components.notifications import Level
from ..domain.events import OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected, VenueEvent
from ..domain.fills import Fill
from ..domain.orders import Order, OrderStatus
from ..store import TradingStore

if TYPE_CHECKING:
    from ..venue.ccxt_venue import CcxtVenue, VenueOrder, VenueSnapshot
    from .session import TradingSession
    from .venues import LiveVenue

__all__ = ["SETTLE_SECONDS", "Reconciler", "repair_orders", "restore_account", "save_venue_state", "stored_fills"]

_log = logging.getLogger(__name__)
_ZERO: Final = Decimal(0)
#: How long a request may still arrive after it was sent (Binance's default receive window).
SETTLE_SECONDS: Final = 10.0
#: Fills are asked for from a little before the last stored one (exchange clocks differ).
_FILL_SLACK: Final = pd.Timedelta(minutes=5)


def _found(snapshot: VenueSnapshot, client_order_id: str) -> bool:
    seen = snapshot.orders.get(client_order_id)
    return seen is not None and seen.found


def stored_fills(store: TradingStore, account: AccountStateStore, strategy_id: str) -> list[Fill]:
    """The stored fills of ``strategy_id``'s orders (and the venue's own fills in its
    markets), in recorded order."""
    mine: list[Fill] = []
    for fill in store.fills.all():
        order = store.orders.get(fill.client_order_id) if fill.client_order_id else None
        ours = order.strategy_id == strategy_id if order is not None else True
        if ours and account.market(fill.symbol) is not None:
            mine.append(fill)
    return mine


def restore_account(account: AccountStateStore, store: TradingStore, fills: Iterable[Fill]) -> int:
    """Apply ``fills`` to ``account``; returns how many."""
    count = 0
    for fill in fills:
        account.apply_fill(fill, store.orders.get(fill.client_order_id) if fill.client_order_id else None)
        count += 1
    return count


def repair_orders(store: TradingStore, strategy_id: str) -> list[str]:
    """Open orders whose stored fills are not all counted in them (a crash between storing
    a fill and updating its order): the missing fills are applied to the order. Returns
    the ids repaired."""
    repaired: list[str] = []
    for order in store.orders.open_orders(strategy_id):
        counted, current = _ZERO, order
        for fill in store.fills.for_order(order.client_order_id):
            counted += fill.qty
            if counted > order.filled_qty and not current.is_terminal:
                current = current.apply_fill(fill)
        if current is not order:
            store.orders.update(current)
            repaired.append(order.client_order_id)
    return repaired


def save_venue_state(store: TradingStore, snapshot: VenueSnapshot) -> None:
    """The exchange's balances and positions as last seen (``quantbridge status`` shows them)."""
    for balance in snapshot.balances.values():
        store.accounts.save_balance(balance.asset, balance.total, balance.free, snapshot.taken)
    for position in snapshot.positions.values():
        store.accounts.save_position(position.symbol, position.qty, position.entry_price, snapshot.taken, "venue")


class Reconciler:
    """Corrections at start (module docstring); each returns how many it made."""

    def __init__(self, session: TradingSession, store: TradingStore) -> None:
        self._session = session
        self._store = store
        self._now = session.clock.now()
        self.corrections = 0

    # ---- paper -------------------------------------------------------------------------------
    def close_paper_orders(
        self, reason: str = "paper venue restarted: simulated working orders are not kept", kind: str = "paper_restart"
    ) -> int:
        for order in self._store.orders.open_orders(self._session.config.strategy_id):
            self._push(
                OrderCancelled(client_order_id=order.client_order_id, reason=reason, ts=self._now, received=self._now)
            )
            self._record(kind, order.client_order_id, f"{order.status.value} -> cancelled: {reason}")
        return self.corrections

    # ---- live --------------------------------------------------------------------------------
    async def reconcile_live(self, venue: LiveVenue | None) -> int:
        from ..venue.ccxt_venue import CcxtVenue

        if not isinstance(venue, CcxtVenue):
            raise TypeError("live reconciliation needs the ccxt venue")
        open_orders = self._store.orders.open_orders(self._session.config.strategy_id)
        snapshot = await self._snapshot(venue, open_orders)
        wait = self._settle_wait(open_orders, snapshot)
        if wait > 0:  # an order sent just before the crash may still arrive: look again after
            await asyncio.sleep(wait)
            self._now = self._session.clock.now()
            snapshot = await self._snapshot(venue, open_orders)
        self._apply_fills(snapshot)
        adopt = [order for order in open_orders if self._settle(order, snapshot.orders.get(order.client_order_id))]
        venue.adopt([self._current(order) for order in adopt])
        self._check_positions(snapshot)
        save_venue_state(self._store, snapshot)
        return self.corrections

    async def _snapshot(self, venue: CcxtVenue, orders: Iterable[Order]) -> VenueSnapshot:
        latest = self._store.fills.latest_ts()
        since = None if latest is None else latest - _FILL_SLACK
        symbol = self._session.config.symbol
        return await venue.snapshot([symbol], [o.client_order_id for o in orders], since)

    def _settle_wait(self, orders: Iterable[Order], snapshot: VenueSnapshot) -> float:
        """Real seconds to wait before trusting that a submitted order the exchange does
        not know was never sent: a request may arrive up to its receive window late."""
        clock = self._session.clock
        ages = [
            clock.wall_seconds(self._now - (o.updated or o.created))
            for o in orders
            if o.status is OrderStatus.SUBMITTED and not _found(snapshot, o.client_order_id)
        ]
        return max(0.0, SETTLE_SECONDS - min(ages)) if ages else 0.0

    def _apply_fills(self, snapshot: VenueSnapshot) -> None:
        for fill in snapshot.fills:
            if not fill.client_order_id:
                self._record("unknown_fill", "", f"trade {fill.fill_id}: {fill.side.value} {fill.qty} @ {fill.price}")
                continue
            order = self._store.orders.get(fill.client_order_id)
            if order is None:
                self._record("unknown_order", fill.client_order_id, f"fill {fill.fill_id} of an order not in the store")
                continue
            if self._store.fills.get(fill.fill_id) is not None:
                continue
            if order.status is OrderStatus.SUBMITTED:
                self._push(OrderAccepted(client_order_id=order.client_order_id, ts=fill.ts, received=self._now))
                self._record("order_status", order.client_order_id, "submitted -> accepted: it traded at the exchange")
            self._session.on_venue_event(OrderFilled(fill=fill, ts=fill.ts, received=self._now))
            self._session.engine.run_until_idle()
            self._record("missing_fill", fill.client_order_id, f"fill {fill.fill_id}: {fill.qty} @ {fill.price}")

    def _current(self, order: Order) -> Order:
        return self._store.orders.get(order.client_order_id) or order

    def _settle(self, stored: Order, seen: VenueOrder | None) -> bool:
        """Bring one stored open order to the exchange's state; True when it still works."""
        order = self._current(stored)
        key = order.client_order_id
        if order.is_terminal:
            return False
        if seen is None or not seen.found:
            return self._not_found(order)
        if order.status is OrderStatus.SUBMITTED:
            self._push(
                OrderAccepted(client_order_id=key, venue_order_id=seen.venue_order_id, ts=self._now, received=self._now)
            )
            self._record("order_status", key, f"submitted -> accepted (venue id {seen.venue_order_id})")
        return self._final_status(key, seen)

    def _not_found(self, order: Order) -> bool:
        """An order the exchange does not know: never sent (submitted), or gone (an
        acknowledged order an exchange no longer lists, e.g. purged after cancellation)."""
        key = order.client_order_id
        if order.status is OrderStatus.SUBMITTED:
            reason = "not at the exchange after a restart: the request never left"
            self._push(OrderRejected(client_order_id=key, reason=reason, ts=self._now, received=self._now))
            self._record("never_sent", key, "submitted -> rejected")
        else:
            reason = "the exchange no longer knows this order"
            self._push(OrderCancelled(client_order_id=key, reason=reason, ts=self._now, received=self._now))
            self._record("order_status", key, f"{order.status.value} -> cancelled: {reason}", level=Level.ERROR)
        return False

    def _final_status(self, key: str, seen: VenueOrder) -> bool:
        status = seen.status
        if status in ("canceled", "cancelled"):
            self._push(
                OrderCancelled(
                    client_order_id=key, reason="cancelled at the exchange", ts=self._now, received=self._now
                )
            )
        elif status == "expired":
            self._push(OrderExpired(client_order_id=key, ts=self._now, received=self._now))
        elif status == "rejected":
            self._push(
                OrderRejected(client_order_id=key, reason="rejected at the exchange", ts=self._now, received=self._now)
            )
        elif status == "closed":
            return self._closed(key, seen)
        else:
            return status == "open"
        self._record("order_status", key, f"-> {status} at the exchange")
        return False

    def _closed(self, key: str, seen: VenueOrder) -> bool:
        """Filled at the exchange: its fills were applied above; if some are still missing
        (older than the trades asked for) say so loudly instead of leaving it open."""
        order = self._current_by_id(key)
        if order is not None and not order.is_terminal:
            detail = f"filled at the exchange ({seen.filled}) but only {order.filled_qty} is known: fills missing"
            self._record("missing_fill", key, detail, level=Level.ERROR)
            self._session.engine.kill(f"reconciliation: {detail}")
        return False

    def _current_by_id(self, key: str) -> Order | None:
        return self._store.orders.get(key)

    def _check_positions(self, snapshot: VenueSnapshot) -> None:
        account = self._session.engine.account
        symbols: Iterable[str] = set(snapshot.positions) | {self._session.config.symbol}
        for symbol in sorted(symbols):
            ours = account.position(symbol).qty if account.market(symbol) is not None else _ZERO
            theirs = snapshot.position_qty(symbol)
            if ours != theirs:
                detail = f"{symbol}: runtime {ours} vs exchange {theirs} after reconciliation"
                self._record("position", "", detail, level=Level.ERROR)
                self._session.engine.kill(f"position mismatch: {detail}")

    # ---- helpers -----------------------------------------------------------------------------
    def _push(self, event: VenueEvent) -> None:
        engine = self._session.engine
        engine.push(event)
        engine.run_until_idle()

    def _record(self, kind: str, client_order_id: str, detail: str, *, level: Level = Level.WARNING) -> None:
        self.corrections += 1
        self._store.reconciliations.record(self._now, kind, detail, client_order_id)
        _log.warning("reconciliation %s %s: %s", kind, client_order_id, detail)
        self._session.notifications.notify(
            self._now, level, "reconciliation", f"{kind}: {detail}", order=client_order_id
        )
