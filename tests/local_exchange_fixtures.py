"""Shared by the local-exchange tests: a settable exchange clock and random-walk bars."""

from __future__ import annotations

import numpy as np
import pandas as pd


class MovingClock:
    """The exchange's market clock in epoch ms; the test moves it by setting ``ms``."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def random_walk_bars(
    n: int,
    *,
    seed: int,
    start: float = 1000.0,
    step_sd: float = 2.0,
    wick: tuple[float, float] = (0.0, 2.0),
    freq: str = "1min",
) -> pd.DataFrame:
    """Deterministic bars on a 0.1 price grid: a normal random walk of closes, each open
    the previous close, wicks drawn uniformly from ``wick`` beyond the body."""
    rng = np.random.default_rng(seed)
    close = np.round(start + np.cumsum(rng.normal(0, step_sd, n)), 1)
    open_ = np.concatenate([[start], close[:-1]])
    high = np.round(np.maximum(open_, close) + rng.uniform(*wick, n), 1)
    low = np.round(np.minimum(open_, close) - rng.uniform(*wick, n), 1)
    volume = np.round(rng.uniform(1, 10, n), 3)
    index = pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC", name="open_time").as_unit("ns")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)
