"""Synthetic trade ticks and top-of-book quotes: bursts, quiet spells, fat tails.

The model (one market, two event streams that share its state):

* **Activity regime.** Time is cut into one-minute cells. A log-activity ``y`` follows
  a stationary AR(1) across cells (an Ornstein–Uhlenbeck process with half-life
  ``activity_halflife_minutes`` and standard deviation ``activity_vol``); the activity
  multiplier is ``a = exp(y − activity_vol²/2)`` (mean 1). Busy and calm spells of
  tens of minutes follow.
* **Intraday seasonality.** The U-shaped profile ``U(hour)`` (mean 1) of
  :func:`~quantbridge.datasets.synth._common.u_profile` multiplies the activity.
* **Quiet spells.** Spells start as a Poisson process (``quiet_spells_per_hour``) and
  last an exponential time (mean ``quiet_mean_seconds``). Nothing happens inside
  them: no quotes, no trades.
* **Arrivals are a Hawkes process** with exponential kernel, simulated exactly through
  its cluster (branching) representation: *immigrants* arrive as a Poisson process of
  intensity ``rate·(1 − η)·U·a`` (piecewise constant per cell) and every event begets
  ``Poisson(η)`` children after ``Exp(burst_decay_seconds)`` delays, recursively. The
  mean rate is ``rate`` (for η < 1 a cluster has ``1/(1 − η)`` events on average), and
  the self-excitation produces bursts: inter-arrival times are over-dispersed
  (coefficient of variation > 1), unlike a Poisson process (exactly 1). Quote updates
  and trades are two such processes (``quote_rate``, ``trade_rate``).
* **Prices.** The efficient log-mid moves at each quote update by ``σ_q·z`` with
  Student-t ``z`` (unit variance; ``tail_dof``) and ``σ_q = annual_vol / sqrt(quote_rate
  · year)``: volatility accrues in *event time*, so busy spells are volatile spells
  (Clark's subordination). The spread is ``1 + Poisson(spread_ticks·a)`` ticks — at
  least one tick, wider in active, volatile spells — and ``bid = round(mid − spread/2)``,
  ``ask = bid + spread`` on the tick grid, so ``bid < ask`` always.
* **Trades** print at the prevailing quote: a buy (the taker's side) at the ask, a
  sell at the bid. Order flow is persistent: each trade repeats the previous side
  with probability ``flow_persistence`` (otherwise the side is drawn afresh).
  Trade and quote sizes are log-normal, in whole lots.

Generation runs in one-hour chunks aligned to ``start``, each with its own random
streams (``SeedSequence([seed, stream, chunk])``) and the market state carried over, so
a longer window *extends* a shorter one with the same ``start`` and ``seed``, and the
trades of :func:`generate_trades` print at the quotes of :func:`generate_quotes` for the
same arguments. All work is vectorised per chunk; 10M trades take seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np
import pandas as pd

from ..schemas import QUOTE_COLUMNS, TRADE_COLUMNS, TRADE_SIDES
from ._common import (
    NS_PER_HOUR,
    NS_PER_SECOND,
    SECONDS_PER_YEAR,
    TimeLike,
    check_seed,
    on_grid,
    to_utc_ns,
    u_profile,
    unit_innovations,
    utc_times,
)

__all__ = ["Progress", "TickModel", "generate_market", "generate_quotes", "generate_trades"]

#: Called after each generated chunk with ``(chunks_done, chunks_total)``.
Progress = Callable[[int, int], None]

CHUNK_NS = NS_PER_HOUR
CELL_NS = 60 * NS_PER_SECOND
_CELLS = CHUNK_NS // CELL_NS
_DAY_NS = 24 * NS_PER_HOUR


class _Stream(IntEnum):
    REGIME = 0
    QUOTES = 1
    QUOTE_SIZES = 2
    TRADES = 3
    TRADE_FLOW = 4


@dataclass(frozen=True, slots=True)
class TickModel:
    """Parameters of the tick model (see the module docstring). Defaults: a liquid
    crypto pair — 2 trades and 4 quote updates a second on average, one-cent ticks,
    60 % annual volatility, about one silent minute an hour."""

    start_price: float = 30_000.0
    annual_vol: float = 0.60
    tick_size: float = 0.01
    trade_rate: float = 2.0
    """Mean trades per second (before quiet spells remove a few)."""
    quote_rate: float = 4.0
    """Mean quote updates per second."""
    branching: float = 0.8
    """Hawkes branching ratio η in [0, 0.95]: mean children per event; 0 gives Poisson."""
    burst_decay_seconds: float = 0.5
    """Mean delay from an event to each of its children."""
    seasonality: float = 0.6
    """Amplitude in [0, 2) of the U-shaped hour-of-day profile of activity."""
    session_start_hour: float = 0.0
    activity_vol: float = 0.5
    """Standard deviation of log activity across minutes (0: constant activity)."""
    activity_halflife_minutes: float = 30.0
    quiet_spells_per_hour: float = 1.0
    quiet_mean_seconds: float = 60.0
    tail_dof: float | None = 4.0
    """Student-t degrees of freedom (> 2) of mid-price moves; None for Gaussian."""
    spread_ticks: float = 0.5
    """Mean extra spread, in ticks above the one-tick minimum, at average activity."""
    flow_persistence: float = 0.6
    """Probability in [0, 1) that a trade repeats the previous trade's side."""
    lot_size: float = 0.001
    trade_size_median: float = 0.005
    trade_size_sigma: float = 1.2
    quote_size_median: float = 0.5
    quote_size_sigma: float = 1.0
    time_resolution_ns: int = 1_000_000
    """Timestamps are floored to this (1 ms, like most exchanges); must divide a minute."""

    def __post_init__(self) -> None:
        _check_market(self)
        _check_arrivals(self)
        _check_sizes(self)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_market(m: TickModel) -> None:
    _require(math.isfinite(m.start_price) and m.start_price > 0, "start_price: expected a price above zero")
    _require(math.isfinite(m.tick_size) and 0 < m.tick_size <= m.start_price, "tick_size: expected (0, start_price]")
    _require(math.isfinite(m.annual_vol) and m.annual_vol > 0, "annual_vol: expected a volatility above zero")
    _require(m.tail_dof is None or m.tail_dof > 2, "tail_dof: expected None or more than 2 degrees of freedom")
    _require(m.spread_ticks >= 0, "spread_ticks: expected a mean extra spread >= 0")
    _require(0 <= m.flow_persistence < 1, "flow_persistence: expected a probability in [0, 1)")


def _check_arrivals(m: TickModel) -> None:
    _require(m.trade_rate > 0, f"trade_rate: expected trades per second above zero, got {m.trade_rate}")
    _require(m.quote_rate > 0, f"quote_rate: expected quote updates per second above zero, got {m.quote_rate}")
    _require(0 <= m.branching <= 0.95, f"branching: expected a ratio in [0, 0.95], got {m.branching}")
    _require(m.burst_decay_seconds > 0, "burst_decay_seconds: expected a delay above zero")
    _require(0 <= m.seasonality < 2, f"seasonality: expected an amplitude in [0, 2), got {m.seasonality}")
    _require(m.activity_vol >= 0 and m.activity_halflife_minutes > 0, "activity_vol >= 0, activity_halflife > 0")
    _require(m.quiet_spells_per_hour >= 0 and m.quiet_mean_seconds > 0, "quiet spells: expected rate >= 0, mean > 0")
    res = m.time_resolution_ns
    _require(0 < res <= CELL_NS and CELL_NS % res == 0, "time_resolution_ns: expected a divisor of one minute")


def _check_sizes(m: TickModel) -> None:
    _require(m.lot_size > 0, "lot_size: expected a lot above zero")
    _require(m.trade_size_median > 0 and m.quote_size_median > 0, "size medians: expected sizes above zero")
    _require(m.trade_size_sigma >= 0 and m.quote_size_sigma >= 0, "size sigmas: expected >= 0")


def _rng(seed: int, stream: _Stream, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, int(stream), chunk]))


@dataclass(slots=True)
class _Regime:
    """Per-chunk activity per minute cell and the quiet spells touching the chunk."""

    activity: np.ndarray
    spell_starts: np.ndarray
    spell_ends: np.ndarray


@dataclass(slots=True)
class _State:
    """What one chunk hands to the next."""

    log_activity: float | None = None
    spell_starts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    spell_ends: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    pending_quotes: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    pending_trades: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    log_mid: float = 0.0
    bid: int = 0
    ask: int = 0
    side_bit: int = 0


def _activity(rng: np.random.Generator, model: TickModel, state: _State) -> np.ndarray:
    """The AR(1) log activity across the chunk's minute cells, as a mean-one multiplier."""
    sd = model.activity_vol
    phi = math.exp(-math.log(2.0) / model.activity_halflife_minutes)
    if state.log_activity is None:
        state.log_activity = sd * float(rng.standard_normal())
    shocks = (sd * math.sqrt(1.0 - phi * phi) * rng.standard_normal(_CELLS)).tolist()
    y = state.log_activity
    out = [0.0] * _CELLS
    for j, shock in enumerate(shocks):
        y = phi * y + shock
        out[j] = y
    state.log_activity = y
    return np.exp(np.asarray(out) - 0.5 * sd * sd)


def _regime(seed: int, chunk: int, chunk_start: int, model: TickModel, state: _State) -> _Regime:
    rng = _rng(seed, _Stream.REGIME, chunk)
    activity = _activity(rng, model, state)
    count = int(rng.poisson(model.quiet_spells_per_hour * CHUNK_NS / NS_PER_HOUR))
    starts = chunk_start + (rng.random(count) * CHUNK_NS).astype(np.int64)
    ends = starts + (rng.exponential(model.quiet_mean_seconds, count) * NS_PER_SECOND).astype(np.int64)
    all_starts = np.sort(np.concatenate([state.spell_starts, starts]))
    all_ends = np.sort(np.concatenate([state.spell_ends, ends]))
    keep = np.concatenate([state.spell_ends, ends]) > chunk_start + CHUNK_NS
    state.spell_starts = np.concatenate([state.spell_starts, starts])[keep]
    state.spell_ends = np.concatenate([state.spell_ends, ends])[keep]
    return _Regime(activity, all_starts, all_ends)


def _hawkes(rng: np.random.Generator, immigrants: np.ndarray, branching: float, decay: float) -> np.ndarray:
    """Every event of the clusters rooted at ``immigrants`` (seconds): each event begets
    ``Poisson(branching)`` children ``Exp(decay)`` seconds later, generation by generation."""
    generations = [immigrants]
    parents = immigrants
    while parents.size and branching > 0:
        counts = rng.poisson(branching, parents.size)
        parents = np.repeat(parents, counts) + rng.exponential(decay, int(counts.sum()))
        generations.append(parents)
    return np.concatenate(generations)


def _arrivals(rng: np.random.Generator, rate: float, regime: _Regime, chunk_start: int, model: TickModel) -> np.ndarray:
    """New event times (absolute ns, unsorted) of one stream's clusters born in the chunk."""
    cell_starts = chunk_start + np.arange(_CELLS, dtype=np.int64) * CELL_NS
    hours = np.mod(cell_starts + CELL_NS // 2, _DAY_NS) / NS_PER_HOUR
    intensity = rate * (1.0 - model.branching) * u_profile(hours, model.seasonality, model.session_start_hour)
    counts = rng.poisson(intensity * regime.activity * (CELL_NS / NS_PER_SECOND))
    offsets = np.repeat(np.arange(_CELLS, dtype=np.float64) * 60.0, counts) + rng.random(int(counts.sum())) * 60.0
    seconds = _hawkes(rng, offsets, model.branching, model.burst_decay_seconds)
    return chunk_start + np.round(seconds * NS_PER_SECOND).astype(np.int64)


def _settle(times: np.ndarray, pending: np.ndarray, chunk_end: int, regime: _Regime) -> tuple[np.ndarray, np.ndarray]:
    """This chunk's events (sorted, quiet spells removed) and those left for later chunks."""
    everything = np.concatenate([pending, times])
    later = everything >= chunk_end
    now = np.sort(everything[~later])
    inside = np.searchsorted(regime.spell_starts, now, "right") - np.searchsorted(regime.spell_ends, now, "right")
    return now[inside <= 0], everything[later]


def _lots(rng: np.random.Generator, size: int, median: float, sigma: float, lot: float) -> np.ndarray:
    """Log-normal sizes with the given median, in whole lots (at least one)."""
    raw = median * np.exp(sigma * rng.standard_normal(size))
    return on_grid(np.maximum(np.round(raw / lot), 1.0), lot)


@dataclass(slots=True)
class _QuoteChunk:
    times: np.ndarray
    bid: np.ndarray
    ask: np.ndarray


def _quote_prices(
    rng: np.random.Generator, times: np.ndarray, regime: _Regime, chunk_start: int, model: TickModel, state: _State
) -> _QuoteChunk:
    sigma = model.annual_vol / math.sqrt(model.quote_rate * SECONDS_PER_YEAR)
    log_mid = state.log_mid + np.cumsum(sigma * unit_innovations(rng, model.tail_dof, len(times)))
    if len(times):
        state.log_mid = float(log_mid[-1])
    cells = np.clip((times - chunk_start) // CELL_NS, 0, _CELLS - 1)
    spread = 1 + rng.poisson(model.spread_ticks * regime.activity[cells])
    mid_ticks = model.start_price * np.exp(log_mid) / model.tick_size
    bid = np.maximum(np.floor(mid_ticks - spread / 2.0 + 0.5), 1.0).astype(np.int64)
    chunk = _QuoteChunk(times, bid, bid + spread)
    if len(times):
        state.bid, state.ask = int(bid[-1]), int(bid[-1] + spread[-1])
    return chunk


@dataclass(slots=True)
class _TradeChunk:
    times: np.ndarray
    price_ticks: np.ndarray
    buy: np.ndarray
    amount: np.ndarray


def _trade_prints(
    rng: np.random.Generator,
    times: np.ndarray,
    quotes: _QuoteChunk,
    prior: tuple[int, int],
    model: TickModel,
    state: _State,
) -> _TradeChunk:
    """Trades at the prevailing quote: the chunk's last update at or before each trade,
    else ``prior``, the quote in force when the chunk began."""
    latest = np.searchsorted(quotes.times, times, "right")
    bids = np.concatenate([[prior[0]], quotes.bid])[latest]
    asks = np.concatenate([[prior[1]], quotes.ask])[latest]
    flips = rng.random(len(times)) >= model.flow_persistence
    fresh = rng.random(len(times)) < 0.5
    # a "flip" draws a fresh side; runs between fresh draws keep the side
    last_fresh = np.maximum.accumulate(np.where(flips, np.arange(len(times)), -1))
    buy = np.where(last_fresh >= 0, fresh[np.maximum(last_fresh, 0)], state.side_bit == 1)
    if len(times):
        state.side_bit = int(buy[-1])
    amount = _lots(rng, len(times), model.trade_size_median, model.trade_size_sigma, model.lot_size)
    return _TradeChunk(times, np.where(buy, asks, bids), buy, amount)


@dataclass(slots=True)
class _Parts:
    quotes: list[_QuoteChunk] = field(default_factory=list)
    quote_sizes: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    trades: list[_TradeChunk] = field(default_factory=list)


def _initial_state(model: TickModel) -> _State:
    state = _State()
    spread = 1 + round(model.spread_ticks)
    state.bid = max(1, math.floor(model.start_price / model.tick_size - spread / 2.0 + 0.5))
    state.ask = state.bid + spread
    return state


def _chunk(
    seed: int, k: int, chunk_start: int, model: TickModel, state: _State, parts: _Parts, want: tuple[bool, bool]
) -> None:
    """Simulate chunk ``k``: regime, quote updates, then (if wanted) trades and sizes."""
    want_trades, want_quotes = want
    chunk_end = chunk_start + CHUNK_NS
    regime = _regime(seed, k, chunk_start, model, state)
    rng = _rng(seed, _Stream.QUOTES, k)
    new = _arrivals(rng, model.quote_rate, regime, chunk_start, model)
    times, state.pending_quotes = _settle(new, state.pending_quotes, chunk_end, regime)
    prior = (state.bid, state.ask)
    quotes = _quote_prices(rng, times, regime, chunk_start, model, state)
    if want_quotes:
        parts.quotes.append(quotes)
        sizes = _rng(seed, _Stream.QUOTE_SIZES, k)
        args = (model.quote_size_median, model.quote_size_sigma, model.lot_size)
        parts.quote_sizes.append((_lots(sizes, len(times), *args), _lots(sizes, len(times), *args)))
    if want_trades:
        rng = _rng(seed, _Stream.TRADES, k)
        new = _arrivals(rng, model.trade_rate, regime, chunk_start, model)
        times, state.pending_trades = _settle(new, state.pending_trades, chunk_end, regime)
        flow = _rng(seed, _Stream.TRADE_FLOW, k)
        parts.trades.append(_trade_prints(flow, times, quotes, prior, model, state))


def _floor(times: np.ndarray, start_ns: int, resolution: int) -> np.ndarray:
    return start_ns + (times - start_ns) // resolution * resolution


def _trades_frame(
    parts: list[_TradeChunk], end_ns: int, start_ns: int, model: TickModel, first_id: int
) -> pd.DataFrame:
    times = np.concatenate([p.times for p in parts])
    keep = times < end_ns
    buy = np.concatenate([p.buy for p in parts])[keep]
    ticks = np.concatenate([p.price_ticks for p in parts])[keep]
    amount = np.concatenate([p.amount for p in parts])[keep]
    codes = np.where(buy, 0, 1).astype(np.int8)
    side = pd.Series(pd.Categorical.from_codes(codes, pd.Index(TRADE_SIDES))).astype("str")
    return pd.DataFrame(
        {
            "ts": utc_times(_floor(times[keep], start_ns, model.time_resolution_ns)),
            "price": on_grid(ticks, model.tick_size),
            "amount": amount,
            "side": side,
            "trade_id": np.arange(first_id, first_id + int(keep.sum()), dtype=np.int64),
        }
    )[list(TRADE_COLUMNS)]


def _quotes_frame(parts: _Parts, end_ns: int, start_ns: int, model: TickModel) -> pd.DataFrame:
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(q, name) for q in parts.quotes])

    times = cat("times")
    keep = times < end_ns
    bid_size = np.concatenate([s[0] for s in parts.quote_sizes])
    ask_size = np.concatenate([s[1] for s in parts.quote_sizes])
    return pd.DataFrame(
        {
            "ts": utc_times(_floor(times[keep], start_ns, model.time_resolution_ns)),
            "bid": on_grid(cat("bid")[keep], model.tick_size),
            "ask": on_grid(cat("ask")[keep], model.tick_size),
            "bid_size": bid_size[keep],
            "ask_size": ask_size[keep],
        }
    )[list(QUOTE_COLUMNS)]


def _window(start: TimeLike, end: TimeLike) -> tuple[int, int]:
    start_ns, end_ns = to_utc_ns(start, "start"), to_utc_ns(end, "end")
    if end_ns <= start_ns:
        raise ValueError(f"end: {pd.Timestamp(end_ns, tz='UTC')} is not after start {pd.Timestamp(start_ns, tz='UTC')}")
    return start_ns, end_ns


def _simulate(
    start: TimeLike,
    end: TimeLike,
    seed: int,
    model: TickModel,
    want: tuple[bool, bool],
    progress: Progress | None,
) -> tuple[_Parts, int, int]:
    start_ns, end_ns = _window(start, end)
    seed = check_seed(seed)
    total = -(-(end_ns - start_ns) // CHUNK_NS)
    state, parts = _initial_state(model), _Parts()
    for k in range(total):
        _chunk(seed, k, start_ns + k * CHUNK_NS, model, state, parts, want)
        if progress is not None:
            progress(k + 1, total)
    return parts, start_ns, end_ns


def _model(model: TickModel | None, start_price: float | None, tick_size: float | None) -> TickModel:
    chosen = model if model is not None else TickModel()
    if start_price is not None:
        chosen = replace(chosen, start_price=start_price)
    if tick_size is not None:
        chosen = replace(chosen, tick_size=tick_size)
    return chosen


def generate_trades(
    *,
    start: TimeLike,
    end: TimeLike,
    seed: int,
    model: TickModel | None = None,
    start_price: float | None = None,
    tick_size: float | None = None,
    first_trade_id: int = 1,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Trade ticks in ``[start, end)`` (UTC): columns ``ts, price, amount, side, trade_id``.

    ``start_price`` and ``tick_size`` override the :class:`TickModel` fields. Trades
    print at the quotes :func:`generate_quotes` returns for the same arguments.
    Deterministic per ``seed``; ``trade_id`` counts up from ``first_trade_id``.
    """
    chosen = _model(model, start_price, tick_size)
    parts, start_ns, end_ns = _simulate(start, end, seed, chosen, (True, False), progress)
    return _trades_frame(parts.trades, end_ns, start_ns, chosen, first_trade_id)


def generate_quotes(
    *,
    start: TimeLike,
    end: TimeLike,
    seed: int,
    model: TickModel | None = None,
    start_price: float | None = None,
    tick_size: float | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Top-of-book quotes in ``[start, end)``: columns ``ts, bid, ask, bid_size, ask_size``
    with ``ask − bid`` at least one tick. Deterministic per ``seed``."""
    chosen = _model(model, start_price, tick_size)
    parts, start_ns, end_ns = _simulate(start, end, seed, chosen, (False, True), progress)
    return _quotes_frame(parts, end_ns, start_ns, chosen)


def generate_market(
    *,
    start: TimeLike,
    end: TimeLike,
    seed: int,
    model: TickModel | None = None,
    start_price: float | None = None,
    tick_size: float | None = None,
    first_trade_id: int = 1,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(trades, quotes)`` of one simulation — the same frames as :func:`generate_trades`
    and :func:`generate_quotes` with these arguments, for the price of one run."""
    chosen = _model(model, start_price, tick_size)
    parts, start_ns, end_ns = _simulate(start, end, seed, chosen, (True, True), progress)
    return (
        _trades_frame(parts.trades, end_ns, start_ns, chosen, first_trade_id),
        _quotes_frame(parts, end_ns, start_ns, chosen),
    )
