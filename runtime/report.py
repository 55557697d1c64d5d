"""A backtest's report: one self-contained HTML file (plotly.js inlined, no network).

Price with the trades on it, equity, drawdown, and the metrics table.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .backtest import BacktestResult

__all__ = ["write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.75rem; text-align: right; }
th { background: #f4f4f4; text-align: left; }
"""


def _format(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:,.6g}"
    return str(value)


def _metrics_table(result: BacktestResult) -> str:
    config = result.config
    rows = [
        ("strategy", config.strategy.name),
        ("parameters", ", ".join(f"{k}={v}" for k, v in config.params.items()) or "defaults"),
        ("symbol", config.market.symbol),
        ("bars", len(result.equity)),
        ("trades", len(result.trades)),
        *result.metrics.items(),
    ]
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_format(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _figure(result: BacktestResult) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    equity = result.equity
    trades = result.trades
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.5, 0.3, 0.2],
        subplot_titles=("Price and trades", "Equity", "Drawdown"),
    )
    fig.add_trace(go.Scattergl(x=equity.index, y=equity["close"], name="close", line={"width": 1}), row=1, col=1)
    for side, symbol, colour in (("long", "triangle-up", "green"), ("short", "triangle-down", "red")):
        mine = trades[trades["side"] == side]
        marker = {"symbol": symbol, "color": colour, "size": 8}
        fig.add_trace(
            go.Scattergl(
                x=mine["entry_time"], y=mine["entry_price"], mode="markers", name=f"{side} entry", marker=marker
            ),
            row=1,
            col=1,
        )
    closed = trades[~trades["is_open"].astype(bool)]
    exit_marker = {"symbol": "x", "color": "black", "size": 6}
    fig.add_trace(
        go.Scattergl(x=closed["exit_time"], y=closed["exit_price"], mode="markers", name="exit", marker=exit_marker),
        row=1,
        col=1,
    )
    fig.add_trace(go.Scattergl(x=equity.index, y=equity["equity"], name="equity"), row=2, col=1)
    drawdown = equity["equity"] / equity["equity"].cummax() - 1.0
    fig.add_trace(go.Scattergl(x=equity.index, y=drawdown, name="drawdown", fill="tozeroy"), row=3, col=1)
    fig.update_layout(height=900, showlegend=True)
    fig.update_yaxes(tickformat=".1%", row=3, col=1)
    return str(fig.to_html(full_html=False, include_plotlyjs=True))


def write_report(result: BacktestResult, path: Path) -> Path:
    """Write the report to ``path``; returns it."""
    title = html.escape(f"{result.config.strategy.name} on {result.config.market.symbol}")
    span = ""
    if len(result.equity):
        first, last = pd.Timestamp(result.equity.index[0]), pd.Timestamp(result.equity.index[-1])
        span = html.escape(f"{first.isoformat()} … {last.isoformat()}")
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{title}</h1><p>{span}</p>{_metrics_table(result)}{_figure(result)}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path
