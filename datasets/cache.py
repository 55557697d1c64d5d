"""The on-disk cache of downloaded market data: one Parquet file per calendar month.

Layout under the cache root (``quantbridge.datasets.paths.cache_dir()`` unless given)::

    <root>/<exchange>/<symbol-sanitised>/bars_<timeframe>/2024-01.parquet
    <root>/<exchange>/<symbol-sanitised>/trades/2024-01.parquet

A month file holds the rows whose time (bar open time, trade ``ts``) falls in that
UTC month, sorted, without duplicates, and valid for its schema. Adding rows rewrites
only the months they fall in, and every write goes through
:func:`write_parquet_atomic` (temporary file in the same folder, fsync, rename), so a
reader sees the old file or the new one, never half of one — even when the writer is
killed. Temporary files left by a killed writer are ignored by readers and removed
by the next writer.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from .paths import cache_dir
from .problems import GapPolicy
from .schemas import BAR_COLUMNS, BAR_INDEX, TIME_DTYPE, TRADE_COLUMNS, DataKind
from .timeframes import parse_timeframe
from .validation import validate_bars, validate_trades

__all__ = [
    "CachedSeries",
    "SeriesKey",
    "empty_bars",
    "empty_trades",
    "open_series",
    "sanitise_symbol",
    "write_parquet_atomic",
]

_MONTH_FILE: Final = re.compile(r"^(\d{4})-(\d{2})\.parquet$")
_TEMP_FILE: Final = re.compile(r"^\..+\.(\d+)\.tmp$")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def sanitise_symbol(symbol: str) -> str:
    """A folder name for a ccxt symbol: ``"BTC/USDT:USDT"`` → ``"BTC_USDT_USDT"``."""
    cleaned = _UNSAFE.sub("_", symbol.strip()).strip("._")
    if not cleaned:
        raise ValueError(f"symbol {symbol!r}: expected letters or digits to name its cache folder")
    return cleaned


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_parquet_atomic(frame: pd.DataFrame, path: Path, *, index: bool | None = None) -> None:
    """Write ``frame`` to ``path`` so that ``path`` is always either the old or the new
    complete file: temp file in the same folder, flush + fsync, ``os.replace``, fsync
    of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{os.getpid()}.tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            frame.to_parquet(handle, index=index)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
        _fsync_dir(path.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def empty_bars() -> pd.DataFrame:
    """A bar frame with no rows (schema columns, UTC ``open_time`` index)."""
    index = pd.DatetimeIndex([], dtype=TIME_DTYPE, name=BAR_INDEX)
    return pd.DataFrame({name: pd.Series([], dtype="float64", index=index) for name in BAR_COLUMNS}, index=index)


def empty_trades() -> pd.DataFrame:
    """A trade frame with no rows."""
    return pd.DataFrame(
        {
            "ts": pd.Series([], dtype=TIME_DTYPE),
            "price": pd.Series([], dtype="float64"),
            "amount": pd.Series([], dtype="float64"),
            "side": pd.Series([], dtype="str"),
            "trade_id": pd.Series([], dtype="int64"),
        }
    )[list(TRADE_COLUMNS)]


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """Which series: exchange id, ccxt symbol, kind, and timeframe (bars only)."""

    exchange: str
    symbol: str
    kind: DataKind
    timeframe: str | None = None

    def __post_init__(self) -> None:
        if self.kind is DataKind.BARS:
            if self.timeframe is None:
                raise ValueError(f"{self.exchange} {self.symbol}: a bar series needs a timeframe")
            parse_timeframe(self.timeframe)
        elif self.kind is DataKind.TRADES:
            if self.timeframe is not None:
                raise ValueError(f"{self.exchange} {self.symbol}: a trade series has no timeframe")
        else:
            raise ValueError(f"{self.exchange} {self.symbol}: the cache holds bars and trades, not {self.kind.value}")
        if not self.exchange or _UNSAFE.search(self.exchange):
            raise ValueError(f"exchange {self.exchange!r}: expected an id of letters, digits, '.', '_' or '-'")

    @property
    def folder(self) -> Path:
        """The series folder relative to the cache root."""
        leaf = f"{self.kind.value}_{self.timeframe}" if self.timeframe is not None else self.kind.value
        return Path(self.exchange) / sanitise_symbol(self.symbol) / leaf


def _month_keys(times: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(times.year * 100 + times.month, dtype=np.int64)


def _month_name(key: int) -> str:
    return f"{key // 100:04d}-{key % 100:02d}.parquet"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CachedSeries:
    """One cached series: reading a time range, the resume point, and merging new rows."""

    def __init__(self, root: Path, key: SeriesKey) -> None:
        self.root = root
        self.key = key
        self.folder = root / key.folder
        self._width = parse_timeframe(key.timeframe) if key.timeframe is not None else None

    def month_files(self) -> list[Path]:
        """The month files, oldest first (temporary files excluded)."""
        if not self.folder.is_dir():
            return []
        return sorted(path for path in self.folder.iterdir() if _MONTH_FILE.match(path.name))

    def temp_files(self) -> list[Path]:
        """Temporary files of unfinished writes (a live writer's or a killed one's)."""
        if not self.folder.is_dir():
            return []
        return sorted(path for path in self.folder.iterdir() if _TEMP_FILE.match(path.name))

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete temporary files whose writing process no longer runs; returns them."""
        removed = []
        for path in self.temp_files():
            match = _TEMP_FILE.match(path.name)
            if match is not None and not _pid_alive(int(match.group(1))):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def _times(self, frame: pd.DataFrame) -> pd.DatetimeIndex:
        if self.key.kind is DataKind.BARS:
            return pd.DatetimeIndex(frame.index)
        return pd.DatetimeIndex(frame["ts"])

    def _validated(self, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        if self.key.kind is DataKind.BARS:
            report = validate_bars(frame, source=source, timeframe=self._width, gap_policy=GapPolicy.IGNORE)
        else:
            report = validate_trades(frame, source=source)
        report.raise_for_errors()
        return frame

    def _read_file(self, path: Path) -> pd.DataFrame:
        frame = pd.read_parquet(path)
        if self.key.kind is DataKind.BARS:
            frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
            frame.index.name = BAR_INDEX
        else:
            frame["ts"] = pd.DatetimeIndex(frame["ts"]).as_unit("ns")
        return self._validated(frame, str(path))

    def _empty(self) -> pd.DataFrame:
        return empty_bars() if self.key.kind is DataKind.BARS else empty_trades()

    def read(self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Cached rows with time in ``[start, end)``, each month file validated (a bad file
        raises ``DataValidationError`` naming it)."""
        first = None if start is None else start.year * 100 + start.month
        last = None if end is None else end.year * 100 + end.month
        frames = []
        for path in self.month_files():
            match = _MONTH_FILE.match(path.name)
            key = int(match.group(1)) * 100 + int(match.group(2)) if match else 0
            if (first is None or key >= first) and (last is None or key <= last):
                frames.append(self._read_file(path))
        if not frames:
            return self._empty()
        frame = pd.concat(frames) if len(frames) > 1 else frames[0]
        times = self._times(frame)
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= np.asarray(times >= start)
        if end is not None:
            keep &= np.asarray(times < end)
        selected = frame[keep]
        return selected if self.key.kind is DataKind.BARS else selected.reset_index(drop=True)

    def last_time(self) -> pd.Timestamp | None:
        """Time of the newest cached row (a bar's open time, a trade's ``ts``)."""
        files = self.month_files()
        if not files:
            return None
        times = self._times(self._read_file(files[-1]))
        return pd.Timestamp(times.max()) if len(times) else None

    def last_trade_id(self) -> int | None:
        """The newest cached trade id (the ``fromId - 1`` to resume a trade download at)."""
        if self.key.kind is not DataKind.TRADES:
            raise ValueError(f"{self.folder}: last_trade_id applies to trade series")
        files = self.month_files()
        if not files:
            return None
        ids = self._read_file(files[-1])["trade_id"]
        return int(ids.max()) if len(ids) else None

    def _combined(self, old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
        both = pd.concat([old, new]) if len(old) else new
        if self.key.kind is DataKind.BARS:
            return both[~both.index.duplicated(keep="last")].sort_index()
        unique = both.drop_duplicates(subset="trade_id", keep="last")
        return unique.sort_values(["ts", "trade_id"], kind="stable").reset_index(drop=True)

    def merge(self, frame: pd.DataFrame) -> list[Path]:
        """Add ``frame``'s rows (new rows win over cached ones with the same time or id),
        rewriting only the months they fall in; returns the files written."""
        if not len(frame):
            return []
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = _month_keys(self._times(frame))
        written = []
        for key in np.unique(keys).tolist():
            path = self.folder / _month_name(int(key))
            old = self._read_file(path) if path.exists() else self._empty()
            combined = self._validated(self._combined(old, frame[keys == key]), str(path))
            write_parquet_atomic(combined, path, index=self.key.kind is DataKind.BARS)
            written.append(path)
        return written


def open_series(
    exchange: str, symbol: str, kind: DataKind, timeframe: str | None = None, *, root: Path | None = None
) -> CachedSeries:
    """The cached series for ``exchange``/``symbol``/``kind``(/``timeframe``) under ``root``
    (default: the configured cache directory)."""
    return CachedSeries(root if root is not None else cache_dir(), SeriesKey(exchange, symbol, kind, timeframe))
