"""A self-contained HTML page for a sweep's results: finished runs ranked by a metric,
each linking its executed notebook; failed runs listed with their error."""

from __future__ import annotations

import math
import os
from html import escape
from pathlib import Path

import pandas as pd

__all__ = ["summary_html", "write_summary_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f3f3f3; }
td.text { text-align: left; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
"""
_HIDDEN = ("status", "error")


def write_summary_html(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, title: str, sort_by: str | None, link_column: str = "notebook"
) -> Path:
    """Write :func:`summary_html` to ``path`` (links in ``link_column`` are relative to it)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(summary_html(frame, title=title, sort_by=sort_by, link_column=link_column), encoding="utf-8")
    return target


def summary_html(frame: pd.DataFrame, *, title: str, sort_by: str | None, link_column: str = "notebook") -> str:
    """The page as text: no scripts, no external resources."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    failed = frame[frame["status"] != "ok"] if "status" in frame else frame.iloc[0:0]
    if sort_by is not None and sort_by in ok:
        ok = ok.sort_values(sort_by, ascending=False, na_position="last", kind="stable")
    ranked = f"{len(ok)} finished run(s)" + (f", best {sort_by} first" if sort_by in ok else "")
    columns = [c for c in frame.columns if c not in _HIDDEN]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>",
        _table(ok, columns, link_column, ranked),
    ]
    if len(failed):
        informative = [c for c in columns if failed[c].notna().any()]  # metrics of failed runs are empty
        parts.append(_table(failed, [*informative, "error"], link_column, f"{len(failed)} failed run(s)"))
    parts.append("</body></html>\n")
    return "".join(parts)


def _table(frame: pd.DataFrame, columns: list[str], link_column: str, caption: str) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(_cell(column, row.get(column), link_column) for column in columns) + "</tr>"
        for row in frame.to_dict("records")
    )
    return f"<table><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def _cell(column: str, value: object, link_column: str) -> str:
    if column == link_column and isinstance(value, str) and value:
        return f"<td class='text'><a href='{escape(value, quote=True)}'>{escape(Path(value).name)}</a></td>"
    if isinstance(value, float):
        return f"<td>{'' if math.isnan(value) else f'{value:.4g}'}</td>"
    if isinstance(value, (int, bool)):
        return f"<td>{value}</td>"
    return f"<td class='text'>{escape('' if value is None else str(value))}</td>"
