"""TradeExecutor: what a strategy asked for → an order.

It applies the execution model's placement rules, as TradingView does when a script
calls ``strategy.entry``:

* an entry in the direction the position already holds at the pyramiding limit is
  **not created** (a :class:`Refusal`, recorded and logged);
* an entry without a quantity is sized: a fixed quantity, or money (cash, or percent of
  equity at this close) → units at the signal close moved by the slippage for a market
  order; a stop/limit entry keeps the money as its ``budget`` and the venue re-sizes it
  at its fill price;
* stop and limit levels are rounded to the tick grid in the cautious direction (turn
  ``round_order_prices`` off to have off-grid levels rejected by the risk rules instead).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel

from ..domain.market import Market
from ..domain.orders import Intent, Order, OrderType
from ..execution import DEFAULT_MONEY_STEP, Pricing
from ..strategy import OrderRequest
from .risk import RiskView

__all__ = ["Refusal", "TradeExecutor"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """An order that was not created, and why."""

    request: OrderRequest
    reason: str


class TradeExecutor:
    """Turns order requests into orders (see the module docstring)."""

    def __init__(
        self,
        markets: Mapping[str, Market],
        model: ExecutionModel,
        *,
        money_step: Decimal = DEFAULT_MONEY_STEP,
        round_order_prices: bool = True,
    ) -> None:
        self._model = model
        self._pricing = {symbol: Pricing(market, model, money_step) for symbol, market in markets.items()}
        self._round = round_order_prices
        self.refusals: list[Refusal] = []

    def to_order(self, request: OrderRequest, account: RiskView, ts: pd.Timestamp) -> Order | Refusal:
        pricing = self._pricing.get(request.symbol)
        if pricing is None:
            return self._refuse(request, f"unknown symbol {request.symbol!r}")
        if request.intent is Intent.ENTRY and self._at_pyramiding_limit(request, account):
            return self._refuse(request, f"pyramiding limit of {self._model.pyramiding} entr(y/ies) reached")
        level = request.level
        if level is not None and self._round:
            level = pricing.order_level(level, request.side, request.order_type)
        qty, budget = self._size(request, pricing, account, level)
        if qty <= 0:
            return self._refuse(request, "sizing gives no quantity (the budget buys less than one lot)")
        return Order(
            client_order_id=request.client_order_id,
            strategy_id=request.strategy_id,
            symbol=request.symbol,
            side=request.side,
            type=request.order_type,
            intent=request.intent,
            qty=qty,
            signal_bar=request.signal_bar,
            created=ts,
            price=level if request.order_type is OrderType.LIMIT else None,
            stop=level if request.order_type is OrderType.STOP else None,
            budget=budget,
            tag=request.tag,
            protection=request.protect,
            expire_at=None
            if request.good_for is None
            else request.signal_bar + (request.good_for + 1) * request.interval,
        )

    def _at_pyramiding_limit(self, request: OrderRequest, account: RiskView) -> bool:
        position = account.position(request.symbol)
        return position.side.sign == request.side.sign and position.entries >= self._model.pyramiding

    def _size(
        self, request: OrderRequest, pricing: Pricing, account: RiskView, level: Decimal | None
    ) -> tuple[Decimal, Decimal | None]:
        """(quantity, budget): the budget only for a money-sized stop/limit entry."""
        if request.qty is not None:
            return request.qty, None
        budget = pricing.budget(account.equity())
        if budget is None:
            return pricing.fixed_qty, None
        if level is not None:
            return pricing.qty_for_budget(budget, level), budget
        close = account.mark(request.symbol)
        if close is None:
            return Decimal(0), None
        return pricing.qty_for_budget(budget, pricing.fill_price(close, request.side, slip=True)), None

    def _refuse(self, request: OrderRequest, reason: str) -> Refusal:
        refusal = Refusal(request, reason)
        self.refusals.append(refusal)
        _log.debug("order %s (%s %s) not created: %s", request.client_order_id, request.intent, request.side, reason)
        return refusal
