"""Pack an ExecutionModel and PositionRules into the kernel's parameter vector."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import BarPath, CommissionType, ExecutionModel, SizingType, SlippageType, Timing

from ..rules import PositionRules, StopMode
from . import kernel

__all__ = ["day_ids", "kernel_params", "scale_out_arrays"]

_COMMISSION = {CommissionType.PERCENT: 0.0, CommissionType.PER_CONTRACT: 1.0, CommissionType.PER_ORDER: 2.0}
_SIZING = {SizingType.FIXED_QTY: 0.0, SizingType.FIXED_CASH: 1.0, SizingType.PERCENT_OF_EQUITY: 2.0}
_PATH = {BarPath.TRADINGVIEW: 0.0, BarPath.OPEN_HIGH_LOW_CLOSE: 1.0, BarPath.OPEN_LOW_HIGH_CLOSE: 2.0}


def _fraction(percent: float | None) -> float:
    return math.nan if percent is None else percent / 100.0


def kernel_params(model: ExecutionModel, rules: PositionRules) -> np.ndarray:
    p = np.zeros(kernel.N_PARAMS)
    inst = model.instrument
    p[kernel.P_TIMING_CLOSE] = 1.0 if model.timing is Timing.BAR_CLOSE else 0.0
    p[kernel.P_COMM] = model.commission
    p[kernel.P_COMM_TYPE] = _COMMISSION[model.commission_type]
    ticks = model.slippage_type is SlippageType.TICKS
    p[kernel.P_SLIP] = model.slippage * inst.tick_size if ticks else model.slippage
    p[kernel.P_SLIP_PCT] = 0.0 if ticks else 1.0
    p[kernel.P_SIZING] = _SIZING[model.sizing]
    p[kernel.P_SIZE] = model.size
    p[kernel.P_CAPITAL] = model.initial_capital
    p[kernel.P_PYRAMIDING] = model.pyramiding
    p[kernel.P_TICK] = inst.tick_size
    p[kernel.P_QTY_STEP] = inst.qty_step
    p[kernel.P_POINT_VALUE] = inst.point_value
    p[kernel.P_MIN_QTY] = inst.min_qty
    p[kernel.P_PATH] = _PATH[model.bar_path]
    p[kernel.P_SL] = _fraction(rules.stop_loss_pct)
    p[kernel.P_TP] = _fraction(rules.take_profit_pct)
    p[kernel.P_STOP_ON_CLOSE] = 1.0 if rules.stop_mode is StopMode.ON_CLOSE else 0.0
    p[kernel.P_TRAIL] = _fraction(rules.trailing_stop_pct)
    p[kernel.P_MAX_BARS] = rules.max_bars_held or 0
    p[kernel.P_COOLDOWN] = rules.cooldown_bars
    p[kernel.P_FLIP] = 1.0 if rules.flip else 0.0
    p[kernel.P_DAY_LOSS] = _fraction(model.max_intraday_loss_pct)
    return p


def scale_out_arrays(rules: PositionRules) -> tuple[np.ndarray, np.ndarray]:
    pct = np.array([s.at_pct / 100.0 for s in rules.scale_outs], dtype=np.float64)
    frac = np.array([s.fraction for s in rules.scale_outs], dtype=np.float64)
    return pct, frac


def day_ids(index: pd.DatetimeIndex, timezone: str, session_start: str = "00:00") -> np.ndarray:
    """Trading-day number of each bar: local time in ``timezone`` shifted back by the
    session start, then floored to a day (a 17:00 start puts Sunday 17:00 .. Monday
    16:59 in one trading day)."""
    hours, minutes = (int(part) for part in session_start.split(":"))
    local = index.tz_convert(timezone).tz_localize(None) - pd.Timedelta(hours=hours, minutes=minutes)
    return np.asarray(local.normalize().asi8 // 86_400_000_000_000, dtype=np.int64)
