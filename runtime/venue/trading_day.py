"""Trading days and TradingView's max intraday loss.

A trading day starts at ``session_start`` local time in ``timezone`` (FX and futures: the
previous evening, e.g. 17:00 New York). ``strategy.risk.max_intraday_loss(x,
strategy.percent_of_equity)`` anchors equity at the previous close when a day starts;
once equity falls x% below the anchor the position is closed and entries are blocked
until the next trading day.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

__all__ = ["DayState", "TradingDays"]

_DAY_NS = 86_400_000_000_000


class TradingDays:
    """Trading-day numbers of UTC times (cached per day: one computation per day)."""

    __slots__ = ("_day", "_lower", "_offset", "_timezone", "_upper")

    def __init__(self, timezone: str, session_start: str) -> None:
        hours, minutes = (int(part) for part in session_start.split(":"))
        self._timezone = timezone
        self._offset = pd.Timedelta(hours=hours, minutes=minutes)
        self._lower = self._upper = 0
        self._day = -(2**62)

    def day_of(self, ts: pd.Timestamp) -> int:
        value = ts.value
        if not self._lower <= value < self._upper:
            self._locate(ts)
        return self._day

    def _locate(self, ts: pd.Timestamp) -> None:
        local = ts.tz_convert(self._timezone).tz_localize(None) - self._offset
        start = local.normalize()
        self._day = int(start.value // _DAY_NS)
        self._lower = self._utc(start)
        self._upper = self._utc(start + pd.Timedelta(days=1))

    def _utc(self, local_day_start: pd.Timestamp) -> int:
        wall = (local_day_start + self._offset).tz_localize(self._timezone, ambiguous=True, nonexistent="shift_forward")
        return int(wall.tz_convert("UTC").value)


@dataclass(slots=True)
class DayState:
    """The current trading day of one symbol: its number, the equity anchor, and whether
    the loss limit has halted entries."""

    day: int = -(2**62)
    anchor: Decimal = Decimal(0)
    halted: bool = False
