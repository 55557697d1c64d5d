"""TradingView's built-in "RSI Strategy", written against the context API: long when
RSI(length) crosses above ``oversold``, short when it crosses below ``overbought``.

The same logic as ``research/prototypes/tv_builtins_market.py::rsi_strategy``. The RSI
is TradingView's (an RMA of gains and losses seeded with their SMA), carried forward one
bar at a time so it equals the vectorised ``ta.rsi`` bit for bit: seeded from the first
``length`` price changes, then one RMA step per bar. Each bar reads the last two closes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from quantbridge.datasets.execution import ExecutionModel

from ..indicators import crossed_over, crossed_under, pine_sum, rma_step, rsi_value
from ..registry import Param, ParamError, StrategySpec
from ..strategy import Context, ParamValue, StateStore

__all__ = ["SPEC", "RsiStrategy"]


def _get(state: StateStore, key: str) -> float | None:
    value = state.get(key)
    return float(value) if isinstance(value, int | float) else None


class RsiStrategy:
    """RSI crossing the oversold / overbought levels (entries ``RsiLE`` / ``RsiSE``)."""

    def __init__(self, length: int = 14, oversold: float = 30.0, overbought: float = 70.0) -> None:
        self.length, self.oversold, self.overbought = length, oversold, overbought

    def on_candle(self, ctx: Context) -> None:
        state = ctx.state
        rsi = self._rsi(ctx)
        if rsi is None:
            return
        before = _get(state, "rsi")
        state.set("rsi", rsi)
        if before is None:  # Pine: no crossing on the first bar the RSI is defined
            return
        if crossed_over(rsi, self.oversold, before, self.oversold):
            ctx.buy(tag="RsiLE")
        if crossed_under(rsi, self.overbought, before, self.overbought):
            ctx.sell(tag="RsiSE")

    def _rsi(self, ctx: Context) -> float | None:
        """This bar's RSI (None until ``length`` changes have been seen)."""
        state, close, n = ctx.state, ctx.bars.close, self.length
        up, down = _get(state, "up"), _get(state, "down")
        if up is None or down is None:
            if len(close) < n + 1:
                return None
            changes = np.diff(close[-(n + 1) :]).tolist()
            up = pine_sum([max(c, 0.0) for c in changes]) / n
            down = pine_sum([max(-c, 0.0) for c in changes]) / n
        else:
            change = float(close[-1]) - float(close[-2])
            up, down = rma_step(up, max(change, 0.0), n), rma_step(down, max(-change, 0.0), n)
        state.set("up", up)
        state.set("down", down)
        return rsi_value(up, down)


def _check(params: Mapping[str, ParamValue]) -> None:
    if float(params["oversold"]) >= float(params["overbought"]):
        raise ParamError(f"oversold ({params['oversold']}) must be below overbought ({params['overbought']})")


SPEC = StrategySpec(
    name="rsi",
    factory=RsiStrategy,
    description='TradingView\'s "RSI Strategy": RSI crosses 30 up → long, 70 down → short.',
    params=(
        Param("length", 14, low=2, high=500, help="RSI length"),
        Param("oversold", 30.0, low=0, high=100, help="cross above: enter long"),
        Param("overbought", 70.0, low=0, high=100, help="cross below: enter short"),
    ),
    model=ExecutionModel(),
    window=lambda p: int(p["length"]) + 1,
    check=_check,
)
