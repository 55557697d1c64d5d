"""Helpers shared by the generators: times, the intraday profile, fat tails, the price grid."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

__all__ = [
    "NS_PER_HOUR",
    "NS_PER_SECOND",
    "SECONDS_PER_YEAR",
    "TimeLike",
    "check_seed",
    "grid_decimals",
    "mean_abs_unit_t",
    "on_grid",
    "to_utc_ns",
    "u_profile",
    "unit_innovations",
    "utc_times",
]

#: A point in time: a pandas Timestamp, a datetime, an ISO string. Naive means UTC.
TimeLike = pd.Timestamp | datetime | str

NS_PER_SECOND = 1_000_000_000
NS_PER_HOUR = 3600 * NS_PER_SECOND
#: Crypto trades 24/7: a year is 365 days of 24 hours when annualising volatility.
SECONDS_PER_YEAR = 365 * 24 * 3600


def to_utc_ns(value: TimeLike, name: str = "time") -> int:
    """Nanoseconds since the epoch of ``value``; a naive time is taken as UTC."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name}: {value!r} is not a time (expected e.g. '2024-01-01' or '2024-01-01T12:00Z')"
        ) from exc
    if pd.isna(stamp):
        raise ValueError(f"{name}: {value!r} is not a time (expected e.g. '2024-01-01')")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def utc_times(ns: np.ndarray) -> pd.DatetimeIndex:
    """A ``datetime64[ns, UTC]`` index from int64 nanoseconds."""
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")).tz_localize("UTC")


def check_seed(seed: int) -> int:
    """Seeds feed :class:`numpy.random.SeedSequence`, which takes non-negative integers."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: {seed!r} is not a non-negative integer")
    return int(seed)


def u_profile(hour_of_day: np.ndarray, amplitude: float, session_start_hour: float = 0.0) -> np.ndarray:
    """A U-shaped intraday multiplier with mean 1 over the day.

    With ``x = 2·τ/24 − 1`` ∈ [−1, 1), where ``τ`` is the hour since the session start,
    the profile is ``1 + a·(x² − 1/3)·3/2``: busiest at the session's open and close
    (``1 + a``), quietest half-way through (``1 − a/2``). ``x²`` averages 1/3 over the
    day, so the profile averages exactly 1 and scaling by it keeps daily totals. The
    amplitude must lie in [0, 2) to keep the profile positive.
    """
    tau = np.mod(np.asarray(hour_of_day, dtype=np.float64) - session_start_hour, 24.0)
    x = 2.0 * tau / 24.0 - 1.0
    return np.asarray(1.0 + amplitude * 1.5 * (x * x - 1.0 / 3.0), dtype=np.float64)


def unit_innovations(rng: np.random.Generator, dof: float | None, size: int) -> np.ndarray:
    """Innovations with mean 0 and variance 1: Student-t with ``dof`` degrees of freedom
    scaled by ``sqrt((ν − 2)/ν)`` (fat tails; excess kurtosis ``6/(ν − 4)`` for ν > 4),
    or standard normal when ``dof`` is None."""
    if dof is None:
        return rng.standard_normal(size)
    return np.asarray(rng.standard_t(dof, size) * math.sqrt((dof - 2.0) / dof), dtype=np.float64)


def mean_abs_unit_t(dof: float | None) -> float:
    """E|z| of :func:`unit_innovations`: sqrt(2/π) for the normal, for Student-t
    ``2·sqrt(ν)·Γ((ν+1)/2) / (sqrt(π)·(ν−1)·Γ(ν/2))`` times the unit-variance scale."""
    if dof is None:
        return math.sqrt(2.0 / math.pi)
    raw = 2.0 * math.sqrt(dof) * math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2))
    raw /= math.sqrt(math.pi) * (dof - 1.0)
    return raw * math.sqrt((dof - 2.0) / dof)


def grid_decimals(step: float) -> int:
    """Decimal places of a price or lot step written in decimal (0.01 → 2, 0.5 → 1, 10 → 0)."""
    exponent = Decimal(repr(float(step))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def on_grid(units: np.ndarray, step: float) -> np.ndarray:
    """``units · step`` as the float nearest the decimal value (3000012 · 0.01 → 30000.12,
    not 30000.120000000003), so grid prices print and compare like exchange prices."""
    return np.round(np.asarray(units, dtype=np.float64) * step, grid_decimals(step))
