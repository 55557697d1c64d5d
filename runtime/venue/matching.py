"""Where inside a bar resting orders trigger: TradingView's bar-path assumption.

A bar is walked open → nearer extreme → farther extreme → close (the high first only
when it is strictly nearer the open; a tie goes to the low first). On each segment the
order reached first fills; an order already beyond the price when it becomes live (a
gap) fills at that price. Orders already triggered at the open fill entries first (as
TradingView's gap batch); later, and at equal levels, exits fill before entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quantbridge.datasets.execution import BarPath

from ..domain.marketdata import Candle
from ..domain.orders import OrderType, Side

__all__ = ["Resting", "bar_path", "first_trigger", "triggered_at"]

Path = tuple[Decimal, Decimal, Decimal, Decimal]


def bar_path(candle: Candle, path: BarPath) -> Path:
    """The four points the bar is assumed to visit."""
    o, h, low, c = candle.open, candle.high, candle.low, candle.close
    # TradingView: the high first only when strictly nearer the open (a tie goes low first)
    high_first = (h - o) < (o - low) if path is BarPath.TRADINGVIEW else path is BarPath.OPEN_HIGH_LOW_CLOSE
    return (o, h, low, c) if high_first else (o, low, h, c)


@dataclass(frozen=True, slots=True)
class Resting:
    """A resting order as the trigger search sees it. ``rank`` orders orders of one group
    (entries: buys before sells, stops before limits; exits: stops before limits; then
    submission order)."""

    key: str
    side: Side
    type: OrderType
    level: Decimal
    is_exit: bool
    rank: tuple[bool, bool, int]

    @property
    def rises(self) -> bool:
        """Triggered by a rising price (a buy stop or a sell limit)."""
        return (self.side is Side.BUY) == (self.type is OrderType.STOP)


def triggered_at(order: Resting, price: Decimal) -> bool:
    return price >= order.level if order.rises else price <= order.level


def first_trigger(orders: list[Resting], cur: Decimal, target: Decimal, *, at_open: bool) -> Resting | None:
    """The order that fills first when the price moves from ``cur`` to ``target``."""
    already = [o for o in orders if triggered_at(o, cur)]
    if already:
        return min(already, key=lambda o: (o.is_exit if at_open else not o.is_exit, o.rank))
    rising = target > cur
    reached = [o for o in orders if o.rises == rising and triggered_at(o, target)]
    if not reached:
        return None
    return min(reached, key=lambda o: (o.level if rising else -o.level, not o.is_exit, o.rank))
