"""One validation function per schema. Each finds *every* problem, row by row.

Checks run vectorised over the whole frame; only offending rows become
:class:`~quantbridge.datasets.problems.Problem` objects, so validating a million clean
bars costs a few array passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from .problems import Gap, GapPolicy, Problem, ProblemKind, Severity, ValidationReport
from .schemas import BAR_COLUMNS, QUOTE_COLUMNS, TRADE_COLUMNS, TRADE_SIDES, DataKind

__all__ = ["infer_timeframe", "validate_bars", "validate_quotes", "validate_trades"]

_E = Severity.ERROR


def _row_problems(
    mask: np.ndarray,
    kind: ProblemKind,
    field: str,
    values: np.ndarray | pd.DatetimeIndex,
    expected: str | Callable[[int], str],
    times: pd.DatetimeIndex | None,
    severity: Severity = _E,
) -> list[Problem]:
    rows = np.flatnonzero(mask)
    out: list[Problem] = []
    for row in rows.tolist():
        exp = expected if isinstance(expected, str) else expected(row)
        value = values[row]
        out.append(
            Problem(
                kind=kind,
                severity=severity,
                row=row,
                field=field,
                value=value.item() if isinstance(value, np.generic) else value,
                expected=exp,
                time=None if times is None else pd.Timestamp(times[row]),
            )
        )
    return out


def _missing_columns(frame: pd.DataFrame, required: Iterable[str]) -> list[Problem]:
    return [
        Problem(ProblemKind.MISSING_COLUMN, _E, None, name, None, f"a column named {name!r}")
        for name in required
        if name not in frame.columns
    ]


def _numeric(frame: pd.DataFrame, names: Iterable[str]) -> tuple[dict[str, np.ndarray], list[Problem]]:
    arrays: dict[str, np.ndarray] = {}
    problems: list[Problem] = []
    for name in names:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            problems.append(Problem(ProblemKind.BAD_DTYPE, _E, None, name, str(column.dtype), "a numeric column"))
            continue
        arrays[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return arrays, problems


def _not_finite(arrays: dict[str, np.ndarray], times: pd.DatetimeIndex | None) -> list[Problem]:
    problems: list[Problem] = []
    for name, values in arrays.items():
        problems += _row_problems(~np.isfinite(values), ProblemKind.NOT_FINITE, name, values, "a finite number", times)
    return problems


def _time_order(times: pd.DatetimeIndex, label: str, strict: bool) -> list[Problem]:
    """Rows whose time goes backwards (or repeats, when ``strict``)."""
    if len(times) < 2:
        return []
    ints = times.asi8
    diffs = np.diff(ints)
    problems = _row_problems(
        np.concatenate([[False], diffs < 0]),
        ProblemKind.UNSORTED,
        label,
        times,
        "a time at or after the previous row's",
        times,
    )
    if strict:
        duplicated = pd.Index(ints).duplicated(keep="first")
        problems += _row_problems(
            np.asarray(duplicated), ProblemKind.DUPLICATE_TIME, label, times, "a time not seen in an earlier row", times
        )
    return problems


def infer_timeframe(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    """The most common positive spacing of ``index`` (None with fewer than two bars)."""
    if len(index) < 2:
        return None
    diffs = np.diff(index.as_unit("ns").asi8)
    diffs = diffs[diffs > 0]
    if len(diffs) == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")


def _gaps(index: pd.DatetimeIndex, timeframe: pd.Timedelta | None) -> tuple[list[Gap], np.ndarray]:
    """Gaps and the row of the bar that ends each one."""
    if timeframe is None or len(index) < 2:
        return [], np.empty(0, dtype=np.int64)
    ints = index.asi8
    step = timeframe.value
    diffs = np.diff(ints)
    where = np.flatnonzero(diffs > step)
    gaps = [
        Gap(
            start=pd.Timestamp(ints[i] + step, tz="UTC"),
            end=pd.Timestamp(ints[i + 1], tz="UTC"),
            missing_bars=int(diffs[i] // step - (1 if diffs[i] % step == 0 else 0)),
        )
        for i in where.tolist()
    ]
    return gaps, where + 1


def _gap_problems(gaps: list[Gap], policy: GapPolicy, positions: np.ndarray) -> list[Problem]:
    if policy is GapPolicy.IGNORE:
        return []
    severity = _E if policy is GapPolicy.ERROR else Severity.WARNING
    return [
        Problem(
            ProblemKind.GAP,
            severity,
            int(row),
            "open_time",
            f"{gap.missing_bars} missing bar(s) from {gap.start.isoformat()}",
            "consecutive bars",
            gap.end,
        )
        for gap, row in zip(gaps, positions.tolist(), strict=True)
    ]


def _bar_shape(arrays: dict[str, np.ndarray], times: pd.DatetimeIndex) -> list[Problem]:
    if not {"open", "high", "low", "close"} <= arrays.keys():
        return []
    o, h, low, c = arrays["open"], arrays["high"], arrays["low"], arrays["close"]
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    with np.errstate(invalid="ignore"):
        high_bad = h < top
        low_bad = low > bottom
        non_positive = {name: arrays[name] <= 0 for name in ("open", "high", "low", "close")}
    problems = (
        _row_problems(
            high_bad,
            ProblemKind.HIGH_BELOW_OPEN_CLOSE,
            "high",
            h,
            lambda row: f">= max(open, close) = {top[row]!r}",
            times,
        )
        if high_bad.any()
        else []
    )
    if low_bad.any():
        problems += _row_problems(
            low_bad,
            ProblemKind.LOW_ABOVE_OPEN_CLOSE,
            "low",
            low,
            lambda row: f"<= min(open, close) = {bottom[row]!r}",
            times,
        )
    for name, mask in non_positive.items():
        problems += _row_problems(mask, ProblemKind.NON_POSITIVE_PRICE, name, arrays[name], "a price above zero", times)
    return problems


def _as_utc_index(index: pd.Index) -> tuple[pd.DatetimeIndex | None, list[Problem]]:
    if not isinstance(index, pd.DatetimeIndex):
        return None, [
            Problem(
                ProblemKind.BAD_INDEX, _E, None, "open_time", type(index).__name__, "a DatetimeIndex of bar open times"
            )
        ]
    if index.tz is None or str(index.tz) != "UTC":
        return None, [
            Problem(ProblemKind.BAD_INDEX, _E, None, "open_time", str(index.tz), "a UTC timezone on the index")
        ]
    return index.as_unit("ns"), []


def validate_bars(
    bars: pd.DataFrame,
    *,
    source: str = "<bars>",
    timeframe: pd.Timedelta | None = None,
    gap_policy: GapPolicy = GapPolicy.WARN,
    line_offset: int | None = None,
    volume_required: bool = True,
) -> ValidationReport:
    """Validate a bar frame; ``timeframe`` is inferred from the spacing when not given.

    With ``volume_required=False`` a volume column that is entirely NaN (a chart export
    without volume) is accepted; a partly missing volume is still an error.
    """
    index, problems = _as_utc_index(bars.index)
    problems += _missing_columns(bars, BAR_COLUMNS)
    arrays, dtype_problems = _numeric(bars, [c for c in BAR_COLUMNS if c in bars.columns])
    problems += dtype_problems
    if not volume_required and "volume" in arrays and np.isnan(arrays["volume"]).all():
        del arrays["volume"]
    if index is None:
        return ValidationReport(source, DataKind.BARS, len(bars), tuple(problems), line_offset=line_offset)
    times = index
    problems += _not_finite(arrays, times)
    problems += _time_order(index, "open_time", strict=True)
    problems += _bar_shape(arrays, times)
    if "volume" in arrays:
        with np.errstate(invalid="ignore"):
            problems += _row_problems(
                arrays["volume"] < 0, ProblemKind.NEGATIVE_VOLUME, "volume", arrays["volume"], "a volume >= 0", times
            )
    step = timeframe if timeframe is not None else infer_timeframe(index)
    gaps, positions = _gaps(index, step) if index.is_monotonic_increasing else ([], np.empty(0, dtype=np.int64))
    problems += _gap_problems(gaps, gap_policy, positions)
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    return ValidationReport(
        source=source,
        kind=DataKind.BARS,
        rows=len(bars),
        problems=tuple(problems),
        gaps=tuple(gaps),
        timeframe=step,
        line_offset=line_offset,
        first=index.min() if len(index) else None,
        last=index.max() if len(index) else None,
    )


def _ts_column(frame: pd.DataFrame) -> tuple[pd.DatetimeIndex | None, list[Problem]]:
    if "ts" not in frame.columns:
        return None, []
    column = frame["ts"]
    if not isinstance(column.dtype, pd.DatetimeTZDtype) or str(column.dtype.tz) != "UTC":
        return None, [
            Problem(ProblemKind.BAD_DTYPE, _E, None, "ts", str(column.dtype), "UTC timestamps (datetime64[ns, UTC])")
        ]
    return pd.DatetimeIndex(column).as_unit("ns"), []


def _span(times: pd.DatetimeIndex | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if times is None or len(times) == 0:
        return None, None
    return times.min(), times.max()


def validate_trades(
    trades: pd.DataFrame, *, source: str = "<trades>", line_offset: int | None = None
) -> ValidationReport:
    """Validate trade ticks: sorted times (ties allowed), finite positive price and
    amount, side ``buy``/``sell``, unique ``trade_id``."""
    problems = _missing_columns(trades, TRADE_COLUMNS)
    times, time_problems = _ts_column(trades)
    problems += time_problems
    arrays, dtype_problems = _numeric(trades, [c for c in ("price", "amount") if c in trades.columns])
    problems += dtype_problems
    problems += _not_finite(arrays, times)
    with np.errstate(invalid="ignore"):
        if "price" in arrays:
            problems += _row_problems(
                arrays["price"] <= 0,
                ProblemKind.NON_POSITIVE_PRICE,
                "price",
                arrays["price"],
                "a price above zero",
                times,
            )
        if "amount" in arrays:
            problems += _row_problems(
                arrays["amount"] <= 0,
                ProblemKind.NON_POSITIVE_AMOUNT,
                "amount",
                arrays["amount"],
                "an amount above zero",
                times,
            )
    if times is not None:
        problems += _time_order(times, "ts", strict=False)
    if "side" in trades.columns:
        sides = trades["side"].to_numpy(dtype=object)
        problems += _row_problems(
            ~trades["side"].isin(TRADE_SIDES).to_numpy(), ProblemKind.BAD_SIDE, "side", sides, "'buy' or 'sell'", times
        )
    if "trade_id" in trades.columns:
        ids = trades["trade_id"].to_numpy()
        problems += _row_problems(
            trades["trade_id"].duplicated(keep="first").to_numpy(),
            ProblemKind.DUPLICATE_TRADE_ID,
            "trade_id",
            ids,
            "a trade id not seen in an earlier row",
            times,
        )
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    first, last = _span(times)
    return ValidationReport(
        source, DataKind.TRADES, len(trades), tuple(problems), line_offset=line_offset, first=first, last=last
    )


def validate_quotes(
    quotes: pd.DataFrame, *, source: str = "<quotes>", line_offset: int | None = None
) -> ValidationReport:
    """Validate quotes: sorted times, finite positive bid/ask, bid <= ask, sizes >= 0."""
    problems = _missing_columns(quotes, QUOTE_COLUMNS)
    times, time_problems = _ts_column(quotes)
    problems += time_problems
    arrays, dtype_problems = _numeric(quotes, [c for c in QUOTE_COLUMNS[1:] if c in quotes.columns])
    problems += dtype_problems
    problems += _not_finite(arrays, times)
    with np.errstate(invalid="ignore"):
        for name in ("bid", "ask"):
            if name in arrays:
                problems += _row_problems(
                    arrays[name] <= 0, ProblemKind.NON_POSITIVE_PRICE, name, arrays[name], "a price above zero", times
                )
        for name in ("bid_size", "ask_size"):
            if name in arrays:
                problems += _row_problems(
                    arrays[name] < 0, ProblemKind.NEGATIVE_SIZE, name, arrays[name], "a size >= 0", times
                )
        if {"bid", "ask"} <= arrays.keys():
            problems += _row_problems(
                arrays["bid"] > arrays["ask"],
                ProblemKind.CROSSED_QUOTE,
                "bid",
                arrays["bid"],
                lambda row: f"<= ask = {arrays['ask'][row]!r}",
                times,
            )
    if times is not None:
        problems += _time_order(times, "ts", strict=False)
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    first, last = _span(times)
    return ValidationReport(
        source, DataKind.QUOTES, len(quotes), tuple(problems), line_offset=line_offset, first=first, last=last
    )
