"""Standard performance metrics from an equity curve and a trade list.

One implementation for every engine (the research simulator and the runtime both
import it from here): total return, CAGR, Sharpe and Sortino (annualised by the bars
per year observed, risk-free 0), max drawdown, win rate, profit factor, exposure,
closed-trade count and net profit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["compute_metrics", "periods_per_year"]

_YEAR_SECONDS = 365.25 * 86400


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year as observed in the data (so FX weekends or exchange sessions count right)."""
    if len(index) < 2:
        return math.nan
    span = (index[-1] - index[0]).total_seconds()
    return (len(index) - 1) / span * _YEAR_SECONDS if span > 0 else math.nan


def _drawdown(equity: np.ndarray) -> float:
    peaks = np.maximum.accumulate(equity)
    return float(np.max((peaks - equity) / peaks)) if len(equity) else 0.0


def _ratio(mean: float, spread: float, per_year: float) -> float:
    if spread == 0 or math.isnan(spread) or math.isnan(per_year):
        return math.nan
    return mean / spread * math.sqrt(per_year)


def compute_metrics(
    equity: pd.Series, trades: pd.DataFrame, position: pd.Series, initial_capital: float
) -> dict[str, float]:
    """Total return, CAGR, Sharpe, Sortino (annualised, risk-free 0), max drawdown,
    win rate, profit factor, exposure, trade count, net profit. Open trades count in the
    equity-based figures, not in the trade statistics."""
    values = equity.to_numpy(dtype=np.float64)
    returns = np.diff(values) / values[:-1] if len(values) > 1 else np.empty(0)
    per_year = periods_per_year(pd.DatetimeIndex(equity.index))
    final = float(values[-1]) if len(values) else initial_capital
    years = (len(values) - 1) / per_year if per_year and not math.isnan(per_year) else math.nan
    downside = returns[returns < 0]
    closed = trades[~trades["is_open"]] if len(trades) else trades
    wins = closed["pnl"][closed["pnl"] > 0].sum() if len(closed) else 0.0
    losses = -closed["pnl"][closed["pnl"] < 0].sum() if len(closed) else 0.0
    return {
        "total_return": final / initial_capital - 1.0,
        "cagr": (final / initial_capital) ** (1.0 / years) - 1.0 if years and years > 0 and final > 0 else math.nan,
        "sharpe": _ratio(float(returns.mean()), float(returns.std(ddof=1)), per_year) if len(returns) > 1 else math.nan,
        "sortino": _ratio(float(returns.mean()), float(np.sqrt((downside**2).sum() / len(returns))), per_year)
        if len(returns) > 1
        else math.nan,
        "max_drawdown": _drawdown(values),
        "win_rate": float((closed["pnl"] > 0).mean()) if len(closed) else math.nan,
        "profit_factor": float(wins / losses) if losses > 0 else (math.inf if wins > 0 else math.nan),
        "exposure": float((position.to_numpy() != 0).mean()) if len(position) else 0.0,
        "trade_count": float(len(closed)),
        "net_profit": final - initial_capital,
    }
