"""``simulate(bars, signals, rules, model) -> Result``."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.datasets.performance import compute_metrics
from quantbridge.datasets.trade_list import TRADE_LIST_COLUMNS, ExitReason, empty_trade_list

from ..rules import PositionRules
from ..signals import Signals, SignalsError
from . import kernel
from .params import day_ids, kernel_params, scale_out_arrays
from .result import Result

__all__ = ["Engine", "simulate"]

_REASONS = list(ExitReason)


class Engine(StrEnum):
    AUTO = "auto"
    """vectorbt when it expresses the semantics (plain market signals), else the kernel."""
    KERNEL = "kernel"
    VECTORBT = "vectorbt"


def _inputs(bars: pd.DataFrame, signals: Signals) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(signals) != len(bars) or not signals.index.equals(bars.index):
        raise SignalsError(
            f"signals cover {len(signals)} bars ({signals.index[:1].tolist()}…); expected the {len(bars)} input bars"
        )
    ohlc = bars[["open", "high", "low", "close"]].to_numpy(dtype=np.float64).T.copy()
    flags = np.vstack([signals.long_entry, signals.long_exit, signals.short_entry, signals.short_exit])
    resting = np.vstack(
        [signals.long_entry_stop, signals.long_entry_limit, signals.short_entry_stop, signals.short_entry_limit]
    )
    return ohlc, flags, resting


def _capacity(signals: Signals, rules: PositionRules) -> int:
    entries = int(signals.long_entry.sum() + signals.short_entry.sum())
    return entries * (1 + len(rules.scale_outs)) + 1


def _trade_frame(rows: np.ndarray, index: pd.DatetimeIndex, signals: Signals, point_value: float) -> pd.DataFrame:
    if len(rows) == 0:
        return empty_trade_list()
    entry_bar = rows[:, kernel.T_ENTRY_BAR].astype(np.int64)
    exit_bar = rows[:, kernel.T_EXIT_BAR].astype(np.int64)
    is_open = rows[:, kernel.T_OPEN] == 1.0
    side = np.where(rows[:, kernel.T_SIDE] > 0, "long", "short")
    value = rows[:, kernel.T_ENTRY_PRICE] * rows[:, kernel.T_QTY] * point_value
    frame = pd.DataFrame(
        {
            "trade_id": np.arange(1, len(rows) + 1, dtype=np.int64),
            "side": side,
            "entry_time": index[entry_bar],
            "exit_time": pd.DatetimeIndex(
                np.where(is_open, np.datetime64("NaT"), index[exit_bar].tz_localize(None))
            ).tz_localize("UTC"),
            "entry_price": rows[:, kernel.T_ENTRY_PRICE],
            "exit_price": rows[:, kernel.T_EXIT_PRICE],
            "quantity": rows[:, kernel.T_QTY],
            "commission": rows[:, kernel.T_COMM],
            "pnl": rows[:, kernel.T_PNL],
            "return_pct": rows[:, kernel.T_PNL] / value * 100.0,
            "bars_held": exit_bar - entry_bar,
            "entry_bar": entry_bar,
            "exit_bar": np.where(is_open, -1, exit_bar),
            "entry_signal": np.where(side == "long", signals.long_name, signals.short_name),
            "exit_reason": [_REASONS[int(r)].value for r in rows[:, kernel.T_REASON]],
            "is_open": is_open,
        }
    )
    frame = frame.sort_values(["entry_bar", "trade_id"], kind="stable").reset_index(drop=True)
    frame["trade_id"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame[list(TRADE_LIST_COLUMNS)]


def _open_rows(lots: np.ndarray, side: float, last_bar: int, last_close: float, p: np.ndarray) -> np.ndarray:
    rows = np.zeros((len(lots), kernel.N_TCOLS))
    for j, lot in enumerate(lots):
        gross = (last_close - lot[kernel.L_PRICE]) * lot[kernel.L_QTY] * side * p[kernel.P_POINT_VALUE]
        rows[j] = 0.0
        rows[j, kernel.T_SIDE] = side
        rows[j, kernel.T_ENTRY_BAR] = lot[kernel.L_BAR]
        rows[j, kernel.T_EXIT_BAR] = last_bar
        rows[j, kernel.T_ENTRY_PRICE] = lot[kernel.L_PRICE]
        rows[j, kernel.T_EXIT_PRICE] = last_close
        rows[j, kernel.T_QTY] = lot[kernel.L_QTY]
        rows[j, kernel.T_COMM] = lot[kernel.L_COMM]
        rows[j, kernel.T_PNL] = gross - lot[kernel.L_COMM]
        rows[j, kernel.T_REASON] = kernel.R_OPEN
        rows[j, kernel.T_OPEN] = 1.0
    return rows


def _run_kernel(bars: pd.DataFrame, signals: Signals, rules: PositionRules, model: ExecutionModel) -> Result:
    ohlc, flags, resting = _inputs(bars, signals)
    p = kernel_params(model, rules)
    so_pct, so_frac = scale_out_arrays(rules)
    days = day_ids(pd.DatetimeIndex(bars.index), model.session_timezone, model.session_start)
    origin = np.vstack([signals.long_entry_from, signals.short_entry_from])
    trades, lots, equity, position = kernel.run(
        ohlc, flags, resting, origin, signals.size, days, p, so_pct, so_frac, _capacity(signals, rules)
    )
    if len(lots):
        trades = np.vstack([trades, _open_rows(lots, np.sign(position[-1]), len(bars) - 1, ohlc[3, -1], p)])
    index = pd.DatetimeIndex(bars.index)
    equity_series = pd.Series(equity, index=index, name="equity")
    position_series = pd.Series(position, index=index, name="position")
    frame = _trade_frame(trades, index, signals, model.instrument.point_value)
    metrics = compute_metrics(equity_series, frame, position_series, model.initial_capital)
    return Result(frame, equity_series, position_series, metrics, model, rules, Engine.KERNEL.value)


def simulate(
    bars: pd.DataFrame,
    signals: Signals,
    rules: PositionRules | None = None,
    model: ExecutionModel | None = None,
    *,
    engine: Engine | str = Engine.AUTO,
) -> Result:
    """Simulate ``signals`` on ``bars`` under ``rules`` and ``model``.

    ``engine="auto"`` uses vectorbt when the signals are plain market orders and no
    position rule, pyramiding, intraday-loss limit or per-bar size is set (vectorbt
    expresses exactly that); everything else runs on the numba kernel. Both give the
    same trade list where both apply (tested).
    """
    rules = rules or PositionRules()
    model = model or ExecutionModel()
    chosen = Engine(engine)
    if chosen is Engine.AUTO:
        from .vbt import vectorbt_supports

        chosen = Engine.VECTORBT if vectorbt_supports(signals, rules, model) else Engine.KERNEL
    if chosen is Engine.VECTORBT:
        from .vbt import run_vectorbt, vectorbt_supports

        if not vectorbt_supports(signals, rules, model):
            raise ValueError(
                "vectorbt cannot express these semantics (resting stop/limit orders, position rules, "
                "sizing other than a fixed quantity, pyramiding, per-bar size or an exit and an entry on one bar); "
                "use engine='kernel' or 'auto'"
            )
        return run_vectorbt(bars, signals, rules, model)
    return _run_kernel(bars, signals, rules, model)
