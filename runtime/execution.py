"""The shared :class:`~quantbridge.datasets.execution.ExecutionModel` in exact arithmetic.

The research simulator applies the model with floats; the runtime applies the same
rules with ``Decimal`` on one market's grids (``Market.tick_size``, ``lot_size``,
``contract_size`` are authoritative here; the model's ``instrument`` describes the same
thing for the vectorised path). The rules, as in ``research/simulator/kernel.py``:

* **commission** — percent of the filled value, cash per unit, or cash per fill;
* **slippage** — ticks or percent against the order, on market and stop fills; fill
  prices are then snapped half-up to the tick grid;
* **order prices** — rounded to the grid in the cautious direction (buy stops up, buy
  limits down, sell stops down, sell limits up); a level within 1e-4 tick of a grid
  line counts as on it;
* **sizing** — a fixed quantity, or money (fixed cash, or percent of equity rounded to
  10 significant digits) turned into units with the commission included in the unit
  cost, floored to the lot grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Final

from quantbridge.datasets.execution import CommissionType, ExecutionModel, SizingType, SlippageType

from .domain.market import Market
from .domain.orders import OrderType, Side

__all__ = ["DEFAULT_MONEY_STEP", "Pricing", "round_significant", "to_decimal"]

#: Cash, commission and P&L are kept on this grid unless configured otherwise.
DEFAULT_MONEY_STEP: Final = Decimal("0.00000001")
_ON_GRID: Final = Decimal("0.0001")  # in ticks
_HUNDRED: Final = Decimal(100)
_ZERO: Final = Decimal(0)


def to_decimal(value: Decimal | float | int | str) -> Decimal:
    """``value`` as a Decimal; a float by its shortest repr (``0.1`` is ``Decimal('0.1')``,
    ``5.0`` is ``Decimal('5')``)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # numpy floats too: their repr is not the number's
        text = float.__repr__(value)
        return Decimal(text.removesuffix(".0"))
    return Decimal(str(value))


def round_significant(value: Decimal, digits: int) -> Decimal:
    """``value`` rounded half-up to ``digits`` significant digits."""
    if not value or not value.is_finite():
        return value
    return value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Pricing:
    """The model's costs, rounding and sizing on one market."""

    market: Market
    model: ExecutionModel
    money_step: Decimal = DEFAULT_MONEY_STEP
    _commission: Decimal = field(init=False, repr=False)
    _slippage: Decimal = field(init=False, repr=False)
    _size: Decimal = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_commission", to_decimal(self.model.commission))
        slippage = to_decimal(self.model.slippage)
        if self.model.slippage_type is SlippageType.TICKS:
            slippage *= self.market.tick_size
        object.__setattr__(self, "_slippage", slippage)
        object.__setattr__(self, "_size", to_decimal(self.model.size))

    @property
    def point_value(self) -> Decimal:
        return self.market.contract_size

    def commission(self, price: Decimal, qty: Decimal) -> Decimal:
        """Commission of one fill, on the money grid."""
        kind = self.model.commission_type
        if kind is CommissionType.PERCENT:
            amount = price * qty * self.point_value * self._commission / _HUNDRED
        elif kind is CommissionType.PER_CONTRACT:
            amount = qty * self._commission
        else:
            amount = self._commission
        return amount.quantize(self.money_step, rounding=ROUND_HALF_UP)

    def fill_price(self, price: Decimal, side: Side, *, slip: bool) -> Decimal:
        """``price`` moved against a ``side`` order by the slippage (market and stop fills),
        snapped half-up to the tick grid."""
        if slip and self._slippage:
            amount = self._slippage
            if self.model.slippage_type is SlippageType.PERCENT:
                amount = price * self._slippage / _HUNDRED
            price = price + amount * side.sign
        return self.market.price(price)

    def order_level(self, level: Decimal, side: Side, order_type: OrderType) -> Decimal:
        """A stop or limit level on the tick grid, rounded in the order's cautious direction."""
        tick = self.market.tick_size
        ticks = level / tick
        nearest = ticks.to_integral_value(rounding=ROUND_HALF_UP)
        if abs(ticks - nearest) < _ON_GRID:
            units = nearest
        else:
            up = (side is Side.BUY) == (order_type is OrderType.STOP)
            units = ticks.to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
        return (units * tick).quantize(tick)

    def budget(self, equity: Decimal) -> Decimal | None:
        """Money behind a sized entry (None for a fixed quantity)."""
        sizing = self.model.sizing
        if sizing is SizingType.FIXED_QTY:
            return None
        money = self._size if sizing is SizingType.FIXED_CASH else equity * self._size / _HUNDRED
        return round_significant(money, 10)

    @property
    def fixed_qty(self) -> Decimal:
        """The quantity of a fixed-quantity model."""
        return self._size

    def qty_for_budget(self, budget: Decimal, price: Decimal) -> Decimal:
        """Units ``budget`` buys at ``price``, the commission included in the unit cost,
        floored to the lot grid (0 when it buys nothing)."""
        unit = price * self.point_value
        kind = self.model.commission_type
        if kind is CommissionType.PERCENT:
            unit *= 1 + self._commission / _HUNDRED
        elif kind is CommissionType.PER_CONTRACT:
            unit += self._commission
        else:
            budget -= self._commission
        if budget <= 0 or unit <= 0:
            return _ZERO
        return self.market.qty(budget / unit)
