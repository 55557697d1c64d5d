"""Synthetic OHLCV bars with the stylised facts of crypto markets.

The model, per bar ``t`` of width Δ (in years ``Δy = Δ / 365 days``):

* **Returns** ``r_t = μ·Δy + σ_t·s_t·z_t`` (log returns), where ``z_t`` is Student-t with
  ``tail_dof`` degrees of freedom scaled to unit variance (fat tails), ``s_t`` the
  intraday volatility profile and ``σ_t`` a GARCH(1, 1) volatility:
  ``σ²_{t+1} = ω + α·σ²_t·z²_t + β·σ²_t`` with ``ω = σ̄²·(1 − α − β)`` so the
  unconditional variance is ``σ̄² = annual_vol²·Δy``. Defaults ``α = 0.06``,
  ``β = 0.92`` (persistence 0.98, a half-life of about 35 bars) are typical of hourly
  crypto fits; ν = 5 (excess kurtosis 6 before clustering adds more) is in the
  range fitted to hourly BTC returns.
* **Intraday seasonality**: ``s_t² = U(hour)``, a U-shaped profile over the UTC day
  (see :func:`~quantbridge.datasets.synth._common.u_profile`) with mean 1, busiest at
  the session open/close. Bars of a day or more have no intraday profile.
* **Prices** live on the tick grid: closes are ``round(P₀·exp(Σr) / tick)`` ticks and
  every open is the previous close (crypto bars are continuous).
* **High and low** come from the extremes of a Brownian bridge from the open to the
  close with the bar's variance ``v = σ_t²·s_t²``: for ``b = ln(C/O)`` and
  ``E ~ Exp(1)``, ``ln(H/O) = (b + sqrt(b² + 2vE)) / 2`` and
  ``ln(L/O) = (b − sqrt(b² + 2vE')) / 2`` (the exact law of a bridge's maximum and
  minimum). Rounded outward to the grid they always satisfy ``H ≥ max(O, C)`` and
  ``L ≤ min(O, C)``.
* **Volume** ``V_t = hourly_volume·Δh·U_vol(hour)·((1 − w) + w·|r_t − μΔy| / (σ̄·E|z|))·LN_t``
  where ``U_vol`` is its own U profile, ``w`` the weight of the ``|return|`` coupling
  (volume follows volatility) and ``LN_t`` a mean-one log-normal noise, rounded to
  ``volume_step``.

Everything is drawn from one :class:`numpy.random.Generator` seeded by ``seed``: the
same arguments give the same frame on every machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..schemas import BAR_COLUMNS, BAR_INDEX
from ..timeframes import parse_timeframe
from ._common import (
    NS_PER_HOUR,
    NS_PER_SECOND,
    SECONDS_PER_YEAR,
    TimeLike,
    check_seed,
    mean_abs_unit_t,
    on_grid,
    to_utc_ns,
    u_profile,
    unit_innovations,
    utc_times,
)

__all__ = ["BarModel", "generate_bars"]

_DAY_NS = 24 * NS_PER_HOUR


@dataclass(frozen=True, slots=True)
class BarModel:
    """Parameters of :func:`generate_bars` (see the module docstring for the model).

    The defaults describe a large crypto pair on hourly bars: 60 % annual volatility,
    no drift, one-cent ticks, clustered fat-tailed returns and a clear intraday cycle.
    """

    start_price: float = 30_000.0
    """Price before the first bar (the first open, rounded to the tick grid)."""
    annual_vol: float = 0.60
    """Unconditional annualised volatility of log returns (365-day year)."""
    annual_drift: float = 0.0
    """Expected log return per year."""
    tick_size: float = 0.01
    """Price grid: every open, high, low and close is a multiple of it."""
    garch_alpha: float = 0.06
    """GARCH reaction to the last squared shock (0 disables clustering together with beta)."""
    garch_beta: float = 0.92
    """GARCH persistence of variance; alpha + beta must stay below 1."""
    tail_dof: float | None = 5.0
    """Student-t degrees of freedom (> 2) of the innovations; None for Gaussian."""
    vol_seasonality: float = 0.4
    """Amplitude in [0, 2) of the U-shaped hour-of-day profile of variance."""
    volume_seasonality: float = 0.5
    """Amplitude in [0, 2) of the U-shaped hour-of-day profile of volume."""
    session_start_hour: float = 0.0
    """UTC hour where the U profiles start (crypto daily candles open at 00:00 UTC)."""
    hourly_volume: float = 1_000.0
    """Mean volume per hour of bar time, in base-asset units."""
    volume_return_coupling: float = 0.6
    """Weight in [0, 1] of |return| in volume: 0 makes volume independent of returns."""
    volume_noise: float = 0.35
    """Log-standard deviation of the mean-one log-normal volume noise."""
    volume_step: float = 0.001
    """Volume is rounded to this lot size."""

    def __post_init__(self) -> None:
        _check_prices(self)
        _check_dynamics(self)
        _check_volume(self)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_prices(model: BarModel) -> None:
    _require(math.isfinite(model.start_price) and model.start_price > 0, "start_price: expected a price above zero")
    _require(math.isfinite(model.tick_size) and model.tick_size > 0, "tick_size: expected a step above zero")
    _require(model.start_price >= model.tick_size, "start_price: expected at least one tick_size")
    _require(math.isfinite(model.annual_vol) and model.annual_vol > 0, "annual_vol: expected a volatility above zero")
    _require(math.isfinite(model.annual_drift), "annual_drift: expected a finite number")


def _check_dynamics(model: BarModel) -> None:
    a, b = model.garch_alpha, model.garch_beta
    _require(
        a >= 0 and b >= 0 and a + b < 1, f"garch_alpha + garch_beta: expected >= 0 each and a sum < 1, got {a + b}"
    )
    _require(model.tail_dof is None or model.tail_dof > 2, "tail_dof: expected None or more than 2 degrees of freedom")
    for name in ("vol_seasonality", "volume_seasonality"):
        value = getattr(model, name)
        _require(0 <= value < 2, f"{name}: expected an amplitude in [0, 2), got {value}")


def _check_volume(model: BarModel) -> None:
    _require(model.hourly_volume > 0, "hourly_volume: expected a volume above zero")
    _require(0 <= model.volume_return_coupling <= 1, "volume_return_coupling: expected a weight in [0, 1]")
    _require(model.volume_noise >= 0, "volume_noise: expected a log-standard deviation >= 0")
    _require(model.volume_step > 0, "volume_step: expected a lot size above zero")


def _hour_profiles(open_ns: np.ndarray, width_ns: int, model: BarModel) -> tuple[np.ndarray, np.ndarray]:
    """Variance and volume multipliers per bar, taken at the bar's mid-point hour."""
    if width_ns >= _DAY_NS:
        ones = np.ones(len(open_ns))
        return ones, ones
    hours = np.mod(open_ns + width_ns // 2, _DAY_NS) / NS_PER_HOUR
    return (
        u_profile(hours, model.vol_seasonality, model.session_start_hour),
        u_profile(hours, model.volume_seasonality, model.session_start_hour),
    )


def _garch_variance(z: np.ndarray, base_var: float, alpha: float, beta: float) -> np.ndarray:
    """σ²_t for each bar. The recursion ``σ²_{t+1} = ω + (α·z²_t + β)·σ²_t`` is linear in
    σ² with random coefficients; a plain loop over Python floats runs ~10M steps/s."""
    omega = base_var * (1.0 - alpha - beta)
    coefficients = (alpha * z * z + beta).tolist()
    out = [0.0] * len(coefficients)
    var = base_var
    for i, coefficient in enumerate(coefficients):
        out[i] = var
        var = omega + coefficient * var
    return np.asarray(out, dtype=np.float64)


def _bridge_extremes(
    rng: np.random.Generator, open_t: np.ndarray, close_t: np.ndarray, var: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """High and low in ticks from the extremes of a Brownian bridge open → close."""
    b = np.log(close_t / open_t)
    up = 0.5 * (b + np.sqrt(b * b + 2.0 * var * rng.standard_exponential(len(b))))
    down = 0.5 * (b - np.sqrt(b * b + 2.0 * var * rng.standard_exponential(len(b))))
    high = np.maximum(np.ceil(open_t * np.exp(up) - 1e-9), np.maximum(open_t, close_t))
    low = np.minimum(np.floor(open_t * np.exp(down) + 1e-9), np.minimum(open_t, close_t))
    return high, np.maximum(low, 1.0)


def _volumes(
    rng: np.random.Generator,
    shocks: np.ndarray,
    base_sd: float,
    volume_profile: np.ndarray,
    hours: float,
    model: BarModel,
) -> np.ndarray:
    w = model.volume_return_coupling
    coupling = (1.0 - w) + w * np.abs(shocks) / (base_sd * mean_abs_unit_t(model.tail_dof))
    sigma = model.volume_noise
    noise = np.exp(sigma * rng.standard_normal(len(shocks)) - 0.5 * sigma * sigma)
    raw = model.hourly_volume * hours * volume_profile * coupling * noise
    return on_grid(np.round(raw / model.volume_step), model.volume_step)


def _check_start(start_ns: int, width_ns: int, timeframe: str) -> None:
    if start_ns % width_ns:
        aligned = pd.Timestamp(start_ns - start_ns % width_ns, tz="UTC").isoformat()
        raise ValueError(
            f"start: {pd.Timestamp(start_ns, tz='UTC').isoformat()} is not a {timeframe} bar open time "
            f"(bars open at multiples of {timeframe} since the epoch, e.g. {aligned})"
        )


def generate_bars(
    *,
    start: TimeLike,
    periods: int,
    timeframe: str = "1h",
    seed: int,
    model: BarModel | None = None,
    start_price: float | None = None,
    annual_vol: float | None = None,
    tick_size: float | None = None,
) -> pd.DataFrame:
    """``periods`` synthetic bars of ``timeframe`` from ``start`` (UTC, epoch-aligned).

    ``model`` holds every parameter (:class:`BarModel`); ``start_price``,
    ``annual_vol`` and ``tick_size`` override its fields for convenience. Returns the
    bars schema: a ``datetime64[ns, UTC]`` index ``open_time`` and float columns
    ``open, high, low, close, volume``. Deterministic per ``seed``.
    """
    chosen = model if model is not None else BarModel()
    overrides = {"start_price": start_price, "annual_vol": annual_vol, "tick_size": tick_size}
    chosen = replace(chosen, **{k: v for k, v in overrides.items() if v is not None})
    if isinstance(periods, bool) or not isinstance(periods, int | np.integer) or periods < 1:
        raise ValueError(f"periods: expected a positive number of bars, got {periods!r}")
    width_ns = int(parse_timeframe(timeframe).value)
    start_ns = to_utc_ns(start, "start")
    _check_start(start_ns, width_ns, timeframe)
    rng = np.random.default_rng(check_seed(seed))

    periods = int(periods)
    open_ns = start_ns + np.arange(periods, dtype=np.int64) * width_ns
    var_profile, volume_profile = _hour_profiles(open_ns, width_ns, chosen)
    years = width_ns / NS_PER_SECOND / SECONDS_PER_YEAR
    base_var = chosen.annual_vol**2 * years
    z = unit_innovations(rng, chosen.tail_dof, periods)
    bar_var = _garch_variance(z, base_var, chosen.garch_alpha, chosen.garch_beta) * var_profile
    shocks = np.sqrt(bar_var) * z
    log_close = math.log(chosen.start_price) + np.cumsum(chosen.annual_drift * years + shocks)
    tick = chosen.tick_size
    first_open = max(1.0, round(chosen.start_price / tick))
    close_t = np.maximum(np.round(np.exp(log_close) / tick), 1.0)
    open_t = np.concatenate([[first_open], close_t[:-1]])
    high_t, low_t = _bridge_extremes(rng, open_t, close_t, bar_var)
    volume = _volumes(rng, shocks, math.sqrt(base_var), volume_profile, width_ns / NS_PER_HOUR, chosen)
    frame = pd.DataFrame(
        {
            "open": on_grid(open_t, tick),
            "high": on_grid(high_t, tick),
            "low": on_grid(low_t, tick),
            "close": on_grid(close_t, tick),
            "volume": volume,
        },
        index=utc_times(open_ns).rename(BAR_INDEX),
    )
    return frame[list(BAR_COLUMNS)]
