"""UTC timestamps for domain values."""

from __future__ import annotations

import pandas as pd

__all__ = ["ensure_utc"]


def ensure_utc(value: pd.Timestamp, name: str) -> pd.Timestamp:
    """``value`` as a UTC ``Timestamp``; a naive or non-UTC time is an error naming ``name``."""
    if not isinstance(value, pd.Timestamp) or value.tzinfo is None:
        raise ValueError(f"{name}: expected a timezone-aware UTC pandas.Timestamp, got {value!r}")
    if str(value.tz) != "UTC":
        raise ValueError(f"{name}: expected UTC, got {value.tz}")
    return value
