"""Warm-up sensitivity: how much history a prototype needs before its signals stop
depending on where the data starts (the EMA/RSI convergence problem).

The prototype is run on the whole history and on windows that start later (the first
``h`` bars dropped, for each ``h`` in ``starts``). For each window we find the offset
(bars since the window's start) from which everything agrees with the full run: the
signal columns exactly (``*_entry_from`` bar positions are shifted by ``h``) and every
indicator within ``atol + rtol·|full|`` (NaN equal to NaN). The largest offset over all
starts is the warm-up the data *requires*; the recommendation adds a ``margin`` and is
compared with the prototype's declared :meth:`PrototypeSpec.warmup`. The largest
absolute indicator difference at each offset shows the convergence itself.

This is freqtrade's recursive analysis applied to the prototype contract.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from quantbridge.research.signals import Signals

from .causality import signal_columns

__all__ = ["StartRun", "WarmupResult", "check_warmup", "default_starts"]

Prototype = Callable[..., Signals]
_FROM_COLUMNS: Final = ("long_entry_from", "short_entry_from")
_CHECKPOINTS: Final = (0, 1, 2, 3, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000)


@dataclass(frozen=True)
class StartRun:
    """One window: ``start`` bars dropped, ``bars`` left. ``signals_agree_from`` and
    ``indicators_agree_from`` are offsets from the window's start (``None``: still
    different on the window's last bar)."""

    start: int
    bars: int
    signals_agree_from: int | None
    indicators_agree_from: int | None

    @property
    def agree_from(self) -> int | None:
        if self.signals_agree_from is None or self.indicators_agree_from is None:
            return None
        return max(self.signals_agree_from, self.indicators_agree_from)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "bars": self.bars,
            "signals_agree_from": self.signals_agree_from,
            "indicators_agree_from": self.indicators_agree_from,
            "agree_from": self.agree_from,
        }


@dataclass(frozen=True)
class WarmupResult:
    """The outcome of :func:`check_warmup`.

    ``indicator_gap[j]`` is the largest absolute indicator difference, over every start,
    ``j`` bars after the window's start (``inf`` where one side is NaN and the other not)."""

    prototype: str
    bars: int
    runs: tuple[StartRun, ...]
    indicator_gap: tuple[float, ...]
    declared: int | None
    margin: float
    rtol: float
    atol: float
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def required(self) -> int | None:
        """Bars after which signals and indicators agree for every tested start (``None``: some never did)."""
        offsets = [run.agree_from for run in self.runs]
        if any(o is None for o in offsets):
            return None
        return max((o for o in offsets if o is not None), default=0)

    @property
    def signal_required(self) -> int | None:
        """As :attr:`required`, for the signal columns alone."""
        offsets = [run.signals_agree_from for run in self.runs]
        if any(o is None for o in offsets):
            return None
        return max((o for o in offsets if o is not None), default=0)

    @property
    def recommended(self) -> int | None:
        """``required`` plus ``ceil(margin · required)``; ``None`` when it did not converge."""
        required = self.required
        return None if required is None else required + math.ceil(self.margin * required)

    @property
    def declared_sufficient(self) -> bool | None:
        """Whether the declared warm-up covers what the data requires."""
        if self.declared is None:
            return None
        required = self.required
        return False if required is None else self.declared >= required

    def gap_at(self, offset: int) -> float:
        return self.indicator_gap[offset]

    def checkpoints(self) -> list[tuple[int, float]]:
        """``(offset, indicator_gap)`` at a few offsets, for tables."""
        return [(j, self.indicator_gap[j]) for j in _CHECKPOINTS if j < len(self.indicator_gap)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": "warmup",
            "prototype": self.prototype,
            "params": {k: v if isinstance(v, int | float | bool | str) else str(v) for k, v in self.params.items()},
            "bars": self.bars,
            "declared": self.declared,
            "required": self.required,
            "signal_required": self.signal_required,
            "recommended": self.recommended,
            "declared_sufficient": self.declared_sufficient,
            "margin": self.margin,
            "rtol": self.rtol,
            "atol": self.atol,
            "runs": [run.to_dict() for run in self.runs],
            "indicator_gap": [[j, _finite_or_none(g)] for j, g in self.checkpoints()],
        }

    def to_html(self) -> str:
        """An HTML fragment: the recommendation and two small tables."""
        return _render_html(self)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def default_starts(n: int, count: int = 10) -> tuple[int, ...]:
    """``count`` starts spread over the first half of ``n`` bars (each window keeps at least half)."""
    if n < 4:
        return ()
    return tuple(int(h) for h in np.unique(np.linspace(1, n // 2, count).astype(np.int64)))


def _agree_from(differs: np.ndarray) -> int | None:
    """The first offset after the last disagreement (``None`` when the last row disagrees)."""
    if not differs.any():
        return 0
    last = int(np.flatnonzero(differs)[-1])
    return None if last == len(differs) - 1 else last + 1


def _column_differs(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Rows where two columns differ: booleans and bar positions exactly, prices within
    ``atol + rtol·|b|`` (running sums round differently when the history starts elsewhere)."""
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return np.asarray(a != b, dtype=np.bool_)
    x, y = a.astype(np.float64), b.astype(np.float64)
    same = (np.isnan(x) & np.isnan(y)) | (np.abs(x - y) <= atol + rtol * np.abs(y))
    return np.asarray(~same, dtype=np.bool_)


def _signal_differs(window: pd.DataFrame, full: pd.DataFrame, start: int, rtol: float, atol: float) -> np.ndarray:
    differs = np.zeros(len(window), dtype=np.bool_)
    for column in window.columns:
        a = window[column].to_numpy()
        if column in _FROM_COLUMNS:
            a = a + start
        differs |= _column_differs(a, full[column].to_numpy()[start:], rtol, atol)
    return differs


def _indicator_arrays(window: Signals, full: Signals, start: int) -> tuple[np.ndarray, np.ndarray]:
    """The window's and the full run's indicators on the window's rows (one row per indicator)."""
    names = sorted(full.indicators)
    n = len(window)
    if not names:
        return np.zeros((0, n)), np.zeros((0, n))
    a = np.vstack([np.asarray(window.indicators[k], dtype=np.float64) for k in names])
    b = np.vstack([np.asarray(full.indicators[k], dtype=np.float64)[start:] for k in names])
    return a, b


def _indicator_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, the largest absolute difference (0 when both NaN, inf when one is)."""
    if not a.size:
        return np.zeros(a.shape[1])
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore"):
        gap = np.where(nan_a & nan_b, 0.0, np.where(nan_a | nan_b, np.inf, np.abs(a - b)))
    return np.asarray(gap.max(axis=0), dtype=np.float64)


def _indicator_differs(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    if not a.size:
        return np.zeros(a.shape[1], dtype=np.bool_)
    return np.asarray(_column_differs(a, b, rtol, atol).any(axis=0), dtype=np.bool_)


def _run_start(
    prototype: Prototype,
    bars: pd.DataFrame,
    params: Mapping[str, object],
    full: Signals,
    start: int,
    tol: tuple[float, float],
) -> tuple[StartRun, np.ndarray]:
    window = prototype(bars.iloc[start:], **params)
    columns = signal_columns(window, indicators=False), signal_columns(full, indicators=False)
    signals = _signal_differs(*columns, start, *tol)
    a, b = _indicator_arrays(window, full, start)
    indicators = _indicator_differs(a, b, *tol)
    run = StartRun(start, len(window), _agree_from(signals), _agree_from(indicators))
    return run, _indicator_gap(a, b)


def check_warmup(
    prototype: Prototype,
    bars: pd.DataFrame,
    params: Mapping[str, object] | None = None,
    *,
    starts: Sequence[int] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    margin: float = 0.1,
    name: str | None = None,
) -> WarmupResult:
    """Measure how ``prototype``'s signals depend on the amount of history before them.

    ``starts`` are the numbers of leading bars dropped (default :func:`default_starts`).
    The declared warm-up is read from ``prototype.warmup(params)`` when it has one (a
    :class:`PrototypeSpec`)."""
    params = dict(params or {})
    chosen = tuple(sorted(set(starts))) if starts is not None else default_starts(len(bars))
    if any(not 0 < h < len(bars) for h in chosen):
        raise ValueError(f"starts must lie in 1..{len(bars) - 1}")
    full = prototype(bars, **params)
    runs: list[StartRun] = []
    shortest = min((len(bars) - h for h in chosen), default=0)
    curve = np.zeros(shortest)
    for h in chosen:
        run, gap = _run_start(prototype, bars, params, full, h, (rtol, atol))
        runs.append(run)
        curve = np.maximum(curve, gap[:shortest])
    warmup = getattr(prototype, "warmup", None)
    return WarmupResult(
        prototype=name or str(getattr(prototype, "name", getattr(prototype, "__name__", "prototype"))),
        bars=len(bars),
        runs=tuple(runs),
        indicator_gap=tuple(float(g) for g in curve),
        declared=int(warmup(params)) if callable(warmup) else None,
        margin=margin,
        rtol=rtol,
        atol=atol,
        params=params,
    )


def _fmt(value: int | float | None) -> str:
    if value is None:
        return "never"
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else "NaN on one side"
    return str(value)


def _render_html(result: WarmupResult) -> str:
    verdict = {None: "", True: " (declared warm-up suffices)", False: " (declared warm-up is TOO SHORT)"}[
        result.declared_sufficient
    ]
    head = (
        f"<section class='qb-warmup'><h3>Warm-up — {html.escape(result.prototype)}</h3>"
        f"<p>Required {_fmt(result.required)} bars (signals alone {_fmt(result.signal_required)}), "
        f"recommended {_fmt(result.recommended)} (margin {result.margin:.0%}); "
        f"declared {_fmt(result.declared)}{verdict}. Indicators agree within rtol {result.rtol:g}, "
        f"atol {result.atol:g}.</p>"
    )
    runs = "".join(
        f"<tr><td>{r.start}</td><td>{r.bars}</td><td>{_fmt(r.signals_agree_from)}</td>"
        f"<td>{_fmt(r.indicators_agree_from)}</td></tr>"
        for r in result.runs
    )
    gaps = "".join(f"<tr><td>{j}</td><td>{_fmt(g)}</td></tr>" for j, g in result.checkpoints())
    return (
        head
        + "<table><thead><tr><th>bars dropped</th><th>window</th><th>signals agree from</th>"
        + f"<th>indicators agree from</th></tr></thead><tbody>{runs}</tbody></table>"
        + "<table><thead><tr><th>bars since window start</th><th>max indicator difference</th></tr></thead>"
        + f"<tbody>{gaps}</tbody></table></section>"
    )
