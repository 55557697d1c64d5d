"""Causality (look-ahead) check: a prototype's past signals must not change when later
bars are added.

The prototype is run once on the whole history and again on truncated prefixes: at
systematic cuts (every ``step``-th bar, plus each of the last ``tail`` bars) and at
``random_cuts`` seeded random cuts. A prefix of ``cut`` bars must reproduce the full
run's first ``cut`` rows of every column of :meth:`Signals.to_frame` — and of every
indicator the prototype reports — with NaN equal to NaN (exactly by default, or within
``tolerance``). Each moved value is a :class:`Violation`: the bar, the column, the value
on the prefix and on the full history, and the first cut that exposed it.

This is freqtrade's look-ahead analysis applied to the prototype contract (architecture
contract 2: the value at bar *i* depends only on bars ``<= i``).
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

__all__ = ["CausalityResult", "Violation", "causality_cuts", "check_causality", "signal_columns"]

Prototype = Callable[..., Signals]
#: The prefix of an indicator column in :func:`signal_columns`.
INDICATOR_PREFIX: Final = "indicator:"
_MAX_KEPT: Final = 1_000
_HTML_ROWS: Final = 50


@dataclass(frozen=True)
class Violation:
    """A value at ``bar`` (position in the bars) that differs between the prefix of
    ``cut`` bars and the full history."""

    bar: int
    time: pd.Timestamp
    column: str
    prefix_value: object
    full_value: object
    cut: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "bar": self.bar,
            "time": self.time.isoformat(),
            "column": self.column,
            "prefix_value": _plain(self.prefix_value),
            "full_value": _plain(self.full_value),
            "cut": self.cut,
        }


@dataclass(frozen=True)
class CausalityResult:
    """The outcome of :func:`check_causality`: ``passed`` when no cut moved a value.

    ``violations`` keeps one entry per (bar, column) — the first cut that exposed it —
    at most ``max_kept`` of them; ``violation_count`` counts them all."""

    prototype: str
    bars: int
    cuts: tuple[int, ...]
    columns: tuple[str, ...]
    violations: tuple[Violation, ...]
    violation_count: int
    tolerance: float = 0.0
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.violation_count == 0

    def moved_columns(self) -> tuple[str, ...]:
        """The columns with at least one (kept) violation, in column order."""
        moved = {v.column for v in self.violations}
        return tuple(c for c in self.columns if c in moved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": "causality",
            "prototype": self.prototype,
            "params": {k: _plain(v) for k, v in self.params.items()},
            "passed": self.passed,
            "bars": self.bars,
            "cuts": list(self.cuts),
            "columns": list(self.columns),
            "tolerance": self.tolerance,
            "violation_count": self.violation_count,
            "violations": [v.to_dict() for v in self.violations],
        }

    def to_html(self) -> str:
        """An HTML fragment: verdict, the cuts, and the first violations."""
        return _render_html(self)


def _plain(value: object) -> object:
    """A JSON-friendly scalar (NaN → None, numpy scalars → Python)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, int | float | bool | str) or value is None:
        return value
    return str(value)


def signal_columns(signals: Signals, *, indicators: bool = True) -> pd.DataFrame:
    """Every column of ``signals.to_frame()`` and, with ``indicators``, each indicator as
    ``indicator:<name>`` (aligned by position)."""
    frame = signals.to_frame()
    if not indicators:
        return frame
    extra = {
        f"{INDICATOR_PREFIX}{name}": np.asarray(series, dtype=np.float64)
        for name, series in sorted(signals.indicators.items())
    }
    if not extra:
        return frame
    return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)


def causality_cuts(n: int, *, step: int, tail: int, random_cuts: int, seed: int, min_cut: int = 1) -> tuple[int, ...]:
    """Prefix lengths to test on ``n`` bars: every ``step``-th from ``min_cut``, the last
    ``tail`` (``n - tail`` … ``n - 1``) and ``random_cuts`` seeded random ones; sorted, unique."""
    if step < 1 or tail < 0 or random_cuts < 0 or min_cut < 1:
        raise ValueError("expected step >= 1, tail >= 0, random_cuts >= 0 and min_cut >= 1")
    if n <= min_cut:
        return ()
    systematic = set(range(min_cut, n, step)) | set(range(max(min_cut, n - tail), n))
    rng = np.random.default_rng(seed)
    drawn = rng.integers(min_cut, n, size=random_cuts) if random_cuts else np.array([], dtype=np.int64)
    return tuple(sorted(systematic | {int(c) for c in drawn}))


def _differs(prefix: np.ndarray, full: np.ndarray, tolerance: float) -> np.ndarray:
    """Mask of rows where the two columns differ (NaN equals NaN)."""
    if prefix.dtype.kind in "fc" or full.dtype.kind in "fc":
        a, b = prefix.astype(np.float64), full.astype(np.float64)
        both_nan = np.isnan(a) & np.isnan(b)
        close = np.abs(a - b) <= tolerance if tolerance > 0 else a == b
        return ~(both_nan | close)
    return np.asarray(prefix != full, dtype=np.bool_)


def _compare_prefix(
    prefix: pd.DataFrame, full: pd.DataFrame, cut: int, tolerance: float, found: dict[tuple[int, str], Violation]
) -> None:
    index = pd.DatetimeIndex(full.index)
    for column in full.columns:
        full_values = full[column].to_numpy()[:cut]
        prefix_values = (
            prefix[column].to_numpy() if column in prefix.columns else np.full(cut, np.nan, dtype=np.float64)
        )
        for bar in np.flatnonzero(_differs(prefix_values, full_values, tolerance)).tolist():
            found.setdefault(
                (bar, column),
                Violation(bar, index[bar], column, prefix_values[bar], full_values[bar], cut),
            )


def _run(prototype: Prototype, bars: pd.DataFrame, params: Mapping[str, object], indicators: bool) -> pd.DataFrame:
    signals = prototype(bars, **params)
    if len(signals) != len(bars):
        raise ValueError(f"the prototype returned {len(signals)} rows for {len(bars)} bars")
    return signal_columns(signals, indicators=indicators)


def check_causality(
    prototype: Prototype,
    bars: pd.DataFrame,
    params: Mapping[str, object] | None = None,
    *,
    step: int = 50,
    tail: int = 3,
    random_cuts: int = 10,
    seed: int = 0,
    min_cut: int = 1,
    cuts: Sequence[int] | None = None,
    tolerance: float = 0.0,
    indicators: bool = True,
    name: str | None = None,
    max_kept: int = _MAX_KEPT,
) -> CausalityResult:
    """Run ``prototype`` on prefixes of ``bars`` and report every earlier value that moved.

    ``cuts`` (prefix lengths) overrides the systematic/random choice. ``prototype`` is
    any ``(bars, **params) -> Signals`` callable, e.g. a :class:`PrototypeSpec`.
    """
    params = dict(params or {})
    chosen = (
        tuple(sorted(set(cuts)))
        if cuts is not None
        else causality_cuts(len(bars), step=step, tail=tail, random_cuts=random_cuts, seed=seed, min_cut=min_cut)
    )
    if any(not 0 < c < len(bars) for c in chosen):
        raise ValueError(f"cuts must lie in 1..{len(bars) - 1}")
    full = _run(prototype, bars, params, indicators)
    found: dict[tuple[int, str], Violation] = {}
    for cut in chosen:
        _compare_prefix(_run(prototype, bars.iloc[:cut], params, indicators), full, cut, tolerance, found)
    ordered = sorted(found.values(), key=lambda v: (v.bar, list(full.columns).index(v.column)))
    return CausalityResult(
        prototype=name or str(getattr(prototype, "name", getattr(prototype, "__name__", "prototype"))),
        bars=len(bars),
        cuts=chosen,
        columns=tuple(str(c) for c in full.columns),
        violations=tuple(ordered[:max_kept]),
        violation_count=len(ordered),
        tolerance=tolerance,
        params=params,
    )


def _render_html(result: CausalityResult) -> str:
    verdict = "passed" if result.passed else f"FAILED: {result.violation_count} moved value(s)"
    head = (
        f"<section class='qb-causality'><h3>Causality — {html.escape(result.prototype)}: {verdict}</h3>"
        f"<p>{result.bars} bars, {len(result.cuts)} prefixes (cuts {html.escape(_cut_summary(result.cuts))}), "
        f"{len(result.columns)} columns, tolerance {result.tolerance:g}.</p>"
    )
    if result.passed:
        return head + "</section>"
    rows = "".join(
        f"<tr><td>{v.bar}</td><td>{html.escape(v.time.isoformat())}</td><td>{html.escape(v.column)}</td>"
        f"<td>{html.escape(str(v.prefix_value))}</td><td>{html.escape(str(v.full_value))}</td><td>{v.cut}</td></tr>"
        for v in result.violations[:_HTML_ROWS]
    )
    more = len(result.violations) - _HTML_ROWS
    note = f"<p>… and {more} more.</p>" if more > 0 else ""
    table = (
        "<table><thead><tr><th>bar</th><th>time</th><th>column</th><th>on prefix</th>"
        f"<th>on full history</th><th>cut</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return head + table + note + "</section>"


def _cut_summary(cuts: tuple[int, ...]) -> str:
    if len(cuts) <= 8:
        return ", ".join(map(str, cuts))
    return ", ".join(map(str, cuts[:4])) + ", …, " + ", ".join(map(str, cuts[-3:]))
