"""RiskManager: a chain of small pluggable rules between the strategy and the venue.

Each rule looks at one new order and the account (:class:`RiskView`) and answers
:class:`Approve`, :class:`Modify` (a changed order goes on down the chain) or
:class:`Reject` (with a reason; the chain stops). Every decision is recorded. The rules
shipped here are the basic gates and the kill switch; drawdown breakers, exposure
limits, daily loss caps, rate limits and require-stop live in :mod:`.risk_rules` and plug
in the same way.

**Breakers** (the kill switch, drawdown breakers, the daily loss cap) hold a
:class:`BreakerState` value (tripped or not, why, since when) that can be persisted and
restored. While tripped they block the entries in their scope (exits and reductions
still go through) and :meth:`RiskManager.cancellations` names the working entry orders
to cancel. Rules that watch the account (:class:`Observer`) are shown it after every
settled bar and before every order; a trip, a reset and every decision are recorded in
the :class:`~.risk_store.RiskDecisionStore` and alerted through the NotificationCenter
(approvals at debug, modifications at info, rejections at warning, trips at error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol, runtime_checkable

import pandas as pd

from ..domain.market import ContractType, Market, MarketError
from ..domain.orders import Intent, Order
from ..domain.positions import Position, closes_position
from .margin import MarginCalculator
from .notifications import Level, NotificationCenter
from .risk_store import InMemoryRiskDecisionStore, RiskDecision, RiskDecisionStore

__all__ = [
    "Approve",
    "Breaker",
    "BreakerState",
    "Decision",
    "KillSwitch",
    "MarginRule",
    "MarketRule",
    "MaxPositionSize",
    "Modify",
    "Observer",
    "Reject",
    "RiskAccount",
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


class RiskAccount(RiskView, Protocol):
    """What an observing rule may read besides the :class:`RiskView`."""

    def pnl(self, symbol: str) -> Decimal:
        """Realised (net of commission) plus unrealised P&L of ``symbol`` so far."""
        ...


class RiskRule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, order: Order, view: RiskView) -> Decision: ...


@dataclass(frozen=True, slots=True)
class BreakerState:
    """A breaker's persistable state: tripped or not, why, and since when."""

    tripped: bool = False
    reason: str = ""
    since: pd.Timestamp | None = None


@runtime_checkable
class Breaker(Protocol):
    """A rule that can trip and then blocks the entries in its scope until reset."""

    @property
    def name(self) -> str: ...

    @property
    def state(self) -> BreakerState: ...

    def blocks(self, order: Order) -> bool:
        """Whether ``order`` is in the scope this breaker blocks while tripped."""
        ...

    def reset(self, ts: pd.Timestamp) -> None: ...

    def restore(self, state: BreakerState) -> None: ...


@runtime_checkable
class Observer(Protocol):
    """A rule that watches the account; ``observe`` returns the reason when it trips."""

    def observe(self, view: RiskAccount, ts: pd.Timestamp) -> str | None: ...


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
    """Trips instantly (:meth:`trip`: the CLI, a Telegram command, another rule); while
    tripped every entry is rejected (exits still go through) and working entries are
    cancelled; :meth:`reset` re-arms it."""

    name = "kill_switch"

    def __init__(self, engaged: bool = False) -> None:
        self._state = BreakerState(tripped=engaged, reason="engaged at start" if engaged else "")

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def engaged(self) -> bool:
        return self._state.tripped

    @engaged.setter
    def engaged(self, value: bool) -> None:
        self._state = BreakerState(tripped=value, reason="engaged" if value else "")

    def trip(self, reason: str, ts: pd.Timestamp) -> None:
        self._state = BreakerState(True, reason, ts)

    def reset(self, ts: pd.Timestamp) -> None:
        self._state = BreakerState()

    def restore(self, state: BreakerState) -> None:
        self._state = state

    def blocks(self, order: Order) -> bool:
        return order.intent is Intent.ENTRY

    def check(self, order: Order, view: RiskView) -> Decision:
        if self.engaged and self.blocks(order):
            return Reject("kill switch engaged: no new entries")
        return Approve()


class RiskManager:
    """Runs the rules in order; records and alerts every decision, trip and reset."""

    def __init__(
        self,
        rules: Sequence[RiskRule] = (),
        *,
        store: RiskDecisionStore | None = None,
        notifications: NotificationCenter | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.store: RiskDecisionStore = store if store is not None else InMemoryRiskDecisionStore()
        self._center = notifications or NotificationCenter()

    @property
    def decisions(self) -> tuple[RiskDecision, ...]:
        return self.store.all()

    @property
    def breakers(self) -> tuple[Breaker, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, Breaker))

    def evaluate(self, order: Order, view: RiskView, ts: pd.Timestamp) -> Order | Reject:
        """The order to submit (possibly modified), or the rejection."""
        for rule in self.rules:
            decision = rule.check(order, view)
            if isinstance(decision, Reject):
                self._decided(ts, order, rule.name, "reject", decision.reason)
                return Reject(f"{rule.name}: {decision.reason}")
            if isinstance(decision, Modify):
                self._decided(ts, order, rule.name, "modify", decision.note)
                order = decision.order
        self._decided(ts, order, "chain", "approve")
        return order

    # ---- breakers ----------------------------------------------------------------------------
    def observe(self, view: RiskAccount, ts: pd.Timestamp) -> tuple[str, ...]:
        """Show the account to the observing rules; returns the names of those that tripped."""
        tripped: list[str] = []
        for rule in self.rules:
            if isinstance(rule, Observer):
                reason = rule.observe(view, ts)
                if reason is not None:
                    self._changed(ts, rule.name, "trip", reason)
                    tripped.append(rule.name)
        return tuple(tripped)

    def kill(self, reason: str, ts: pd.Timestamp) -> None:
        """Trip every kill switch in the chain (ValueError if there is none)."""
        switches = [rule for rule in self.rules if isinstance(rule, KillSwitch)]
        if not switches:
            raise ValueError("no kill switch in the risk chain")
        for switch in switches:
            switch.trip(reason, ts)
            self._changed(ts, switch.name, "trip", reason)

    def reset(self, name: str, ts: pd.Timestamp) -> None:
        """Re-arm the breaker called ``name`` (KeyError if there is none)."""
        matches = [breaker for breaker in self.breakers if breaker.name == name]
        if not matches:
            raise KeyError(f"no breaker named {name!r}")
        for breaker in matches:
            breaker.reset(ts)
            self._changed(ts, name, "reset", "reset on request")

    def cancellations(self, working: Iterable[Order]) -> tuple[Order, ...]:
        """The working orders a tripped breaker blocks (to cancel), in the given order."""
        tripped = [breaker for breaker in self.breakers if breaker.state.tripped]
        return tuple(order for order in working if any(b.blocks(order) for b in tripped))

    def states(self) -> dict[str, BreakerState]:
        """The breakers' states by name (a value to persist)."""
        return {breaker.name: breaker.state for breaker in self.breakers}

    def restore(self, states: Mapping[str, BreakerState]) -> None:
        """Put back persisted states (breakers not named keep theirs)."""
        for breaker in self.breakers:
            if breaker.name in states:
                breaker.restore(states[breaker.name])

    # ---- recording ---------------------------------------------------------------------------
    def _decided(self, ts: pd.Timestamp, order: Order, rule: str, outcome: str, detail: str = "") -> None:
        key = order.client_order_id
        self.store.add(RiskDecision(ts, key, rule, outcome, detail, order.strategy_id, order.symbol))
        level, kind = _ALERTS[outcome]
        message = detail or f"order {key} approved"
        self._center.notify(ts, level, kind, message, order=key, rule=rule, symbol=order.symbol)

    def _changed(self, ts: pd.Timestamp, rule: str, outcome: str, detail: str) -> None:
        self.store.add(RiskDecision(ts, "", rule, outcome, detail))
        level, kind = _ALERTS[outcome]
        if rule == KillSwitch.name:
            state = "tripped" if outcome == "trip" else "reset"
            self._center.notify(ts, level, "kill_switch", detail, state=state, rule=rule)
        else:
            self._center.notify(ts, level, kind, detail, rule=rule)


_ALERTS: Mapping[str, tuple[Level, str]] = {
    "approve": (Level.DEBUG, "risk_approved"),
    "modify": (Level.INFO, "risk_modified"),
    "reject": (Level.WARNING, "risk_rejected"),
    "trip": (Level.ERROR, "risk_trip"),
    "reset": (Level.WARNING, "risk_reset"),
}
