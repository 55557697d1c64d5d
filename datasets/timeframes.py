"""Timeframe strings (``1s`` … ``1w``) as used by exchanges, ccxt and TradingView."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["TimeframeError", "format_timeframe", "parse_timeframe", "timeframe_ms", "to_pandas_freq"]

_UNITS_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")


class TimeframeError(ValueError):
    """A timeframe string that is not ``<positive int><s|m|h|d|w>``."""


def parse_timeframe(timeframe: str) -> pd.Timedelta:
    """Return the duration of ``timeframe`` (e.g. ``"5m"`` → 5 minutes).

    Months are not supported: their length varies, so bars cannot be fixed-width.
    """
    match = _PATTERN.match(timeframe.strip())
    if match is None:
        raise TimeframeError(
            f"timeframe {timeframe!r}: expected a positive integer followed by one of "
            "s, m, h, d, w (for example '1m', '15m', '1h', '1d')"
        )
    count = int(match.group(1))
    if count <= 0:
        raise TimeframeError(f"timeframe {timeframe!r}: the count must be positive")
    return pd.Timedelta(seconds=count * _UNITS_SECONDS[match.group(2)])


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in one bar of ``timeframe``."""
    return int(parse_timeframe(timeframe).total_seconds() * 1000)


def to_pandas_freq(timeframe: str) -> str:
    """A pandas offset alias of the same width, for ``resample``/``date_range``."""
    seconds = int(parse_timeframe(timeframe).total_seconds())
    return f"{seconds}s"


def format_timeframe(width: pd.Timedelta) -> str:
    """The shortest timeframe string for ``width`` (``Timedelta('1h')`` → ``"1h"``)."""
    seconds = int(width.total_seconds())
    if seconds <= 0 or pd.Timedelta(seconds=seconds) != width:
        return str(width)
    for unit, size in sorted(_UNITS_SECONDS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"  # pragma: no cover - 's' always divides
