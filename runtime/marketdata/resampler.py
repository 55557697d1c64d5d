"""Multi-timeframe candles: higher intervals built from closed lower-interval candles.

:class:`CandleResampler` takes the closed candles of one :class:`~.aggregator.CandleAggregator`
(say 5m) and emits candles of a multiple of that interval (say 1h), epoch-aligned like
:func:`quantbridge.datasets.resample.resample_bars`. There is no look-ahead: a higher
candle is emitted only once its last lower candle (the one ending at the higher close)
has arrived — or, when that interval had no lower candle (``EmptyPolicy.SKIP``), once a
lower candle of a later interval arrives, the clock passes ``close_time + grace``, or
the stream is flushed. It never contains anything but closed lower candles.

Filled lower candles (``EmptyPolicy.FILL``) carry no trades: they shape a higher candle
only when all its lower candles are filled (then it is filled too, at the previous
close), so a higher candle's open is its first trade, as if aggregated from the ticks.
A higher candle is ``partial`` when one of its lower candles is, or when it opened
before ``start`` (default: the open of the first lower candle seen — a resampler fed
from mid-hour cannot know the hour's start); ``FirstCandlePolicy.SKIP`` drops those.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context
from typing import Final

import pandas as pd

from ..domain import Candle, ensure_utc
from .aggregator import NO_GRACE, FirstCandlePolicy

__all__ = ["CandleResampler"]

#: Volumes add exactly (no rounding at 28 digits), as in the aggregator.
_EXACT: Final = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class _Higher:
    """The higher candle being built from lower candles."""

    __slots__ = ("close", "filled", "high", "low", "open", "open_time", "partial", "received", "trades", "volume")

    def __init__(self, open_time: pd.Timestamp, c: Candle, partial: bool) -> None:
        self.open_time = open_time
        self.open, self.high, self.low, self.close = c.open, c.high, c.low, c.close
        self.volume, self.trades = c.volume, c.trades
        self.partial = partial or c.partial
        self.filled = c.filled
        self.received = c.received

    def add(self, c: Candle) -> None:
        self.partial = self.partial or c.partial
        self.received = c.received
        if c.filled and not self.filled:
            return  # an empty interval inside a traded one adds nothing
        if self.filled and not c.filled:  # the first trades after empty intervals: they open the candle
            self.open, self.high, self.low, self.filled = c.open, c.high, c.low, False
        self.high = max(self.high, c.high)
        self.low = min(self.low, c.low)
        self.close = c.close
        self.volume = _EXACT.add(self.volume, c.volume)
        self.trades += c.trades

    def candle(self, symbol: str, interval: pd.Timedelta, received: pd.Timestamp | None) -> Candle:
        return Candle(
            symbol=symbol,
            interval=interval,
            open_time=self.open_time,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
            trades=self.trades,
            partial=self.partial,
            filled=self.filled,
            received=received if received is not None else self.received,
        )


class CandleResampler:
    """Higher-interval candles from closed lower-interval candles of one symbol."""

    def __init__(
        self,
        interval: pd.Timedelta,
        *,
        first: FirstCandlePolicy = FirstCandlePolicy.EMIT_FLAGGED,
        grace: pd.Timedelta = NO_GRACE,
        start: pd.Timestamp | None = None,
    ) -> None:
        self.interval = pd.Timedelta(interval)
        if self.interval <= pd.Timedelta(0):
            raise ValueError(f"interval {interval}: expected a positive duration")
        self.first = FirstCandlePolicy(first)
        self.grace = pd.Timedelta(grace)
        self._start = None if start is None else ensure_utc(start, "start")
        self._pending: _Higher | None = None
        self._last_close: pd.Timestamp | None = None
        self._symbol = ""

    def on_candle(self, candle: Candle) -> list[Candle]:
        """Add one closed lower candle; returns the higher candles it completed."""
        self._check(candle)
        out: list[Candle] = []
        bucket = self._bucket(candle.open_time)
        if self._pending is not None and self._pending.open_time != bucket:
            self._emit(out, candle.received)
        if self._pending is None:
            start = self._start if self._start is not None else candle.open_time
            self._start = start
            self._pending = _Higher(bucket, candle, partial=bucket < start)
        else:
            self._pending.add(candle)
        self._last_close = candle.close_time
        if candle.close_time == bucket + self.interval:
            self._emit(out, None)
        return out

    def on_time(self, now: pd.Timestamp) -> list[Candle]:
        """Emit the higher candle being built once ``now >= close_time + grace``."""
        ensure_utc(now, "now")
        out: list[Candle] = []
        if self._pending is not None and now >= self._pending.open_time + self.interval + self.grace:
            self._emit(out, now)
        return out

    def flush(self) -> list[Candle]:
        """End of data: emit the higher candle being built, as it is."""
        out: list[Candle] = []
        self._emit(out, None)
        return out

    def _bucket(self, open_time: pd.Timestamp) -> pd.Timestamp:
        value = open_time.value
        return pd.Timestamp(value - value % self.interval.value, tz="UTC")

    def _check(self, candle: Candle) -> None:
        ensure_utc(candle.open_time, "candle.open_time")
        if candle.interval > self.interval or self.interval % candle.interval != pd.Timedelta(0):
            raise ValueError(f"a {candle.interval} candle cannot build {self.interval} candles (not a divisor)")
        if self._symbol and candle.symbol != self._symbol:
            raise ValueError(f"candle of {candle.symbol!r} given to the resampler of {self._symbol!r}")
        if self._last_close is not None and candle.open_time < self._last_close:
            raise ValueError(
                f"candle at {candle.open_time.isoformat()} arrived after the one closing at "
                f"{self._last_close.isoformat()}: closed candles must come in time order"
            )
        self._symbol = candle.symbol

    def _emit(self, out: list[Candle], received: pd.Timestamp | None) -> None:
        pending, self._pending = self._pending, None
        if pending is None or (pending.partial and self.first is FirstCandlePolicy.SKIP):
            return
        out.append(pending.candle(self._symbol, self.interval, received))
