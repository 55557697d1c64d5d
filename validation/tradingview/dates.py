"""Date/time columns of TradingView trade-list exports: detect the format, never guess it.

Recognised (whole column, one format per file):

- ISO 8601 with a UTC offset (``2022-01-02T19:00:00-0500``, ``…-05:00``, ``…Z``) → UTC;
- ``YYYY-MM-DD HH:MM[:SS]`` (``T`` or space) → naive;
- ``DD.MM.YYYY H:MM`` or ``MM/DD/YYYY H:MM`` (``.``, ``/`` or ``-`` between the parts,
  optional seconds and AM/PM) → naive. Which part is the day is decided by the data: a
  first part above 12 means day first, a second part above 12 means month first; when
  every date fits both, the column is ambiguous and the caller must pass ``date_format``.

An explicit ``date_format`` (``strptime`` codes, e.g. ``"%m/%d/%Y %H:%M"``) skips detection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

__all__ = ["DateParseError", "ParsedTimes", "parse_times"]

_ISO_OFFSET: Final = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s?(?:Z|[+-]\d{2}:?\d{2})"
_ISO: Final = r"(?P<year>\d{4})-(?P<b>\d{2})-(?P<a>\d{2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
_NUMERIC: Final = (
    r"(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}),?\s+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?(?:\s*(?P<ampm>[AaPp][Mm]))?"
)


class DateParseError(ValueError):
    """A time that cannot be read; ``row`` is its 0-based position in the column (or None when
    the column as a whole is the problem, e.g. ambiguous day/month order)."""

    def __init__(self, message: str, row: int | None) -> None:
        super().__init__(message)
        self.row = row


@dataclass(frozen=True)
class ParsedTimes:
    """The parsed column (``datetime64[ns, UTC]`` when the text had offsets, else naive
    ``datetime64[ns]``) and the format that was detected."""

    values: pd.Series
    format: str
    has_offset: bool


def _first_mismatch(texts: pd.Series, pattern: str) -> int | None:
    ok = texts.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if len(bad) else None


def _require(texts: pd.Series, pattern: str, name: str) -> None:
    row = _first_mismatch(texts, pattern)
    if row is not None:
        raise DateParseError(f"{texts.iloc[row]!r} does not match the file's date format ({name})", row)


def _first_nat(values: pd.Series) -> int | None:
    bad = np.flatnonzero(values.isna().to_numpy())
    return int(bad[0]) if len(bad) else None


def _hours(parts: pd.DataFrame, texts: pd.Series) -> pd.Series:
    hour = parts["hour"].astype("int64")
    if "ampm" not in parts or not parts["ampm"].notna().any():
        return hour
    marker = parts["ampm"].astype("str").str.upper()
    absent = np.flatnonzero(parts["ampm"].isna().to_numpy())
    if len(absent):
        raise DateParseError(f"{texts.iloc[int(absent[0])]!r} has no AM/PM while other rows do", int(absent[0]))
    return hour.where(hour != 12, 0) + np.where(marker.eq("PM").to_numpy(), 12, 0)


def _assemble(parts: pd.DataFrame, day: str, month: str, texts: pd.Series) -> pd.Series:
    hour = _hours(parts, texts)
    frame = pd.DataFrame(
        {
            "year": parts["year"].astype("int64"),
            "month": parts[month].astype("int64"),
            "day": parts[day].astype("int64"),
            "hour": hour,
            "minute": parts["minute"].astype("int64"),
            "second": parts["second"].fillna("0").astype("int64"),
        }
    )
    values = pd.to_datetime(frame, errors="coerce")
    row = _first_nat(values)
    if row is not None:
        raise DateParseError(f"{texts.iloc[row]!r} is not a valid date and time", row)
    return values.astype("datetime64[ns]")


def _day_first(parts: pd.DataFrame, texts: pd.Series) -> bool:
    first, second = parts["a"].astype("int64"), parts["b"].astype("int64")
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        row = int(np.flatnonzero((second > 12).to_numpy())[0])
        raise DateParseError(
            f"{texts.iloc[row]!r} puts the day second while other dates put it first; pass date_format=", row
        )
    if not (day_first or month_first):
        raise DateParseError(
            f"every date fits both DD.MM.YYYY and MM.DD.YYYY (e.g. {texts.iloc[0]!r}); "
            "pass date_format= (e.g. '%d.%m.%Y %H:%M' or '%m/%d/%Y %H:%M')",
            0,
        )
    return day_first


def _numeric(texts: pd.Series) -> ParsedTimes:
    _require(texts, _NUMERIC, "DD.MM.YYYY H:MM or MM/DD/YYYY H:MM")
    parts = texts.str.extract(_NUMERIC)
    separators = parts["sep"].unique()
    if len(separators) > 1:
        row = int(np.flatnonzero((parts["sep"] != parts["sep"].iloc[0]).to_numpy())[0])
        raise DateParseError(f"{texts.iloc[row]!r} separates the date differently from the first row", row)
    sep = str(separators[0])
    if _day_first(parts, texts):
        return ParsedTimes(_assemble(parts, "a", "b", texts), f"DD{sep}MM{sep}YYYY H:MM", False)
    return ParsedTimes(_assemble(parts, "b", "a", texts), f"MM{sep}DD{sep}YYYY H:MM", False)


def _iso_offset(texts: pd.Series) -> ParsedTimes:
    _require(texts, _ISO_OFFSET, "ISO 8601 with UTC offset")
    values = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce")
    row = _first_nat(values)
    if row is not None:
        raise DateParseError(f"{texts.iloc[row]!r} is not a valid date and time", row)
    return ParsedTimes(values.astype("datetime64[ns, UTC]"), "ISO 8601 with UTC offset", True)


def _explicit(texts: pd.Series, date_format: str) -> ParsedTimes:
    with_offset = "%z" in date_format
    values = pd.to_datetime(texts, format=date_format, errors="coerce", utc=with_offset)
    row = _first_nat(values)
    if row is not None:
        raise DateParseError(f"{texts.iloc[row]!r} does not match date_format={date_format!r}", row)
    if with_offset:
        return ParsedTimes(values.astype("datetime64[ns, UTC]"), date_format, True)
    return ParsedTimes(values.astype("datetime64[ns]"), date_format, False)


def parse_times(texts: pd.Series, date_format: str | None = None) -> ParsedTimes:
    """Parse a column of time texts (see the module docstring). Raises :class:`DateParseError`."""
    texts = texts.astype("str").str.strip().reset_index(drop=True)
    empty = np.flatnonzero(texts.eq("").to_numpy())
    if len(empty):
        raise DateParseError("empty date/time", int(empty[0]))
    if date_format is not None:
        return _explicit(texts, date_format)
    first = str(texts.iloc[0])
    if re.fullmatch(_ISO_OFFSET, first):
        return _iso_offset(texts)
    if re.fullmatch(_ISO, first):
        _require(texts, _ISO, "YYYY-MM-DD HH:MM")
        return ParsedTimes(_assemble(texts.str.extract(_ISO), "a", "b", texts), "YYYY-MM-DD HH:MM", False)
    if re.fullmatch(_NUMERIC, first):
        return _numeric(texts)
    raise DateParseError(
        f"{first!r} is in no known date format (ISO 8601, YYYY-MM-DD HH:MM, DD.MM.YYYY H:MM, MM/DD/YYYY H:MM); "
        "pass date_format=",
        0,
    )
