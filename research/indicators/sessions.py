"""Pine's ``timeframe.change(tf)`` computed from bar open times.

TradingView anchors every period to the symbol's *session*: a trading day starts at the
session open in the exchange's time zone (FX: 17:00 America/New_York, so the day that
opens on Sunday evening is Monday's), intraday periods (``"240"`` = 4 hours) are counted
from that open, and weeks and months group trading days. :class:`Session` holds that
description; the default is a UTC midnight session (crypto exchanges).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["Session", "new_period", "period_ids", "timeframe_change"]

_TIMEFRAME = re.compile(r"^(?P<count>\d*)(?P<unit>[SDWM]?)$")


@dataclass(frozen=True)
class Session:
    """Where trading days begin: ``open`` (local wall time) in ``timezone``."""

    timezone: str = "UTC"
    open: dt.time = dt.time(0, 0)

    @property
    def offset(self) -> pd.Timedelta:
        return pd.Timedelta(hours=self.open.hour, minutes=self.open.minute, seconds=self.open.second)


def _trading_days(index: pd.DatetimeIndex, session: Session) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Each bar's local time and the (naive, local) date of the trading day it belongs to."""
    aware = index if index.tz is not None else index.tz_localize("UTC")  # naive bar times are UTC
    local = aware.tz_convert(session.timezone).tz_localize(None)
    day = (local - session.offset).normalize()
    if session.offset >= pd.Timedelta(hours=12):
        day = day + pd.Timedelta(days=1)  # an evening open starts the next day's session
    return local, day


def period_ids(index: pd.DatetimeIndex, timeframe: str, session: Session | None = None) -> npt.NDArray[np.int64]:
    """An id per bar that changes exactly when a new ``timeframe`` period begins.
    ``timeframe`` is a Pine timeframe string: ``"15"``/``"240"`` (minutes), ``"30S"``,
    ``"D"``/``"1D"``, ``"W"``, ``"M"``/``"3M"``."""
    session = session or Session()
    match = _TIMEFRAME.match(timeframe.strip().upper())
    if match is None:
        raise ValueError(f"unsupported Pine timeframe {timeframe!r}")
    count, unit = int(match["count"] or 1), match["unit"]
    local, day = _trading_days(pd.DatetimeIndex(index), session)
    days = ((day - pd.Timestamp("1970-01-05")) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    if unit == "D":
        return days // count
    if unit == "W":
        return days // (7 * count)
    if unit == "M":
        months = day.year.to_numpy(dtype=np.int64) * 12 + day.month.to_numpy(dtype=np.int64) - 1
        return months // count
    seconds = count if unit == "S" else 60 * count
    day_start = day - (pd.Timedelta(days=1) if session.offset >= pd.Timedelta(hours=12) else pd.Timedelta(0))
    elapsed = ((local - (day_start + session.offset)) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    per_day = 90_000 // seconds + 2  # room for a 25-hour trading day (DST fall-back)
    return days * per_day + elapsed // seconds


def new_period(ids: npt.NDArray[np.int64], first_bar: bool) -> npt.NDArray[np.bool_]:
    """True where ``ids`` changes; ``first_bar`` is the value on bar 0."""
    out = np.empty(len(ids), dtype=bool)
    if len(ids):
        out[0] = first_bar
        out[1:] = ids[1:] != ids[:-1]
    return out


def timeframe_change(index: pd.DatetimeIndex, timeframe: str, session: Session | None = None) -> pd.Series:
    """``timeframe.change(timeframe)``: true on the first bar of each new period. False on
    bar 0 (there is no previous bar to differ from), as TradingView's anchored
    ``ta.vwap`` shows: it stays na until the first change after bar 0."""
    flags = new_period(period_ids(index, timeframe, session), first_bar=False)
    return pd.Series(flags, index=index, name=f"timeframe.change({timeframe!r})")
