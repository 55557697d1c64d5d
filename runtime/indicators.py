"""Indicators one bar at a time, bit for bit equal to their vectorised references.

A live strategy cannot recompute an indicator over all history on every bar, and a
recursive indicator computed on a window that starts later than the data gives other
values (TradingView's RSI is an RMA seeded with an SMA). These helpers carry the state
forward instead, with the same floating-point operations in the same order as the
reference, so the values are identical, not merely close (tests bind each one to its
reference on real data):

* :func:`sma_step` — TA-Lib's ``SMA`` (a running sum: add the newest, divide, subtract
  the oldest);
* :func:`pine_sum` / :func:`rma_step` / :func:`rsi_value` — TradingView's ``ta.rsi``:
  Wilder's RMA ``(prev · (n − 1) + x) / n`` seeded with the SMA of the first ``n``
  values, summed with TradingView's compensated sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["crossed_over", "crossed_under", "pine_sum", "rma_step", "rsi_value", "sma_step"]


def sma_step(total: float, newest: float, oldest: float, index: int, period: int) -> tuple[float, float]:
    """One bar of TA-Lib's SMA: ``total`` is the running sum carried from the previous
    bar (0.0 before the first), ``newest`` the value at ``index``, ``oldest`` the value
    at ``index − period + 1`` (read only once ``index >= period − 1``). Returns (the SMA
    at ``index`` or NaN, the sum to carry)."""
    total += newest
    if index < period - 1:
        return math.nan, total
    return total / period, total - oldest


def _rebuilds(value: float, comp: float) -> bool:
    if comp == 0.0 or value == 0.0:
        return False
    magnitude = abs(comp)
    rounded = value + magnitude
    return math.isfinite(rounded) and magnitude - (rounded - value) > 0.0


def pine_sum(values: Sequence[float]) -> float:
    """TradingView's sum of a first window (``math.sum`` over its first ``len(values)``
    bars): Kahan-compensated, rebuilt as the plain newest-first sum when adding the
    compensation to the new value would round."""
    total = comp = 0.0
    for i, x in enumerate(values):
        if _rebuilds(x, comp):
            total = x
            for k in range(1, i + 1):
                total += values[i - k]
            comp = 0.0
            continue
        y = x - comp
        t = total + y
        comp = (t - total) - y
        total = t
    return total


def rma_step(previous: float, value: float, length: int) -> float:
    """Pine's ``ta.rma`` step (not the algebraically equal alpha form, which rounds differently)."""
    return (previous * (length - 1) + value) / length


def rsi_value(up: float, down: float) -> float:
    """``ta.rsi`` from the RMAs of gains and losses: 100 when there is no loss, 0 when
    there is no gain."""
    if down == 0.0:
        return 100.0
    if up == 0.0:
        return 0.0
    return 100.0 - 100.0 / (1.0 + up / down)


def crossed_over(now_a: float, now_b: float, before_a: float, before_b: float) -> bool:
    """Pine's ``ta.crossover``: a > b now and a <= b before (False where any is NaN)."""
    return now_a > now_b and before_a <= before_b


def crossed_under(now_a: float, now_b: float, before_a: float, before_b: float) -> bool:
    """Pine's ``ta.crossunder``: a < b now and a >= b before (False where any is NaN)."""
    return now_a < now_b and before_a >= before_b
