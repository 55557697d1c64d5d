"""The Clock: the only place the runtime reads time.

``SimulatedClock`` is driven by event timestamps (backtest, replay) and fires timers as
it is advanced; ``WallClock`` reads the system clock; ``ScaledClock`` follows another
timeline — an exchange's server clock (paper and live: ``speed`` 1, origin the server
time read at start) or the local exchange replaying history ``speed`` times faster.
Everything else in the runtime receives a Clock and never calls ``time.time``/``datetime.now``.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

__all__ = ["Clock", "ScaledClock", "SimulatedClock", "TimerCallback", "WallClock"]

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


class _LiveTimers:
    """Timers of a clock that moves by itself: :meth:`fire_due` runs those that are due
    (the live event loop calls it on every iteration)."""

    def __init__(self) -> None:
        self._timers: list[_Timer] = []
        self._sequence = itertools.count()

    def now(self) -> pd.Timestamp:
        raise NotImplementedError

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

    @property
    def next_timer(self) -> pd.Timestamp | None:
        """When the earliest pending timer is due (None: none pending)."""
        return self._timers[0].at if self._timers else None


class WallClock(_LiveTimers):
    """The system clock (UTC)."""

    def now(self) -> pd.Timestamp:
        return pd.Timestamp.now(tz="UTC")


class ScaledClock(_LiveTimers):
    """``origin`` plus the monotonic time elapsed since this clock was made, times
    ``speed``. Monotonic: it never goes back when the system clock is adjusted."""

    def __init__(self, origin: pd.Timestamp, speed: float = 1.0) -> None:
        super().__init__()
        if not speed > 0:
            raise ValueError(f"ScaledClock: speed must be above zero, got {speed}")
        self.origin = _utc(origin)
        self.speed = float(speed)
        self._start = time.monotonic()

    def now(self) -> pd.Timestamp:
        elapsed = (time.monotonic() - self._start) * self.speed
        return self.origin + pd.Timedelta(seconds=elapsed)

    def wall_seconds(self, delta: pd.Timedelta) -> float:
        """How many real seconds it takes this clock to move by ``delta``."""
        return delta.total_seconds() / self.speed


def _utc(value: pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"expected a timezone-aware time, got naive {stamp!r}")
    return stamp.tz_convert("UTC")
