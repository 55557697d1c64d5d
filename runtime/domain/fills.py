"""Fills: what a venue reports when (part of) an order trades."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

import pandas as pd

from .orders import OrderError, Side

__all__ = ["Fill", "FillOrigin"]

_ZERO: Final = Decimal(0)


class FillOrigin(StrEnum):
    """Why the venue traded."""

    ORDER = "order"
    """An order of ours filled."""
    INTRADAY_LOSS = "intraday_loss"
    """The venue flattened the position: the day's loss limit was reached (TradingView's
    ``strategy.risk.max_intraday_loss``); there is no order of ours behind it."""
    STOP_LOSS = "stop_loss"
    """A protective exit attached to the position (:mod:`.protection`) traded: the
    stop-loss, the trailing stop, the take-profit or a scale-out (no order of ours)."""
    TRAILING_STOP = "trailing_stop"
    TAKE_PROFIT = "take_profit"
    SCALE_OUT = "scale_out"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution. ``qty`` is what traded (an entry that reverses a position trades
    the closing and the opening leg in one fill); ``leaves_qty`` is what the order still
    has to fill afterwards; ``commission`` is this fill's, in the quote currency.

    ``ts`` is when it traded and ``received`` when the engine learned of it.
    ``bar_time`` is the open time of the candle a simulated venue filled it in (trade
    lists label fills by bar, as TradingView does); None from real venues.
    ``client_order_id`` is empty for fills no order of ours caused (``origin``)."""

    fill_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    commission: Decimal
    ts: pd.Timestamp
    received: pd.Timestamp
    leaves_qty: Decimal = _ZERO
    bar_time: pd.Timestamp | None = None
    origin: FillOrigin = FillOrigin.ORDER

    def __post_init__(self) -> None:
        if not self.qty.is_finite() or self.qty <= 0:
            raise OrderError(f"fill {self.fill_id}: quantity {self.qty} must be a positive finite number")
        if not self.price.is_finite() or self.price <= 0:
            raise OrderError(f"fill {self.fill_id}: price {self.price} must be a positive finite number")
        if not self.commission.is_finite() or self.commission < 0 or self.leaves_qty < 0:
            raise OrderError(f"fill {self.fill_id}: commission and leaves quantity must be finite and >= 0")

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side is Side.BUY else -self.qty
