"""Writes small TradingView-like "List of Trades" exports in any layout, for the importer,
timezone and reconciliation tests (the values are known, the layout varies)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["LABELS", "TRADES", "Layout", "SyntheticTrade", "write_export"]


@dataclass(frozen=True)
class SyntheticTrade:
    number: int
    side: str
    entry_time: pd.Timestamp  # naive wall time
    entry_price: float
    entry_signal: str
    exit_time: pd.Timestamp
    exit_price: float
    exit_signal: str
    quantity: float
    pnl: float
    run_up: float
    drawdown: float
    cumulative: float


TRADES = (
    SyntheticTrade(
        1,
        "long",
        pd.Timestamp("2024-03-14 09:30"),
        101.5,
        "Buy",
        pd.Timestamp("2024-03-15 10:00"),
        103.25,
        "Sell",
        2.0,
        3.5,
        4.0,
        -1.5,
        3.5,
    ),
    SyntheticTrade(
        2,
        "short",
        pd.Timestamp("2024-03-15 10:00"),
        103.25,
        "Sell",
        pd.Timestamp("2024-03-20 16:45"),
        100.0,
        "Buy",
        1.5,
        4.88,
        5.12,
        -0.75,
        8.38,
    ),
    SyntheticTrade(
        3,
        "long",
        pd.Timestamp("2024-03-20 16:45"),
        100.0,
        "Buy",
        pd.Timestamp("2024-03-21 12:00"),
        99.5,
        "Open",
        0.5,
        -0.25,
        0.1,
        -0.4,
        8.13,
    ),
)

#: Header labels per dialect, in column order (fields: see ``_cells``).
LABELS = {
    "en": {
        "number": "Trade #", "type": "Type", "time": "Date/Time", "signal": "Signal", "price": "Price USD",
        "qty": "Position size (qty)", "value": "Position size (value)", "pnl": "Net P&L USD", "pnl_pct": "Net P&L %",
        "run_up": "Run-up USD", "run_up_pct": "Run-up %", "drawdown": "Drawdown USD", "drawdown_pct": "Drawdown %",
        "cum": "Cumulative P&L USD", "cum_pct": "Cumulative P&L %",
    },
    "en_excursion": {
        "number": "Trade #", "type": "Type", "time": "Date and time", "signal": "Signal", "price": "Price USDT",
        "qty": "Position size (qty)", "value": "Position size (value)", "pnl": "Net P&L USDT",
        "pnl_pct": "Net P&L %", "run_up": "Favorable excursion USDT", "run_up_pct": "Favorable excursion %",
        "drawdown": "Adverse excursion USDT", "drawdown_pct": "Adverse excursion %", "cum": "Cumulative P&L USDT",
        "cum_pct": "Cumulative P&L %",
    },
    "en_old": {
        "number": "Trade #", "type": "Type", "signal": "Signal", "time": "Date/Time", "price": "Price EUR",
        "qty": "Contracts", "pnl": "Profit EUR", "pnl_pct": "Profit %", "cum": "Cum. Profit EUR",
        "cum_pct": "Cum. Profit %", "run_up": "Run-up EUR", "run_up_pct": "Run-up %", "drawdown": "Drawdown EUR",
        "drawdown_pct": "Drawdown %",
    },
    "ru": {
        "number": "№ Сделки", "type": "Тип", "time": "Дата и время", "signal": "Сигнал", "price": "Цена USDT",
        "qty": "Размер позиции (кол-во)", "value": "Размер позиции (цена)", "pnl": "Чистая прибыль / убыток USDT",
        "pnl_pct": "Чистая прибыль / убыток %", "run_up": "Благоприятное отклонение USDT",
        "run_up_pct": "Благоприятное отклонение %", "drawdown": "Неблагоприятное отклонение USDT",
        "drawdown_pct": "Неблагоприятное отклонение %", "cum": "Совокупные ПР/УБ USDT", "cum_pct": "Совокупные ПР/УБ %",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Layout:
    separator: str = ","
    decimal: str = "."
    dates: str = "iso"  # iso | iso_offset | dmy | mdy
    labels: str = "en"
    bom: bool = False
    exit_first: bool = False
    offset: str = "+03:00"  # for iso_offset


def _time(t: pd.Timestamp, layout: Layout) -> str:
    if layout.dates == "iso_offset":
        return f"{t:%Y-%m-%dT%H:%M:%S}{layout.offset.replace(':', '')}"
    if layout.dates == "dmy":
        return f"{t.day:02d}.{t.month:02d}.{t.year} {t.hour}:{t.minute:02d}"
    if layout.dates == "mdy":
        return f"{t.month:02d}/{t.day:02d}/{t.year} {t.hour}:{t.minute:02d}"
    return f"{t:%Y-%m-%d %H:%M}"


def _number(value: float, layout: Layout) -> str:
    text = f"{value:.10g}"
    return text.replace(".", ",") if layout.decimal == "," else text


def _cells(trade: SyntheticTrade, entry: bool, layout: Layout) -> dict[str, str]:
    value = trade.entry_price * trade.quantity
    numbers = {
        "price": trade.entry_price if entry else trade.exit_price,
        "qty": trade.quantity,
        "value": value,
        "pnl": trade.pnl,
        "pnl_pct": round(trade.pnl / value * 100, 2),
        "run_up": trade.run_up,
        "run_up_pct": round(trade.run_up / value * 100, 2),
        "drawdown": trade.drawdown,
        "drawdown_pct": round(trade.drawdown / value * 100, 2),
        "cum": trade.cumulative,
        "cum_pct": round(trade.cumulative / 1000 * 100, 2),
    }
    cells = {name: _number(v, layout) for name, v in numbers.items()}
    cells["number"] = str(trade.number)
    cells["type"] = f"{'Entry' if entry else 'Exit'} {trade.side}"
    cells["time"] = _time(trade.entry_time if entry else trade.exit_time, layout)
    cells["signal"] = trade.entry_signal if entry else trade.exit_signal
    return cells


def export_rows(layout: Layout, trades: tuple[SyntheticTrade, ...] = TRADES) -> list[list[str]]:
    labels = LABELS[layout.labels]
    rows = [list(labels.values())]
    for trade in trades:
        pair = [_cells(trade, True, layout), _cells(trade, False, layout)]
        for cells in reversed(pair) if layout.exit_first else pair:
            rows.append([cells[name] for name in labels])
    return rows


def write_rows(path: Path, rows: list[list[str]], layout: Layout) -> Path:
    with path.open("w", encoding="utf-8-sig" if layout.bom else "utf-8", newline="") as handle:
        csv.writer(handle, delimiter=layout.separator, lineterminator="\n").writerows(rows)
    return path


def write_export(path: Path, layout: Layout, trades: tuple[SyntheticTrade, ...] = TRADES) -> Path:
    """Write ``trades`` as an export in ``layout`` to ``path``."""
    return write_rows(path, export_rows(layout, trades), layout)
