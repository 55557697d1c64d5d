"""Trade ticks that rebuild given bars exactly.

:func:`synthesize_ticks_from_bars` turns OHLCV bars (a chart export, exchange klines,
synthetic bars) into trade ticks such that
``aggregate_trades(ticks, timeframe)`` gives back the bars:

* **open, high, low, close bit for bit.** The first tick of a bar is the open, the last
  the close, two ticks are the high and the low, and every other tick lies strictly
  between the low and the high (on ``price_step`` when given), so ``first``, ``max``,
  ``min`` and ``last`` per bar are the bar's own floats.
* **volume exactly.** A finite double ``V`` is ``m·2^e`` with an integer
  ``m < 2^53``. The ticks' amounts are ``m_i·2^e`` with positive integers ``m_i`` that
  sum to ``m``: every amount and every partial sum is a multiple of ``2^e`` below
  ``2^53·2^e``, hence exactly representable, so *any* summation order — naive, pairwise,
  Kahan — gives back ``V`` bit for bit (tolerance: zero). Volumes below the smallest
  normal double (~2.2e-308) are refused. The amounts are proportional to log-normal
  weights, so they look like trade sizes rather than equal slices, but they carry the
  full 53-bit mantissa (``12.345678901234567``), not round lots.

The path inside a bar follows TradingView's broker-emulator assumption: open → the
extreme nearer the open → the other extreme → close (on a tie, the low first, as TradingView). Ticks
are spread over the three legs in proportion to the distance each covers; between two
key prices a tick follows a Brownian bridge (peak standard deviation ``path_noise/2``
times the leg's length plus a tenth of the bar's range) clipped inside the range; it
never touches the far extreme before its leg. Times are sorted uniform draws on
``time_resolution_ns`` inside ``[open_time, open_time + Δ)``. The side follows the tick
rule (an uptick is a buy, a downtick a sell, an unchanged price repeats the last side).

**Zero-volume bars** (exchange filler bars for intervals without trades) produce no
ticks, since a trade's amount must be positive; aggregate with
:attr:`~quantbridge.datasets.resample.EmptyBars.FILL` to get them back (exchanges fill
at the previous close, as ``FILL`` does).

**Bars without volume** (TradingView exports): pass ``volume=None``. Amounts are then
synthetic (log-normal, median 1, in steps of 0.001), the frame's
``attrs["volume"]`` says ``"synthetic"`` (else ``"bars"``) and a log record says so.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..problems import GapPolicy
from ..schemas import BAR_COLUMNS, TRADE_COLUMNS, TRADE_SIDES
from ..timeframes import parse_timeframe
from ..validation import infer_timeframe, validate_bars
from ._common import check_seed, on_grid, utc_times

__all__ = ["MIN_TICKS_PER_BAR", "synthesize_ticks_from_bars"]

_log = logging.getLogger(__name__)

#: Open, first extreme, second extreme, close.
MIN_TICKS_PER_BAR = 4
_SMALLEST_NORMAL = np.finfo(np.float64).tiny


@dataclass(frozen=True, slots=True)
class _Bars:
    """The bars that get ticks, as arrays."""

    open_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray | None
    width_ns: int


def _width(bars: pd.DataFrame, timeframe: str | None) -> int:
    if timeframe is not None:
        return int(parse_timeframe(timeframe).value)
    inferred = infer_timeframe(pd.DatetimeIndex(bars.index))
    if inferred is None:
        raise ValueError("timeframe: cannot infer the bar width from fewer than two bars; pass timeframe=")
    return int(inferred.value)


def _check_layout(open_ns: np.ndarray, width_ns: int, resolution_ns: int) -> None:
    if resolution_ns <= 0 or width_ns % resolution_ns:
        raise ValueError(f"time_resolution_ns: {resolution_ns} does not divide the bar width of {width_ns} ns")
    misaligned = np.flatnonzero(open_ns % width_ns)
    if misaligned.size:
        first = pd.Timestamp(int(open_ns[misaligned[0]]), tz="UTC").isoformat()
        raise ValueError(
            f"bars: {misaligned.size} open time(s) are not multiples of the bar width since the epoch "
            f"(first: {first}); aggregate_trades could not rebuild them"
        )


def _volume(bars: pd.DataFrame, volume: Literal["bars"] | None) -> np.ndarray | None:
    if volume is None:
        return None
    if volume != "bars":
        raise ValueError(f"volume: expected 'bars' or None, got {volume!r}")
    column = bars["volume"] if "volume" in bars.columns else None
    if column is None or column.isna().all():
        raise ValueError("volume: the bars have no volume; pass volume=None to assign a synthetic volume")
    values = column.to_numpy(dtype=np.float64)
    tiny = (values > 0) & (values < _SMALLEST_NORMAL)
    if tiny.any():
        raise ValueError(f"volume: {int(tiny.sum())} volume(s) below {_SMALLEST_NORMAL:g} cannot be split exactly")
    return values


def _prepare(bars: pd.DataFrame, timeframe: str | None, volume: Literal["bars"] | None, resolution_ns: int) -> _Bars:
    values = _volume(bars, volume)
    shown = bars[[c for c in BAR_COLUMNS if c in bars.columns]]
    if volume is None:
        shown = shown.assign(volume=0.0)
    validate_bars(shown, source="bars", gap_policy=GapPolicy.IGNORE).raise_for_errors()
    width_ns = _width(bars, timeframe)
    open_ns = pd.DatetimeIndex(bars.index).as_unit("ns").asi8
    _check_layout(open_ns, width_ns, resolution_ns)
    keep = slice(None) if values is None else values > 0
    return _Bars(
        open_ns=open_ns[keep],
        open=bars["open"].to_numpy(np.float64)[keep],
        high=bars["high"].to_numpy(np.float64)[keep],
        low=bars["low"].to_numpy(np.float64)[keep],
        close=bars["close"].to_numpy(np.float64)[keep],
        volume=None if values is None else values[keep],
        width_ns=width_ns,
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each tick sits: its bar, its position in the bar, the key positions."""

    counts: np.ndarray
    bar: np.ndarray
    first: np.ndarray
    pos: np.ndarray
    k1: np.ndarray
    k2: np.ndarray


def _key_prices(b: _Bars) -> tuple[np.ndarray, np.ndarray]:
    """(first extreme, second extreme): the one nearer the open first, the low on a tie (TradingView)."""
    high_first = (b.high - b.open) < (b.open - b.low)
    return np.where(high_first, b.high, b.low), np.where(high_first, b.low, b.high)


def _layout(rng: np.random.Generator, b: _Bars, ticks_per_bar: float) -> _Layout:
    """Tick counts ``4 + Poisson(ticks_per_bar − 4)`` per bar, shared between the three
    legs in proportion to the distance each covers (plus 5 % of the range each)."""
    n = len(b.open)
    counts = MIN_TICKS_PER_BAR + rng.poisson(ticks_per_bar - MIN_TICKS_PER_BAR, n)
    e1, e2 = _key_prices(b)
    span = b.high - b.low
    legs = np.stack([np.abs(e1 - b.open), span, np.abs(b.close - e2)]) + 0.05 * span
    total = legs.sum(axis=0)
    share = np.where(total > 0, legs / np.where(total > 0, total, 1.0), 1.0 / 3.0)
    free = counts - MIN_TICKS_PER_BAR
    c1 = rng.binomial(free, share[0])
    c2 = rng.binomial(free - c1, np.clip(share[1] / np.maximum(share[1] + share[2], 1e-300), 0.0, 1.0))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bar = np.repeat(np.arange(n), counts)
    pos = np.arange(int(counts.sum())) - first[bar]
    return _Layout(counts, bar, first, pos, 1 + c1, 2 + c1 + c2)


def _bridge(
    rng: np.random.Generator, lay: _Layout, leg: np.ndarray, start: np.ndarray, length: np.ndarray
) -> np.ndarray:
    """A standard Brownian bridge per leg, evaluated at each tick (0 at the key ticks)."""
    steps = np.cumsum(rng.standard_normal(len(lay.pos)))
    origin = lay.first[lay.bar] + start
    base = steps[origin]
    walk = steps[origin + (lay.pos - start)] - base
    end = steps[origin + length] - base
    return np.asarray(walk - (lay.pos - start) / length * end, dtype=np.float64)


def _interior(
    values: np.ndarray, low: np.ndarray, high: np.ndarray, step: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Values moved strictly inside (low, high) — on the ``step`` grid when given — and
    whether that interior is non-empty."""
    if step is None:
        eps = (high - low) * 1e-9
        return np.clip(values, low + eps, high - eps), high > low
    lowest = np.floor(low / step) + 1.0
    highest = np.ceil(high / step) - 1.0
    units = np.clip(np.round(values / step), lowest, np.maximum(highest, lowest))
    return on_grid(units, step), lowest <= highest


def _prices(rng: np.random.Generator, b: _Bars, lay: _Layout, step: float | None, noise: float) -> np.ndarray:
    e1, e2 = _key_prices(b)
    n_bar = lay.counts[lay.bar] - 1
    leg = (lay.pos > lay.k1[lay.bar]).astype(np.int64) + (lay.pos > lay.k2[lay.bar])
    starts = np.stack([np.zeros_like(lay.k1), lay.k1, lay.k2])
    ends = np.stack([lay.k1, lay.k2, lay.counts - 1])
    start = starts[leg, lay.bar]
    length = ends[leg, lay.bar] - start
    a = np.stack([b.open, e1, e2])[leg, lay.bar]
    z = np.stack([e1, e2, b.close])[leg, lay.bar]
    low, high = b.low[lay.bar], b.high[lay.bar]
    raw = a + (z - a) * (lay.pos - start) / length
    scale = noise * (np.abs(z - a) + 0.1 * (high - low)) / np.sqrt(length)
    raw = raw + scale * _bridge(rng, lay, leg, start, length)
    inside, ok = _interior(raw, low, high, step)
    price = np.clip(np.where(ok, inside, a), low, high)
    # before the first extreme is reached, never touch the second one
    price = np.where((leg == 0) & (price == e2[lay.bar]), a, price)
    keys = [(lay.pos == 0, b.open), (lay.pos == lay.k1[lay.bar], e1), (lay.pos == lay.k2[lay.bar], e2)]
    keys.append((lay.pos == n_bar, b.close))
    for mask, value in keys:
        price = np.where(mask, value[lay.bar], price)
    return np.asarray(price, dtype=np.float64)


def _times(rng: np.random.Generator, b: _Bars, lay: _Layout, resolution_ns: int) -> np.ndarray:
    """Sorted uniform times on the resolution grid inside each bar."""
    slots = b.width_ns // resolution_ns
    fractions = np.sort(lay.bar + rng.random(len(lay.bar))) - lay.bar
    offsets = np.minimum(np.floor(np.clip(fractions, 0.0, 1.0) * slots).astype(np.int64), slots - 1)
    return np.asarray(b.open_ns[lay.bar] + offsets * resolution_ns, dtype=np.int64)


def _exact_amounts(rng: np.random.Generator, volume: np.ndarray, lay: _Layout) -> np.ndarray:
    """Positive amounts ``m_i·2^e`` per bar whose sum is the bar's volume exactly."""
    mantissa, exponent = np.frexp(volume)
    m = np.ldexp(mantissa, 53)  # an integer < 2^53, exact in float64
    e = exponent.astype(np.int64) - 53
    weights = np.minimum(np.floor(rng.lognormal(0.0, 1.0, len(lay.bar)) * 1000.0), 1e6).astype(np.int64) + 1
    running = np.cumsum(weights)
    before = np.concatenate([[0], running])[lay.first]
    within = running - before[lay.bar]
    totals = within[lay.first + lay.counts - 1]
    bounds = np.floor(within / totals[lay.bar] * m[lay.bar])
    previous = np.where(lay.pos == 0, 0.0, np.concatenate([[0.0], bounds[:-1]]))
    parts = bounds - previous
    if (parts <= 0).any():  # impossible for normal volumes: m ≥ 2^52 ≫ the weights' total
        raise RuntimeError("internal error: an exact volume split produced a non-positive amount")
    return np.asarray(np.ldexp(parts, e[lay.bar]), dtype=np.float64)


def _synthetic_amounts(rng: np.random.Generator, size: int) -> np.ndarray:
    return on_grid(np.maximum(np.round(np.exp(rng.standard_normal(size)) / 0.001), 1.0), 0.001)


def _sides(price: np.ndarray) -> pd.Series:
    """Tick rule: uptick → buy, downtick → sell, zero tick → the previous side (buy first)."""
    change = np.sign(np.diff(price, prepend=price[:1]))
    last = np.maximum.accumulate(np.where(change != 0, np.arange(len(price)), 0))
    codes = np.where(change[last] < 0, 1, 0).astype(np.int8)
    return pd.Series(pd.Categorical.from_codes(codes, pd.Index(TRADE_SIDES))).astype("str")


def _check_arguments(ticks_per_bar: float, price_step: float | None, path_noise: float) -> None:
    if not (math.isfinite(ticks_per_bar) and ticks_per_bar >= MIN_TICKS_PER_BAR):
        raise ValueError(f"ticks_per_bar: expected at least {MIN_TICKS_PER_BAR}, got {ticks_per_bar!r}")
    if price_step is not None and not (math.isfinite(price_step) and price_step > 0):
        raise ValueError(f"price_step: expected a step above zero or None, got {price_step!r}")
    if not (math.isfinite(path_noise) and path_noise >= 0):
        raise ValueError(f"path_noise: expected a scale >= 0, got {path_noise!r}")


def synthesize_ticks_from_bars(
    bars: pd.DataFrame,
    *,
    seed: int,
    ticks_per_bar: float = 24.0,
    price_step: float | None = None,
    timeframe: str | None = None,
    volume: Literal["bars"] | None = "bars",
    time_resolution_ns: int = 1_000_000,
    path_noise: float = 0.3,
    first_trade_id: int = 1,
) -> pd.DataFrame:
    """Trade ticks (``ts, price, amount, side, trade_id``) that aggregate back to ``bars``.

    ``bars`` follows the bars schema with epoch-aligned open times (what
    :func:`~quantbridge.datasets.resample.aggregate_trades` produces); ``timeframe`` is
    inferred from the spacing unless given. Each bar gets on average ``ticks_per_bar``
    ticks (at least 4). ``price_step`` puts the in-between ticks on a price grid (the
    market's tick size); the open, high, low and close keep their exact values either
    way. ``volume="bars"`` splits each bar's volume exactly (zero-volume bars get no
    ticks); ``volume=None`` ignores the volume column and assigns synthetic amounts.
    See the module docstring for the guarantees. Deterministic per ``seed``.
    """
    _check_arguments(ticks_per_bar, price_step, path_noise)
    rng = np.random.default_rng(check_seed(seed))
    b = _prepare(bars, timeframe, volume, time_resolution_ns)
    lay = _layout(rng, b, ticks_per_bar)
    price = _prices(rng, b, lay, price_step, path_noise)
    times = _times(rng, b, lay, time_resolution_ns)
    if b.volume is None:
        amount = _synthetic_amounts(rng, len(price))
        _log.info("bars have no volume: assigned synthetic trade amounts to %d ticks", len(price))
    else:
        amount = _exact_amounts(rng, b.volume, lay)
    trades = pd.DataFrame(
        {
            "ts": utc_times(times),
            "price": price,
            "amount": amount,
            "side": _sides(price),
            "trade_id": np.arange(first_trade_id, first_trade_id + len(price), dtype=np.int64),
        }
    )[list(TRADE_COLUMNS)]
    trades.attrs["volume"] = "synthetic" if b.volume is None else "bars"
    return trades
