"""The oscillator family: one signal rule, ten oscillators.

Each prototype computes an oscillator and trades its threshold crossings:

* ``mode="mean_reversion"``: long when it crosses back *above* ``lower`` (leaving
  oversold), short when it crosses back *below* ``upper``;
* ``mode="momentum"``: long when it crosses *above* ``upper``, short when it crosses
  *below* ``lower``;
* ``exit="midpoint"``: a position closes when the oscillator crosses ``mid`` against
  the trade's origin (a mean-reversion long exits on reaching the middle, a momentum
  long exits on falling back through it); ``exit="breakout"``: it closes at the far
  threshold (mean-reversion long at ``upper``, momentum long back at ``lower``);
  ``exit="opposite"``: no exit signal — only an opposite entry (a flip) or the position
  rules end a trade.

Stops, targets, maximum bars held, cooldown and flipping are :class:`PositionRules`
declared beside the prototype (``SPEC.rules``) and shared by every member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from ..indicators import tradingview as ta
from ..registry import Param, ParamValue, PrototypeSpec
from ..signals import Signals

__all__ = ["OSCILLATORS", "oscillator_signals"]

Compute = Callable[[pd.DataFrame, int], pd.Series]


def oscillator_signals(
    bars: pd.DataFrame, values: pd.Series, lower: float, upper: float, mid: float, mode: str, exit: str, name: str
) -> Signals:
    """Signals from an oscillator's crossings of its thresholds (see the module doc)."""
    if lower > upper:
        raise ValueError(f"{name}: lower ({lower}) must not be above upper ({upper})")
    up, down = ta.crossover, ta.crossunder
    if mode == "mean_reversion":
        long_entry, short_entry = up(values, lower), down(values, upper)
        exits = {"midpoint": (up(values, mid), down(values, mid)), "breakout": (up(values, upper), down(values, lower))}
    elif mode == "momentum":
        long_entry, short_entry = up(values, upper), down(values, lower)
        exits = {"midpoint": (down(values, mid), up(values, mid)), "breakout": (down(values, lower), up(values, upper))}
    else:
        raise ValueError(f"{name}: mode {mode!r}; expected 'mean_reversion' or 'momentum'")
    if exit not in (*exits, "opposite"):
        raise ValueError(f"{name}: exit {exit!r}; expected 'midpoint', 'breakout' or 'opposite'")
    long_exit, short_exit = exits.get(exit, (None, None))
    return Signals.build(
        pd.DatetimeIndex(bars.index),
        long_entry=long_entry.to_numpy(),
        short_entry=short_entry.to_numpy(),
        long_exit=None if long_exit is None else long_exit.to_numpy() & ~long_entry.to_numpy(),
        short_exit=None if short_exit is None else short_exit.to_numpy() & ~short_entry.to_numpy(),
        long_name=f"{name}LE",
        short_name=f"{name}SE",
        indicators={name: values},
    )


@dataclass(frozen=True)
class _Oscillator:
    key: str
    title: str
    compute: Compute
    length: int
    lower: float
    upper: float
    mid: float
    warmup_factor: int = 1


def _tema_cross(bars: pd.DataFrame, length: int) -> pd.Series:
    return ta.tema(bars["close"], length) - ta.tema(bars["close"], 3 * length)


def _ultimate(bars: pd.DataFrame, length: int) -> pd.Series:
    return ta.ultimate_oscillator(bars["high"], bars["low"], bars["close"], length, 2 * length, 4 * length)


def _ppo(bars: pd.DataFrame, length: int) -> pd.Series:
    return ta.ppo(bars["close"], length, 2 * length, True).ppo


def _momentum_pct(bars: pd.DataFrame, length: int) -> pd.Series:
    return 100 * ta.mom(bars["close"], length) / bars["close"]


_FAMILY = (
    _Oscillator("cci", "CCI", lambda b, n: ta.cci(b["close"], n), 20, -100.0, 100.0, 0.0),
    _Oscillator("roc", "Rate of change (%)", lambda b, n: ta.roc(b["close"], n), 12, -2.0, 2.0, 0.0),
    _Oscillator("uo", "Ultimate Oscillator", _ultimate, 7, 30.0, 70.0, 50.0, 4),
    _Oscillator("trix", "TRIX (bp)", lambda b, n: ta.trix(b["close"], n), 18, -5.0, 5.0, 0.0, 10),
    _Oscillator("pctb", "Bollinger %B", lambda b, n: ta.bollinger_percent_b(b["close"], n), 20, 0.0, 1.0, 0.5),
    _Oscillator("cmo", "Chande momentum", lambda b, n: ta.cmo(b["close"], n), 9, -50.0, 50.0, 0.0),
    _Oscillator("rsi", "RSI", lambda b, n: ta.rsi(b["close"], n), 14, 30.0, 70.0, 50.0, 10),
    _Oscillator("ppo", "Price oscillator (%)", _ppo, 12, -1.0, 1.0, 0.0, 10),
    _Oscillator("mom", "Momentum (% of price)", _momentum_pct, 10, -2.0, 2.0, 0.0),
    _Oscillator("tema", "TEMA(n) − TEMA(3n) crossover", _tema_cross, 10, 0.0, 0.0, 0.0, 10),
)


def _make_prototype(osc: _Oscillator) -> Callable[..., Signals]:
    def prototype(
        bars: pd.DataFrame,
        length: int = osc.length,
        lower: float = osc.lower,
        upper: float = osc.upper,
        mid: float = osc.mid,
        mode: str = "mean_reversion" if osc.lower < osc.upper else "momentum",
        exit: str = "midpoint",
    ) -> Signals:
        return oscillator_signals(bars, osc.compute(bars, length), lower, upper, mid, mode, exit, osc.key.upper())

    prototype.__name__ = f"{osc.key}_oscillator"
    prototype.__doc__ = f"{osc.title} threshold crossings (see quantbridge.research.prototypes.oscillators)."
    return prototype


def _spec(osc: _Oscillator) -> PrototypeSpec:
    default_mode = "mean_reversion" if osc.lower < osc.upper else "momentum"
    span = max(abs(osc.upper - osc.lower), 1.0) * 10

    def lookback(params: Mapping[str, ParamValue]) -> int:
        return osc.warmup_factor * 4 * int(params["length"]) + 2

    return PrototypeSpec(
        name=f"osc_{osc.key}",
        function=_make_prototype(osc),
        description=f"{osc.title}: threshold crossings, mean-reversion or momentum, midpoint/breakout exits.",
        params=(
            Param("length", osc.length, low=2, high=500),
            Param("lower", osc.lower, low=osc.lower - span, high=osc.upper + span),
            Param("upper", osc.upper, low=osc.lower - span, high=osc.upper + span),
            Param("mid", osc.mid, low=osc.lower - span, high=osc.upper + span),
            Param("mode", default_mode, choices=("mean_reversion", "momentum")),
            Param("exit", "midpoint", choices=("midpoint", "breakout", "opposite")),
        ),
        lookback=lookback,
    )


OSCILLATORS: tuple[PrototypeSpec, ...] = tuple(_spec(osc) for osc in _FAMILY)
