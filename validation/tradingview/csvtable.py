"""The text layer of a trade-list export: byte-order mark, separator, rows with their file
lines, and numbers with a detected decimal mark."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from .headers import HeaderMap, UnknownHeaderError, map_headers

__all__ = [
    "NumberParseError",
    "RawTable",
    "SeparatorError",
    "decimals",
    "detect_decimal",
    "parse_numbers",
    "read_table",
]

_SEPARATORS: Final = (",", ";", "\t")
_SAMPLE_ROWS: Final = 50
_BOM: Final = "\ufeff"
_DOT_DECIMAL: Final = r"[-−]?\d*\.\d+(?:[eE][-+]?\d+)?"
_COMMA_DECIMAL: Final = r"[-−]?\d*,\d+(?:[eE][-+]?\d+)?"
_GROUPING: Final = r"[\s\u00a0\u202f]"


class SeparatorError(ValueError):
    """No separator (or more than one) explains the file; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class NumberParseError(ValueError):
    """A cell that is not a number; ``row`` is its 0-based position."""

    def __init__(self, message: str, row: int) -> None:
        super().__init__(message)
        self.row = row


@dataclass(frozen=True)
class RawTable:
    """Cells as text (columns numbered as in the header), each row's 1-based file line."""

    header: HeaderMap
    cells: pd.DataFrame
    lines: np.ndarray
    separator: str
    byte_order_mark: bool


def _rows(text: str, separator: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    rows: list[tuple[int, list[str]]] = []
    for row in reader:
        if any(cell.strip() for cell in row):
            rows.append((reader.line_num, row))
    return rows


def _consistent(text: str, separator: str) -> HeaderMap | None:
    sample = "\n".join(text.splitlines()[: _SAMPLE_ROWS + 1])
    rows = _rows(sample, separator)
    if not rows or len(rows[0][1]) < 4 or len({len(r) for _, r in rows}) != 1:
        return None
    try:
        return map_headers(rows[0][1])
    except (UnknownHeaderError, ValueError):
        return None


def _sniff(text: str) -> str:
    fits = [sep for sep in _SEPARATORS if _consistent(text, sep) is not None]
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise SeparatorError(f"both {' and '.join(map(repr, fits))} read as a trade list; cannot tell the separator", 1)
    # nothing fits: report against the separator that splits the header the most
    return max(_SEPARATORS, key=lambda sep: len(text.splitlines()[0].split(sep)) if text else 0)


def read_table(text: str) -> RawTable:
    """Split ``text`` (already decoded) into a header map and rows. Raises
    :class:`SeparatorError`, :class:`UnknownHeaderError` (header on line 1) or ``ValueError``."""
    bom = text.startswith(_BOM)
    text = text.removeprefix(_BOM)
    separator = _sniff(text)
    rows = _rows(text, separator)
    if not rows:
        raise SeparatorError("empty file; expected a header row and trades", 1)
    header = map_headers(rows[0][1])
    width = len(rows[0][1])
    for line, row in rows[1:]:
        if len(row) != width:
            raise SeparatorError(f"{len(row)} fields where the header has {width} (separator {separator!r})", line)
    cells = pd.DataFrame([row for _, row in rows[1:]], columns=range(width), dtype="str")
    lines = np.array([line for line, _ in rows[1:]], dtype=np.int64)
    return RawTable(header, cells, lines, separator, bom)


def detect_decimal(columns: list[pd.Series]) -> str:
    """``","`` when numbers use a decimal comma (and none a decimal point), else ``"."``."""
    texts = pd.concat([c.astype("str").str.strip() for c in columns], ignore_index=True) if columns else pd.Series()
    texts = texts.str.replace(_GROUPING, "", regex=True)
    comma = bool(texts.str.fullmatch(_COMMA_DECIMAL).any())
    dot = bool(texts.str.fullmatch(_DOT_DECIMAL).any())
    return "," if comma and not dot else "."


def parse_numbers(texts: pd.Series, decimal: str, *, required: bool) -> pd.Series:
    """Floats from text (``−`` and digit-grouping spaces accepted); empty cells are NaN unless
    ``required``. Raises :class:`NumberParseError` naming the first bad row."""
    clean = texts.astype("str").str.strip().str.replace("−", "-", regex=False)
    clean = clean.str.replace(_GROUPING, "", regex=True)
    if decimal == ",":
        clean = clean.str.replace(",", ".", regex=False)
    ok = clean.str.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?").fillna(False)
    empty = clean.eq("").fillna(True)
    bad = ~ok & (~empty | required)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy(dtype=bool))[0])
        what = "an empty cell" if empty.iloc[row] else repr(str(texts.iloc[row]))
        raise NumberParseError(f"{what} is not a number (decimal mark {decimal!r})", row)
    return pd.to_numeric(clean.where(~empty), errors="raise").astype("float64")


def decimals(text: str) -> int:
    """How many decimals a number's text shows (``"3e-05"`` → 5, ``"261.14"`` → 2)."""
    mantissa, _, exponent = re.sub(r"[\s\u00a0\u202f]", "", text.strip()).lower().partition("e")
    mantissa = mantissa.replace(",", ".")
    shown = len(mantissa.partition(".")[2])
    return max(0, shown - int(exponent)) if exponent else shown
