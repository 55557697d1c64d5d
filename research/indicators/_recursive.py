"""numba kernels of the recursive (stateful) filters. Inputs hold no na: callers
compact them with :func:`~._core.on_valid` first, which is Pine's na rule."""

from __future__ import annotations

import numpy as np

from ._core import FloatArray, jit, rolling_sum

__all__ = ["ema_seeded", "mcginley_kernel", "rma_seeded"]


@jit
def _ema(values: FloatArray, length: int, seed: float) -> FloatArray:
    # Pine's step is ``prev + alpha * (x - prev)`` (the algebraically equal
    # ``alpha * x + (1 - alpha) * prev`` rounds differently).
    n = len(values)
    out = np.full(n, np.nan)
    alpha = 2.0 / (length + 1.0)
    prev = seed
    out[length - 1] = prev
    for i in range(length, n):
        prev = prev + alpha * (values[i] - prev)
        out[i] = prev
    return out


@jit
def _rma(values: FloatArray, length: int, seed: float) -> FloatArray:
    # Pine's step is ``(prev * (length - 1) + x) / length``, not the alpha form.
    n = len(values)
    out = np.full(n, np.nan)
    prev = seed
    out[length - 1] = prev
    for i in range(length, n):
        prev = (prev * (length - 1) + values[i]) / length
        out[i] = prev
    return out


def _seed(values: FloatArray, length: int) -> float:
    """``ta.sma`` of the first ``length`` values (TradingView's accumulation)."""
    return float(rolling_sum(values[:length], length)[-1] / length)


def ema_seeded(values: FloatArray, length: int) -> FloatArray:
    """EMA with alpha ``2 / (length + 1)`` seeded with the SMA of the first ``length``
    values (na before), on na-free input."""
    if len(values) < length:
        return np.full_like(values, np.nan)
    return _ema(values, int(length), _seed(values, length))


def rma_seeded(values: FloatArray, length: int) -> FloatArray:
    """Wilder's RMA (alpha ``1 / length``) seeded with the SMA of the first ``length``
    values (na before), on na-free input."""
    if len(values) < length:
        return np.full_like(values, np.nan)
    return _rma(values, int(length), _seed(values, length))


@jit
def _mcginley(values: FloatArray, seed: FloatArray, length: float) -> FloatArray:
    n = len(values)
    out = np.full(n, np.nan)
    prev = np.nan
    for i in range(n):
        if np.isnan(prev):
            prev = seed[i]
        elif not np.isnan(values[i]):
            prev = prev + (values[i] - prev) / (length * (values[i] / prev) ** 4)
        out[i] = prev
    return out


def mcginley_kernel(values: FloatArray, seed: FloatArray, length: float) -> FloatArray:
    """McGinley Dynamic: ``seed`` (the EMA) until it exists, then the McGinley step."""
    return _mcginley(values, seed, length)
