"""Position management rules declared beside a prototype, not coded into it."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["PositionRules", "ScaleOut", "StopMode"]


class StopMode(StrEnum):
    INTRABAR = "intrabar"
    """Stop-loss / take-profit are resting stop / limit orders, filled inside the bar
    along the ExecutionModel's bar path (Pine ``strategy.exit(stop=…, limit=…)``)."""
    ON_CLOSE = "on_close"
    """Checked on the bar's close against its low/high; the exit is a market order on
    the next bar (a Pine script that tests ``low <= stop`` and calls ``strategy.close``)."""


class ScaleOut(BaseModel):
    """Take ``fraction`` of the initial position off at ``at_pct`` percent of profit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at_pct: float = Field(gt=0.0)
    fraction: float = Field(gt=0.0, le=1.0)


class PositionRules(BaseModel):
    """Stops, targets, time exits, cooldown, flipping and scale-outs.

    Percent levels are relative to the position's average entry price. The trailing
    stop trails the best close-to-date extreme (highest high for a long, lowest low for
    a short) seen on closed bars since entry, and rests as a stop order on the next bar.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stop_loss_pct: float | None = Field(default=None, gt=0.0)
    take_profit_pct: float | None = Field(default=None, gt=0.0)
    stop_mode: StopMode = StopMode.INTRABAR
    trailing_stop_pct: float | None = Field(default=None, gt=0.0)
    max_bars_held: int | None = Field(default=None, ge=1)
    cooldown_bars: int = Field(default=0, ge=0, description="Bars without entries after a stop-loss exit.")
    flip: bool = Field(default=True, description="An opposite entry reverses the position (else it waits for flat).")
    scale_outs: tuple[ScaleOut, ...] = ()

    @model_validator(mode="after")
    def _scale_outs_fit(self) -> PositionRules:
        total = sum(s.fraction for s in self.scale_outs)
        if total > 1.0 + 1e-12:
            raise ValueError(f"scale_outs take {total:.3f} of the position; expected at most 1.0")
        levels = [s.at_pct for s in self.scale_outs]
        if levels != sorted(levels):
            raise ValueError("scale_outs: expected increasing at_pct levels")
        return self

    @property
    def is_plain(self) -> bool:
        """No stateful rule: entries and exits come from the signals alone."""
        return self == PositionRules()

    def fingerprint(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
