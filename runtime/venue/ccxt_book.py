"""The ccxt venue's record of its orders and fills, and the venue events it derives — the
venue's functional core: no I/O, no clock (times are passed in).

Guarantees, whatever order and however often the exchange's answers arrive:

* ``OrderAccepted`` at most once per order, when the exchange first shows it (any status
  but ``rejected``); ``OrderRejected`` only before that;
* ``OrderFilled`` exactly once per trade id (``known_fills`` are never reported), in
  trade time order per poll; ``leaves_qty`` = the order's amount − what its reported
  fills add up to (never below 0);
* the terminal event (``OrderCancelled``/``OrderExpired``; none for a filled order, its
  last fill says ``leaves_qty`` 0) only after every fill the exchange counts for the order
  has been reported, so it can never overtake a fill;
* a trade whose order is not one of ours is never dropped: while an order of the symbol
  still lacks its exchange id (its send outcome is unknown) the trade is held and matched
  again on the next poll; otherwise it is returned as an unknown fill.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import pandas as pd

from ..domain.events import Event, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected
from ..domain.fills import Fill
from ..domain.orders import Order
from .ccxt_decode import ExchangeOrder, ExchangeTrade, commission

__all__ = ["NOT_FOUND_AFTER_RESTART", "OrderBook", "Tracked"]

NOT_FOUND_AFTER_RESTART: Final = "not found at the exchange after a restart"

_ZERO: Final = Decimal(0)
_MS: Final = 1_000_000


@dataclass(slots=True)
class Tracked:
    """One order of ours the venue follows until it is done.

    ``amount`` is what was sent (the exchange's amount once it reported one); ``venue_ids``
    the exchange's ids of it (a conditional order's algo id, then the id of the order it
    became); ``status`` and ``exchange_filled`` the exchange's last view; ``filled`` what
    the reported fills add up to. ``unresolved``: the send's outcome is unknown (no answer
    proved the order is at the exchange or not) — the reason to reject it with if it
    turns out not to be there."""

    order: Order
    amount: Decimal
    conditional: bool = False
    venue_ids: list[str] = field(default_factory=list)
    created_ms: int | None = None
    accepted: bool = False
    status: str = ""
    exchange_filled: Decimal = _ZERO
    filled: Decimal = _ZERO
    actual_id: str = ""
    unresolved: str = ""
    cancel_reason: str = ""
    expire: bool = False
    updated: pd.Timestamp | None = None

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id

    @property
    def symbol(self) -> str:
        return self.order.symbol

    @property
    def venue_id(self) -> str:
        """The id that answers for the order now: the triggered order's, else the first."""
        return self.actual_id or (self.venue_ids[0] if self.venue_ids else "")

    @property
    def tracks_actual(self) -> bool:
        """A triggered conditional order: its state is the state of the order it became."""
        return bool(self.actual_id)

    @property
    def working(self) -> bool:
        """Accepted and not known to be finished at the exchange (worth a status query)."""
        return self.accepted and self.status not in ("closed", "canceled", "expired", "rejected")


class OrderBook:
    """Orders of ours by client id and by exchange id, and the trade ids already reported."""

    def __init__(self, known_fills: Iterable[str] = (), quotes: Mapping[str, str] | None = None) -> None:
        self._orders: dict[str, Tracked] = {}
        self._by_venue_id: dict[str, str] = {}
        self._seen: set[str] = set(known_fills)
        self._held: dict[str, ExchangeTrade] = {}
        self._quotes = dict(quotes or {})

    # ---- what is tracked ---------------------------------------------------------------------
    def get(self, client_order_id: str) -> Tracked | None:
        return self._orders.get(client_order_id)

    def tracked(self) -> list[Tracked]:
        return list(self._orders.values())

    def add(self, order: Order, amount: Decimal, *, conditional: bool = False) -> Tracked:
        """Follow ``order`` (sent, or about to be, with ``amount``)."""
        tracked = Tracked(order, amount, conditional)
        self._orders[order.client_order_id] = tracked
        return tracked

    def adopt(self, order: Order, *, conditional: bool) -> Tracked:
        """Follow an order that was sent before a restart: its fills so far are the
        order's ``filled_qty``. A working order with a recorded exchange id maps its trades
        at once; any other is looked up by client id first (``unresolved``)."""
        tracked = self.add(order, order.qty, conditional=conditional)
        tracked.filled = order.filled_qty
        tracked.accepted = order.is_working
        tracked.created_ms = order.created.value // _MS
        known = order.is_working and bool(order.venue_order_id)
        tracked.unresolved = "" if known else NOT_FOUND_AFTER_RESTART  # looked up by client id first
        if known:
            self._map(tracked, order.venue_order_id)
        return tracked

    def trade_symbols(self) -> dict[str, int]:
        """Symbols whose trades are worth polling, with the earliest time (epoch ms) a
        trade of ours there can have: orders the exchange confirmed, and held trades."""
        since: dict[str, int] = {}
        for tracked in self._orders.values():
            if tracked.created_ms is not None:
                since[tracked.symbol] = min(since.get(tracked.symbol, tracked.created_ms), tracked.created_ms)
        for trade in self._held.values():
            since.setdefault(trade.symbol, trade.ts.value // _MS)
        return since

    def owner(self, venue_id: str) -> str | None:
        """The client id of the order with exchange id ``venue_id`` (None: not ours, or not yet known)."""
        return self._by_venue_id.get(venue_id)

    # ---- what the exchange says --------------------------------------------------------------
    def confirm(self, client_order_id: str, view: ExchangeOrder, now: pd.Timestamp) -> list[Event]:
        """Apply the exchange's ``view`` of one of our orders."""
        tracked = self._orders.get(client_order_id)
        if tracked is None:
            return []
        tracked.unresolved = ""
        self._map(tracked, view.venue_id)
        if view.created is not None and tracked.created_ms is None:
            tracked.created_ms = view.created.value // _MS
        if view.status == "rejected" and not tracked.accepted:
            del self._orders[client_order_id]
            return [_rejected(client_order_id, "rejected by the exchange", now)]
        events: list[Event] = []
        if not tracked.accepted:
            tracked.accepted = True
            ts = view.created or now
            events.append(
                OrderAccepted(client_order_id=client_order_id, venue_order_id=view.venue_id, ts=ts, received=now)
            )
        self._update(tracked, view)
        return events

    def _update(self, tracked: Tracked, view: ExchangeOrder) -> None:
        is_algo_view = tracked.conditional and view.venue_id != tracked.actual_id
        if is_algo_view and view.status == "closed":
            if view.actual_id:  # triggered: from now on the order it became answers
                tracked.actual_id = view.actual_id
                self._map(tracked, view.actual_id)
                tracked.status = "open"
            return
        tracked.status = view.status
        tracked.updated = view.updated or tracked.updated
        if view.amount is not None and view.amount > 0 and not is_algo_view:
            tracked.amount = view.amount
        tracked.exchange_filled = max(tracked.exchange_filled, view.filled)

    def reject(self, client_order_id: str, reason: str, now: pd.Timestamp) -> list[Event]:
        """Give up on an order the exchange does not have: rejected — or cancelled, when it
        had been accepted (an adopted order the exchange no longer knows)."""
        tracked = self._orders.pop(client_order_id, None)
        if tracked is not None and tracked.accepted:
            return [OrderCancelled(client_order_id=client_order_id, reason=reason, ts=now, received=now)]
        return [_rejected(client_order_id, reason, now)]

    def trades(self, trades: Iterable[ExchangeTrade], now: pd.Timestamp) -> tuple[list[Event], list[Fill]]:
        """Fills of ours as events, and fills of orders that are not ours; trades already
        reported are skipped, trades that may still turn out to be ours are held."""
        events: list[Event] = []
        unknown: list[Fill] = []
        pending = {**self._held, **{t.fill_id: t for t in trades}}
        self._held = {}
        for trade in sorted(pending.values(), key=lambda t: t.sort_key):
            if trade.fill_id in self._seen:
                continue
            owner = self._by_venue_id.get(trade.order_id)
            if owner is not None and owner in self._orders:
                events.append(self._fill(self._orders[owner], trade, now))
            elif self._awaiting_ids(trade.symbol):
                self._held[trade.fill_id] = trade
                continue
            else:
                unknown.append(self._as_fill(trade, "", _ZERO, now))
            self._seen.add(trade.fill_id)
        return events, unknown

    def settle(self, now: pd.Timestamp) -> list[Event]:
        """Terminal events of orders the exchange finished whose fills are all reported;
        those orders are no longer followed."""
        events: list[Event] = []
        for tracked in list(self._orders.values()):
            if not tracked.accepted or tracked.status not in ("closed", "canceled", "expired", "rejected"):
                continue
            if tracked.filled < tracked.exchange_filled:
                continue  # fills the exchange counts are still to come
            event = _terminal(tracked, now)
            if event is not None:
                events.append(event)
            del self._orders[tracked.client_order_id]
        return events

    # ---- helpers -----------------------------------------------------------------------------
    def _map(self, tracked: Tracked, venue_id: str) -> None:
        if venue_id and venue_id not in tracked.venue_ids:
            tracked.venue_ids.append(venue_id)
            self._by_venue_id[venue_id] = tracked.client_order_id

    def _awaiting_ids(self, symbol: str) -> bool:
        return any(t.symbol == symbol and not t.venue_ids for t in self._orders.values())

    def _fill(self, tracked: Tracked, trade: ExchangeTrade, now: pd.Timestamp) -> OrderFilled:
        tracked.filled += trade.qty
        leaves = max(tracked.amount - tracked.filled, _ZERO)
        fill = self._as_fill(trade, tracked.client_order_id, leaves, now)
        return OrderFilled(fill=fill, ts=fill.ts, received=now)

    def _as_fill(self, trade: ExchangeTrade, client_order_id: str, leaves: Decimal, now: pd.Timestamp) -> Fill:
        return Fill(
            fill_id=trade.fill_id,
            client_order_id=client_order_id,
            symbol=trade.symbol,
            side=trade.side,
            qty=trade.qty,
            price=trade.price,
            commission=commission(trade, self._quotes.get(trade.symbol)),
            ts=trade.ts,
            received=now,
            leaves_qty=leaves,
        )


def _rejected(client_order_id: str, reason: str, now: pd.Timestamp) -> OrderRejected:
    return OrderRejected(client_order_id=client_order_id, reason=reason, ts=now, received=now)


def _terminal(tracked: Tracked, now: pd.Timestamp) -> Event | None:
    key, ts = tracked.client_order_id, tracked.updated or now
    if tracked.status == "closed" and tracked.filled >= tracked.amount:
        return None  # filled: the last fill said so
    if tracked.status == "expired" or (tracked.status == "canceled" and tracked.expire):
        reason = "expired (good till time)" if tracked.expire else "expired at the exchange"
        return OrderExpired(client_order_id=key, reason=reason, ts=ts, received=now)
    if tracked.status == "canceled":
        reason = tracked.cancel_reason or "cancelled by the exchange"
    elif tracked.status == "closed":
        reason = f"closed at the exchange with {tracked.filled} of {tracked.amount} filled"
    else:
        reason = "rejected by the exchange after it was accepted"
    return OrderCancelled(client_order_id=key, reason=reason, ts=ts, received=now)
