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

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import pandas as pd

from ..components.account import AccountStateStore
from ..components.notifications import Level
from ..domain.events import OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected, VenueEvent
from ..domain.orders import Order, OrderStatus
from ..store import TradingStore

if TYPE_CHECKING:
    from ..venue.ccxt_venue import VenueOrder, VenueSnapshot
    from .session import TradingSession
    from .venues import LiveVenue

__all__ = ["Reconciler", "restore_account", "save_venue_state"]

_log = logging.getLogger(__name__)
_ZERO: Final = Decimal(0)
#: Fills are asked for from a little before the last stored one (exchange clocks differ).
_FILL_SLACK: Final = pd.Timedelta(minutes=5)


def restore_account(account: AccountStateStore, store: TradingStore, strategy_id: str) -> int:
    """Apply the stored fills of ``strategy_id``'s orders (and the venue's own fills in
    its markets) to ``account``, in recorded order; returns how many."""
    count = 0
    for fill in store.fills.all():
        order = store.orders.get(fill.client_order_id) if fill.client_order_id else None
        mine = order.strategy_id == strategy_id if order is not None else account.market(fill.symbol) is not None
        if mine and account.market(fill.symbol) is not None:
            account.apply_fill(fill, order)
            count += 1
    return count


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
        latest = self._store.fills.latest_ts()
        since = None if latest is None else latest - _FILL_SLACK
        symbol = self._session.config.symbol
        snapshot = await venue.snapshot([symbol], [o.client_order_id for o in open_orders], since)
        self._apply_fills(snapshot)
        adopt = [order for order in open_orders if self._settle(order, snapshot.orders.get(order.client_order_id))]
        venue.adopt([self._current(order) for order in adopt])
        self._check_positions(snapshot)
        save_venue_state(self._store, snapshot)
        return self.corrections

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
            reason = "not at the exchange after a restart: the request never left"
            self._push(OrderRejected(client_order_id=key, reason=reason, ts=self._now, received=self._now))
            self._record("never_sent", key, f"{order.status.value} -> rejected")
            return False
        if order.status is OrderStatus.SUBMITTED:
            self._push(
                OrderAccepted(client_order_id=key, venue_order_id=seen.venue_order_id, ts=self._now, received=self._now)
            )
            self._record("order_status", key, f"submitted -> accepted (venue id {seen.venue_order_id})")
        return self._final_status(key, seen)

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
        else:
            return status == "open"
        self._record("order_status", key, f"-> {status} at the exchange")
        return False

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
