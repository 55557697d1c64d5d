"""MarginCalculator: what a position costs in margin and where it would be liquidated.

Linear perpetual futures (USDT-margined): the notional of ``q`` contracts at price ``P``
is ``q · P · contract_size``; the initial margin is ``notional / leverage``; the
maintenance margin is ``notional · mmr − maintenance_amount`` (Binance's tiers: a rate
and a cumulative amount). A position with margin ``M`` (isolated: the margin posted
for it; cross: the account equity available to it) is liquidated when its margin plus
open profit falls to the maintenance margin, which gives, with ``Q = q · contract_size``
and entry price ``E``::

    long:  P_liq = (Q·E − M − cum) / (Q · (1 − mmr))
    short: P_liq = (Q·E + M + cum) / (Q · (1 + mmr))

(fees and funding are not included). Spot accounts have no leverage, no short positions
and no liquidation: a buy needs its full notional in cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from ..domain.market import ContractType, Market
from ..domain.positions import Position, PositionSide

__all__ = ["MarginCalculator", "MarginConfig", "MarginMode"]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


class MarginMode(StrEnum):
    ISOLATED = "isolated"
    CROSS = "cross"


@dataclass(frozen=True)
class MarginConfig:
    """Leverage (futures), maintenance margin rate and amount, margin mode."""

    leverage: Decimal = _ONE
    maintenance_rate: Decimal = Decimal("0.005")
    maintenance_amount: Decimal = _ZERO
    mode: MarginMode = MarginMode.ISOLATED

    def __post_init__(self) -> None:
        if self.leverage < 1:
            raise ValueError(f"leverage {self.leverage}: expected at least 1")
        if not (0 <= self.maintenance_rate < 1):
            raise ValueError(f"maintenance_rate {self.maintenance_rate}: expected a fraction in [0, 1)")
        if self.leverage * self.maintenance_rate >= 1:
            raise ValueError(
                f"leverage {self.leverage} with maintenance rate {self.maintenance_rate}: a new position would be "
                "liquidated at once (initial margin must exceed maintenance margin)"
            )


class MarginCalculator:
    """Margin arithmetic for one account configuration."""

    def __init__(self, config: MarginConfig | None = None) -> None:
        self.config = config or MarginConfig()

    def leverage(self, market: Market) -> Decimal:
        return _ONE if market.contract is ContractType.SPOT else self.config.leverage

    @staticmethod
    def notional(market: Market, qty: Decimal, price: Decimal) -> Decimal:
        return abs(qty) * price * market.contract_size

    def initial_margin(self, market: Market, qty: Decimal, price: Decimal) -> Decimal:
        """Margin to open ``qty`` at ``price`` (spot: the full cost)."""
        return self.notional(market, qty, price) / self.leverage(market)

    def maintenance_margin(self, market: Market, qty: Decimal, price: Decimal) -> Decimal:
        if market.contract is ContractType.SPOT:
            return _ZERO
        value = self.notional(market, qty, price) * self.config.maintenance_rate - self.config.maintenance_amount
        return max(value, _ZERO)

    def isolated_margin(self, market: Market, position: Position) -> Decimal:
        """The margin posted for ``position`` in isolated mode: its entry notional / leverage."""
        avg = position.avg_price
        return _ZERO if avg is None else self.initial_margin(market, position.size, avg)

    def liquidation_price(self, market: Market, position: Position, *, margin: Decimal | None = None) -> Decimal | None:
        """Where ``position`` is liquidated with ``margin`` behind it (default: its isolated
        margin); None for spot, a flat position, or a long that cannot be liquidated."""
        avg = position.avg_price
        if market.contract is ContractType.SPOT or avg is None:
            return None
        posted = self.isolated_margin(market, position) if margin is None else margin
        units = position.size * market.contract_size
        mmr, cum = self.config.maintenance_rate, self.config.maintenance_amount
        if position.side is PositionSide.LONG:
            price = (units * avg - posted - cum) / (units * (_ONE - mmr))
            return price if price > 0 else None
        return (units * avg + posted + cum) / (units * (_ONE + mmr))

    def required(self, market: Market, position_after: Decimal, price: Decimal) -> Decimal:
        """Initial margin of a position of signed size ``position_after`` at ``price``."""
        return self.initial_margin(market, position_after, price)
