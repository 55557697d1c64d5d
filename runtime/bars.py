"""Closed bars kept for strategies: a growing buffer and read-only windows on it.

The buffer stores each column as a float64 array (what indicator code wants) and keeps
at most ``keep`` bars when every reader declared a bounded window (it compacts in
place, amortised O(1) per bar), else all of them. A :class:`BarWindow` is a view on the
last ``n`` bars: its arrays are read-only numpy views, valid for the call they were
handed to (the buffer reuses its memory afterwards).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from .domain.marketdata import Candle

__all__ = ["BarBuffer", "BarWindow"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_COLUMNS: Final = ("open", "high", "low", "close", "volume")
_INITIAL_CAPACITY: Final = 1024


class BarWindow:
    """The last closed bars of one symbol, oldest first (never a forming bar)."""

    __slots__ = ("_buffer", "_end", "_index", "_start")

    def __init__(self, buffer: BarBuffer, start: int, end: int, index: int) -> None:
        self._buffer = buffer
        self._start = start
        self._end = end
        self._index = index

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def index(self) -> int:
        """Position of the newest bar in the whole stream (0 for the first bar ever seen)."""
        return self._index

    @property
    def last(self) -> Candle:
        """The newest closed candle, with exact prices."""
        return self._buffer.last

    def _view(self, column: FloatArray) -> FloatArray:
        view = column[self._start : self._end]
        view.flags.writeable = False
        return view

    @property
    def open(self) -> FloatArray:
        return self._view(self._buffer.columns[0])

    @property
    def high(self) -> FloatArray:
        return self._view(self._buffer.columns[1])

    @property
    def low(self) -> FloatArray:
        return self._view(self._buffer.columns[2])

    @property
    def close(self) -> FloatArray:
        return self._view(self._buffer.columns[3])

    @property
    def volume(self) -> FloatArray:
        return self._view(self._buffer.columns[4])

    @property
    def time(self) -> IntArray:
        """Open times, nanoseconds since the epoch (UTC)."""
        view = self._buffer.times[self._start : self._end]
        view.flags.writeable = False
        return view

    def frame(self) -> pd.DataFrame:
        """The window as a bars frame (``open_time`` UTC index, float OHLCV), a copy."""
        index = pd.DatetimeIndex(pd.to_datetime(self.time, utc=True), name="open_time")
        data = {name: self._buffer.columns[i][self._start : self._end].copy() for i, name in enumerate(_COLUMNS)}
        return pd.DataFrame(data, index=index)


class BarBuffer:
    """Closed candles of one symbol as float columns."""

    __slots__ = ("_count", "_keep", "_last", "_length", "columns", "times")

    def __init__(self, keep: int | None = None) -> None:
        if keep is not None and keep < 1:
            raise ValueError(f"keep {keep}: expected at least 1 bar (or None for all)")
        self._keep = keep
        capacity = max(_INITIAL_CAPACITY, 2 * keep) if keep else _INITIAL_CAPACITY
        self.columns: list[FloatArray] = [np.empty(capacity) for _ in _COLUMNS]
        self.times: IntArray = np.empty(capacity, dtype=np.int64)
        self._length = 0
        self._count = 0
        self._last: Candle | None = None

    @property
    def count(self) -> int:
        """Bars appended since the start."""
        return self._count

    @property
    def last(self) -> Candle:
        if self._last is None:
            raise LookupError("no bar yet")
        return self._last

    def append(self, candle: Candle) -> None:
        if self._length == len(self.times):
            self._make_room()
        row = self._length
        values = (candle.open, candle.high, candle.low, candle.close, candle.volume)
        for column, value in zip(self.columns, values, strict=True):
            column[row] = float(value)
        self.times[row] = candle.open_time.value
        self._length = row + 1
        self._count += 1
        self._last = candle

    def window(self, size: int | None) -> BarWindow:
        """The last ``size`` bars (all kept bars for None)."""
        start = 0 if size is None else max(0, self._length - size)
        return BarWindow(self, start, self._length, self._count - 1)

    def _make_room(self) -> None:
        keep = self._keep
        if keep is not None and keep <= len(self.times) // 2:
            tail = slice(self._length - keep, self._length)
            for column in self.columns:
                column[:keep] = column[tail]
            self.times[:keep] = self.times[tail]
            self._length = keep
            return
        capacity = 2 * len(self.times)
        self.columns = [np.resize(column, capacity) for column in self.columns]
        self.times = np.resize(self.times, capacity)
