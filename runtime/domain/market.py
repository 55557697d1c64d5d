"""A market definition: symbol, price and quantity precision, limits, contract type."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum

__all__ = ["ContractType", "Market", "MarketError"]


class MarketError(ValueError):
    """A price or quantity that does not fit the market (off-grid, below minimum, …)."""


class ContractType(StrEnum):
    SPOT = "spot"
    LINEAR_PERPETUAL = "linear_perpetual"


@dataclass(frozen=True)
class Market:
    """What the venue trades. ``tick_size`` and ``lot_size`` are the price and quantity
    grids; ``min_qty`` and ``min_notional`` are the venue's minimums."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    contract: ContractType = ContractType.LINEAR_PERPETUAL
    base: str = ""
    quote: str = "USDT"
    contract_size: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or value <= 0:
                raise MarketError(f"market {self.symbol}: {name} must be a positive Decimal, got {value!r}")

    def price(self, value: Decimal | float | str) -> Decimal:
        """``value`` rounded half-up to the tick grid (for prices that come from data)."""
        return _quantise(Decimal(str(value)), self.tick_size, ROUND_HALF_UP)

    def qty(self, value: Decimal | float | str) -> Decimal:
        """``value`` floored to the lot grid (a sized quantity never exceeds its budget)."""
        return _quantise(Decimal(str(value)), self.lot_size, ROUND_DOWN)

    def check_price(self, value: Decimal) -> Decimal:
        """``value`` unchanged if it is on the tick grid, else :class:`MarketError`."""
        if value <= 0 or value % self.tick_size != 0:
            raise MarketError(
                f"{self.symbol}: price {value} is not a positive multiple of the tick size {self.tick_size}"
            )
        return value

    def check_qty(self, value: Decimal, price: Decimal | None = None) -> Decimal:
        """``value`` unchanged if it is on the lot grid and above the minimums, else an error."""
        if value <= 0 or value % self.lot_size != 0:
            raise MarketError(
                f"{self.symbol}: quantity {value} is not a positive multiple of the lot size {self.lot_size}"
            )
        if value < self.min_qty:
            raise MarketError(f"{self.symbol}: quantity {value} is below the minimum {self.min_qty}")
        if price is not None and value * price * self.contract_size < self.min_notional:
            raise MarketError(f"{self.symbol}: notional {value * price} is below the minimum {self.min_notional}")
        return value


def _quantise(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    units = (value / step).quantize(Decimal(1), rounding=rounding)
    return (units * step).quantize(step)
