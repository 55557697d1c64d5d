"""The risk rules beyond the basic gates: drawdown breakers, exposure limits, the daily
loss cap, the order-rate limit and require-stop.

Each is small and answers approve / modify / reject with a reason (see :mod:`.risk`).
Breakers (:class:`DrawdownBreaker`, :class:`DailyLossCap`) trip when they observe the
account, then block the entries in their scope; time comes only from the injected Clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

import pandas as pd

from ..clock import Clock
from ..domain.orders import Intent, Order, OrderType
from ..venue.trading_day import TradingDays
from .risk import (
    Approve,
    BreakerState,
    Decision,
    Modify,
    Reject,
    RiskAccount,
    RiskView,
    _reference_price,
    _size_after,
)

__all__ = [
    "DailyLossCap",
    "DrawdownBreaker",
    "ExposureLimit",
    "OrderRateLimit",
    "RequireStop",
    "WorkingOrders",
]

_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
_PCT: Final = Decimal("0.01")

WorkingOrders = Callable[[str, str], tuple[Order, ...]]
"""The working orders of (strategy id, symbol)."""


def _pct(value: Decimal) -> str:
    return f"{value.quantize(_PCT)}%"


class _Tripping:
    """State handling shared by the breakers."""

    name: str

    def __init__(self) -> None:
        self._state = BreakerState()

    @property
    def state(self) -> BreakerState:
        return self._state

    def restore(self, state: BreakerState) -> None:
        self._state = state

    def _trip(self, reason: str, ts: pd.Timestamp) -> str:
        self._state = BreakerState(True, reason, ts)
        return reason

    def _blocked(self, order: Order) -> Decision:
        if self._state.tripped and self.blocks(order):
            return Reject(f"{self._state.reason}; no new entries")
        return Approve()

    def blocks(self, order: Order) -> bool:
        return order.intent is Intent.ENTRY


class DrawdownBreaker(_Tripping):
    """Trips when equity falls ``max_pct`` percent or more below its peak, until reset.

    Global (``strategy_id`` None): the account's equity. Per strategy: ``capital`` plus
    the P&L of the symbols the strategy has ordered, and only its entries are blocked."""

    def __init__(self, max_pct: Decimal, strategy_id: str | None = None, capital: Decimal | None = None) -> None:
        super().__init__()
        if strategy_id is not None and capital is None:
            raise ValueError("a per-strategy drawdown breaker needs the strategy's capital")
        self.max_pct = max_pct
        self.strategy_id = strategy_id
        self.capital = capital or _ZERO
        self.name = "drawdown" if strategy_id is None else f"drawdown:{strategy_id}"
        self.peak: Decimal | None = None
        self._symbols: set[str] = set()

    def blocks(self, order: Order) -> bool:
        in_scope = self.strategy_id is None or order.strategy_id == self.strategy_id
        return in_scope and order.intent is Intent.ENTRY

    def reset(self, ts: pd.Timestamp) -> None:
        """Re-arm; the drawdown is measured from a new peak (the next observation)."""
        self._state = BreakerState()
        self.peak = None

    def check(self, order: Order, view: RiskView) -> Decision:
        if order.strategy_id == self.strategy_id:
            self._symbols.add(order.symbol)
        return self._blocked(order)

    def observe(self, view: RiskAccount, ts: pd.Timestamp) -> str | None:
        equity = self._equity(view)
        peak = equity if self.peak is None else max(self.peak, equity)
        self.peak = peak
        if self._state.tripped or peak <= 0:
            return None
        drawdown = (peak - equity) / peak * _HUNDRED
        if drawdown < self.max_pct:
            return None
        scope = "global" if self.strategy_id is None else f"strategy {self.strategy_id}"
        return self._trip(f"{scope} drawdown {_pct(drawdown)} reached the limit of {_pct(self.max_pct)}", ts)

    def _equity(self, view: RiskAccount) -> Decimal:
        if self.strategy_id is None:
            return view.equity()
        return self.capital + sum((view.pnl(symbol) for symbol in sorted(self._symbols)), _ZERO)


class DailyLossCap(_Tripping):
    """Trips when equity is ``max_loss`` or more below the trading day's anchor (the
    equity last seen before the day began: realised plus unrealised loss since the day
    started); blocks entries until the next trading day, when it re-arms itself."""

    name = "daily_loss"

    def __init__(self, max_loss: Decimal, clock: Clock, timezone: str = "UTC", session_start: str = "00:00") -> None:
        super().__init__()
        self.max_loss = max_loss
        self._clock = clock
        self._days = TradingDays(timezone, session_start)
        self._day: int | None = None
        self.anchor: Decimal | None = None
        self._last: Decimal | None = None

    def reset(self, ts: pd.Timestamp) -> None:
        self._state = BreakerState()

    def restore(self, state: BreakerState) -> None:
        """A trip persisted by an earlier run holds for the rest of *its* trading day."""
        super().restore(state)
        if state.tripped and state.since is not None:
            self._day = self._days.day_of(state.since)

    def check(self, order: Order, view: RiskView) -> Decision:
        self._roll(self._clock.now(), None)
        return self._blocked(order)

    def observe(self, view: RiskAccount, ts: pd.Timestamp) -> str | None:
        equity = view.equity()
        self._roll(self._clock.now(), equity)
        self._last = equity
        if self.anchor is None:
            self.anchor = equity
        loss = self.anchor - equity
        if self._state.tripped or loss < self.max_loss:
            return None
        return self._trip(f"daily loss {loss} reached the cap of {self.max_loss}", self._clock.now())

    def _roll(self, now: pd.Timestamp, equity: Decimal | None) -> None:
        """A new trading day re-arms the cap and anchors it at the previous equity."""
        day = self._days.day_of(now)
        if day == self._day:
            return
        self._day = day
        self._state = BreakerState()
        self.anchor = self._last if self._last is not None else equity


@dataclass(frozen=True)
class ExposureLimit:
    """An entry may not take the notional of the position (position + order, at the
    order's price) beyond the strategy's limit (``per_strategy``, else ``limit``; no
    limit: approve). With ``clip`` the quantity is cut to fit, floored to the lot grid."""

    limit: Decimal | None = None
    per_strategy: Mapping[str, Decimal] | None = None
    clip: bool = False
    name: str = "exposure"

    def check(self, order: Order, view: RiskView) -> Decision:
        limit = (self.per_strategy or {}).get(order.strategy_id, self.limit)
        market, price = view.market(order.symbol), _reference_price(order, view)
        if order.intent is Intent.EXIT or limit is None or market is None or price is None:
            return Approve()
        unit = price * market.contract_size
        after = abs(_size_after(order, view.position(order.symbol)))
        notional = after * unit
        if notional <= limit:
            return Approve()
        if self.clip:
            allowed = market.qty(order.qty - (after - limit / unit))
            if allowed > 0:
                note = f"quantity {order.qty} clipped to {allowed} (notional limit {limit})"
                return Modify(replace(order, qty=allowed, leaves_qty=allowed), note)
        return Reject(f"notional {notional} of {order.strategy_id} in {order.symbol} above the limit of {limit}")


class OrderRateLimit:
    """At most ``max_orders`` orders in any rolling ``window`` of the clock (orders this
    rule approved count; put it last in the chain)."""

    name = "order_rate"

    def __init__(self, max_orders: int, window: pd.Timedelta, clock: Clock) -> None:
        self.max_orders = max_orders
        self.window = window
        self._clock = clock
        self._sent: deque[pd.Timestamp] = deque()

    def check(self, order: Order, view: RiskView) -> Decision:
        now = self._clock.now()
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if len(self._sent) >= self.max_orders:
            seconds = f"{self.window.total_seconds():g}s"
            return Reject(f"{len(self._sent)} orders in the last {seconds}, the limit is {self.max_orders}")
        self._sent.append(now)
        return Approve()


@dataclass(frozen=True)
class RequireStop:
    """An entry must carry a protective stop (a stop-loss or trailing stop in its
    protection), or its strategy must have a stop exit working in the symbol."""

    working: WorkingOrders
    name: str = "require_stop"

    def check(self, order: Order, view: RiskView) -> Decision:
        if order.intent is Intent.EXIT or _has_stop(order):
            return Approve()
        if any(_is_stop_exit(o) for o in self.working(order.strategy_id, order.symbol)):
            return Approve()
        return Reject("entry without a protective stop (none attached and no stop exit working)")


def _has_stop(order: Order) -> bool:
    protection = order.protection
    return protection is not None and (protection.stop_loss_pct is not None or protection.trailing_stop_pct is not None)


def _is_stop_exit(order: Order) -> bool:
    return order.intent is Intent.EXIT and order.type is OrderType.STOP and not order.is_terminal
