"""SMA crossover, written against the context API: long when the fast SMA of the close
crosses above the slow one, short when it crosses below (always in the market), or
just flat on a cross below with ``allow_short=False``.

The same logic as the research prototype ``research/prototypes/sma_crossover.py``
(TA-Lib SMAs; a test binds the two trade for trade). The SMAs are carried forward one
bar at a time (:func:`~..indicators.sma_step`), so each bar costs O(1) and reads only
the last ``slow`` closes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from quantbridge.datasets.execution import ExecutionModel

from ..bars import FloatArray
from ..indicators import crossed_over, crossed_under, sma_step
from ..registry import Param, ParamError, StrategySpec
from ..strategy import Context, ParamValue, StateStore

__all__ = ["SPEC", "SmaCrossover"]


def _float(state: StateStore, key: str, default: float) -> float:
    value = state.get(key, default)
    return float(value) if isinstance(value, int | float) else default


class SmaCrossover:
    """Fast/slow SMA crossover (entries ``SmaLE`` / ``SmaSE``)."""

    def __init__(self, fast: int = 10, slow: int = 50, allow_short: bool = True) -> None:
        if fast >= slow:
            raise ParamError(f"fast ({fast}) must be shorter than slow ({slow})")
        self.fast, self.slow, self.allow_short = fast, slow, allow_short

    def on_candle(self, ctx: Context) -> None:
        close, index, state = ctx.bars.close, ctx.bars.index, ctx.state
        fast = self._sma(state, "fast", close, index, self.fast)
        slow = self._sma(state, "slow", close, index, self.slow)
        fast_before, slow_before = _float(state, "fast", math.nan), _float(state, "slow", math.nan)
        state.set("fast", fast)
        state.set("slow", slow)
        if crossed_over(fast, slow, fast_before, slow_before):
            ctx.buy(tag="SmaLE")
        elif crossed_under(fast, slow, fast_before, slow_before):
            if self.allow_short:
                ctx.sell(tag="SmaSE")
            else:
                ctx.close(tag="SmaLX")

    @staticmethod
    def _sma(state: StateStore, name: str, close: FloatArray, index: int, period: int) -> float:
        total = _float(state, f"{name}_sum", 0.0)
        oldest = float(close[-period]) if index >= period - 1 else math.nan
        value, total = sma_step(total, float(close[-1]), oldest, index, period)
        state.set(f"{name}_sum", total)
        return value


def _check(params: Mapping[str, ParamValue]) -> None:
    if int(params["fast"]) >= int(params["slow"]):
        raise ParamError(f"fast ({params['fast']}) must be shorter than slow ({params['slow']})")


SPEC = StrategySpec(
    name="sma_crossover",
    factory=SmaCrossover,
    description="Fast/slow SMA crossover, long and (optionally) short; always in the market.",
    params=(
        Param("fast", 10, low=2, high=500, help="fast SMA length"),
        Param("slow", 50, low=3, high=2000, help="slow SMA length"),
        Param("allow_short", True, help="go short on a cross down (else just exit)"),
    ),
    model=ExecutionModel(),
    window=lambda p: int(p["slow"]),
    check=_check,
)
