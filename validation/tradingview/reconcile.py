"""Reconcile our trade list with TradingView's, trade by trade, and classify every difference.

Matching (both lists in entry order):

1. a TradingView trade and one of ours with the same side and entry time are paired, in
   order — first those that also share exit time and quantity (pyramided entries share an
   entry time, so a missing one must not shift its siblings), then the rest;
2. the rest are paired by side and entry within ``max_shift_bars`` bars, nearest first
   (so a trade entered a bar late is *one* difference, not a missing plus an extra);
3. what remains is ``missing`` (TradingView has it, we don't) or ``extra`` (we do, it doesn't).

Classes of a pair, first that applies: ``open_at_export`` (TradingView's still-open trade,
ours open too, same entry); ``off_by_n_bars`` (an entry or exit time differs; ``n_bars``
is ours minus TradingView's, counted in bars of ``bars``, so a weekend is one bar, and 0
when a time differs inside one bar);
``price_differs``; ``quantity_differs``; ``pnl_differs``; else ``exact``. ``differs``
names every field that differs. Tolerances (:class:`Tolerance`): prices within
max(1e-9, half a tick); quantities within 1e-9 relative; P&L within TradingView's display
rounding — half a unit of the last decimal the export shows (at least 2 decimals) plus
1e-7 relative, because TradingView's own P&L arithmetic is not exact (3 of BarUpDn's 5,550
P&Ls are rounded from a value up to 6e-8 relative away from price × quantity).

``matched`` = exact + open_at_export; ``match`` = matched / (TradingView's trades + our
extras), so an extra trade counts against us; ``passed`` = match ≥ ``threshold``.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Final

import numpy as np
import pandas as pd

from .trade_list import TradingViewTradeList

__all__ = ["ReconcileError", "Reconciliation", "Tolerance", "TradeClass", "reconcile"]

_REQUIRED: Final = ("trade_id", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "is_open")
_COMPARED: Final = ("entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl")


class TradeClass(StrEnum):
    EXACT = "exact"
    OFF_BY_N_BARS = "off_by_n_bars"
    PRICE_DIFFERS = "price_differs"
    QUANTITY_DIFFERS = "quantity_differs"
    PNL_DIFFERS = "pnl_differs"
    MISSING = "missing"
    EXTRA = "extra"
    OPEN_AT_EXPORT = "open_at_export"


MATCHED_CLASSES: Final = frozenset({TradeClass.EXACT, TradeClass.OPEN_AT_EXPORT})


class ReconcileError(ValueError):
    """The inputs cannot be compared (missing columns, naive times, bars without a UTC index)."""


@dataclass(frozen=True)
class Tolerance:
    """When two values count as equal (see the module docstring)."""

    price_abs: float = 1e-9
    tick_size: float = 0.0
    quantity_rel: float = 1e-9
    pnl_min_decimals: int = 2
    pnl_rel: float = 1e-7
    pnl_abs: float = 0.005  # when the reference has no ``pnl_decimals`` column

    @property
    def price(self) -> float:
        return max(self.price_abs, self.tick_size / 2)

    def pnl(self, reference: np.ndarray, shown_decimals: np.ndarray | None) -> np.ndarray:
        if shown_decimals is None:
            display = np.full(len(reference), self.pnl_abs)
        else:
            display = 0.5 * np.power(10.0, -np.maximum(shown_decimals, self.pnl_min_decimals))
        allowed: np.ndarray = display + self.pnl_rel * np.abs(reference) + 1e-12
        return allowed


@dataclass(frozen=True, eq=False)
class Reconciliation:
    """Per-trade table (TradingView and ours side by side, class, ``n_bars``, ``differs``),
    per-class counts and the verdict."""

    table: pd.DataFrame
    counts: Mapping[TradeClass, int]
    reference_trades: int
    our_trades: int
    tolerance: Tolerance
    max_shift_bars: int
    threshold: float = 1.0
    title: str = field(default="TradingView reconciliation")

    @property
    def matched(self) -> int:
        return sum(self.counts[c] for c in MATCHED_CLASSES)

    @property
    def match(self) -> float:
        rows = self.reference_trades + self.counts[TradeClass.EXTRA]
        return self.matched / rows if rows else 1.0

    @property
    def passed(self) -> bool:
        return self.match >= self.threshold

    @property
    def differences(self) -> pd.DataFrame:
        return self.table[~self.table["class"].isin([c.value for c in MATCHED_CLASSES])]

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable summary: counts, verdict, tolerances and every difference."""
        return {
            "title": self.title,
            "reference_trades": self.reference_trades,
            "our_trades": self.our_trades,
            "matched": self.matched,
            "match": self.match,
            "threshold": self.threshold,
            "passed": self.passed,
            "counts": {c.value: self.counts[c] for c in TradeClass},
            "tolerance": asdict(self.tolerance),
            "max_shift_bars": self.max_shift_bars,
            "differences": [_json_row(row) for row in self.differences.to_dict("records")],
        }

    def to_html(self, *, only_differences: bool = False, max_rows: int | None = None) -> str:
        """A self-contained HTML fragment (no scripts, no external assets)."""
        from .reconcile_html import reconciliation_html

        return reconciliation_html(self, only_differences=only_differences, max_rows=max_rows)


def _json_value(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_row(row: Mapping[object, object]) -> dict[str, object]:
    out = {str(k): _json_value(v) for k, v in row.items()}
    out["differs"] = [f for f in str(out["differs"] or "").split(",") if f]
    return out


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Side:
    """One list, in entry order, with bar positions of its entries and exits."""

    frame: pd.DataFrame
    entry_bar: np.ndarray
    exit_bar: np.ndarray
    pnl_decimals: np.ndarray | None


def _frame(trades: pd.DataFrame, who: str) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in trades]
    if missing:
        raise ReconcileError(f"{who} trades lack column(s) {', '.join(missing)}")
    for column in ("entry_time", "exit_time"):
        if getattr(trades[column].dt, "tz", None) is None:
            raise ReconcileError(
                f"{who} {column} is naive; read the list with tz= or localize it with the zone detect_timezone finds"
            )
    frame = trades.sort_values(["entry_time", "trade_id"], kind="stable").reset_index(drop=True)
    if "pnl" not in frame:
        frame = frame.assign(pnl=np.nan)
    for column in ("entry_time", "exit_time", "mark_time"):
        if column in frame:
            frame[column] = frame[column].dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return frame


def _bar_positions(index: pd.DatetimeIndex, times: pd.Series) -> np.ndarray:
    """The bar containing each time (NaN for NaT)."""
    utc = pd.DatetimeIndex(times).tz_convert("UTC").as_unit("ns")
    position = index.searchsorted(utc, side="right").astype("float64") - 1
    position[np.asarray(utc.isna())] = np.nan
    return position


def _side(trades: pd.DataFrame, who: str, index: pd.DatetimeIndex) -> _Side:
    frame = _frame(trades, who)
    entry = _bar_positions(index, frame["entry_time"])
    exit_bar = _bar_positions(index, frame["exit_time"])
    is_open = frame["is_open"].to_numpy(dtype=bool)
    mark = _bar_positions(index, frame["mark_time"]) if "mark_time" in frame else np.full(len(frame), np.nan)
    mark = np.where(np.isnan(mark), len(index) - 1, mark)  # an open trade is marked at the last bar
    exit_bar = np.where(is_open, mark, exit_bar)
    decimals = frame["pnl_decimals"].to_numpy(dtype="float64") if "pnl_decimals" in frame else None
    if decimals is not None:
        decimals = np.where(decimals < 0, np.nan, decimals)
    return _Side(frame, entry, exit_bar, decimals)


def _bar_index(bars: pd.DataFrame | pd.DatetimeIndex) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(bars if isinstance(bars, pd.DatetimeIndex) else bars.index)
    if index.tz is None:
        raise ReconcileError("bars need a UTC DatetimeIndex of open times")
    return index.tz_convert("UTC").as_unit("ns")


# ---------------------------------------------------------------- matching


def _keys(side: _Side, whole_trade: bool) -> list[tuple[object, ...]]:
    frame = side.frame
    columns: list[np.ndarray] = [frame["side"].to_numpy(dtype=str), frame["entry_time"].array.asi8]
    if whole_trade:
        columns += [frame["exit_time"].array.asi8, np.round(frame["quantity"].to_numpy(dtype="float64"), 8)]
    return list(zip(*columns, strict=True))


def _match_same_entry(tv: _Side, ours: _Side, pairs: dict[int, int], whole_trade: bool) -> None:
    """Pair trades with equal keys, in order, among those not yet paired."""
    used = set(pairs.values())
    queues: defaultdict[tuple[object, ...], deque[int]] = defaultdict(deque)
    for j, key in enumerate(_keys(ours, whole_trade)):
        if j not in used:
            queues[key].append(j)
    for i, key in enumerate(_keys(tv, whole_trade)):
        if i not in pairs and queues[key]:
            pairs[i] = queues[key].popleft()


def _match_nearby(tv: _Side, ours: _Side, pairs: dict[int, int], max_shift: int) -> None:
    used = set(pairs.values())
    free = np.array([j for j in range(len(ours.frame)) if j not in used], dtype=np.int64)
    free_bars = ours.entry_bar[free]
    order = np.argsort(free_bars, kind="stable")
    free, free_bars = free[order], free_bars[order]
    candidates: list[tuple[float, int, int]] = []
    for i in (i for i in range(len(tv.frame)) if i not in pairs):
        lo = np.searchsorted(free_bars, tv.entry_bar[i] - max_shift, side="left")
        hi = np.searchsorted(free_bars, tv.entry_bar[i] + max_shift, side="right")
        side = str(tv.frame["side"].iat[i])
        candidates += [
            (abs(free_bars[k] - tv.entry_bar[i]), i, int(free[k]))
            for k in range(lo, hi)
            if str(ours.frame["side"].iat[int(free[k])]) == side
        ]
    taken: set[int] = set()
    for _, i, j in sorted(candidates):
        if i not in pairs and j not in taken:
            pairs[i] = j
            taken.add(j)


# ---------------------------------------------------------------- classifying


@dataclass(frozen=True)
class _Differences:
    """Per pair: which compared field differs, and the bar shifts."""

    flags: dict[str, np.ndarray]
    entry_shift: np.ndarray
    exit_shift: np.ndarray
    both_open: np.ndarray
    tv_open: np.ndarray


def _apart(ours: np.ndarray, theirs: np.ndarray, allowed: float | np.ndarray) -> np.ndarray:
    """Where two values differ by more than ``allowed``, or only one of them is known."""
    apart: np.ndarray = ~(np.abs(ours - theirs) <= allowed) & ~(np.isnan(ours) & np.isnan(theirs))
    return apart


def _differences(tv: _Side, ours: _Side, i: np.ndarray, j: np.ndarray, tol: Tolerance) -> _Differences:
    a, b = tv.frame.iloc[i], ours.frame.iloc[j]
    tv_open, our_open = a["is_open"].to_numpy(dtype=bool), b["is_open"].to_numpy(dtype=bool)
    closed = ~tv_open & ~our_open

    def values(frame: pd.DataFrame, column: str) -> np.ndarray:
        return frame[column].to_numpy(dtype="float64")

    tv_pnl, our_pnl = values(a, "pnl"), values(b, "pnl")
    pnl_tol = tol.pnl(tv_pnl, None if tv.pnl_decimals is None else tv.pnl_decimals[i])
    # an open trade's mark (exit price, P&L) is compared only where both sides state one
    marked = ~(tv_open & our_open & (np.isnan(values(a, "exit_price")) | np.isnan(values(b, "exit_price"))))
    exit_times_differ = (a["exit_time"].array.asi8 != b["exit_time"].array.asi8) & closed
    flags = {
        "entry_time": a["entry_time"].array.asi8 != b["entry_time"].array.asi8,
        "exit_time": exit_times_differ | (tv_open != our_open),
        "entry_price": _apart(values(b, "entry_price"), values(a, "entry_price"), tol.price),
        "exit_price": _apart(values(b, "exit_price"), values(a, "exit_price"), tol.price) & marked,
        "quantity": _apart(values(b, "quantity"), values(a, "quantity"), tol.quantity_rel * values(a, "quantity")),
        "pnl": _apart(our_pnl, tv_pnl, pnl_tol) & ~np.isnan(tv_pnl) & marked,
    }
    shifts = (ours.entry_bar[j] - tv.entry_bar[i], ours.exit_bar[j] - tv.exit_bar[i])
    return _Differences(flags, shifts[0], shifts[1], tv_open & our_open, tv_open)


def _classify(d: _Differences) -> tuple[np.ndarray, np.ndarray]:
    f = d.flags
    entry_same = ~(f["entry_time"] | f["entry_price"] | f["quantity"])
    closed = ~d.both_open
    conditions = [
        d.both_open & entry_same,
        f["entry_time"] | f["exit_time"],
        f["entry_price"] | (f["exit_price"] & closed),
        f["quantity"],
        f["pnl"] & closed,
    ]
    choices = [
        TradeClass.OPEN_AT_EXPORT.value,
        TradeClass.OFF_BY_N_BARS.value,
        TradeClass.PRICE_DIFFERS.value,
        TradeClass.QUANTITY_DIFFERS.value,
        TradeClass.PNL_DIFFERS.value,
    ]
    classes = np.select(conditions, choices, default=TradeClass.EXACT.value)
    n_bars = np.where(f["entry_time"], d.entry_shift, d.exit_shift)
    return classes, np.where(classes == TradeClass.OFF_BY_N_BARS.value, n_bars, np.nan)


def _differs_text(d: _Differences) -> list[str]:
    names = list(d.flags)
    stacked = np.column_stack([d.flags[n] for n in names]) if names else np.zeros((0, 0), dtype=bool)
    return [",".join(n for n, hit in zip(names, row, strict=True) if hit) for row in stacked]


# ---------------------------------------------------------------- the table


def _side_columns(prefix: str, side: _Side, rows: np.ndarray) -> dict[str, pd.Series]:
    picked = side.frame.reindex(rows).reset_index(drop=True)  # row −1: absent on this side
    columns = {f"{prefix}_trade": picked["trade_id"].astype("Int64")}
    for name in ("side", *_COMPARED):
        columns[f"{prefix}_{name}"] = picked[name]
    return columns


def _ints(*parts: np.ndarray) -> pd.Series:
    return pd.Series(np.concatenate(parts).astype("float64")).astype("Int64")


def _table(tv: _Side, ours: _Side, pairs: dict[int, int], tol: Tolerance) -> pd.DataFrame:
    i = np.array(sorted(pairs), dtype=np.int64)
    j = np.array([pairs[k] for k in i], dtype=np.int64)
    d = _differences(tv, ours, i, j, tol)
    classes, n_bars = _classify(d)
    missing = np.array([k for k in range(len(tv.frame)) if k not in pairs], dtype=np.int64)
    used = set(pairs.values())
    extra = np.array([k for k in range(len(ours.frame)) if k not in used], dtype=np.int64)
    tv_rows = np.concatenate([i, missing, np.full(len(extra), -1)])
    our_rows = np.concatenate([j, np.full(len(missing), -1), extra])
    unpaired = np.full(len(missing) + len(extra), np.nan)
    table = pd.DataFrame(
        {
            "class": [*classes, *[TradeClass.MISSING.value] * len(missing), *[TradeClass.EXTRA.value] * len(extra)],
            "n_bars": _ints(n_bars, unpaired),
            "differs": [*_differs_text(d), *[""] * len(unpaired)],
            **_side_columns("tv", tv, tv_rows),
            **_side_columns("our", ours, our_rows),
            "entry_shift_bars": _ints(d.entry_shift, unpaired),
            "exit_shift_bars": _ints(d.exit_shift, unpaired),
        }
    )
    when = table["tv_entry_time"].fillna(table["our_entry_time"])
    order = np.lexsort((our_rows, tv_rows, when.array.asi8))
    return table.iloc[order].reset_index(drop=True)


def reconcile(
    ours: pd.DataFrame,
    theirs: TradingViewTradeList | pd.DataFrame,
    bars: pd.DataFrame | pd.DatetimeIndex,
    *,
    tolerance: Tolerance | None = None,
    max_shift_bars: int = 3,
    threshold: float = 1.0,
    title: str = "TradingView reconciliation",
) -> Reconciliation:
    """Match ``ours`` (a :mod:`quantbridge.datasets.trade_list` frame) with TradingView's
    list ``theirs`` (imported, times in UTC) on ``bars`` (the bars both were run on, or their
    open-time index) and classify every trade (see the module docstring)."""
    tolerance = tolerance or Tolerance()
    index = _bar_index(bars)
    reference = theirs.trades if isinstance(theirs, TradingViewTradeList) else theirs
    tv, us = _side(reference, "TradingView", index), _side(ours, "our", index)
    pairs: dict[int, int] = {}
    _match_same_entry(tv, us, pairs, whole_trade=True)  # identical trades first (pyramided entries share a time)
    _match_same_entry(tv, us, pairs, whole_trade=False)
    _match_nearby(tv, us, pairs, max_shift_bars)
    table = _table(tv, us, pairs, tolerance)
    found = table["class"].value_counts()
    counts = {c: int(found.get(c.value, 0)) for c in TradeClass}
    return Reconciliation(table, counts, len(tv.frame), len(us.frame), tolerance, max_shift_bars, threshold, title)
