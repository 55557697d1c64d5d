"""The validation report: one self-contained HTML file (plotly.js inlined once, no network).

Sections: the verdict and the summary table, the equity curves overlaid (simulator,
runtime from bars and from ticks, TradingView's cumulative P&L on top of the initial
capital when a trade list was given), then each check's own fragment (divergence tables,
trade differences, the trade reconciliation).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .run import CheckOutcome, ValidationRun

__all__ = ["equity_figure_html", "render_report", "write_report"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
    ".pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.info{color:#666}"
)


def _verdict(check: CheckOutcome) -> str:
    if not check.gating:
        return "<span class='info'>info</span>"
    return "<span class='pass'>pass</span>" if check.passed else "<span class='fail'>FAIL</span>"


def _summary_table(run: ValidationRun) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td>{_verdict(c)}</td>"
        f"<td>{'' if c.match is None else f'{c.match:.4%}'}</td><td>{html.escape(c.summary)}</td></tr>"
        for c in run.checks
    )
    return (
        "<table class='qb-summary'><thead><tr><th>check</th><th>verdict</th><th>match</th><th>detail</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def equity_figure_html(curves: Mapping[str, pd.Series], *, include_plotlyjs: bool = True) -> str:
    """The curves on one chart (a plotly ``div``; plotly.js inlined with ``include_plotlyjs``)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, series in curves.items():
        shape = "hv" if name == "tradingview" else "linear"
        fig.add_trace(go.Scatter(x=series.index, y=series.to_numpy(), name=name, mode="lines", line={"shape": shape}))
    fig.update_layout(title="Equity", height=450, margin={"l": 50, "r": 20, "t": 40, "b": 40}, hovermode="x unified")
    return str(fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs))


def render_report(run: ValidationRun) -> str:
    """The whole report as one HTML document."""
    verdict = "<span class='pass'>PASSED</span>" if run.passed else "<span class='fail'>FAILED</span>"
    params = ", ".join(f"{k}={v}" for k, v in run.params.items())
    head = (
        f"<h1>Validation — {html.escape(run.prototype)}: {verdict}</h1>"
        f"<p>Parameters: {html.escape(params)}. {run.bars} bars; parity on the last {run.parity_bars}; "
        f"minimum parity {run.min_parity:g}.</p>"
    )
    sections = [head, "<h2>Summary</h2>", _summary_table(run), "<h2>Equity curves</h2>"]
    sections.append(equity_figure_html(run.equity) if run.equity else "<p>No equity curves.</p>")
    for check in run.checks:
        if check.html:
            sections.append(f"<h2 id='check-{html.escape(check.name)}'>{html.escape(check.name)}</h2>{check.html}")
    body = "".join(sections)
    title = html.escape(f"quantbridge validate {run.prototype}")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def write_report(run: ValidationRun, path: Path) -> Path:
    """Write :func:`render_report` to ``path`` (its folder is created); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(run), encoding="utf-8")
    return path
