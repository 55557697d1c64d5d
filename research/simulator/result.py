"""``Result``: what a simulation returns, in the shape every engine shares."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from quantbridge.datasets.execution import ExecutionModel

from ..rules import PositionRules

__all__ = ["Result"]


@dataclass(frozen=True, eq=False)
class Result:
    """Trades (``quantbridge.datasets.trade_list`` shape), equity and position per bar, metrics."""

    trades: pd.DataFrame
    equity: pd.Series
    position: pd.Series
    metrics: dict[str, float]
    model: ExecutionModel
    rules: PositionRules
    engine: str
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def closed_trades(self) -> pd.DataFrame:
        return self.trades[~self.trades["is_open"]]

    def summary(self) -> pd.Series:
        """Metrics as a Series (handy in notebooks)."""
        return pd.Series(self.metrics, name="value")
