"""An HTML fragment for a :class:`~.reconcile.Reconciliation`: verdict, per-class counts and
the per-trade table. Self-contained (inline style, no scripts, no external assets), to be
embedded in a report page."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from html import escape
from typing import TYPE_CHECKING, Final

import pandas as pd

if TYPE_CHECKING:
    from .reconcile import Reconciliation

__all__ = ["reconciliation_html"]

_STYLE: Final = """
.qb-reconciliation table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
.qb-reconciliation th, .qb-reconciliation td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
.qb-reconciliation th { background: #f3f3f3; }
.qb-reconciliation td.text { text-align: left; }
.qb-reconciliation .pass { color: #17692b; font-weight: bold; }
.qb-reconciliation .fail { color: #a3161b; font-weight: bold; }
.qb-reconciliation tr.exact td, .qb-reconciliation tr.open_at_export td { background: #f4fbf5; }
.qb-reconciliation tr.differs td { background: #fff6e5; }
.qb-reconciliation tr.missing td, .qb-reconciliation tr.extra td { background: #fdecec; }
.qb-reconciliation td.hit { font-weight: bold; color: #a3161b; }
"""
_COLUMNS: Final = (
    ("class", "class", ()),
    ("n_bars", "n bars", ()),
    ("tv_trade", "TV #", ()),
    ("our_trade", "our #", ()),
    ("tv_side", "side", ()),
    ("tv_entry_time", "TV entry", ("entry_time",)),
    ("our_entry_time", "our entry", ("entry_time",)),
    ("tv_entry_price", "TV entry price", ("entry_price",)),
    ("our_entry_price", "our entry price", ("entry_price",)),
    ("tv_exit_time", "TV exit", ("exit_time",)),
    ("our_exit_time", "our exit", ("exit_time",)),
    ("tv_exit_price", "TV exit price", ("exit_price",)),
    ("our_exit_price", "our exit price", ("exit_price",)),
    ("tv_quantity", "TV qty", ("quantity",)),
    ("our_quantity", "our qty", ("quantity",)),
    ("tv_pnl", "TV P&L", ("pnl",)),
    ("our_pnl", "our P&L", ("pnl",)),
    ("differs", "differs", ()),
)
_TEXT: Final = frozenset({"class", "tv_side", "differs"})


def _text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.10g}"
    return str(value)


def _row_class(kind: str) -> str:
    return kind if kind in ("exact", "open_at_export", "missing", "extra") else f"{kind} differs"


def _row(record: Mapping[Hashable, object]) -> str:
    differing = set(str(record.get("differs") or "").split(","))
    side = record.get("tv_side")
    if not isinstance(side, str):
        record = {**record, "tv_side": record.get("our_side")}
    cells = []
    for column, _, fields in _COLUMNS:
        css = ["text"] if column in _TEXT else []
        if differing.intersection(fields):
            css.append("hit")
        attribute = f" class='{' '.join(css)}'" if css else ""
        cells.append(f"<td{attribute}>{escape(_text(record.get(column)))}</td>")
    return f"<tr class='{_row_class(str(record['class']))}'>{''.join(cells)}</tr>"


def _counts(reconciliation: Reconciliation) -> str:
    head = "".join(f"<th>{escape(kind.value)}</th>" for kind in reconciliation.counts)
    body = "".join(f"<td>{count}</td>" for count in reconciliation.counts.values())
    return f"<table><caption>trades per class</caption><tr>{head}</tr><tr>{body}</tr></table>"


def reconciliation_html(
    reconciliation: Reconciliation, *, only_differences: bool = False, max_rows: int | None = None
) -> str:
    """The fragment as text: a ``<section class="qb-reconciliation">`` with its own style."""
    r = reconciliation
    verdict = "pass" if r.passed else "fail"
    rows = r.differences if only_differences else r.table
    shown = rows if max_rows is None else rows.head(max_rows)
    head = "".join(f"<th>{escape(label)}</th>" for _, label, _ in _COLUMNS)
    body = "".join(_row(record) for record in shown.to_dict("records"))
    which = "differences" if only_differences else "trades"
    caption = f"{len(shown)} of {len(rows)} {which}"
    return (
        f"<section class='qb-reconciliation'><style>{_STYLE}</style>"
        f"<h2>{escape(r.title)}</h2>"
        f"<p><span class='{verdict}'>{verdict.upper()}</span>: {r.matched} of {r.reference_trades} TradingView "
        f"trades matched (match {r.match:.4%}, threshold {r.threshold:.2%}); our trades: {r.our_trades}; "
        f"prices within {r.tolerance.price:g}, P&amp;L within TradingView's display rounding.</p>"
        f"{_counts(r)}"
        f"<table><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table></section>\n"
    )
