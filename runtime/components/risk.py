"""RiskManager: a chain of small pluggable rules between the strategy and the venue.

Each rule looks at one new order and the account (:class:`RiskView`) and answers
:class:`Approve`, :class:`Modify` (a changed order goes on down the chain) or
:class:`Reject` (with a reason; the chain stops). Every decision is recorded. The rules
shipped here are the basic gates; drawdown breakers, exposure limits, daily loss caps
and rate limits plug in the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

import pandas as pd

from ..domain.market import ContractType, Market, MarketError
from ..domain.orders import Intent, Order
from ..domain.positions import Position, closes_position
from .margin import MarginCalculator

__all__ = [
    "Approve",
    "Decision",
    "KillSwitch",
    "MarginRule",
    "MarketRule",
    "MaxPositionSize",
    "Modify",
    "Reject",
    "RiskDecision",
    "RiskManager",
    "RiskRule",
    "RiskView",
]


@dataclass(frozen=True, slots=True)
class Approve:
    pass


@dataclass(frozen=True, slots=True)
class Modify:
    order: Order
    note: str


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str


Decision = Approve | Modify | Reject


class RiskView(Protocol):
    """What a rule may read about the account."""

    def market(self, symbol: str) -> Market | None: ...

    def position(self, symbol: str) -> Position: ...

    def positions(self) -> tuple[Position, ...]: ...

    def equity(self) -> Decimal: ...

    def mark(self, symbol: str) -> Decimal | None: ...


class RiskRule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, order: Order, view: RiskView) -> Decision: ...


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """One recorded decision: ``outcome`` is approve, modify or reject."""

    ts: pd.Timestamp
    client_order_id: str
    rule: str
    outcome: str
    detail: str = ""


def _reference_price(order: Order, view: RiskView) -> Decimal | None:
    """The price an order is judged at: its limit/stop level, else the last mark."""
    return order.price or order.stop or view.mark(order.symbol)


def _size_after(order: Order, position: Position) -> Decimal:
    """Signed position if ``order`` fills in full (an entry reverses, an exit reduces)."""
    current = position.qty
    if order.intent is Intent.EXIT:
        reduced = max(position.size - order.qty, Decimal(0))
        return reduced * position.side.sign
    if position.side.sign == -order.side.sign:
        return order.qty * order.side.sign
    return current + order.qty * order.side.sign


class MarketRule:
    """The market must exist; prices on the tick grid; quantity on the lot grid and at
    least the minimum quantity and notional — except an exit of the whole position, which
    may be off the grid after a scale-out took a fraction of it."""

    name = "market"

    def check(self, order: Order, view: RiskView) -> Decision:
        market = view.market(order.symbol)
        if market is None:
            return Reject(f"unknown symbol {order.symbol!r}")
        try:
            for level in (order.price, order.stop):
                if level is not None:
                    market.check_price(level)
            if not closes_position(order, view.position(order.symbol)):
                market.check_qty(order.qty, _reference_price(order, view))
        except MarketError as exc:
            return Reject(str(exc))
        return Approve()


@dataclass(frozen=True)
class MaxPositionSize:
    """Entries may not take the position beyond ``limit`` units; with ``clip`` the order
    is reduced to fit (floored to the lot grid) instead of rejected."""

    limit: Decimal
    clip: bool = False
    name: str = "max_position_size"

    def check(self, order: Order, view: RiskView) -> Decision:
        if order.intent is Intent.EXIT:
            return Approve()
        after = abs(_size_after(order, view.position(order.symbol)))
        if after <= self.limit:
            return Approve()
        if self.clip:
            allowed = order.qty - (after - self.limit)
            market = view.market(order.symbol)
            allowed = market.qty(allowed) if market is not None else allowed
            if allowed > 0:
                note = f"quantity {order.qty} clipped to {allowed} (position limit {self.limit})"
                return Modify(replace(order, qty=allowed, leaves_qty=allowed), note)
        return Reject(f"position would be {after}, above the limit of {self.limit}")


@dataclass(frozen=True)
class MarginRule:
    """Entries need the initial margin of the resulting positions within the equity;
    a spot account cannot go short."""

    calculator: MarginCalculator
    name: str = "margin"

    def check(self, order: Order, view: RiskView) -> Decision:
        market = view.market(order.symbol)
        price = _reference_price(order, view)
        if order.intent is Intent.EXIT or market is None or price is None:
            return Approve()
        after = _size_after(order, view.position(order.symbol))
        if market.contract is ContractType.SPOT and after < 0:
            return Reject(f"a spot account cannot sell short ({order.symbol} position would be {after})")
        needed = self.calculator.required(market, after, price) + self._others(order.symbol, view)
        equity = view.equity()
        if needed > equity:
            return Reject(f"insufficient margin: {needed:.8f} needed, equity {equity:.8f}")
        return Approve()

    def _others(self, symbol: str, view: RiskView) -> Decimal:
        total = Decimal(0)
        for position in view.positions():
            market, mark = view.market(position.symbol), view.mark(position.symbol)
            if position.symbol != symbol and not position.is_flat and market is not None and mark is not None:
                total += self.calculator.initial_margin(market, position.size, mark)
        return total


class KillSwitch:
    """While engaged, every entry is rejected (exits still go through)."""

    name = "kill_switch"

    def __init__(self, engaged: bool = False) -> None:
        self.engaged = engaged

    def check(self, order: Order, view: RiskView) -> Decision:
        if self.engaged and order.intent is Intent.ENTRY:
            return Reject("kill switch engaged: no new entries")
        return Approve()


class RiskManager:
    """Runs the rules in order and records every decision."""

    def __init__(self, rules: Sequence[RiskRule] = ()) -> None:
        self.rules = tuple(rules)
        self.decisions: list[RiskDecision] = []

    def evaluate(self, order: Order, view: RiskView, ts: pd.Timestamp) -> Order | Reject:
        """The order to submit (possibly modified), or the rejection."""
        for rule in self.rules:
            decision = rule.check(order, view)
            if isinstance(decision, Reject):
                self._record(ts, order, rule.name, "reject", decision.reason)
                return Reject(f"{rule.name}: {decision.reason}")
            if isinstance(decision, Modify):
                self._record(ts, order, rule.name, "modify", decision.note)
                order = decision.order
        self._record(ts, order, "chain", "approve")
        return order

    def _record(self, ts: pd.Timestamp, order: Order, rule: str, outcome: str, detail: str = "") -> None:
        self.decisions.append(RiskDecision(ts, order.client_order_id, rule, outcome, detail))
