"""A moving exchange clock, so a local exchange can play a dataset "live".

:class:`ReplayClock` is the ``Callable[[], int]`` (epoch milliseconds) that
:class:`~quantbridge.datasets.exchange.market.MarketData` reads: ``now = start +
elapsed × speed``, where ``elapsed`` is measured with :func:`time.monotonic` (never the
wall clock, so a system time change does not jump the replay). It can be paused,
resumed, set to another instant (forwards or backwards) and sped up or slowed down
while it runs; every change re-anchors the clock at its current reading, so ``now``
never jumps except through :meth:`ReplayClock.set`. It is thread-safe: the server's
event loop reads it while a test or ``POST /_admin/clock`` changes it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ReplayClock", "moving_clock"]


def _checked_speed(speed: float) -> float:
    value = float(speed)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"ReplayClock: speed = {speed!r}, expected a finite number > 0 (pause() stops the clock)")
    return value


class ReplayClock:
    """Epoch-ms clock starting at ``start_ms`` and advancing ``speed`` times faster than real time.

    ``paused=True`` creates it stopped at ``start_ms`` (a fixed clock until :meth:`resume`).
    ``monotonic`` is the source of elapsed seconds (injectable for tests).
    """

    def __init__(
        self,
        start_ms: int,
        speed: float = 1.0,
        *,
        paused: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._speed = _checked_speed(speed)
        self._anchor_ms = float(int(start_ms))
        self._anchor_s = monotonic()
        self._paused = paused

    def _reading(self) -> float:
        if self._paused:
            return self._anchor_ms
        return self._anchor_ms + (self._monotonic() - self._anchor_s) * 1000.0 * self._speed

    def _reanchor(self) -> None:
        self._anchor_ms = self._reading()
        self._anchor_s = self._monotonic()

    def __call__(self) -> int:
        """The clock's reading in epoch milliseconds (what the exchange shows as "now")."""
        with self._lock:
            return int(self._reading())

    @property
    def now_ms(self) -> int:
        return self()

    @property
    def speed(self) -> float:
        """Replayed milliseconds per real millisecond."""
        with self._lock:
            return self._speed

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    def pause(self) -> None:
        """Stop the clock at its current reading (no-op when paused)."""
        with self._lock:
            if not self._paused:
                self._reanchor()
                self._paused = True

    def resume(self) -> None:
        """Let the clock run again from where it stopped (no-op when running)."""
        with self._lock:
            if self._paused:
                self._anchor_s = self._monotonic()
                self._paused = False

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms`` (forwards or backwards); a running clock keeps running from there."""
        with self._lock:
            self._anchor_ms = float(int(now_ms))
            self._anchor_s = self._monotonic()

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (the reading does not jump); ``speed`` must be > 0."""
        checked = _checked_speed(speed)
        with self._lock:
            self._reanchor()
            self._speed = checked

    def state(self) -> dict[str, Any]:
        """``{"now_ms": int, "speed": float, "paused": bool}`` (what ``GET /_admin/clock`` answers)."""
        with self._lock:
            return {"now_ms": int(self._reading()), "speed": self._speed, "paused": self._paused}

    def __repr__(self) -> str:
        state = self.state()
        return f"ReplayClock(now_ms={state['now_ms']}, speed={state['speed']}, paused={state['paused']})"


def moving_clock(*, start_ms: int | None, speed: float | None, data_start_ms: int) -> ReplayClock | None:
    """The clock the command line asks for: None (the default fixed clock) when neither
    ``start_ms`` nor ``speed`` is given, else a running ReplayClock from ``start_ms``
    (default: ``data_start_ms``, the first bar's open) at ``speed`` (default 1.0)."""
    if start_ms is None and speed is None:
        return None
    return ReplayClock(data_start_ms if start_ms is None else start_ms, 1.0 if speed is None else speed)
