"""Parse a column of times into UTC without guessing.

Accepted: epoch numbers (seconds, milliseconds, microseconds or nanoseconds, told
apart by magnitude and required to agree for the whole column); ISO-8601 strings
with a UTC offset or ``Z``; naive ISO strings only when the caller names the
timezone; and plain dates (``YYYY-MM-DD``, daily exports), labelled 00:00 UTC of that
calendar day. Anything else — a mix of forms, a number of no known magnitude, a naive
time with no timezone given — is a :class:`DataFormatError`, never a silent shift.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .errors import DataFormatError

__all__ = ["TimeForm", "parse_times"]

EpochUnit = Literal["s", "ms", "us", "ns"]
# Epoch magnitudes for years ~1973..~5000 in each unit.
_EPOCH_UNITS: tuple[tuple[EpochUnit, float, float], ...] = (
    ("s", 1e8, 1e11),
    ("ms", 1e11, 1e14),
    ("us", 1e14, 1e17),
    ("ns", 1e17, 1e20),
)
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"
_HAS_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


class TimeForm(StrEnum):
    EPOCH_S = "epoch seconds"
    EPOCH_MS = "epoch milliseconds"
    EPOCH_US = "epoch microseconds"
    EPOCH_NS = "epoch nanoseconds"
    ISO_OFFSET = "ISO-8601 with UTC offset"
    ISO_NAIVE = "ISO-8601 without offset (timezone given)"
    DATE = "calendar date (00:00 UTC)"


_FORM_BY_UNIT = {"s": TimeForm.EPOCH_S, "ms": TimeForm.EPOCH_MS, "us": TimeForm.EPOCH_US, "ns": TimeForm.EPOCH_NS}


def _epoch_unit(values: np.ndarray, path: Path, column: str, line_offset: int) -> EpochUnit:
    magnitudes = np.abs(values)
    for unit, low, high in _EPOCH_UNITS:
        inside = (magnitudes >= low) & (magnitudes < high)
        if inside.all():
            return unit
        if inside.any():
            bad = int(np.flatnonzero(~inside)[0])
            raise DataFormatError(
                path,
                f"value {values[bad]!r} is not epoch {unit} like the rows before it; "
                "expected one unit for the whole column",
                line=bad + line_offset,
                field=column,
            )
    raise DataFormatError(
        path,
        f"value {values[0]!r} is no epoch time in s, ms, us or ns (expected a number between 1e8 and 1e20)",
        line=line_offset,
        field=column,
    )


def _parse_epoch(raw: pd.Series, path: Path, column: str, line_offset: int) -> tuple[pd.DatetimeIndex, TimeForm]:
    values = raw.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise DataFormatError(path, "missing time (expected an epoch number)", line=bad + line_offset, field=column)
    unit = _epoch_unit(values, path, column, line_offset)
    ints = raw.to_numpy(dtype=np.int64) if pd.api.types.is_integer_dtype(raw) else values.round().astype(np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(pd.Index(ints), unit=unit, utc=True)).as_unit("ns")
    return index, _FORM_BY_UNIT[unit]


def _first_mismatch(mask: pd.Series) -> int:
    return int(np.flatnonzero(~mask.to_numpy())[0])


def _parse_strings(
    raw: pd.Series, path: Path, column: str, line_offset: int, tz: str | None
) -> tuple[pd.DatetimeIndex, TimeForm]:
    text = raw.astype("string").str.strip()
    if text.isna().any():
        bad = int(np.flatnonzero(text.isna().to_numpy())[0])
        raise DataFormatError(path, "missing time", line=bad + line_offset, field=column)
    date_only = text.str.match(_DATE_ONLY).fillna(False)
    if date_only.all():
        parsed = pd.to_datetime(text, format="%Y-%m-%d", utc=True)
        return pd.DatetimeIndex(parsed).as_unit("ns"), TimeForm.DATE
    with_offset = text.str.contains(_HAS_OFFSET, regex=True).fillna(False)
    if with_offset.all():
        return _to_utc(text, path, column, line_offset, None), TimeForm.ISO_OFFSET
    if with_offset.any():
        bad = _first_mismatch(with_offset)
        raise DataFormatError(
            path,
            f"time {text.iloc[bad]!r} has no UTC offset while earlier rows do",
            line=bad + line_offset,
            field=column,
        )
    if tz is None:
        raise DataFormatError(
            path,
            f"time {text.iloc[0]!r} has no UTC offset; pass the timezone it is in (tz=..., e.g. 'UTC' "
            "or 'America/New_York') rather than let it be guessed",
            line=line_offset,
            field=column,
        )
    return _to_utc(text, path, column, line_offset, tz), TimeForm.ISO_NAIVE


def _to_utc(text: pd.Series, path: Path, column: str, line_offset: int, tz: str | None) -> pd.DatetimeIndex:
    try:
        if tz is None:
            parsed = pd.to_datetime(text, utc=True, format="ISO8601")
        else:
            parsed = pd.to_datetime(text, format="ISO8601").dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
            parsed = parsed.dt.tz_convert("UTC")
    except (ValueError, TypeError) as exc:
        raise DataFormatError(path, f"times are not ISO-8601 ({exc})", field=column) from exc
    return pd.DatetimeIndex(parsed).as_unit("ns")


def parse_times(
    raw: pd.Series, *, path: Path, column: str, line_offset: int, tz: str | None = None
) -> tuple[pd.DatetimeIndex, TimeForm]:
    """UTC nanosecond times from a raw column, and the form they were written in.

    ``line_offset`` is the file line of row 0, so errors name the real line.
    """
    if len(raw) == 0:
        return pd.DatetimeIndex([], tz="UTC", name=column).as_unit("ns"), TimeForm.ISO_OFFSET
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return pd.DatetimeIndex(raw).tz_convert("UTC").as_unit("ns"), TimeForm.ISO_OFFSET
    if pd.api.types.is_numeric_dtype(raw):
        return _parse_epoch(raw, path, column, line_offset)
    return _parse_strings(raw, path, column, line_offset, tz)
