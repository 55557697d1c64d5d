"""The Clock: the only place the runtime reads time.

``SimulatedClock`` is driven by event timestamps (backtest, replay) and fires timers as
it is advanced; ``WallClock`` reads the system clock (paper, live). Everything else
in the runtime receives a Clock and never calls ``time.time``/``datetime.now``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

__all__ = ["Clock", "SimulatedClock", "TimerCallback", "WallClock"]

TimerCallback = Callable[[pd.Timestamp], None]


class Clock(Protocol):
    """Time source with timers. ``now()`` is UTC."""

    def now(self) -> pd.Timestamp: ...

    def set_timer(self, at: pd.Timestamp, callback: TimerCallback) -> None: ...


@dataclass(order=True)
class _Timer:
    at: pd.Timestamp
    sequence: int
    callback: TimerCallback = field(compare=False)


class SimulatedClock:
    """A clock that only moves when told to. ``advance_to`` fires every timer due at or
    before the new time, in (time, registration) order, with the clock set to each
    timer's time while it runs."""

    def __init__(self, start: pd.Timestamp) -> None:
        self._now = _utc(start)
        self._timers: list[_Timer] = []
        self._sequence = itertools.count()

    def now(self) -> pd.Timestamp:
        return self._now

    def set_timer(self, at: pd.Timestamp, callback: TimerCallback) -> None:
        heapq.heappush(self._timers, _Timer(_utc(at), next(self._sequence), callback))

    def advance_to(self, when: pd.Timestamp) -> None:
        """Move forward to ``when`` (never backwards), firing due timers on the way."""
        target = _utc(when)
        if target < self._now:
            raise ValueError(f"clock cannot go back from {self._now.isoformat()} to {target.isoformat()}")
        while self._timers and self._timers[0].at <= target:
            timer = heapq.heappop(self._timers)
            self._now = max(self._now, timer.at)
            timer.callback(self._now)
        self._now = target

    @property
    def pending_timers(self) -> int:
        return len(self._timers)


class WallClock:
    """The system clock (UTC). Timers are fired by :meth:`fire_due`, which the live
    event loop calls on every iteration."""

    def __init__(self) -> None:
        self._timers: list[_Timer] = []
        self._sequence = itertools.count()

    def now(self) -> pd.Timestamp:
        return pd.Timestamp.now(tz="UTC")

    def set_timer(self, at: pd.Timestamp, callback: TimerCallback) -> None:
        heapq.heappush(self._timers, _Timer(_utc(at), next(self._sequence), callback))

    def fire_due(self) -> int:
        """Run the timers that are due now; return how many ran."""
        now = self.now()
        fired = 0
        while self._timers and self._timers[0].at <= now:
            heapq.heappop(self._timers).callback(now)
            fired += 1
        return fired


def _utc(value: pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"expected a timezone-aware time, got naive {stamp!r}")
    return stamp.tz_convert("UTC")
