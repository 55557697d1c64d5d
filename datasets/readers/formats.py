"""One reader per bar file format. Each returns a :class:`BarTable`; none validates."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from ..schemas import BAR_INDEX
from ..timeframes import parse_timeframe
from .errors import DataFormatError
from .tabular import BarTable, bars_from_table
from .times import TimeForm, parse_times

__all__ = [
    "BarFormat",
    "read_binance_klines",
    "read_csv_bars",
    "read_freqtrade_feather",
    "read_freqtrade_json",
    "read_parquet_bars",
]

#: Binance's kline CSV columns (data.binance.vision and the REST API order).
BINANCE_KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)


class BarFormat(StrEnum):
    CSV = "csv"
    TRADINGVIEW = "tradingview"
    BINANCE_KLINES = "binance-klines"
    FREQTRADE_JSON = "freqtrade-json"
    FREQTRADE_FEATHER = "freqtrade-feather"
    PARQUET = "parquet"


def _read_csv(path: Path, **kwargs: object) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **kwargs)  # type: ignore[call-overload,no-any-return]
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(path, f"not a readable CSV file ({exc})") from exc


def read_csv_bars(path: Path, *, tz: str | None = None, time_column: str | None = None) -> BarTable:
    """A CSV with a header: a time column plus open/high/low/close[/volume] and any extra
    columns (TradingView chart exports: ``time,open,high,low,close[,Volume][,<plots>]``)."""
    raw = _read_csv(path)
    return bars_from_table(raw, path=path, line_offset=2, tz=tz, time_column=time_column)


def _has_kline_header(path: Path) -> bool:
    with path.open(encoding="utf-8-sig") as handle:
        first = handle.readline().split(",")[0].strip()
    return not first.lstrip("-").isdigit()


def read_binance_klines(path: Path, *, timeframe: str | None = None) -> BarTable:
    """Binance kline CSV (12 columns, with or without header). ``close_time`` is checked
    against ``open_time`` + timeframe − 1 ms and dropped; ``ignore`` is dropped; the
    quote volume, trade count and taker volumes are kept."""
    header = _has_kline_header(path)
    raw = _read_csv(path, header=0 if header else None, names=None if header else list(BINANCE_KLINE_COLUMNS))
    if list(raw.columns)[: len(BINANCE_KLINE_COLUMNS)] != list(BINANCE_KLINE_COLUMNS):
        raise DataFormatError(
            path, f"expected Binance kline columns {BINANCE_KLINE_COLUMNS}, found {list(raw.columns)}"
        )
    line_offset = 2 if header else 1
    open_times, form = parse_times(raw["open_time"], path=path, column="open_time", line_offset=line_offset)
    close_times, _ = parse_times(raw["close_time"], path=path, column="close_time", line_offset=line_offset)
    _check_close_times(path, open_times, close_times, timeframe, line_offset)
    table = bars_from_table(
        raw.drop(columns=["close_time", "ignore"]), path=path, line_offset=line_offset, time_column="open_time"
    )
    return BarTable(table.frame, form, True, table.extra_columns)


def _check_close_times(
    path: Path, opens: pd.DatetimeIndex, closes: pd.DatetimeIndex, timeframe: str | None, line_offset: int
) -> None:
    widths = closes.asi8 - opens.asi8
    if len(widths) == 0:
        return
    expected = parse_timeframe(timeframe).value if timeframe else int(np.median(widths)) + 1
    # close_time is the last millisecond (or microsecond) inside the bar.
    bad = np.flatnonzero(np.abs(widths + 1 - expected) > 1_000_000)
    if len(bad):
        row = int(bad[0])
        raise DataFormatError(
            path,
            f"close_time {closes[row].isoformat()} does not end the bar opened at {opens[row].isoformat()} "
            f"(expected a width of {pd.Timedelta(expected, unit='ns')})",
            line=row + line_offset,
            field="close_time",
        )


def read_freqtrade_json(path: Path) -> BarTable:
    """freqtrade's JSON candles: a list of ``[timestamp_ms, open, high, low, close, volume]``."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != 6 for r in rows):
        bad = (
            next((i for i, r in enumerate(rows) if not isinstance(r, list) or len(r) != 6), 0)
            if isinstance(rows, list)
            else 0
        )
        raise DataFormatError(path, f"entry {bad}: expected a list of [date_ms, open, high, low, close, volume] rows")
    raw = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close", "volume"])
    if len(raw) and not pd.api.types.is_integer_dtype(raw["date"]):
        raise DataFormatError(path, "expected integer epoch milliseconds in the first position of each row")
    return bars_from_table(raw, path=path, line_offset=0)


def read_freqtrade_feather(path: Path) -> BarTable:
    """freqtrade's feather candles: columns ``date`` (UTC), open, high, low, close, volume."""
    try:
        raw = pd.read_feather(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataFormatError(path, f"not a readable Feather file ({exc})") from exc
    return bars_from_table(raw, path=path, line_offset=0)


def read_parquet_bars(path: Path) -> BarTable:
    """Parquet bars: the schema's ``open_time`` index (as written by quantbridge), or an
    ``open_time``/``date``/``time`` column."""
    try:
        raw = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataFormatError(path, f"not a readable Parquet file ({exc})") from exc
    if isinstance(raw.index, pd.DatetimeIndex):
        index, form = parse_times(raw.index.to_series(), path=path, column=BAR_INDEX, line_offset=0)
        raw = raw.reset_index(drop=True)
        raw.insert(0, BAR_INDEX, index)
        table = bars_from_table(raw, path=path, line_offset=0, time_column=BAR_INDEX)
        return BarTable(table.frame, form, table.has_volume, table.extra_columns)
    return bars_from_table(raw.reset_index(drop=True), path=path, line_offset=0)


def epoch_form(form: TimeForm) -> bool:
    return form in (TimeForm.EPOCH_S, TimeForm.EPOCH_MS, TimeForm.EPOCH_US, TimeForm.EPOCH_NS)
