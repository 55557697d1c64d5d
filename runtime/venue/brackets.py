"""The simulated venue's protective exits attached to a position (brackets).

A :class:`Bracket` is the state behind one position's
:class:`~quantbridge.runtime.domain.protection.Protection`: the initial quantity (what
scale-outs take fractions of), the best extreme of the closed bars since entry (what a
trailing stop trails) and how many scale-outs have traded. Its levels are computed from
the position's average entry price each time they are asked for, as
``research/simulator/kernel.py::protective_levels`` does, and rounded to the tick grid
in each order's cautious direction.

As resting orders they rank before the strategy's own exits and among themselves as the
kernel's slots: the stop (stop-loss or trailing), then the take-profit, then the next
scale-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ..domain.orders import OrderType, Side
from ..domain.positions import Position
from ..domain.protection import Protection, ProtectiveKind
from ..execution import Pricing
from .matching import Resting

__all__ = ["BRACKET_PREFIX", "Bracket", "bracket_kind", "bracket_orders"]

BRACKET_PREFIX: Final = "bracket:"
_HUNDRED: Final = Decimal(100)


@dataclass(slots=True)
class Bracket:
    """One position's protective state (mutable: the venue owns it)."""

    protection: Protection
    entry_id: str
    init_qty: Decimal
    extreme: Decimal
    scales_done: int = 0

    def update_extreme(self, position: Position, high: Decimal, low: Decimal) -> None:
        """Follow the closed bar's best price (the kernel's ``update_extreme``)."""
        if position.side.sign > 0:
            self.extreme = max(self.extreme, high)
        elif position.side.sign < 0:
            self.extreme = min(self.extreme, low)

    def scale_qty(self) -> Decimal:
        """The quantity the next scale-out takes off."""
        return self.init_qty * self.protection.scale_outs[self.scales_done].fraction


def _key(kind: ProtectiveKind, symbol: str) -> str:
    return f"{BRACKET_PREFIX}{kind.value}:{symbol}"


def bracket_kind(key: str) -> ProtectiveKind:
    """The kind of protective exit a resting key names."""
    return ProtectiveKind(key.removeprefix(BRACKET_PREFIX).split(":", 1)[0])


def _level(base: Decimal, pct: Decimal, sign: int) -> Decimal:
    return base * (1 + sign * pct / _HUNDRED)


def _stop(bracket: Bracket, avg: Decimal, side: int, pricing: Pricing) -> tuple[Decimal | None, ProtectiveKind]:
    """The working stop: the stop-loss, or the trailing stop when strictly tighter."""
    p, closing = bracket.protection, Side.SELL if side > 0 else Side.BUY
    stop, kind = None, ProtectiveKind.STOP_LOSS
    if p.stop_loss_pct is not None:
        stop = pricing.order_level(_level(avg, p.stop_loss_pct, -side), closing, OrderType.STOP)
    if p.trailing_stop_pct is not None:
        trail = pricing.order_level(_level(bracket.extreme, p.trailing_stop_pct, -side), closing, OrderType.STOP)
        if stop is None or (trail - stop) * side > 0:
            stop, kind = trail, ProtectiveKind.TRAILING_STOP
    return stop, kind


def _limits(bracket: Bracket, avg: Decimal, side: int, pricing: Pricing) -> list[tuple[ProtectiveKind, Decimal]]:
    p, closing = bracket.protection, Side.SELL if side > 0 else Side.BUY
    out: list[tuple[ProtectiveKind, Decimal]] = []
    if p.take_profit_pct is not None:
        take = pricing.order_level(_level(avg, p.take_profit_pct, side), closing, OrderType.LIMIT)
        out.append((ProtectiveKind.TAKE_PROFIT, take))
    if bracket.scales_done < len(p.scale_outs):
        at_pct = p.scale_outs[bracket.scales_done].at_pct
        out.append((ProtectiveKind.SCALE_OUT, pricing.order_level(_level(avg, at_pct, side), closing, OrderType.LIMIT)))
    return out


def bracket_orders(bracket: Bracket, position: Position, pricing: Pricing) -> list[Resting]:
    """The protective exits working now for ``position``, as resting orders."""
    avg = position.avg_price
    if avg is None or position.is_flat:
        return []
    side = position.side.sign
    closing = Side.SELL if side > 0 else Side.BUY
    out: list[Resting] = []
    stop, kind = _stop(bracket, avg, side, pricing)
    if stop is not None:
        out.append(Resting(_key(kind, position.symbol), closing, OrderType.STOP, stop, True, (False, False, -3)))
    for rank, (limit_kind, level) in enumerate(_limits(bracket, avg, side, pricing)):
        key = _key(limit_kind, position.symbol)
        out.append(Resting(key, closing, OrderType.LIMIT, level, True, (True, False, rank - 2)))
    return out
