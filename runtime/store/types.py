"""Column types that make SQLite and PostgreSQL give back exactly what was stored.

* :class:`DecimalText` keeps a ``Decimal`` as its canonical text (``str(value)``), so
  ``Decimal("0.00100")`` comes back as ``Decimal("0.00100")`` — same value, same
  exponent — on every backend (a ``NUMERIC`` column would rescale it, a float would
  round it). A float is refused, never converted.
* :class:`UtcNanos` keeps a timezone-aware time as epoch nanoseconds (``BIGINT``) and
  gives back a UTC ``pandas.Timestamp`` at nanosecond resolution: exact on both
  backends (PostgreSQL's ``timestamptz`` stops at microseconds). A naive time is refused.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import BigInteger, Dialect, Text
from sqlalchemy.types import TypeDecorator

__all__ = ["DecimalText", "UtcNanos", "to_utc_timestamp"]


def to_utc_timestamp(value: pd.Timestamp | datetime, name: str = "time") -> pd.Timestamp:
    """``value`` as a UTC ``pandas.Timestamp``; a naive time raises ``ValueError`` naming ``name``."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"{name}: expected a timezone-aware time, got naive {value!r}")
    return stamp.tz_convert("UTC")


class DecimalText(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as its canonical text (see the module docstring)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal, got {type(value).__name__} {value!r}")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcNanos(TypeDecorator[pd.Timestamp]):
    """A timezone-aware time stored as epoch nanoseconds (see the module docstring)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: pd.Timestamp | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(to_utc_timestamp(value).as_unit("ns").value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> pd.Timestamp | None:
        return None if value is None else pd.Timestamp(int(value), unit="ns", tz="UTC")
