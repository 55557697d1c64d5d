"""Protective exits attached to a position (a bracket): Pine's ``strategy.exit(from_entry=…)``.

An entry order may carry a :class:`Protection`. When the entry fills, the venue computes
the exit levels from the position's average entry price and keeps them working while the
position is open, from the fill point on the entry bar itself:

* ``stop_loss_pct`` — a stop ``pct`` percent against the average price;
* ``trailing_stop_pct`` — a stop ``pct`` percent behind the best extreme of the closed
  bars since entry (the entry price until the entry bar closes); the tighter of the two
  stops works, labelled by which one it is;
* ``take_profit_pct`` — a limit ``pct`` percent in favour of the average price;
* ``scale_outs`` — limits that each take a fraction of the *initial* quantity off, one
  after the other, at increasing profit percents;
* ``cooldown_bars`` — after a stop-loss exit (not a trailing stop) the venue fills no
  entry of that symbol on the rest of that bar and the next ``cooldown_bars`` bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

__all__ = ["Protection", "ProtectionError", "ProtectiveKind", "ScaleOutLevel"]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


class ProtectionError(ValueError):
    """A protection that cannot exist (a non-positive percent, scale-outs beyond the position…)."""


class ProtectiveKind(StrEnum):
    """Which protective exit traded (the trade list's exit reason of the same name)."""

    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    TAKE_PROFIT = "take_profit"
    SCALE_OUT = "scale_out"


@dataclass(frozen=True, slots=True)
class ScaleOutLevel:
    """Take ``fraction`` of the initial quantity off at ``at_pct`` percent of profit."""

    at_pct: Decimal
    fraction: Decimal

    def __post_init__(self) -> None:
        if not (self.at_pct.is_finite() and self.at_pct > 0):
            raise ProtectionError(f"scale-out level {self.at_pct}: expected a positive percent")
        if not (self.fraction.is_finite() and _ZERO < self.fraction <= _ONE):
            raise ProtectionError(f"scale-out fraction {self.fraction}: expected a fraction in (0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Protection:
    """The protective exits an entry order attaches to its position (see the module docstring)."""

    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    trailing_stop_pct: Decimal | None = None
    scale_outs: tuple[ScaleOutLevel, ...] = ()
    cooldown_bars: int = 0

    def __post_init__(self) -> None:
        for name in ("stop_loss_pct", "take_profit_pct", "trailing_stop_pct"):
            value = getattr(self, name)
            if value is not None and not (value.is_finite() and value > 0):
                raise ProtectionError(f"{name} {value}: expected a positive percent")
        if self.cooldown_bars < 0:
            raise ProtectionError(f"cooldown_bars {self.cooldown_bars}: expected at least 0")
        if sum((s.fraction for s in self.scale_outs), _ZERO) > _ONE:
            raise ProtectionError("scale_outs take more than the whole initial quantity")
        levels = [s.at_pct for s in self.scale_outs]
        if levels != sorted(levels):
            raise ProtectionError("scale_outs: expected increasing at_pct levels")

    @property
    def is_empty(self) -> bool:
        """No exit at all (a cooldown alone protects nothing)."""
        stops = (self.stop_loss_pct, self.take_profit_pct, self.trailing_stop_pct)
        return all(value is None for value in stops) and not self.scale_outs
