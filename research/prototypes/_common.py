"""Helpers shared by prototypes: crossings as Pine defines them."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["crossover", "crossunder", "previous"]


def previous(values: pd.Series | np.ndarray) -> np.ndarray:
    """The series one bar back (NaN on the first bar)."""
    array = np.asarray(values, dtype=np.float64)
    out = np.full_like(array, np.nan)
    out[1:] = array[:-1]
    return out


def crossover(a: pd.Series | np.ndarray | float, b: pd.Series | np.ndarray | float) -> np.ndarray:
    """Pine ``ta.crossover(a, b)``: a > b now and a <= b on the previous bar (False where
    either side is NaN)."""
    now_a, now_b = _pair(a, b)
    with np.errstate(invalid="ignore"):
        return np.asarray((now_a > now_b) & (previous(now_a) <= previous(now_b)))


def crossunder(a: pd.Series | np.ndarray | float, b: pd.Series | np.ndarray | float) -> np.ndarray:
    """Pine ``ta.crossunder(a, b)``: a < b now and a >= b on the previous bar."""
    now_a, now_b = _pair(a, b)
    with np.errstate(invalid="ignore"):
        return np.asarray((now_a < now_b) & (previous(now_a) >= previous(now_b)))


def _pair(a: pd.Series | np.ndarray | float, b: pd.Series | np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    arr_a = np.asarray(a, dtype=np.float64)
    arr_b = np.asarray(b, dtype=np.float64)
    return np.broadcast_arrays(arr_a, arr_b)  # type: ignore[return-value]
