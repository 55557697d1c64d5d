"""The execution vocabulary both engines speak: one ExecutionModel and one Instrument.

The research simulator (vectorised) and the runtime's simulated venue (event-driven)
take the *same* :class:`ExecutionModel` value, so fill timing, costs, sizing and the
intrabar assumptions cannot drift apart. It lives in ``datasets`` because that is the
one layer both ``research`` and ``runtime`` may import.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BarPath",
    "CommissionType",
    "ExecutionModel",
    "Instrument",
    "SizingType",
    "SlippageType",
    "Timing",
]


class Timing(StrEnum):
    """When a market order decided on a bar's close is filled."""

    NEXT_BAR_OPEN = "next_bar_open"
    """At the next bar's open (Pine ``process_orders_on_close=false``, the default)."""
    BAR_CLOSE = "bar_close"
    """At the signal bar's close (Pine ``process_orders_on_close=true``)."""


class CommissionType(StrEnum):
    PERCENT = "percent"
    """Percent of the filled value (price × quantity × point value)."""
    PER_CONTRACT = "per_contract"
    """Cash per unit of quantity."""
    PER_ORDER = "per_order"
    """Cash per fill."""


class SlippageType(StrEnum):
    TICKS = "ticks"
    """Ticks against the order on market and stop fills (TradingView's ``slippage``)."""
    PERCENT = "percent"
    """Percent of the price against the order on market and stop fills."""


class SizingType(StrEnum):
    FIXED_QTY = "fixed_qty"
    FIXED_CASH = "fixed_cash"
    PERCENT_OF_EQUITY = "percent_of_equity"


class BarPath(StrEnum):
    """The price path assumed inside a bar when stop and limit orders are checked."""

    TRADINGVIEW = "tradingview"
    """open → high → low → close when the high is nearer the open, else open → low →
    high → close (TradingView's broker emulator without bar magnifier)."""
    OPEN_HIGH_LOW_CLOSE = "ohlc"
    OPEN_LOW_HIGH_CLOSE = "olhc"


class Instrument(BaseModel):
    """What is traded: the price grid, the quantity grid and the contract multiplier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = "SYMBOL"
    tick_size: float = Field(default=0.0, ge=0.0, description="Price grid (Pine syminfo.mintick); 0 = continuous.")
    qty_step: float = Field(default=0.0, ge=0.0, description="Quantity grid; sized quantities round down to it.")
    min_qty: float = Field(default=0.0, ge=0.0)
    point_value: float = Field(default=1.0, gt=0.0, description="Cash per 1.0 of price per unit (futures multiplier).")


class ExecutionModel(BaseModel):
    """How orders become fills, shared by the vectorised simulator and the venue.

    Defaults follow a TradingView strategy with default properties: next-bar-open
    fills, no costs, one contract, capital 1,000,000, no pyramiding, TradingView's
    intrabar path.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timing: Timing = Timing.NEXT_BAR_OPEN
    commission: float = Field(default=0.0, ge=0.0)
    commission_type: CommissionType = CommissionType.PERCENT
    slippage: float = Field(default=0.0, ge=0.0)
    slippage_type: SlippageType = SlippageType.TICKS
    sizing: SizingType = SizingType.FIXED_QTY
    size: float = Field(default=1.0, gt=0.0, description="Quantity, cash, or percent of equity, by `sizing`.")
    initial_capital: float = Field(default=1_000_000.0, gt=0.0)
    pyramiding: int = Field(default=1, ge=1, description="Entries allowed in one direction (Pine 0 and 1 both mean 1).")
    bar_path: BarPath = BarPath.TRADINGVIEW
    instrument: Instrument = Instrument()
    max_intraday_loss_pct: float | None = Field(
        default=None,
        gt=0.0,
        description="Pine strategy.risk.max_intraday_loss(…, percent_of_equity): flatten and stop for the day.",
    )
    session_timezone: str = Field(default="UTC", description="Timezone of the trading day (intraday loss limit).")
    session_start: str = Field(
        default="00:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time a trading day starts (FX and futures: the previous evening, e.g. 17:00 New York).",
    )

    @model_validator(mode="after")
    def _slippage_needs_ticks(self) -> ExecutionModel:
        if self.slippage and self.slippage_type is SlippageType.TICKS and not self.instrument.tick_size:
            raise ValueError("slippage in ticks needs instrument.tick_size > 0")
        return self

    def fingerprint(self) -> str:
        """A stable hash of every setting (for parity certificates and caches)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
