"""Replay of recorded market data as a :class:`~.client.MarketDataClient`.

:class:`ReplayClient` replays one or more :class:`ReplayStream` — the trades or quotes of
one symbol, from a ``quantbridge.datasets`` frame, a file (:meth:`ReplayStream.from_file`)
or bars (:meth:`ReplayStream.from_bars`: ticks from ``synthesize_ticks_from_bars``, which
re-aggregate to the bars exactly) — in the deterministic order ``(ts, sequence)``: by
time, and rows with equal times in the order of the streams given and of their rows.

* :meth:`ReplayClient.iter_events` is a plain iterator for backtests (the engine drives
  its SimulatedClock from the events' times); ``received`` is ``ts + latency``.
* :meth:`ReplayClient.events` is the async stream: as fast as possible (yielding to the
  event loop between chunks), or at ``speed`` times real time against the injected
  Clock — it sleeps until ``anchor + (ts - first_ts) / speed`` by that clock and stamps
  ``received`` from it. Event times keep their recorded values.

Frames are converted to Decimal events chunk by chunk (``chunk_size`` rows), so a long
replay never holds more than one chunk of Python objects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from quantbridge.datasets.readers import detect_kind as detect_file_kind
from quantbridge.datasets.readers import read_bars, read_quotes, read_trades
from quantbridge.datasets.schemas import DataKind
from quantbridge.datasets.synth import synthesize_ticks_from_bars

from ..clock import Clock
from .client import MarketEvent
from .frames import NO_LATENCY, DecimalMode, quote_events, trade_ticks

__all__ = ["ReplayClient", "ReplayStream", "Sleep"]

#: An awaitable sleep in seconds (``asyncio.sleep``; tests inject one that advances a SimulatedClock).
Sleep = Callable[[float], Awaitable[None]]
_CHUNK: Final = 65_536


@dataclass(frozen=True, eq=False)
class ReplayStream:
    """One frame to replay: the ``trades`` or ``quotes`` (datasets schema) of one symbol."""

    symbol: str
    frame: pd.DataFrame
    kind: Literal["trades", "quotes"] = "trades"

    def __post_init__(self) -> None:
        if self.kind not in ("trades", "quotes"):
            raise ValueError(f"ReplayStream {self.symbol}: kind {self.kind!r}, expected 'trades' or 'quotes'")
        if "ts" not in self.frame.columns:
            raise ValueError(f"ReplayStream {self.symbol}: the frame has no 'ts' column")

    @classmethod
    def from_bars(
        cls,
        bars: pd.DataFrame,
        symbol: str,
        *,
        seed: int,
        ticks_per_bar: float = 24.0,
        timeframe: str | None = None,
        price_step: float | None = None,
    ) -> ReplayStream:
        """Trade ticks synthesised from ``bars`` (``synthesize_ticks_from_bars``): they aggregate
        back to the bars exactly. Bars without volume get synthetic amounts. Replay with
        ``decimals="exact"`` to make the candles' Decimal volumes equal the bars' exactly."""
        has_volume = "volume" in bars.columns and not bars["volume"].isna().all()
        ticks = synthesize_ticks_from_bars(
            bars,
            seed=seed,
            ticks_per_bar=ticks_per_bar,
            timeframe=timeframe,
            price_step=price_step,
            volume="bars" if has_volume else None,
        )
        return cls(symbol, ticks, "trades")

    @classmethod
    def from_file(cls, path: Path | str, symbol: str, *, seed: int = 0) -> ReplayStream:
        """A trades, quotes or bars file (kind detected from its columns; bars become
        synthesised ticks, see :meth:`from_bars`)."""
        kind = detect_file_kind(path)
        if kind is DataKind.TRADES:
            return cls(symbol, read_trades(path), "trades")
        if kind is DataKind.QUOTES:
            return cls(symbol, read_quotes(path), "quotes")
        return cls.from_bars(read_bars(path), symbol, seed=seed)


def _merged_order(streams: Sequence[ReplayStream]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stream index, row, ts ns) of every row, sorted by ``(ts, sequence)``."""
    times = [np.asarray(pd.DatetimeIndex(s.frame["ts"]).as_unit("ns").asi8, dtype=np.int64) for s in streams]
    ts = np.concatenate(times) if times else np.empty(0, dtype=np.int64)
    which = np.concatenate([np.full(len(t), i, dtype=np.int64) for i, t in enumerate(times)]) if times else ts
    rows = np.concatenate([np.arange(len(t), dtype=np.int64) for t in times]) if times else ts
    order = np.argsort(ts, kind="stable")
    return which[order], rows[order], ts[order]


def _check_speed(speed: float | None, clock: Clock | None) -> None:
    if speed is None:
        return
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"speed {speed!r}: expected a positive factor of real time (or None: as fast as possible)")
    if clock is None:
        raise ValueError("speed: a paced replay needs a clock")


class ReplayClient:
    """Recorded trades and quotes as a MarketDataClient (see the module docstring)."""

    def __init__(
        self,
        streams: Sequence[ReplayStream],
        *,
        clock: Clock | None = None,
        speed: float | None = None,
        latency: pd.Timedelta = NO_LATENCY,
        decimals: DecimalMode = "shortest",
        sleep: Sleep = asyncio.sleep,
        chunk_size: int = _CHUNK,
    ) -> None:
        _check_speed(speed, clock)
        if chunk_size < 1:
            raise ValueError(f"chunk_size {chunk_size}: expected at least 1")
        self.streams = tuple(streams)
        self.clock = clock
        self.speed = speed
        self.latency = pd.Timedelta(latency)
        self.decimals: DecimalMode = decimals
        self._sleep = sleep
        self._chunk = chunk_size
        self._which, self._rows, self._ts = _merged_order(self.streams)
        self._closed = False

    # --- the stream ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ts)

    def iter_events(self) -> Iterator[MarketEvent]:
        """Every event in ``(ts, sequence)`` order, ``received = ts + latency``."""
        for begin in range(0, len(self._ts), self._chunk):
            yield from self._convert(slice(begin, begin + self._chunk))

    async def events(self) -> AsyncIterator[MarketEvent]:
        """The events as an async stream, paced by ``speed`` against the clock when set."""
        pacer = _Pacer(self.clock, self.speed, self._sleep) if self.speed is not None else None
        for begin in range(0, len(self._ts), self._chunk):
            if pacer is None:
                await asyncio.sleep(0)  # let other tasks run between chunks
            for event in self._convert(slice(begin, begin + self._chunk)):
                if self._closed:
                    return
                yield event if pacer is None else await pacer.pace(event)

    async def close(self) -> None:
        """Stop the stream (idempotent)."""
        self._closed = True

    def _convert(self, chunk: slice) -> list[MarketEvent]:
        which, rows = self._which[chunk], self._rows[chunk]
        if len(self.streams) == 1:
            return self._stream_events(0, rows)
        out = np.empty(len(rows), dtype=object)
        for index in np.unique(which).tolist():
            mask = which == index
            out[mask] = np.asarray(self._stream_events(index, rows[mask]), dtype=object)
        return list(out)

    def _stream_events(self, index: int, rows: np.ndarray) -> list[MarketEvent]:
        stream = self.streams[index]
        frame = stream.frame.iloc[rows]
        if stream.kind == "trades":
            return list(trade_ticks(frame, stream.symbol, latency=self.latency, mode=self.decimals))
        return list(quote_events(frame, stream.symbol, latency=self.latency, mode=self.decimals))


class _Pacer:
    """Holds each event back until its time, scaled by ``speed``, has come on the clock."""

    def __init__(self, clock: Clock | None, speed: float | None, sleep: Sleep) -> None:
        if clock is None or speed is None:
            raise ValueError("a paced replay needs a clock and a speed")
        self._clock = clock
        self._speed = speed
        self._sleep = sleep
        self._anchor: tuple[pd.Timestamp, pd.Timestamp] | None = None

    async def pace(self, event: MarketEvent) -> MarketEvent:
        if self._anchor is None:
            self._anchor = (self._clock.now(), event.ts)
        started, first = self._anchor
        due = started + (event.ts - first) / self._speed
        wait = (due - self._clock.now()).total_seconds()
        if wait > 0:
            await self._sleep(wait)
        return dataclasses.replace(event, received=self._clock.now())
