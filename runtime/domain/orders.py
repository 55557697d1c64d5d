"""Orders: an immutable value, its deterministic client order id and its state machine.

An order moves through an explicit transition table (:data:`TRANSITIONS`)::

    new ──> submitted ──> accepted ──> partially_filled ──> filled
     │          │             │               │
     └──────────┴─────────────┴───────────────┴──> cancelled | rejected | expired

(``rejected`` only before the venue accepted the order, ``expired`` only after.) Every
change returns a new :class:`Order`; an illegal one raises :class:`IllegalTransition`
naming the order and both states.

**Intent.** An ``ENTRY`` order is TradingView's ``strategy.entry``: it opens ``qty`` in
its direction and, when the position is opposite at the moment it fills, the same order
first closes that position (one order of ``|position| + qty``, one commission). An
``EXIT`` order only reduces the position (``strategy.close`` / ``strategy.exit``).
Because the venue resolves the reversal (and re-sizes a budgeted stop entry) when it
fills, the venue is authoritative about the traded size: after each fill the order's
``qty`` is ``filled_qty + leaves_qty`` as the venue reported them (FIX's
``OrderQty = CumQty + LeavesQty``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import pandas as pd

from .protection import Protection
from .time import ensure_utc

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .fills import Fill

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "IllegalTransition",
    "Intent",
    "Order",
    "OrderError",
    "OrderStatus",
    "OrderType",
    "Side",
    "client_order_id",
]

_ZERO: Final = Decimal(0)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, −1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class Intent(StrEnum):
    ENTRY = "entry"
    """Open ``qty`` in the order's direction, reversing an opposite position first."""
    EXIT = "exit"
    """Reduce the position only (reduce-only)."""


class OrderStatus(StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


_S = OrderStatus
TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = MappingProxyType(
    {
        # a risk rule rejects before submission; a kill switch may cancel an unsent order
        _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELLED}),
        # a real venue may report fills (or an immediate cancel) before its acknowledgement
        _S.SUBMITTED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.CANCELLED, _S.PARTIALLY_FILLED, _S.FILLED}),
        _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
        _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
        _S.FILLED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.REJECTED: frozenset(),
        _S.EXPIRED: frozenset(),
    }
)
"""Legal next states of each state. A state with none is terminal."""

TERMINAL: Final = frozenset(state for state, following in TRANSITIONS.items() if not following)
_FILLABLE: Final = frozenset({_S.SUBMITTED, _S.ACCEPTED, _S.PARTIALLY_FILLED})


class OrderError(ValueError):
    """An order value that cannot exist (non-positive quantity, a stop order without a stop…)."""


class IllegalTransition(Exception):  # noqa: N818 - the name reads as the event it reports
    """A state change the transition table forbids."""

    def __init__(self, client_order_id: str, current: OrderStatus, target: OrderStatus) -> None:
        self.client_order_id = client_order_id
        self.current = current
        self.target = target
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (terminal)"
        super().__init__(
            f"order {client_order_id}: illegal transition {current.value} -> {target.value} (allowed: {allowed})"
        )


def client_order_id(strategy_id: str, symbol: str, signal_bar: pd.Timestamp, intent: str) -> str:
    """The deterministic id of the order ``strategy_id`` places on ``symbol`` on the bar
    that opened at ``signal_bar`` for ``intent``: the same inputs give the same id (so a
    repeated decision, also after a restart, is recognised as a duplicate), different
    inputs different ids. 27 characters of ``[a-z0-9-]``, within every venue's limit."""
    key = f"{strategy_id}|{symbol}|{ensure_utc(signal_bar, 'signal_bar').value}|{intent}"
    return "qb-" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """An order and where it stands. ``price`` is a limit price, ``stop`` a stop trigger;
    ``budget`` (money) makes the venue size a resting entry at its fill price;
    ``signal_bar`` is the open time of the closed bar the strategy decided on;
    ``expire_at`` ends a working order (good till time); ``protection`` (entries only)
    the protective exits the venue attaches to the position it opens; ``reason`` says why it was
    rejected, cancelled or expired."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    type: OrderType
    intent: Intent
    qty: Decimal
    signal_bar: pd.Timestamp
    created: pd.Timestamp
    price: Decimal | None = None
    stop: Decimal | None = None
    budget: Decimal | None = None
    tag: str = ""
    expire_at: pd.Timestamp | None = None
    protection: Protection | None = None
    status: OrderStatus = OrderStatus.NEW
    filled_qty: Decimal = _ZERO
    leaves_qty: Decimal | None = None
    avg_price: Decimal | None = None
    commission: Decimal = _ZERO
    updated: pd.Timestamp | None = None
    reason: str = ""
    venue_order_id: str = ""

    def __post_init__(self) -> None:
        if not self.qty.is_finite() or self.qty <= 0:
            raise OrderError(f"order {self.client_order_id}: quantity {self.qty} must be a positive finite number")
        if (self.type is OrderType.STOP) != (self.stop is not None):
            raise OrderError(f"order {self.client_order_id}: a stop price goes with a stop order (type {self.type})")
        if (self.type is OrderType.LIMIT) != (self.price is not None):
            raise OrderError(f"order {self.client_order_id}: a limit price goes with a limit order (type {self.type})")
        for level in (self.price, self.stop):
            if level is not None and (not level.is_finite() or level <= 0):
                raise OrderError(f"order {self.client_order_id}: price {level} must be a positive finite number")
        if self.protection is not None and self.intent is not Intent.ENTRY:
            raise OrderError(f"order {self.client_order_id}: only an entry order carries a protection")
        if self.leaves_qty is None:
            object.__setattr__(self, "leaves_qty", self.qty - self.filled_qty)

    @property
    def remaining(self) -> Decimal:
        """What the venue has left to fill (``leaves_qty``)."""
        return self.leaves_qty if self.leaves_qty is not None else self.qty - self.filled_qty

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_working(self) -> bool:
        """Live at the venue (accepted, not yet done)."""
        return self.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)

    def transition(self, target: OrderStatus, ts: pd.Timestamp, *, reason: str = "") -> Order:
        """This order in state ``target`` (fills go through :meth:`apply_fill`)."""
        if target not in TRANSITIONS[self.status]:
            raise IllegalTransition(self.client_order_id, self.status, target)
        if target in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
            raise OrderError(f"order {self.client_order_id}: {target.value} is reached by a fill, not set")
        return replace(self, status=target, updated=ts, reason=reason or self.reason)

    def apply_fill(self, fill: Fill) -> Order:
        """This order after ``fill`` (status, filled and leaves quantity, average price,
        commission); the fill's ``leaves_qty`` is the venue's remainder."""
        if fill.client_order_id != self.client_order_id:
            raise OrderError(f"fill {fill.fill_id} belongs to order {fill.client_order_id}, not {self.client_order_id}")
        target = OrderStatus.FILLED if fill.leaves_qty == 0 else OrderStatus.PARTIALLY_FILLED
        if self.status not in _FILLABLE or target not in TRANSITIONS[self.status]:
            raise IllegalTransition(self.client_order_id, self.status, target)
        filled = self.filled_qty + fill.qty
        paid = (self.avg_price or _ZERO) * self.filled_qty + fill.price * fill.qty
        return replace(
            self,
            status=target,
            filled_qty=filled,
            leaves_qty=fill.leaves_qty,
            qty=filled + fill.leaves_qty,
            avg_price=paid / filled,
            commission=self.commission + fill.commission,
            updated=fill.ts,
        )
