"""The header names of TradingView's "List of Trades" export, per language.

A header is ``<name>``, ``<name> <CURRENCY>`` (``Price USD``, ``Net P&L USDT``) or
``<name> %``. Each language maps every field to the names seen in exports (compared
case-insensitively, spaces collapsed). Adding a language is one more entry in
:data:`HEADER_NAMES`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "HEADER_NAMES",
    "OPEN_SIGNALS",
    "REQUIRED_FIELDS",
    "TYPE_WORDS",
    "Field",
    "HeaderMap",
    "UnknownHeaderError",
    "map_headers",
    "normalise_header",
]


class Field(StrEnum):
    """One column of the export, by meaning."""

    TRADE_NUMBER = "trade_number"
    TYPE = "type"
    TIME = "time"
    SIGNAL = "signal"
    PRICE = "price"
    QUANTITY = "quantity"
    POSITION_VALUE = "position_value"
    PNL = "pnl"
    PNL_PCT = "pnl_pct"
    RUN_UP = "run_up"
    RUN_UP_PCT = "run_up_pct"
    DRAWDOWN = "drawdown"
    DRAWDOWN_PCT = "drawdown_pct"
    CUMULATIVE_PNL = "cumulative_pnl"
    CUMULATIVE_PNL_PCT = "cumulative_pnl_pct"


#: Fields whose header may carry a currency suffix (``Price USD``).
MONEY_FIELDS: Final = frozenset(
    {Field.PRICE, Field.POSITION_VALUE, Field.PNL, Field.RUN_UP, Field.DRAWDOWN, Field.CUMULATIVE_PNL}
)
#: Fields a trade list cannot do without.
REQUIRED_FIELDS: Final = (Field.TRADE_NUMBER, Field.TYPE, Field.TIME, Field.PRICE, Field.QUANTITY)

#: Language → field → header names (lower case, without currency suffix). ``%`` columns are
#: listed with their ``%``. Older English exports say Contracts / Profit / Cum. Profit; newer
#: ones Position size (qty) / Net P&L / Cumulative P&L; Run-up/Drawdown were later renamed
#: Favorable/Adverse excursion.
HEADER_NAMES: Final[Mapping[str, Mapping[Field, tuple[str, ...]]]] = {
    "en": {
        Field.TRADE_NUMBER: ("trade #",),
        Field.TYPE: ("type",),
        Field.TIME: ("date/time", "date and time"),
        Field.SIGNAL: ("signal",),
        Field.PRICE: ("price",),
        Field.QUANTITY: ("position size (qty)", "contracts"),
        Field.POSITION_VALUE: ("position size (value)",),
        Field.PNL: ("net p&l", "profit"),
        Field.PNL_PCT: ("net p&l %", "profit %"),
        Field.RUN_UP: ("run-up", "favorable excursion"),
        Field.RUN_UP_PCT: ("run-up %", "favorable excursion %"),
        Field.DRAWDOWN: ("drawdown", "adverse excursion"),
        Field.DRAWDOWN_PCT: ("drawdown %", "adverse excursion %"),
        Field.CUMULATIVE_PNL: ("cumulative p&l", "cum. profit"),
        Field.CUMULATIVE_PNL_PCT: ("cumulative p&l %", "cum. profit %"),
    },
    "ru": {
        Field.TRADE_NUMBER: ("№ сделки",),
        Field.TYPE: ("тип",),
        Field.TIME: ("дата и время", "дата/время"),
        Field.SIGNAL: ("сигнал",),
        Field.PRICE: ("цена",),
        Field.QUANTITY: ("размер позиции (кол-во)",),
        Field.POSITION_VALUE: ("размер позиции (цена)",),
        Field.PNL: ("чистая прибыль / убыток",),
        Field.PNL_PCT: ("чистая прибыль / убыток %",),
        Field.RUN_UP: ("благоприятное отклонение",),
        Field.RUN_UP_PCT: ("благоприятное отклонение %",),
        Field.DRAWDOWN: ("неблагоприятное отклонение",),
        Field.DRAWDOWN_PCT: ("неблагоприятное отклонение %",),
        Field.CUMULATIVE_PNL: ("совокупные пр/уб",),
        Field.CUMULATIVE_PNL_PCT: ("совокупные пр/уб %",),
    },
}

#: Language → word of the ``Type`` column → its meaning (``entry``/``exit``, ``long``/``short``).
#: The Russian export keeps TradingView's English words (``Entry long``, ``Exit short``).
TYPE_WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {"entry": "entry", "exit": "exit", "long": "long", "short": "short"},
}
#: The exit ``Signal`` of a trade still open when the list was exported (compared case-insensitively).
OPEN_SIGNALS: Final = frozenset({"open"})

_CURRENCY = re.compile(r"(?P<name>.+?)\s+(?P<currency>[A-Z][A-Z0-9]{1,9})")
_SPACES = re.compile(r"\s+")


class UnknownHeaderError(ValueError):
    """A header row that no language of :data:`HEADER_NAMES` explains (``column`` is 0-based)."""

    def __init__(self, message: str, column: int, header: str) -> None:
        super().__init__(message)
        self.column = column
        self.header = header


@dataclass(frozen=True)
class HeaderMap:
    """Which column holds which field, in which language, with which currency."""

    columns: Mapping[Field, int]
    headers: tuple[str, ...]
    language: str
    currency: str | None
    excursion_names: str  # "run-up/drawdown", "favorable/adverse excursion" or "none"

    def header(self, field: Field) -> str:
        return self.headers[self.columns[field]]


def normalise_header(text: str) -> str:
    """Strip a byte-order mark, quotes and outer spaces; collapse inner spaces."""
    return _SPACES.sub(" ", text.replace("\ufeff", "").strip().strip('"').strip())


def _lookup(language: Mapping[Field, tuple[str, ...]], header: str) -> tuple[Field, str | None] | None:
    key = header.casefold()
    for field, names in language.items():
        if key in names:
            return field, None
    match = _CURRENCY.fullmatch(header)
    if match is None:
        return None
    base = match["name"].casefold()
    for field in MONEY_FIELDS:
        if base in language.get(field, ()):
            return field, match["currency"]
    return None


def _map_language(
    language: Mapping[Field, tuple[str, ...]], headers: Sequence[str]
) -> tuple[dict[Field, int], set[str], list[int]]:
    columns: dict[Field, int] = {}
    currencies: set[str] = set()
    unknown: list[int] = []
    for position, header in enumerate(headers):
        found = _lookup(language, header)
        if found is None or found[0] in columns:
            unknown.append(position)
            continue
        columns[found[0]] = position
        if found[1] is not None:
            currencies.add(found[1])
    return columns, currencies, unknown


def _excursion_names(headers: Sequence[str], columns: Mapping[Field, int]) -> str:
    if Field.RUN_UP not in columns:
        return "none"
    header = headers[columns[Field.RUN_UP]].casefold()
    return "favorable/adverse excursion" if "favorable" in header else "run-up/drawdown"


def map_headers(raw_headers: Sequence[str]) -> HeaderMap:
    """Map a header row to fields, trying each language; the first that explains every column
    wins. Raises :class:`UnknownHeaderError` naming the first column no language explains (or a
    duplicate), and ``ValueError`` when a required field is absent."""
    headers = tuple(normalise_header(h) for h in raw_headers)
    best: tuple[int, str, list[int]] | None = None
    for name, language in HEADER_NAMES.items():
        columns, currencies, unknown = _map_language(language, headers)
        if not unknown:
            missing = [f.value for f in REQUIRED_FIELDS if f not in columns]
            if missing:
                raise ValueError(f"no column for {', '.join(missing)} (headers: {', '.join(headers)})")
            currency = ",".join(sorted(currencies)) or None
            return HeaderMap(columns, headers, name, currency, _excursion_names(headers, columns))
        if best is None or len(unknown) < best[0]:
            best = (len(unknown), name, unknown)
    assert best is not None
    column = best[2][0]
    raise UnknownHeaderError(
        f"unknown or repeated header {headers[column]!r} (closest language: {best[1]}; "
        f"known names are listed in quantbridge.validation.tradingview.headers.HEADER_NAMES)",
        column,
        headers[column],
    )
