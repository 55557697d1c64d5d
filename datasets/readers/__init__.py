"""Readers that return validated frames.

``read_bars`` / ``read_trades`` / ``read_quotes`` return the frame and raise
:class:`~quantbridge.datasets.problems.DataValidationError` when the data has errors;
``load_bars`` / ``load_trades`` / ``load_quotes`` return the frame *and* the full
validation report without raising on data errors (what ``quantbridge data info``
shows). A file that cannot be read without guessing raises :class:`DataFormatError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..problems import GapPolicy, ValidationReport
from ..schemas import DataKind
from ..timeframes import parse_timeframe
from ..validation import validate_bars, validate_quotes, validate_trades
from .errors import DataFormatError
from .formats import (
    BarFormat,
    read_binance_klines,
    read_csv_bars,
    read_freqtrade_feather,
    read_freqtrade_json,
    read_parquet_bars,
)
from .tabular import BarTable
from .ticks import read_quote_table, read_trade_table
from .times import TimeForm

__all__ = [
    "BarFormat",
    "DataFormatError",
    "LoadedBars",
    "LoadedTable",
    "TimeForm",
    "detect_bar_format",
    "detect_kind",
    "load_bars",
    "load_quotes",
    "load_trades",
    "read_bars",
    "read_quotes",
    "read_trades",
]


@dataclass(frozen=True)
class LoadedBars:
    """Bars read from a file, with how they were read and what validation found."""

    frame: pd.DataFrame
    report: ValidationReport
    format: BarFormat
    time_form: TimeForm
    has_volume: bool
    extra_columns: tuple[str, ...]


@dataclass(frozen=True)
class LoadedTable:
    """Trades or quotes read from a file and their validation report."""

    frame: pd.DataFrame
    report: ValidationReport


def _sniff_csv(path: Path) -> BarFormat:
    with path.open(encoding="utf-8-sig") as handle:
        first = handle.readline().strip()
    fields = [f.strip().strip('"').lower() for f in first.split(",")]
    if not fields or not fields[0]:
        raise DataFormatError(path, "empty file; expected a header or kline rows")
    if fields[0].lstrip("-").isdigit():
        if len(fields) >= 12:
            return BarFormat.BINANCE_KLINES
        raise DataFormatError(
            path, f"no header and {len(fields)} columns; expected a header row, or 12 Binance kline columns"
        )
    if "close_time" in fields and "quote_volume" in fields:
        return BarFormat.BINANCE_KLINES
    if fields[:5] == ["time", "open", "high", "low", "close"]:
        return BarFormat.TRADINGVIEW
    return BarFormat.CSV


def detect_bar_format(path: Path) -> BarFormat:
    """The bar format of ``path`` from its extension and (for CSV) its first line."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return BarFormat.PARQUET
    if suffix == ".feather":
        return BarFormat.FREQTRADE_FEATHER
    if suffix == ".json":
        return BarFormat.FREQTRADE_JSON
    if suffix in (".csv", ".txt"):
        return _sniff_csv(path)
    raise DataFormatError(
        path, f"unknown extension {suffix!r}; expected .csv, .parquet, .feather or .json (or pass format=)"
    )


def _read_table(path: Path, fmt: BarFormat, tz: str | None, timeframe: str | None) -> BarTable:
    if fmt in (BarFormat.CSV, BarFormat.TRADINGVIEW):
        return read_csv_bars(path, tz=tz)
    if fmt is BarFormat.BINANCE_KLINES:
        return read_binance_klines(path, timeframe=timeframe)
    if fmt is BarFormat.FREQTRADE_JSON:
        return read_freqtrade_json(path)
    if fmt is BarFormat.FREQTRADE_FEATHER:
        return read_freqtrade_feather(path)
    return read_parquet_bars(path)


def _existing(path: Path | str) -> Path:
    resolved = Path(path)
    if not resolved.is_file():
        raise FileNotFoundError(f"{resolved}: no such file")
    return resolved


def load_bars(
    path: Path | str,
    *,
    format: BarFormat | str | None = None,
    tz: str | None = None,
    timeframe: str | None = None,
    gap_policy: GapPolicy = GapPolicy.WARN,
) -> LoadedBars:
    """Read bars from ``path`` (format detected unless given) and validate them."""
    file = _existing(path)
    fmt = BarFormat(format) if format is not None else detect_bar_format(file)
    table = _read_table(file, fmt, tz, timeframe)
    line_offset = 2 if fmt in (BarFormat.CSV, BarFormat.TRADINGVIEW) else None
    if fmt is BarFormat.BINANCE_KLINES:
        line_offset = 2 if _sniff_has_header(file) else 1
    report = validate_bars(
        table.frame,
        source=str(file),
        timeframe=parse_timeframe(timeframe) if timeframe else None,
        gap_policy=gap_policy,
        line_offset=line_offset,
        volume_required=table.has_volume,
    )
    return LoadedBars(table.frame, report, fmt, table.time_form, table.has_volume, table.extra_columns)


def _sniff_has_header(path: Path) -> bool:
    with path.open(encoding="utf-8-sig") as handle:
        return not handle.readline().split(",")[0].strip().lstrip("-").isdigit()


def read_bars(
    path: Path | str,
    *,
    format: BarFormat | str | None = None,
    tz: str | None = None,
    timeframe: str | None = None,
    gap_policy: GapPolicy = GapPolicy.WARN,
) -> pd.DataFrame:
    """Validated bars from ``path``; raises ``DataValidationError`` listing every error."""
    loaded = load_bars(path, format=format, tz=tz, timeframe=timeframe, gap_policy=gap_policy)
    loaded.report.raise_for_errors()
    return loaded.frame


def load_trades(path: Path | str, *, tz: str | None = None) -> LoadedTable:
    """Trade ticks from a Parquet or CSV file, with their validation report."""
    file = _existing(path)
    frame, line_offset = read_trade_table(file, tz=tz)
    return LoadedTable(frame, validate_trades(frame, source=str(file), line_offset=line_offset or None))


def read_trades(path: Path | str, *, tz: str | None = None) -> pd.DataFrame:
    """Validated trade ticks; raises ``DataValidationError`` listing every error."""
    loaded = load_trades(path, tz=tz)
    loaded.report.raise_for_errors()
    return loaded.frame


def load_quotes(path: Path | str, *, tz: str | None = None) -> LoadedTable:
    """Quotes from a Parquet or CSV file, with their validation report."""
    file = _existing(path)
    frame, line_offset = read_quote_table(file, tz=tz)
    return LoadedTable(frame, validate_quotes(frame, source=str(file), line_offset=line_offset or None))


def read_quotes(path: Path | str, *, tz: str | None = None) -> pd.DataFrame:
    """Validated quotes; raises ``DataValidationError`` listing every error."""
    loaded = load_quotes(path, tz=tz)
    loaded.report.raise_for_errors()
    return loaded.frame


def _column_names(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return [str(n).lower() for n in pq.read_schema(path).names]
    if suffix in (".csv", ".txt"):
        with path.open(encoding="utf-8-sig") as handle:
            return [f.strip().strip('"').lower() for f in handle.readline().split(",")]
    return []


def detect_kind(path: Path | str) -> DataKind:
    """Whether a file holds bars, trades or quotes, from its column names."""
    names = set(_column_names(_existing(path)))
    if {"bid", "ask"} <= names or {"best_bid_price", "best_ask_price"} <= names:
        return DataKind.QUOTES
    if "price" in names and names & {"amount", "qty", "quantity", "size"}:
        return DataKind.TRADES
    return DataKind.BARS
