"""Candle parity: candles built from ticks by the streaming :class:`CandleAggregator`
against an exchange's own klines, and candle sources against each other.

:func:`compare_candles` is the one comparison: two bar frames over their common span,
bar by bar; each bar that differs is a :class:`CandleDifference` (which of open, high,
low, close, volume differ, or missing on one side). Known disagreement between sources
is *reported*, not raised: a :class:`CandleParity` has the counts, the list and the
``match`` ratio, and the caller decides what is acceptable.

The sources:

* :func:`exchange_candle_parity` — through an exchange's API (the local exchange or any
  ccxt client): fetch its trades (``fromId`` paging), aggregate them with the runtime's
  ``CandleAggregator``, and compare with ``fetch_ohlcv`` from the same server;
* :func:`synthesised_tick_parity` — ticks synthesised from klines re-aggregate to them;
* :func:`resampled_parity` — finer bars (e.g. a 5m chart export) resampled to a coarser
  export (complete buckets only).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from quantbridge.datasets.resample import resample_bars
from quantbridge.datasets.synth import synthesize_ticks_from_bars
from quantbridge.datasets.timeframes import parse_timeframe
from quantbridge.runtime.domain import Candle, Tick
from quantbridge.runtime.marketdata.aggregator import CandleAggregator, EmptyPolicy
from quantbridge.runtime.marketdata.ccxt_rest import decode_trade
from quantbridge.runtime.marketdata.frames import trade_ticks

__all__ = [
    "PRICE_FIELDS",
    "CandleDifference",
    "CandleParity",
    "aggregate_ticks",
    "candles_frame",
    "compare_candles",
    "exchange_candle_parity",
    "fetch_exchange_ohlcv",
    "fetch_exchange_ticks",
    "resampled_parity",
    "synthesised_tick_parity",
]

PRICE_FIELDS: Final = ("open", "high", "low", "close")
_FIELDS: Final = (*PRICE_FIELDS, "volume")
_MS: Final = 1_000_000
_HTML_ROWS: Final = 100
DifferenceKind = Literal["differs", "missing_left", "missing_right"]


@dataclass(frozen=True)
class CandleDifference:
    """One bar that is not the same on both sides. ``kind`` is ``differs`` (``fields``
    names the fields), ``missing_left`` or ``missing_right`` (the bar is on one side
    only). ``left``/``right`` hold the compared fields' values (``None`` when missing)."""

    time: pd.Timestamp
    kind: DifferenceKind
    fields: tuple[str, ...]
    left: tuple[float, ...] | None
    right: tuple[float, ...] | None

    def to_dict(self, names: Sequence[str]) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "kind": self.kind,
            "fields": list(self.fields),
            "left": None if self.left is None else dict(zip(names, map(_number, self.left), strict=True)),
            "right": None if self.right is None else dict(zip(names, map(_number, self.right), strict=True)),
        }


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


@dataclass(frozen=True)
class CandleParity:
    """Two candle sources compared bar by bar over their common span.

    ``compared`` counts the bars present on either side inside the span; ``matched``
    those equal on both (within ``price_tolerance`` absolute and ``volume_rtol``)."""

    name: str
    left_label: str
    right_label: str
    fields: tuple[str, ...]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    compared: int
    matched: int
    differences: tuple[CandleDifference, ...]
    price_tolerance: float = 0.0
    volume_rtol: float = 0.0

    @property
    def match(self) -> float:
        """The share of compared bars that match (1.0 when nothing was compared)."""
        return self.matched / self.compared if self.compared else 1.0

    @property
    def identical(self) -> bool:
        return not self.differences

    def counts(self) -> dict[str, int]:
        """How many bars differ in each field, and how many are missing on each side."""
        out = {f"{name}_differs": 0 for name in self.fields}
        out |= {f"missing_in_{self.left_label}": 0, f"missing_in_{self.right_label}": 0}
        for diff in self.differences:
            if diff.kind == "missing_left":
                out[f"missing_in_{self.left_label}"] += 1
            elif diff.kind == "missing_right":
                out[f"missing_in_{self.right_label}"] += 1
            for name in diff.fields:
                out[f"{name}_differs"] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": "candle_parity",
            "name": self.name,
            "left": self.left_label,
            "right": self.right_label,
            "fields": list(self.fields),
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "compared": self.compared,
            "matched": self.matched,
            "match": self.match,
            "price_tolerance": self.price_tolerance,
            "volume_rtol": self.volume_rtol,
            "counts": self.counts(),
            "differences": [d.to_dict(self.fields) for d in self.differences],
        }

    def to_html(self) -> str:
        """An HTML fragment: the summary, the counts and the differing bars."""
        return _render_html(self)


# --- comparison ----------------------------------------------------------------------------------


def _span(left: pd.DataFrame, right: pd.DataFrame) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if left.empty or right.empty:
        return None, None
    return max(left.index[0], right.index[0]), min(left.index[-1], right.index[-1])


def _default_fields(left: pd.DataFrame, right: pd.DataFrame) -> tuple[str, ...]:
    """OHLC, and volume when both sides have some."""
    has_volume = all("volume" in f.columns and bool(f["volume"].notna().any()) for f in (left, right))
    return _FIELDS if has_volume else PRICE_FIELDS


def _field_differs(a: np.ndarray, b: np.ndarray, tolerance: float, rtol: float) -> np.ndarray:
    nan_equal = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= tolerance + rtol * np.abs(b)
    return np.asarray(~(nan_equal | close), dtype=np.bool_)


def _value_differences(
    left: pd.DataFrame, right: pd.DataFrame, fields: tuple[str, ...], tolerance: float, volume_rtol: float
) -> list[CandleDifference]:
    a = left[list(fields)].to_numpy(dtype=np.float64)
    b = right[list(fields)].to_numpy(dtype=np.float64)
    masks = (
        np.column_stack(
            [
                _field_differs(
                    a[:, k], b[:, k], 0.0 if name == "volume" else tolerance, volume_rtol if name == "volume" else 0.0
                )
                for k, name in enumerate(fields)
            ]
        )
        if fields
        else np.zeros((len(a), 0), dtype=np.bool_)
    )
    rows = np.flatnonzero(masks.any(axis=1))
    index = pd.DatetimeIndex(left.index)
    return [
        CandleDifference(
            index[i],
            "differs",
            tuple(name for k, name in enumerate(fields) if masks[i, k]),
            tuple(a[i].tolist()),
            tuple(b[i].tolist()),
        )
        for i in rows.tolist()
    ]


def _missing(only: pd.DataFrame, fields: tuple[str, ...], kind: DifferenceKind) -> list[CandleDifference]:
    values = only[list(fields)].to_numpy(dtype=np.float64)
    index = pd.DatetimeIndex(only.index)
    side = (lambda row: (None, row)) if kind == "missing_left" else (lambda row: (row, None))
    return [CandleDifference(index[i], kind, (), *side(tuple(values[i].tolist()))) for i in range(len(only))]


def compare_candles(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    name: str = "candles",
    left_label: str = "left",
    right_label: str = "right",
    fields: Sequence[str] | None = None,
    price_tolerance: float = 0.0,
    volume_rtol: float = 0.0,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> CandleParity:
    """Compare two bar frames (open-time index) bar by bar over ``[start, end]`` — by
    default the span both cover. ``fields`` defaults to OHLC plus volume when both have it."""
    chosen = tuple(fields) if fields is not None else _default_fields(left, right)
    first, last = _span(left, right)
    first = start if start is not None else first
    last = end if end is not None else last
    if first is None or last is None:
        return CandleParity(name, left_label, right_label, chosen, None, None, 0, 0, (), price_tolerance, volume_rtol)
    a, b = left.loc[first:last], right.loc[first:last]
    both = a.index.intersection(b.index)
    found = [
        *_value_differences(a.loc[both], b.loc[both], chosen, price_tolerance, volume_rtol),
        *_missing(a.loc[a.index.difference(b.index)], chosen, "missing_right"),
        *_missing(b.loc[b.index.difference(a.index)], chosen, "missing_left"),
    ]
    found.sort(key=lambda d: d.time)
    compared = len(a.index.union(b.index))
    return CandleParity(
        name,
        left_label,
        right_label,
        chosen,
        first,
        last,
        compared,
        compared - len(found),
        tuple(found),
        price_tolerance,
        volume_rtol,
    )


# --- candles from ticks --------------------------------------------------------------------------


def candles_frame(candles: Iterable[Candle]) -> pd.DataFrame:
    """Candles as a bars frame (float OHLCV on an ``open_time`` index, plus ``trades``)."""
    rows = list(candles)
    index = pd.DatetimeIndex([c.open_time for c in rows], name="open_time").as_unit("ns")
    data = {name: np.array([float(getattr(c, name)) for c in rows], dtype=np.float64) for name in _FIELDS}
    data["trades"] = np.array([c.trades for c in rows], dtype=np.int64)
    return pd.DataFrame(data, index=index)


def aggregate_ticks(
    ticks: Iterable[Tick], symbol: str, interval: pd.Timedelta, *, empty: EmptyPolicy = EmptyPolicy.SKIP
) -> pd.DataFrame:
    """Feed ``ticks`` one by one to a :class:`CandleAggregator` and flush it at the end."""
    aggregator = CandleAggregator(symbol, interval, empty=empty)
    candles: list[Candle] = []
    for tick in ticks:
        candles.extend(aggregator.on_tick(tick))
    candles.extend(aggregator.flush())
    return candles_frame(candles)


def synthesised_tick_parity(
    bars: pd.DataFrame,
    *,
    seed: int = 0,
    ticks_per_bar: float = 8.0,
    timeframe: str | None = None,
    symbol: str = "BTCUSDT",
    label: str = "klines",
) -> CandleParity:
    """Ticks synthesised from ``bars`` (exact binary volume split), streamed through the
    aggregator, against ``bars`` themselves. Zero-volume bars get no ticks: with
    ``EmptyPolicy.FILL`` they come back as flat bars at the previous close."""
    ticks = synthesize_ticks_from_bars(bars, seed=seed, ticks_per_bar=ticks_per_bar, timeframe=timeframe)
    width = parse_timeframe(timeframe) if timeframe is not None else pd.Timedelta(bars.index[1] - bars.index[0])
    built = aggregate_ticks(trade_ticks(ticks, symbol, mode="exact"), symbol, width, empty=EmptyPolicy.FILL)
    return compare_candles(built, bars, name=f"synthesised ticks → {label}", left_label="aggregated", right_label=label)


def resampled_parity(
    fine: pd.DataFrame,
    coarse: pd.DataFrame,
    timeframe: str,
    *,
    fine_label: str = "fine",
    coarse_label: str = "coarse",
    fields: Sequence[str] | None = None,
) -> CandleParity:
    """``fine`` bars resampled to ``timeframe`` (complete buckets only) against ``coarse``,
    over the span of the complete buckets (the coarse side's other bars are not compared)."""
    built = resample_bars(fine, timeframe, complete_only=True)
    if "volume" in fine.columns and not bool(fine["volume"].notna().any()):
        built = built.assign(volume=np.nan)
    return compare_candles(
        built,
        coarse,
        name=f"{fine_label} → {timeframe} vs {coarse_label}",
        left_label=f"{fine_label}_resampled",
        right_label=coarse_label,
        fields=fields,
    )


# --- through an exchange's API -------------------------------------------------------------------


async def fetch_exchange_ticks(
    exchange: Any, symbol: str, *, first_id: int = 0, until: pd.Timestamp | None = None, limit: int = 1000
) -> list[Tick]:
    """Every trade from ``first_id`` on (``fromId`` paging), as ticks, up to ``until`` (exclusive)."""
    ticks: list[Tick] = []
    next_id = first_id
    while True:
        page = await exchange.fetch_trades(symbol, None, limit, {"fromId": next_id})
        decoded = [decode_trade(symbol, raw, pd.Timestamp(int(raw["timestamp"]) * _MS, tz="UTC")) for raw in page]
        kept = [t for t in decoded if until is None or t.ts < until]
        ticks.extend(kept)
        if len(page) < limit or len(kept) < len(decoded):
            return ticks
        next_id = decoded[-1].trade_id + 1


async def fetch_exchange_ohlcv(
    exchange: Any, symbol: str, timeframe: str, *, since: pd.Timestamp, until: pd.Timestamp, limit: int = 500
) -> pd.DataFrame:
    """The exchange's klines opening in ``[since, until)`` (``since`` paging)."""
    width_ms = int(parse_timeframe(timeframe) / pd.Timedelta(milliseconds=1))
    until_ms = until.value // _MS
    cursor = since.value // _MS
    rows: list[list[float]] = []
    while cursor < until_ms:
        page = await exchange.fetch_ohlcv(symbol, timeframe, cursor, limit)
        rows.extend(row for row in page if row[0] < until_ms)
        if len(page) < limit:
            break
        cursor = int(page[-1][0]) + width_ms
    frame = pd.DataFrame(rows, columns=["time", *_FIELDS])
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("time").astype(np.int64), unit="ms", utc=True), name="open_time")
    return frame.astype(np.float64).set_axis(index.as_unit("ns"))


async def exchange_candle_parity(
    exchange: Any,
    symbol: str,
    timeframe: str,
    *,
    since: pd.Timestamp,
    until: pd.Timestamp,
    volume_rtol: float = 1e-9,
) -> CandleParity:
    """The exchange's trades aggregated by the ``CandleAggregator`` against its own klines
    for ``[since, until)``. ``exchange`` is a ccxt async client (e.g.
    :func:`~quantbridge.datasets.exchange.binanceusdm_async_client`); trades are read
    from the first id, so the served history should start near ``since``."""
    ticks = [t for t in await fetch_exchange_ticks(exchange, symbol, until=until) if t.ts >= since]
    built = aggregate_ticks(ticks, symbol, parse_timeframe(timeframe))
    klines = await fetch_exchange_ohlcv(exchange, symbol, timeframe, since=since, until=until)
    return compare_candles(
        built,
        klines,
        name=f"{symbol} {timeframe}: aggregated trades vs klines",
        left_label="aggregated",
        right_label="klines",
        start=since,
        end=until - pd.Timedelta(1, unit="ns"),
        volume_rtol=volume_rtol,
    )


# --- report --------------------------------------------------------------------------------------


def _cells(values: tuple[float, ...] | None) -> str:
    if values is None:
        return "<td>—</td>"
    return "<td>" + ", ".join("NaN" if np.isnan(v) else f"{v:g}" for v in values) + "</td>"


def _render_html(result: CandleParity) -> str:
    counts = ", ".join(f"{html.escape(k)}: {v}" for k, v in result.counts().items() if v)
    head = (
        f"<section class='qb-candles'><h3>Candle parity — {html.escape(result.name)}</h3>"
        f"<p>{result.matched} of {result.compared} bars match ({result.match:.4%}) "
        f"from {result.start} to {result.end}; fields {', '.join(result.fields)}; "
        f"price tolerance {result.price_tolerance:g}, volume rtol {result.volume_rtol:g}."
        f"{' Differences: ' + counts + '.' if counts else ''}</p>"
    )
    if result.identical:
        return head + "</section>"
    rows = "".join(
        f"<tr><td>{html.escape(d.time.isoformat())}</td><td>{d.kind}</td><td>{', '.join(d.fields)}</td>"
        f"{_cells(d.left)}{_cells(d.right)}</tr>"
        for d in result.differences[:_HTML_ROWS]
    )
    fields = ", ".join(result.fields)
    table = (
        "<table><thead><tr><th>bar</th><th>kind</th><th>fields</th>"
        f"<th>{html.escape(result.left_label)} ({fields})</th>"
        f"<th>{html.escape(result.right_label)} ({fields})</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    more = len(result.differences) - _HTML_ROWS
    return head + table + (f"<p>… and {more} more.</p>" if more > 0 else "") + "</section>"
