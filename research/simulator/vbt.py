"""The vectorbt path of the simulator, for what vectorbt expresses exactly.

vectorbt's ``Portfolio.from_signals`` covers plain market entries and exits with a
fixed quantity, percent or per-order fees and reversal on an opposite entry. Fills at
the next bar's open are expressed by shifting the signals one bar and pricing at the
open (see docs/facts). The index is handed to vectorbt without its timezone (times stay
UTC) because a timezone-aware index makes vectorbt ~57× slower.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import CommissionType, ExecutionModel, SizingType, SlippageType, Timing
from quantbridge.datasets.performance import compute_metrics
from quantbridge.datasets.trade_list import TRADE_LIST_COLUMNS, ExitReason, empty_trade_list

from ..rules import PositionRules
from ..signals import Signals
from .result import Result

__all__ = ["run_vectorbt", "vectorbt_supports"]


def _model_supported(model: ExecutionModel) -> bool:
    return (
        model.sizing is SizingType.FIXED_QTY
        and model.pyramiding == 1
        and model.max_intraday_loss_pct is None
        and model.commission_type in (CommissionType.PERCENT, CommissionType.PER_ORDER)
        and (model.slippage == 0 or model.slippage_type is SlippageType.PERCENT)
        and model.instrument.point_value == 1.0
    )


def _signals_supported(signals: Signals) -> bool:
    resting = (signals.long_entry_stop, signals.long_entry_limit, signals.short_entry_stop, signals.short_entry_limit)
    conflicts = (signals.long_entry & signals.short_entry) | (signals.long_entry & signals.long_exit)
    conflicts |= signals.short_entry & signals.short_exit
    # an exit and an opposite entry on one bar are two orders (Pine: strategy.close then
    # strategy.entry), each with its own commission; vectorbt books them as one reversal
    conflicts |= (signals.long_exit & signals.short_entry) | (signals.short_exit & signals.long_entry)
    return all(np.isnan(r).all() for r in resting) and bool(np.isnan(signals.size).all()) and not conflicts.any()


def vectorbt_supports(signals: Signals, rules: PositionRules, model: ExecutionModel) -> bool:
    """True when vectorbt gives exactly the kernel's semantics for these inputs."""
    return rules.is_plain and _model_supported(model) and _signals_supported(signals)


def _shifted(values: np.ndarray, timing: Timing) -> np.ndarray:
    if timing is Timing.BAR_CLOSE:
        return values
    out = np.zeros_like(values)
    out[1:] = values[:-1]
    return out


def _portfolio(bars: pd.DataFrame, signals: Signals, model: ExecutionModel) -> object:
    import vectorbt as vbt

    naive = pd.DatetimeIndex(bars.index).tz_localize(None)
    price_column = "close" if model.timing is Timing.BAR_CLOSE else "open"
    percent = model.commission_type is CommissionType.PERCENT

    def series(values: np.ndarray) -> pd.Series:
        return pd.Series(_shifted(values, model.timing), index=naive)

    return vbt.Portfolio.from_signals(
        close=pd.Series(bars["close"].to_numpy(), index=naive),
        entries=series(signals.long_entry),
        exits=series(signals.long_exit),
        short_entries=series(signals.short_entry),
        short_exits=series(signals.short_exit),
        price=pd.Series(bars[price_column].to_numpy(), index=naive),
        size=model.size,
        size_type="amount",
        fees=model.commission / 100.0 if percent else 0.0,
        fixed_fees=0.0 if percent else model.commission,
        slippage=model.slippage / 100.0,
        init_cash=model.initial_capital,
        upon_opposite_entry="reverse",
        freq=None,
    )


def _trade_list(records: np.ndarray, index: pd.DatetimeIndex, signals: Signals, reasons: np.ndarray) -> pd.DataFrame:
    if len(records) == 0:
        return empty_trade_list()
    is_open = records["status"] == 0
    side = np.where(records["direction"] == 0, "long", "short")
    entry_bar = records["entry_idx"].astype(np.int64)
    exit_bar = records["exit_idx"].astype(np.int64)
    commission = records["entry_fees"] + records["exit_fees"]
    frame = pd.DataFrame(
        {
            "trade_id": np.arange(1, len(records) + 1, dtype=np.int64),
            "side": side,
            "entry_time": index[entry_bar],
            "exit_time": pd.Series(index[exit_bar]).where(~is_open).to_numpy(),
            "entry_price": records["entry_price"],
            "exit_price": records["exit_price"],
            "quantity": records["size"],
            "commission": commission,
            "pnl": records["pnl"],
            "return_pct": records["pnl"] / (records["entry_price"] * records["size"]) * 100.0,
            "bars_held": exit_bar - entry_bar,
            "entry_bar": entry_bar,
            "exit_bar": np.where(is_open, -1, exit_bar),
            "entry_signal": np.where(side == "long", signals.long_name, signals.short_name),
            "exit_reason": np.where(is_open, ExitReason.OPEN.value, reasons),
            "is_open": is_open,
        }
    )
    return frame[list(TRADE_LIST_COLUMNS)]


def _exit_reasons(records: np.ndarray, signals: Signals, timing: Timing) -> np.ndarray:
    """A trade whose own exit signal fired on its signal bar exited on that signal;
    any other closed trade was reversed by an opposite entry."""
    lag = 0 if timing is Timing.BAR_CLOSE else 1
    signal_bar = np.clip(records["exit_idx"] - lag, 0, None)
    own_exit = np.where(records["direction"] == 0, signals.long_exit[signal_bar], signals.short_exit[signal_bar])
    return np.where(own_exit, ExitReason.SIGNAL.value, ExitReason.REVERSE.value)


def run_vectorbt(bars: pd.DataFrame, signals: Signals, rules: PositionRules, model: ExecutionModel) -> Result:
    """Simulate on vectorbt; the caller checked :func:`vectorbt_supports`."""
    portfolio = _portfolio(bars, signals, model)
    records = portfolio.trades.records_arr  # type: ignore[attr-defined]
    index = pd.DatetimeIndex(bars.index)
    trades = _trade_list(records, index, signals, _exit_reasons(records, signals, model.timing))
    equity = pd.Series(np.asarray(portfolio.value()), index=index, name="equity")  # type: ignore[attr-defined]
    position = pd.Series(np.asarray(portfolio.assets()), index=index, name="position")  # type: ignore[attr-defined]
    metrics = compute_metrics(equity, trades, position, model.initial_capital)
    return Result(trades, equity, position, metrics, model, rules, "vectorbt")
