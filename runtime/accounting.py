"""The Ledger: cash and positions kept from fills.

One implementation, two owners: the simulated venue keeps one (the exchange's truth,
which its intraday-loss limit and pyramiding checks read) and the engine's
:class:`~.components.account.AccountStateStore` keeps another (the engine's view). Both
apply the same fills with :func:`~.domain.positions.apply_fill`.

Cash is the wallet balance: initial capital plus realised profit minus commissions.
Equity is cash plus the open profit of every position at its mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from quantbridge.datasets.trade_list import ExitReason

from .domain.fills import Fill
from .domain.positions import ClosedTrade, Position, apply_fill

__all__ = ["Ledger"]

_ZERO: Final = Decimal(0)


class Ledger:
    """Cash and one position per symbol."""

    __slots__ = ("_cash", "_money_step", "_point_values", "_positions")

    def __init__(self, cash: Decimal, point_values: Mapping[str, Decimal], money_step: Decimal) -> None:
        self._cash = cash
        self._point_values = dict(point_values)
        self._money_step = money_step
        self._positions: dict[str, Position] = {symbol: Position(symbol) for symbol in self._point_values}

    @property
    def cash(self) -> Decimal:
        return self._cash

    def position(self, symbol: str) -> Position:
        return self._positions[symbol]

    def positions(self) -> tuple[Position, ...]:
        return tuple(self._positions.values())

    def point_value(self, symbol: str) -> Decimal:
        return self._point_values[symbol]

    def apply(self, fill: Fill, *, tag: str, reason: ExitReason) -> tuple[ClosedTrade, ...]:
        """Book ``fill``; returns the trades it closed."""
        effect = apply_fill(
            self._positions[fill.symbol],
            fill,
            point_value=self._point_values[fill.symbol],
            money_step=self._money_step,
            tag=tag,
            reason=reason,
        )
        self._positions[fill.symbol] = effect.position
        self._cash += effect.cash_delta
        return effect.trades

    def unrealised(self, symbol: str, price: Decimal) -> Decimal:
        position = self._positions[symbol]
        if position.is_flat:
            return _ZERO
        return position.unrealised(price, self._point_values[symbol])

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Cash plus open profit, each position marked at ``marks[symbol]``."""
        total = self._cash
        for symbol, position in self._positions.items():
            if not position.is_flat:
                total += position.unrealised(marks[symbol], self._point_values[symbol])
        return total
