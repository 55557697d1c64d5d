"""Import TradingView "List of Trades" exports into quantbridge's trade-list shape.

    >>> imported = read_tradingview_trades("rsi_trades.csv")
    >>> imported.trades            # one row per trade, quantbridge.datasets.trade_list columns + extras
    >>> imported.layout            # what was detected: separator, decimal mark, date format, language…

Every variation seen in exports is *detected*, never assumed: the separator (the one that
splits every row alike and whose header row is a known trade-list header), the language of
the headers (:mod:`.headers`), the decimal mark, the date format (:mod:`.dates`), a UTF-8
byte-order mark, and whether a trade's exit row comes before its entry row. A file that
does not fit raises :class:`TradeListFormatError` naming the file, line and field.

Times: ISO times with a UTC offset become UTC. Naive times (the chart's timezone, which the
file does not state) stay naive and ``timezone`` is ``None``, unless ``tz=`` names the zone
(or :meth:`TradingViewTradeList.localized` is called, e.g. with the zone
:func:`~quantbridge.validation.tradingview.timezone.detect_timezone` found).

Columns of :attr:`TradingViewTradeList.trades`: :data:`~quantbridge.datasets.trade_list.TRADE_LIST_COLUMNS`
(``commission`` NaN and the ``*_bar``/``bars_held`` columns −1: the export has neither;
``return_pct`` is TradingView's Net P&L %; ``exit_reason`` is ``"open"`` for a still-open
trade and empty otherwise — the export names the exit *signal*, not its mechanism), then
:data:`EXTRA_COLUMNS`: ``exit_signal``; ``mark_time`` (the time on a still-open trade's
"Open" row, its ``exit_time`` being NaT); ``pnl_decimals`` (how many decimals the export
shows for the P&L, for comparisons within its rounding); the export's position value,
run-up, drawdown and cumulative P&L (NaN when the file has no such column), and the file
lines of each trade's two rows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from quantbridge.datasets.readers import DataFormatError
from quantbridge.datasets.trade_list import TRADE_LIST_COLUMNS, ExitReason

from .csvtable import NumberParseError, RawTable, SeparatorError, decimals, detect_decimal, parse_numbers, read_table
from .dates import DateParseError, parse_times
from .headers import OPEN_SIGNALS, TYPE_WORDS, Field, UnknownHeaderError

__all__ = [
    "EXTRA_COLUMNS",
    "ExportLayout",
    "TradeListFormatError",
    "TradingViewTradeList",
    "read_tradingview_trades",
    "zone_info",
]

#: Columns after the trade-list columns (see the module docstring).
EXTRA_COLUMNS: Final = (
    "exit_signal",
    "mark_time",
    "pnl_decimals",
    "position_value",
    "run_up",
    "run_up_pct",
    "drawdown",
    "drawdown_pct",
    "cumulative_pnl",
    "cumulative_pnl_pct",
    "entry_line",
    "exit_line",
)
_TIME_COLUMNS: Final = ("entry_time", "exit_time", "mark_time")
_NUMERIC_FIELDS: Final = (
    Field.PRICE,
    Field.QUANTITY,
    Field.POSITION_VALUE,
    Field.PNL,
    Field.PNL_PCT,
    Field.RUN_UP,
    Field.RUN_UP_PCT,
    Field.DRAWDOWN,
    Field.DRAWDOWN_PCT,
    Field.CUMULATIVE_PNL,
    Field.CUMULATIVE_PNL_PCT,
)
_REQUIRED_NUMBERS: Final = frozenset({Field.PRICE, Field.QUANTITY})
_FIXED_OFFSET: Final = re.compile(r"UTC(?:(?P<sign>[+-])(?P<hours>\d{1,2})(?::(?P<minutes>\d{2}))?)?")


class TradeListFormatError(DataFormatError):
    """A trade-list export that cannot be read without guessing (file, line, field, problem)."""


#: Builds the error for a cell: problem, 0-based row (None: the whole column), field.
_Fail = Callable[[str, int | None, Field], TradeListFormatError]


@dataclass(frozen=True)
class ExportLayout:
    """What the importer detected about a file."""

    separator: str
    decimal: str
    date_format: str
    language: str
    currency: str | None
    excursion_names: str
    byte_order_mark: bool
    row_order: str  # "entry first", "exit first" or "mixed"
    headers: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class TradingViewTradeList:
    """An imported export: ``trades`` (one row per trade), ``layout`` and ``timezone`` —
    ``None`` while times are naive, else the zone they were read in (``"UTC"`` for ISO
    offsets); aware times are UTC."""

    path: Path
    trades: pd.DataFrame
    layout: ExportLayout
    timezone: str | None

    @property
    def open_trades(self) -> pd.DataFrame:
        return self.trades[self.trades["is_open"]]

    def localized(self, zone: str) -> TradingViewTradeList:
        """The same list with its naive times read in ``zone`` (an IANA name or ``UTC±HH:MM``)
        and converted to UTC. Raises :class:`TradeListFormatError` on a time that does not
        exist in ``zone`` or exists twice (a DST change), naming its line."""
        if self.timezone is not None:
            raise ValueError(f"{self.path}: times are already in {self.timezone}; localize naive times only")
        trades = self.trades.copy()
        tz = zone_info(zone)
        for column in _TIME_COLUMNS:
            trades[column] = _localize(self.path, trades, column, tz, zone)
        return replace(self, trades=trades, timezone=zone)


def zone_info(name: str) -> tzinfo:
    """``UTC``, ``UTC+05:30``/``UTC-05:00`` (fixed offsets) or an IANA zone name."""
    fixed = _FIXED_OFFSET.fullmatch(name)
    if fixed is not None:
        if fixed["sign"] is None:
            return UTC
        delta = timedelta(hours=int(fixed["hours"]), minutes=int(fixed["minutes"] or 0))
        return timezone(delta if fixed["sign"] == "+" else -delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r} (an IANA name such as 'America/New_York' or 'UTC+03:00')") from exc


def _localize(path: Path, trades: pd.DataFrame, column: str, tz: tzinfo, zone: str) -> pd.Series:
    naive = trades[column]
    aware = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    lost = np.flatnonzero((aware.isna() & naive.notna()).to_numpy())
    if len(lost):
        row = trades.iloc[int(lost[0])]
        line = int(row["exit_line"] if column != "entry_time" else row["entry_line"])
        raise TradeListFormatError(
            path, f"{naive.iloc[int(lost[0])]} does not exist or is ambiguous in {zone} (DST change)", line=line
        )
    converted: pd.Series = aware.astype("datetime64[ns, UTC]")
    return converted


# ---------------------------------------------------------------- reading


def read_tradingview_trades(
    path: str | os.PathLike[str], *, tz: str | None = None, date_format: str | None = None
) -> TradingViewTradeList:
    """Read a TradingView "List of Trades" export (any layout in the module docstring).

    ``tz``: the chart timezone of naive times (an error for a file with UTC offsets).
    ``date_format``: ``strptime`` codes, needed only when day and month cannot be told apart.
    """
    source = Path(path)
    table = _table(source)
    rows = _Rows.parse(source, table, date_format)
    trades, row_order = _pair(source, rows)
    layout = ExportLayout(
        separator=table.separator,
        decimal=rows.decimal,
        date_format=rows.date_format,
        language=table.header.language,
        currency=table.header.currency,
        excursion_names=table.header.excursion_names,
        byte_order_mark=table.byte_order_mark,
        row_order=row_order,
        headers=table.header.headers,
    )
    imported = TradingViewTradeList(source, trades, layout, "UTC" if rows.has_offset else None)
    if tz is None:
        return imported
    if rows.has_offset:
        raise TradeListFormatError(source, f"times carry UTC offsets; tz={tz!r} applies to naive times only")
    return imported.localized(tz)


def _table(source: Path) -> RawTable:
    try:
        text = source.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TradeListFormatError(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return read_table(text)
    except SeparatorError as exc:
        raise TradeListFormatError(source, str(exc), line=exc.line) from exc
    except UnknownHeaderError as exc:
        raise TradeListFormatError(source, str(exc), line=1, field=exc.header) from exc
    except ValueError as exc:
        raise TradeListFormatError(source, str(exc), line=1) from exc


@dataclass(frozen=True)
class _Rows:
    """Every row parsed: trade number, kind, side, time and numbers; file lines."""

    frame: pd.DataFrame
    decimal: str
    date_format: str
    has_offset: bool
    fields: frozenset[Field]

    @classmethod
    def parse(cls, source: Path, table: RawTable, date_format: str | None) -> _Rows:
        header, cells, lines = table.header, table.cells, table.lines

        def column(field: Field) -> pd.Series:
            return cells[header.columns[field]]

        def fail(problem: str, row: int | None, field: Field) -> TradeListFormatError:
            line = int(lines[row]) if row is not None else None
            return TradeListFormatError(source, problem, line=line, field=header.header(field))

        frame = pd.DataFrame({"line": lines})
        frame["number"] = _trade_numbers(column(Field.TRADE_NUMBER), fail)
        frame["kind"], frame["side"] = _types(column(Field.TYPE), fail)
        try:
            times = parse_times(column(Field.TIME), date_format)
        except DateParseError as exc:
            raise fail(str(exc), exc.row, Field.TIME) from exc
        frame["time"] = times.values
        has_signal = Field.SIGNAL in header.columns
        frame["signal"] = column(Field.SIGNAL).str.strip().fillna("") if has_signal else ""
        present = [f for f in _NUMERIC_FIELDS if f in header.columns]
        decimal = detect_decimal([column(f) for f in present])
        for field in present:
            try:
                frame[field.value] = parse_numbers(column(field), decimal, required=field in _REQUIRED_NUMBERS)
            except NumberParseError as exc:
                raise fail(str(exc), exc.row, field) from exc
        frame["pnl_text"] = column(Field.PNL) if Field.PNL in header.columns else ""
        return cls(frame, decimal, times.format, times.has_offset, frozenset(present))


def _trade_numbers(texts: pd.Series, fail: _Fail) -> pd.Series:
    clean = texts.str.strip()
    ok = clean.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise fail(f"{texts.iloc[row]!r} is not a trade number", row, Field.TRADE_NUMBER)
    return clean.astype("int64")


def _types(texts: pd.Series, fail: _Fail) -> tuple[pd.Series, pd.Series]:
    words: dict[str, str] = {}
    for language in TYPE_WORDS.values():
        words.update(language)
    parts = texts.str.strip().str.casefold().str.split(r"\s+", regex=True)
    kind = parts.map(lambda p: words.get(p[0]) if len(p) == 2 else None)
    side = parts.map(lambda p: words.get(p[1]) if len(p) == 2 else None)
    ok = (kind.isin(["entry", "exit"]) & side.isin(["long", "short"])).to_numpy(dtype=bool)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise fail(f"{texts.iloc[row]!r} is not 'Entry long/short' or 'Exit long/short'", row, Field.TYPE)
    return kind.astype("str"), side.astype("str")


# ---------------------------------------------------------------- pairing rows into trades


def _unique_by_number(source: Path, rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    duplicated = rows["number"].duplicated()
    if duplicated.any():
        row = rows[duplicated].iloc[0]
        raise TradeListFormatError(source, f"a second {kind} row for trade {row['number']}", line=int(row["line"]))
    return rows.set_index("number", drop=False)


def _check_pairs(source: Path, entries: pd.DataFrame, exits: pd.DataFrame) -> None:
    for lonely, other in ((entries, exits), (exits, entries)):
        unpaired = lonely.index.difference(other.index)
        if len(unpaired):
            row = lonely.loc[unpaired[0]]
            missing = "exit" if lonely is entries else "entry"
            raise TradeListFormatError(
                source, f"trade {unpaired[0]} has no {missing} row", line=int(row["line"]), field="Type"
            )
    sides = exits.loc[entries.index, "side"].to_numpy() != entries["side"].to_numpy()
    if sides.any():
        row = exits.loc[entries.index[np.flatnonzero(sides)[0]]]
        raise TradeListFormatError(
            source, f"trade {row['number']}'s exit is {row['side']} but its entry is not", line=int(row["line"])
        )


def _row_order(entries: pd.DataFrame, exits: pd.DataFrame) -> str:
    exit_first = exits["line"].to_numpy() < entries["line"].to_numpy()
    if exit_first.all() and len(exit_first):
        return "exit first"
    return "mixed" if exit_first.any() else "entry first"


def _pair(source: Path, rows: _Rows) -> tuple[pd.DataFrame, str]:
    frame = rows.frame
    entries = _unique_by_number(source, frame[frame["kind"] == "entry"], "entry").sort_index()
    exits = _unique_by_number(source, frame[frame["kind"] == "exit"], "exit")
    _check_pairs(source, entries, exits)
    exits = exits.loc[entries.index]
    return _trades(entries, exits, rows.fields), _row_order(entries, exits)


def _numbers(rows: pd.DataFrame, field: Field, fields: frozenset[Field]) -> np.ndarray:
    return rows[field.value].to_numpy(dtype="float64") if field in fields else np.full(len(rows), np.nan)


def _trades(entries: pd.DataFrame, exits: pd.DataFrame, fields: frozenset[Field]) -> pd.DataFrame:
    is_open = exits["signal"].str.casefold().isin(OPEN_SIGNALS).to_numpy(dtype=bool)
    exit_time = exits["time"].where(~is_open)
    n = len(entries)
    columns: dict[str, object] = {
        "trade_id": entries["number"].to_numpy(dtype="int64"),
        "side": entries["side"].to_numpy(),
        "entry_time": entries["time"].to_numpy(),
        "exit_time": exit_time.to_numpy(),
        "entry_price": entries["price"].to_numpy(dtype="float64"),
        "exit_price": exits["price"].to_numpy(dtype="float64"),
        "quantity": entries["quantity"].to_numpy(dtype="float64"),
        "commission": np.full(n, np.nan),
        "pnl": _numbers(exits, Field.PNL, fields),
        "return_pct": _numbers(exits, Field.PNL_PCT, fields),
        "bars_held": np.full(n, -1, dtype="int64"),
        "entry_bar": np.full(n, -1, dtype="int64"),
        "exit_bar": np.full(n, -1, dtype="int64"),
        "entry_signal": entries["signal"].to_numpy(),
        "exit_reason": np.where(is_open, ExitReason.OPEN.value, ""),
        "is_open": is_open,
        "exit_signal": exits["signal"].to_numpy(),
        "mark_time": exits["time"].where(is_open).to_numpy(),
        "pnl_decimals": [decimals(str(t)) if str(t).strip() else -1 for t in exits["pnl_text"]],
    }
    for field in _NUMERIC_FIELDS[2:]:
        if field.value not in columns:
            columns[field.value] = _numbers(exits, field, fields)
    columns["entry_line"] = entries["line"].to_numpy(dtype="int64")
    columns["exit_line"] = exits["line"].to_numpy(dtype="int64")
    trades = pd.DataFrame(columns)
    return trades[[*TRADE_LIST_COLUMNS, *EXTRA_COLUMNS]].reset_index(drop=True)
