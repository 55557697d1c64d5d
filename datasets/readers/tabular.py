"""Turn a raw table (time column, OHLC[V], extras) into a bar frame of the schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..schemas import BAR_COLUMNS, BAR_INDEX
from .errors import DataFormatError
from .times import TimeForm, parse_times

__all__ = ["BarTable", "bars_from_table", "find_time_column"]

TIME_ALIASES = ("open_time", "time", "timestamp", "datetime", "date", "date/time", "ts", "open time")
_PRICE_ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
}


@dataclass(frozen=True)
class BarTable:
    """A bar frame and how it was read (for reports)."""

    frame: pd.DataFrame
    time_form: TimeForm
    has_volume: bool
    extra_columns: tuple[str, ...]


def _lower_names(raw: pd.DataFrame, path: Path) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name in raw.columns:
        key = str(name).strip().lower()
        if key in lowered:
            raise DataFormatError(path, f"columns {lowered[key]!r} and {name!r} differ only in case; expected one")
        lowered[key] = str(name)
    return lowered


def find_time_column(raw: pd.DataFrame, path: Path, time_column: str | None = None) -> str:
    """The column holding bar open times: given, or the one column with a time-like name."""
    if time_column is not None:
        if time_column not in raw.columns:
            raise DataFormatError(path, f"no column named {time_column!r} (columns: {list(raw.columns)})")
        return time_column
    lowered = _lower_names(raw, path)
    found = [lowered[a] for a in TIME_ALIASES if a in lowered]
    if not found:
        raise DataFormatError(
            path, f"no time column; expected one named one of {', '.join(TIME_ALIASES)} (columns: {list(raw.columns)})"
        )
    if len(found) > 1:
        raise DataFormatError(path, f"columns {found} all look like bar times; ambiguous — say which with time_column=")
    return found[0]


def _price_columns(raw: pd.DataFrame, path: Path, time_name: str) -> dict[str, str]:
    lowered = _lower_names(raw.drop(columns=[time_name]), path)
    mapping: dict[str, str] = {}
    for canonical, aliases in _PRICE_ALIASES.items():
        present = [lowered[a] for a in aliases if a in lowered]
        if len(present) > 1:
            raise DataFormatError(path, f"columns {present} all look like {canonical!r}; expected one")
        if present:
            mapping[canonical] = present[0]
        elif canonical != "volume":
            raise DataFormatError(path, f"no {canonical!r} column (columns: {list(raw.columns)})")
    return mapping


def _numeric(raw: pd.Series, path: Path, name: str, line_offset: int) -> pd.Series:
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    converted = pd.to_numeric(raw, errors="coerce")
    if converted.isna().any():
        text = raw.astype("string").str.strip().str.lower()
        broken = converted.isna() & raw.notna() & (text != "nan")
        if broken.any():
            row = int(np.flatnonzero(broken.to_numpy())[0])
            raise DataFormatError(path, f"value {raw.iloc[row]!r} is not a number", line=row + line_offset, field=name)
    return converted.astype("float64")


def bars_from_table(
    raw: pd.DataFrame, *, path: Path, line_offset: int, tz: str | None = None, time_column: str | None = None
) -> BarTable:
    """A bar frame from ``raw``: UTC ``open_time`` index, the five OHLCV columns first
    (volume NaN when the file has none), every other column kept after them."""
    time_name = find_time_column(raw, path, time_column)
    index, form = parse_times(raw[time_name], path=path, column=time_name, line_offset=line_offset, tz=tz)
    mapping = _price_columns(raw, path, time_name)
    columns: dict[str, pd.Series] = {}
    for canonical in BAR_COLUMNS:
        source = mapping.get(canonical)
        if source is None:
            columns[canonical] = pd.Series(np.nan, index=raw.index, dtype="float64")
        else:
            columns[canonical] = _numeric(raw[source], path, source, line_offset)
    used = {time_name, *mapping.values()}
    extras = [c for c in raw.columns if c not in used]
    frame = pd.DataFrame(columns)
    for name in extras:
        frame[name] = raw[name].to_numpy()
    frame.index = index.rename(BAR_INDEX)
    return BarTable(frame, form, "volume" in mapping, tuple(str(c) for c in extras))
