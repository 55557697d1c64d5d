"""numba kernels for window statistics that do not vectorise well (sorting per window)."""

from __future__ import annotations

import numpy as np

from ._core import FloatArray, jit

__all__ = ["TIE_TOLERANCE", "mode_kernel", "rci_kernel"]

#: Values closer than this count as equal in TradingView's rank ties (measured in RCI).
TIE_TOLERANCE = 1e-10


@jit
def _mode(values: FloatArray, length: int) -> FloatArray:
    n = len(values)
    out = np.full(n, np.nan)
    for end in range(length - 1, n):
        window = np.sort(values[end - length + 1 : end + 1])
        best = window[0]
        best_count = 0
        run = 0
        for k in range(length):
            run = run + 1 if k > 0 and window[k] == window[k - 1] else 1
            if run > best_count:
                best_count = run
                best = window[k]
        out[end] = best
    return out


def mode_kernel(values: FloatArray, length: int) -> FloatArray:
    """Rolling mode (ties in frequency → the smallest value) of na-free values."""
    return _mode(values, int(length))


@jit
def _average_ranks(window: FloatArray, tolerance: float) -> FloatArray:
    length = len(window)
    order = np.argsort(window, kind="mergesort")
    ranks = np.empty(length)
    i = 0
    while i < length:
        anchor = window[order[i]]
        j = i
        while j < length and window[order[j]] - anchor < tolerance:
            j += 1
        average = (i + j - 1) / 2.0
        for k in range(i, j):
            ranks[order[k]] = average
        i = j
    return ranks


@jit
def _rci(values: FloatArray, length: int, tolerance: float) -> FloatArray:
    n = len(values)
    out = np.full(n, np.nan)
    times = np.arange(length).astype(np.float64)
    dt = times - times.mean()
    for end in range(length - 1, n):
        ranks = _average_ranks(values[end - length + 1 : end + 1], tolerance)
        dr = ranks - ranks.mean()
        denominator = np.sqrt((dt * dt).sum() * (dr * dr).sum())
        if denominator > 0:
            out[end] = 100.0 * (dt * dr).sum() / denominator
    return out


def rci_kernel(values: FloatArray, length: int) -> FloatArray:
    """Spearman rank correlation × 100 between time (oldest = 0) and value ranks over
    each window of na-free values; tied values (within :data:`TIE_TOLERANCE` of the
    smallest of their group) share their average rank."""
    return _rci(values, int(length), TIE_TOLERANCE)
