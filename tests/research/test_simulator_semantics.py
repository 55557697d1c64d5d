"""The simulator's fill rules, one specification per rule, on hand-made bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.execution import (
    BarPath,
    CommissionType,
    ExecutionModel,
    Instrument,
    SizingType,
    SlippageType,
    Timing,
)
from quantbridge.research.rules import PositionRules, ScaleOut, StopMode
from quantbridge.research.signals import Signals, SignalsError
from quantbridge.research.simulator import simulate

from .bars_factory import bars_from, flags, flat_bars

KERNEL = "kernel"


def run(bars, model=None, rules=None, **signal_columns):  # type: ignore[no-untyped-def]
    signals = Signals.build(bars.index, **signal_columns)
    return simulate(bars, signals, rules, model, engine=KERNEL)


def test_market_entry_when_next_bar_open_fills_at_following_open() -> None:
    bars = bars_from([(10, 11, 9, 10), (12, 13, 11, 12), (14, 15, 13, 14), (16, 17, 15, 16)])
    result = run(bars, long_entry=flags(4, 0), long_exit=flags(4, 2))
    (trade,) = result.trades.itertuples()
    assert (trade.entry_bar, trade.entry_price, trade.exit_bar, trade.exit_price) == (1, 12.0, 3, 16.0)
    assert trade.exit_reason == "signal" and trade.pnl == 4.0 and trade.bars_held == 2


def test_market_entry_when_bar_close_timing_fills_at_signal_close() -> None:
    bars = bars_from([(10, 11, 9, 10.5), (12, 13, 11, 12.5), (14, 15, 13, 14.5)])
    result = run(bars, ExecutionModel(timing=Timing.BAR_CLOSE), long_entry=flags(3, 0), long_exit=flags(3, 1))
    trade = result.trades.iloc[0]
    assert (trade.entry_bar, trade.entry_price, trade.exit_bar, trade.exit_price) == (0, 10.5, 1, 12.5)


def test_opposite_entry_when_flip_reverses_at_same_price() -> None:
    bars = flat_bars(5)
    bars["open"] = [100, 101, 102, 103, 104]
    result = run(bars, long_entry=flags(5, 0), short_entry=flags(5, 2))
    first, second = result.trades.itertuples()
    assert first.exit_reason == "reverse" and first.exit_price == second.entry_price == 103.0
    assert second.side == "short" and second.is_open


def test_opposite_entry_when_flip_disabled_is_ignored_until_flat() -> None:
    bars = flat_bars(6)
    result = run(
        bars, rules=PositionRules(flip=False), long_entry=flags(6, 0), short_entry=flags(6, 1), long_exit=flags(6, 3)
    )
    assert result.trades["side"].tolist() == ["long"]


def test_stop_entry_when_price_rises_through_fills_at_stop() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 106, 99, 105), (105, 106, 104, 105)])
    stop = np.array([103.0, np.nan, np.nan])
    result = run(bars, long_entry=flags(3, 0), long_entry_stop=stop)
    assert result.trades.iloc[0].entry_price == 103.0 and result.trades.iloc[0].entry_bar == 1


def test_stop_entry_when_open_gaps_above_fills_at_open() -> None:
    bars = bars_from([(100, 101, 99, 100), (107, 108, 106, 107), (107, 108, 106, 107)])
    result = run(bars, long_entry=flags(3, 0), long_entry_stop=np.array([103.0, np.nan, np.nan]))
    assert result.trades.iloc[0].entry_price == 107.0


def test_stop_entry_when_price_never_reaches_does_not_fill() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 102, 99, 101), (101, 102, 100, 101)])
    result = run(bars, long_entry=flags(3, 0), long_entry_stop=np.array([103.0, np.nan, np.nan]))
    assert result.trades.empty


def test_limit_entry_when_price_dips_fills_at_limit() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 101, 95, 99), (99, 100, 98, 99)])
    result = run(bars, long_entry=flags(3, 0), long_entry_limit=np.array([97.0, np.nan, np.nan]))
    assert result.trades.iloc[0].entry_price == 97.0


@pytest.mark.parametrize(
    ("bar", "expected_exit"),
    [
        # high nearer the open: open -> high (take-profit at 110) first
        ((100, 110, 88, 100), ("take_profit", 110.0)),
        # low nearer the open: open -> low (stop at 95) first
        ((100, 111, 92, 100), ("stop_loss", 95.0)),
        # tie: TradingView walks to the low first
        ((100, 110, 90, 101), ("stop_loss", 95.0)),
    ],
)
def test_stop_and_target_in_one_bar_when_tradingview_path_nearer_extreme_first(
    bar: tuple[float, float, float, float], expected_exit: tuple[str, float]
) -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), bar])
    rules = PositionRules(stop_loss_pct=5, take_profit_pct=10)
    result = run(bars, rules=rules, long_entry=flags(3, 0))
    trade = result.trades.iloc[0]
    assert (trade.exit_reason, trade.exit_price) == expected_exit


def test_bar_path_when_forced_open_high_low_close_takes_target_first() -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (100, 111, 92, 100)])
    model = ExecutionModel(bar_path=BarPath.OPEN_HIGH_LOW_CLOSE)
    result = run(bars, model, PositionRules(stop_loss_pct=5, take_profit_pct=10), long_entry=flags(3, 0))
    assert result.trades.iloc[0].exit_reason == "take_profit"


def test_stop_loss_when_on_close_mode_exits_next_open() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 90, 99), (97, 98, 96, 97)])
    rules = PositionRules(stop_loss_pct=5, stop_mode=StopMode.ON_CLOSE)
    trade = run(bars, rules=rules, long_entry=flags(4, 0)).trades.iloc[0]
    assert (trade.exit_reason, trade.exit_bar, trade.exit_price) == ("stop_loss", 3, 97.0)


def test_stop_loss_when_gap_through_fills_at_open() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 101, 99, 100), (90, 91, 89, 90)])
    trade = run(bars, rules=PositionRules(stop_loss_pct=5), long_entry=flags(3, 0)).trades.iloc[0]
    assert trade.exit_price == 90.0


def test_trailing_stop_when_price_rises_then_falls_exits_below_peak() -> None:
    bars = bars_from([(100, 100, 100, 100), (100, 101, 99, 100), (100, 120, 100, 119), (119, 119, 100, 105)])
    trade = run(bars, rules=PositionRules(trailing_stop_pct=10), long_entry=flags(4, 0)).trades.iloc[0]
    assert trade.exit_reason == "trailing_stop" and trade.exit_price == pytest.approx(108.0)


def test_max_bars_held_when_reached_exits_at_open_after_n_bars() -> None:
    bars = flat_bars(8)
    trade = run(bars, rules=PositionRules(max_bars_held=3), long_entry=flags(8, 0)).trades.iloc[0]
    assert (trade.exit_reason, trade.entry_bar, trade.exit_bar, trade.bars_held) == ("max_bars", 1, 4, 3)


def test_cooldown_when_stopped_out_blocks_entries_for_n_bars() -> None:
    rows = [(100, 100.5, 99.5, 100)] * 10
    rows[2] = (100, 100.5, 90, 95)
    bars = bars_from(rows)
    every_bar = np.ones(10, dtype=bool)
    rules = PositionRules(stop_loss_pct=5, cooldown_bars=3, flip=False)
    trades = run(bars, rules=rules, long_entry=every_bar).trades
    assert trades.iloc[0].exit_reason == "stop_loss" and trades.iloc[0].exit_bar == 2
    assert trades.iloc[1].entry_bar == 6  # bars 3, 4, 5 blocked


def test_scale_outs_when_targets_hit_close_fractions_then_rest() -> None:
    bars = bars_from([(100, 100, 100, 100), (100, 100, 100, 100), (100, 106, 100, 105), (105, 112, 104, 110)])
    rules = PositionRules(scale_outs=(ScaleOut(at_pct=5, fraction=0.5), ScaleOut(at_pct=10, fraction=0.5)))
    trades = run(bars, ExecutionModel(size=4), rules, long_entry=flags(4, 0)).trades
    assert trades["quantity"].tolist() == [2.0, 2.0]
    assert trades["exit_price"].tolist() == [105.0, 110.0]
    assert set(trades["exit_reason"]) == {"scale_out"}


def test_pyramiding_when_two_allowed_opens_two_lots_and_closes_fifo() -> None:
    bars = flat_bars(6)
    bars["open"] = [100, 101, 102, 103, 104, 105]
    model = ExecutionModel(pyramiding=2)
    trades = run(bars, model, long_entry=flags(6, 0, 1, 2), long_exit=flags(6, 3)).trades
    assert trades["entry_price"].tolist() == [101.0, 102.0]
    assert trades["exit_price"].tolist() == [104.0, 104.0]


def test_commission_when_percent_charged_on_both_fills() -> None:
    bars = flat_bars(4)
    model = ExecutionModel(commission=0.1, commission_type=CommissionType.PERCENT, size=2)
    trade = run(bars, model, long_entry=flags(4, 0), long_exit=flags(4, 1)).trades.iloc[0]
    assert trade.commission == pytest.approx(2 * 100 * 0.001 * 2)
    assert trade.pnl == pytest.approx(-0.4)


def test_commission_when_per_contract_scales_with_quantity() -> None:
    model = ExecutionModel(commission=0.5, commission_type=CommissionType.PER_CONTRACT, size=3)
    trade = run(flat_bars(4), model, long_entry=flags(4, 0), long_exit=flags(4, 1)).trades.iloc[0]
    assert trade.commission == pytest.approx(3.0)


def test_slippage_when_ticks_moves_fills_against_the_order() -> None:
    model = ExecutionModel(slippage=2, slippage_type=SlippageType.TICKS, instrument=Instrument(tick_size=0.5))
    trade = run(flat_bars(4), model, long_entry=flags(4, 0), long_exit=flags(4, 1)).trades.iloc[0]
    assert (trade.entry_price, trade.exit_price) == (101.0, 99.0)


def test_percent_of_equity_sizing_when_step_set_rounds_quantity_down() -> None:
    bars = flat_bars(4, price=3.0)
    model = ExecutionModel(
        sizing=SizingType.PERCENT_OF_EQUITY, size=10, initial_capital=1000, instrument=Instrument(qty_step=1)
    )
    trade = run(bars, model, long_entry=flags(4, 0)).trades.iloc[0]
    assert trade.quantity == 33.0  # 100 / 3 = 33.3 -> 33


def test_stop_entry_when_sized_by_cash_is_resized_at_fill_price() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 126, 99, 125), (125, 126, 124, 125)])
    model = ExecutionModel(sizing=SizingType.FIXED_CASH, size=1000, instrument=Instrument(qty_step=0.001))
    trade = run(bars, model, long_entry=flags(3, 0), long_entry_stop=np.array([125.0, np.nan, np.nan])).trades.iloc[0]
    assert trade.quantity == 8.0  # 1000 / 125, not 1000 / 100


def test_intraday_loss_when_breached_closes_at_extreme_and_halts_the_day() -> None:
    rows = [(100, 100.5, 99.5, 100)] * 6
    rows[2] = (100, 100.5, 80, 85)
    bars = bars_from(rows)
    model = ExecutionModel(size=100, initial_capital=10_000, max_intraday_loss_pct=1)
    trades = run(bars, model, long_entry=np.ones(6, dtype=bool)).trades
    assert trades.iloc[0].exit_reason == "intraday_loss" and trades.iloc[0].exit_price == 80.0
    assert len(trades) == 1  # no re-entry later the same day


def test_open_trade_when_data_ends_is_marked_at_last_close() -> None:
    bars = bars_from([(10, 11, 9, 10), (10, 11, 9, 10), (12, 13, 11, 13)])
    trade = run(bars, long_entry=flags(3, 0)).trades.iloc[0]
    assert trade.is_open and trade.exit_reason == "open" and trade.exit_price == 13.0
    assert trade.exit_bar == -1 and pd.isna(trade.exit_time)


def test_equity_when_position_open_is_marked_to_close() -> None:
    bars = bars_from([(10, 11, 9, 10), (10, 11, 9, 11), (11, 12, 10, 12)])
    result = run(bars, ExecutionModel(initial_capital=100), long_entry=flags(3, 0))
    assert result.equity.tolist() == [100.0, 101.0, 102.0]
    assert result.position.tolist() == [0.0, 1.0, 1.0]


def test_signals_when_misaligned_raise_naming_the_column() -> None:
    bars = flat_bars(3)
    with pytest.raises(SignalsError, match="long_entry: expected 3 values"):
        Signals.build(bars.index, long_entry=np.zeros(4, dtype=bool))


def test_signals_when_stop_price_negative_raise_naming_row() -> None:
    bars = flat_bars(3)
    with pytest.raises(SignalsError, match="long_entry_stop: row 1"):
        Signals.build(bars.index, long_entry_stop=np.array([np.nan, -1.0, np.nan]))
