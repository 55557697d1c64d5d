"""AccountStateStore: the engine's view of the account, kept from fills.

Positions (first-in-first-out lots), cash, realised P&L (net of commission), open
profit at the latest marks, equity; the closed trades and an equity point per closed
candle. It is also the :class:`~.risk.RiskView` the risk rules read. In-memory now; a
SQL-backed store with the same methods comes with persistence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import pandas as pd

from quantbridge.datasets.trade_list import ExitReason

from ..accounting import Ledger
from ..domain.fills import Fill, FillOrigin
from ..domain.market import Market
from ..domain.marketdata import Candle
from ..domain.orders import Intent, Order, OrderType
from ..domain.positions import ClosedTrade, Position, open_trades

__all__ = ["AccountStateStore", "EquityPoint", "exit_reason"]

_ZERO: Final = Decimal(0)
_BY_TYPE: Final = {
    OrderType.MARKET: ExitReason.SIGNAL,
    OrderType.STOP: ExitReason.STOP_LOSS,
    OrderType.LIMIT: ExitReason.TAKE_PROFIT,
}


def exit_reason(fill: Fill, order: Order | None) -> ExitReason:
    """Why the trades a fill closes were closed: the day's loss limit or a protective exit
    (the fill's origin), a reversal (an
    entry's closing leg), or the exit order's kind (market: signal, stop: stop-loss,
    limit: take-profit)."""
    if fill.origin is not FillOrigin.ORDER:  # the day's loss limit or a protective exit
        return ExitReason(fill.origin.value)
    if order is None or order.intent is Intent.ENTRY:
        return ExitReason.REVERSE
    return _BY_TYPE[order.type]


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """The account at one candle's close: ``time`` is the candle's open time."""

    time: pd.Timestamp
    symbol: str
    equity: Decimal
    cash: Decimal
    position: Decimal
    close: Decimal


class AccountStateStore:
    """Positions, cash, P&L and equity from fills and marks."""

    def __init__(self, markets: Mapping[str, Market], initial_cash: Decimal, money_step: Decimal) -> None:
        self._markets = dict(markets)
        self._money_step = money_step
        self.initial_cash = initial_cash
        self._ledger = Ledger(initial_cash, {s: m.contract_size for s, m in self._markets.items()}, money_step)
        self._marks: dict[str, Decimal] = {}
        self._realised = _ZERO
        self._realised_by_symbol: dict[str, Decimal] = {}
        self.trades: list[ClosedTrade] = []
        self.curve: list[EquityPoint] = []

    # ---- updates -----------------------------------------------------------------------------
    def apply_fill(self, fill: Fill, order: Order | None) -> tuple[ClosedTrade, ...]:
        """Book ``fill`` (``order`` is the order behind it, None for venue-initiated fills)."""
        tag = order.tag if order is not None else fill.origin.value
        closed = self._ledger.apply(fill, tag=tag, reason=exit_reason(fill, order))
        self._marks.setdefault(fill.symbol, fill.price)
        self.trades.extend(closed)
        booked = sum((t.pnl for t in closed), _ZERO)
        self._realised += booked
        self._realised_by_symbol[fill.symbol] = self._realised_by_symbol.get(fill.symbol, _ZERO) + booked
        return closed

    def set_mark(self, symbol: str, price: Decimal) -> None:
        """The latest price of ``symbol`` (a candle's close)."""
        self._marks[symbol] = price

    def snapshot(self, candle: Candle) -> EquityPoint:
        """Record the account at ``candle``'s close (one point of the equity curve)."""
        point = EquityPoint(
            time=candle.open_time,
            symbol=candle.symbol,
            equity=self.equity(),
            cash=self._ledger.cash,
            position=self._ledger.position(candle.symbol).qty,
            close=candle.close,
        )
        self.curve.append(point)
        return point

    # ---- reading (also the RiskView) ---------------------------------------------------------
    def market(self, symbol: str) -> Market | None:
        return self._markets.get(symbol)

    def position(self, symbol: str) -> Position:
        return self._ledger.position(symbol)

    def positions(self) -> tuple[Position, ...]:
        return self._ledger.positions()

    def mark(self, symbol: str) -> Decimal | None:
        return self._marks.get(symbol)

    @property
    def cash(self) -> Decimal:
        return self._ledger.cash

    @property
    def realised_pnl(self) -> Decimal:
        return self._realised

    def unrealised_pnl(self) -> Decimal:
        total = _ZERO
        for position in self._ledger.positions():
            if not position.is_flat:
                total += self._ledger.unrealised(position.symbol, self._marks[position.symbol])
        return total

    def equity(self) -> Decimal:
        return self._ledger.equity(self._marks)

    def pnl(self, symbol: str) -> Decimal:
        """Realised (net of the closed trades' commission) plus unrealised P&L of ``symbol``."""
        realised = self._realised_by_symbol.get(symbol, _ZERO)
        if self._ledger.position(symbol).is_flat:
            return realised
        return realised + self._ledger.unrealised(symbol, self._marks[symbol])

    def open_trades(self) -> tuple[ClosedTrade, ...]:
        """Open lots as trade-list rows, marked at the latest marks."""
        rows: list[ClosedTrade] = []
        for position in self._ledger.positions():
            if not position.is_flat:
                price = self._marks[position.symbol]
                step, value = self._money_step, self._ledger.point_value(position.symbol)
                rows.extend(open_trades(position, price, point_value=value, money_step=step))
        return tuple(rows)
