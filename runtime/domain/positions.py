"""Positions as first-in-first-out lots, and the pure arithmetic of applying a fill.

:func:`apply_fill` is the one implementation of position accounting: the simulated
venue's book and the engine's account both call it, so they cannot disagree. It follows
TradingView's broker emulator (and ``research/simulator/kernel.py``): each entry fill
opens a lot; an opposite fill closes lots oldest first, one trade row per lot touched;
a fill that closes more than the position reverses it, its commission shared by the
closing and the opening leg pro rata; a lot's entry commission is charged to the trades
that close it, pro rata to the quantity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

import pandas as pd

from quantbridge.datasets.trade_list import ExitReason

from .fills import Fill
from .orders import Intent, Order

__all__ = [
    "ClosedTrade",
    "FillEffect",
    "Lot",
    "Position",
    "PositionSide",
    "apply_fill",
    "closes_position",
    "open_trades",
]

_ZERO: Final = Decimal(0)


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"
    FLAT = "flat"

    @property
    def sign(self) -> int:
        return _SIGNS[self]

    @classmethod
    def of(cls, sign: int) -> PositionSide:
        return cls.LONG if sign > 0 else cls.SHORT if sign < 0 else cls.FLAT


_SIGNS: Final = {PositionSide.LONG: 1, PositionSide.SHORT: -1, PositionSide.FLAT: 0}


@dataclass(frozen=True, slots=True)
class Lot:
    """One entry fill still (partly) open: quantity, fill price, the part of its entry
    commission not yet charged to a trade, when it traded, the bar it filled in, the
    order that opened it and that order's tag (the trade list's ``entry_signal``)."""

    qty: Decimal
    price: Decimal
    commission: Decimal
    ts: pd.Timestamp
    bar_time: pd.Timestamp
    order_id: str
    tag: str


@dataclass(frozen=True, slots=True)
class Position:
    """The position in one symbol: its side and open lots (oldest first)."""

    symbol: str
    side: PositionSide = PositionSide.FLAT
    lots: tuple[Lot, ...] = ()

    @property
    def size(self) -> Decimal:
        """Absolute quantity."""
        return sum((lot.qty for lot in self.lots), _ZERO)

    @property
    def qty(self) -> Decimal:
        """Signed quantity: positive long, negative short."""
        return self.size * self.side.sign

    @property
    def avg_price(self) -> Decimal | None:
        size = self.size
        if not size:
            return None
        return sum((lot.qty * lot.price for lot in self.lots), _ZERO) / size

    @property
    def entries(self) -> int:
        """Entry orders behind the open lots (what TradingView's pyramiding limit counts)."""
        return len({lot.order_id for lot in self.lots})

    @property
    def is_flat(self) -> bool:
        return self.side is PositionSide.FLAT

    def unrealised(self, price: Decimal, point_value: Decimal) -> Decimal:
        """Open profit marked at ``price`` (before the lots' exit commission)."""
        sign = self.side.sign
        return sum(((price - lot.price) * lot.qty * sign * point_value for lot in self.lots), _ZERO)


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One row of the trade list: a lot, or the part of it one fill closed. ``entry_time``
    and ``exit_time`` are bar open times (``exit_time`` None while open);
    ``commission`` is the entry and exit commission of this row; ``pnl`` is net."""

    symbol: str
    side: PositionSide
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    entry_time: pd.Timestamp
    exit_time: pd.Timestamp | None
    commission: Decimal
    pnl: Decimal
    entry_signal: str
    exit_reason: ExitReason
    is_open: bool = False


@dataclass(frozen=True, slots=True)
class FillEffect:
    """What a fill did: the new position, the trades it closed, and the change in cash
    (realised profit minus commission)."""

    position: Position
    trades: tuple[ClosedTrade, ...]
    cash_delta: Decimal


def _money(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def _share(amount: Decimal, part: Decimal, whole: Decimal, step: Decimal) -> Decimal:
    """``amount × part / whole`` on the money grid; exactly ``amount`` for the whole."""
    return amount if part == whole else _money(amount * part / whole, step)


@dataclass(frozen=True, slots=True)
class _Closing:
    """The parameters of closing lots at one fill."""

    fill: Fill
    qty: Decimal
    commission: Decimal
    point_value: Decimal
    money_step: Decimal
    reason: ExitReason


@dataclass(frozen=True, slots=True)
class _Piece:
    """One closed row, the entry commission it charged to its lot, and its cash effect
    (gross profit minus the exit commission; the entry commission was paid at entry)."""

    trade: ClosedTrade
    entry_commission: Decimal
    cash: Decimal


def _close_lot(lot: Lot, take: Decimal, exit_commission: Decimal, side: PositionSide, c: _Closing) -> _Piece:
    bar = c.fill.bar_time if c.fill.bar_time is not None else c.fill.ts
    entry_commission = _share(lot.commission, take, lot.qty, c.money_step)
    gross = _money((c.fill.price - lot.price) * take * side.sign * c.point_value, c.money_step)
    trade = ClosedTrade(
        symbol=c.fill.symbol,
        side=side,
        qty=take,
        entry_price=lot.price,
        exit_price=c.fill.price,
        entry_time=lot.bar_time,
        exit_time=bar,
        commission=entry_commission + exit_commission,
        pnl=gross - entry_commission - exit_commission,
        entry_signal=lot.tag,
        exit_reason=c.reason,
    )
    return _Piece(trade, entry_commission, gross - exit_commission)


def _close_fifo(position: Position, c: _Closing) -> tuple[tuple[Lot, ...], tuple[ClosedTrade, ...], Decimal]:
    """Close ``c.qty`` oldest lot first; returns the lots left, the trades and the cash effect."""
    remaining, commission_left, cash = c.qty, c.commission, _ZERO
    kept: list[Lot] = []
    trades: list[ClosedTrade] = []
    for lot in position.lots:
        if remaining <= 0:
            kept.append(lot)
            continue
        take = min(lot.qty, remaining)
        remaining -= take
        exit_commission = commission_left if remaining <= 0 else _share(c.commission, take, c.qty, c.money_step)
        commission_left -= exit_commission
        piece = _close_lot(lot, take, exit_commission, position.side, c)
        trades.append(piece.trade)
        cash += piece.cash
        if take < lot.qty:
            kept.append(replace(lot, qty=lot.qty - take, commission=lot.commission - piece.entry_commission))
    return tuple(kept), tuple(trades), cash


def apply_fill(
    position: Position,
    fill: Fill,
    *,
    point_value: Decimal,
    money_step: Decimal,
    tag: str,
    reason: ExitReason,
) -> FillEffect:
    """``position`` after ``fill``. ``tag`` names the entry (for lots it opens); ``reason``
    is the exit reason of the trades it closes."""
    sign = fill.side.sign
    if position.side.sign in (0, sign):
        lot = _open_lot(fill, fill.qty, fill.commission, tag)
        return FillEffect(Position(fill.symbol, PositionSide.of(sign), (*position.lots, lot)), (), -fill.commission)
    closing = min(fill.qty, position.size)
    opening = fill.qty - closing
    closing_commission = _share(fill.commission, closing, fill.qty, money_step)
    c = _Closing(fill, closing, closing_commission, point_value, money_step, reason)
    kept, trades, cash = _close_fifo(position, c)
    if opening > 0:
        lot = _open_lot(fill, opening, fill.commission - closing_commission, tag)
        return FillEffect(Position(fill.symbol, PositionSide.of(sign), (lot,)), trades, cash - lot.commission)
    side = position.side if kept else PositionSide.FLAT
    return FillEffect(Position(fill.symbol, side, kept), trades, cash)


def _open_lot(fill: Fill, qty: Decimal, commission: Decimal, tag: str) -> Lot:
    bar = fill.bar_time if fill.bar_time is not None else fill.ts
    return Lot(qty, fill.price, commission, fill.ts, bar, fill.client_order_id, tag)


def open_trades(
    position: Position, price: Decimal, *, point_value: Decimal, money_step: Decimal
) -> tuple[ClosedTrade, ...]:
    """The open lots as trade-list rows marked at ``price`` (``is_open``; their commission
    is the entry commission only)."""
    rows = []
    for lot in position.lots:
        gross = _money((price - lot.price) * lot.qty * position.side.sign * point_value, money_step)
        rows.append(
            ClosedTrade(
                symbol=position.symbol,
                side=position.side,
                qty=lot.qty,
                entry_price=lot.price,
                exit_price=price,
                entry_time=lot.bar_time,
                exit_time=None,
                commission=lot.commission,
                pnl=gross - lot.commission,
                entry_signal=lot.tag,
                exit_reason=ExitReason.OPEN,
                is_open=True,
            )
        )
    return tuple(rows)


def closes_position(order: Order, position: Position) -> bool:
    """``order`` is an exit of the whole of ``position`` (whose size may be off the lot
    grid after a scale-out took a fraction of it)."""
    opposite = position.side.sign == -order.side.sign
    return order.intent is Intent.EXIT and opposite and order.qty == position.size
