"""The simulated venue's fill rules, one specification per rule, on hand-made candles.

They mirror ``tests/research/test_simulator_semantics.py``: the same bars and the same
expected fills, reached through a strategy's context and the whole runtime.
"""

from __future__ import annotations

from decimal import Decimal

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
from quantbridge.runtime.components.margin import MarginConfig
from quantbridge.runtime.domain.orders import OrderStatus

from .helpers import bars_from, buy, close, flat_bars, run, sell, with_opens


def only_trade(result: object) -> pd.Series:
    trades = result.trades  # type: ignore[attr-defined]
    assert len(trades) == 1, trades
    return trades.iloc[0]


def test_market_entry_when_next_bar_open_fills_at_following_open() -> None:
    bars = bars_from([(10, 11, 9, 10), (12, 13, 11, 12), (14, 15, 13, 14), (16, 17, 15, 16)])
    trade = only_trade(run(bars, {0: [buy()], 2: [close()]}))
    assert (trade.entry_bar, trade.entry_price, trade.exit_bar, trade.exit_price) == (1, 12.0, 3, 16.0)
    assert trade.exit_reason == "signal" and trade.pnl == 4.0 and trade.bars_held == 2


def test_market_entry_when_bar_close_timing_fills_at_signal_close() -> None:
    bars = bars_from([(10, 11, 9, 10.5), (12, 13, 11, 12.5), (14, 15, 13, 14.5)])
    trade = only_trade(run(bars, {0: [buy()], 1: [close()]}, ExecutionModel(timing=Timing.BAR_CLOSE)))
    assert (trade.entry_bar, trade.entry_price, trade.exit_bar, trade.exit_price) == (0, 10.5, 1, 12.5)


def test_opposite_entry_when_position_open_reverses_with_one_order_at_one_price() -> None:
    bars = with_opens(flat_bars(5), [100, 101, 102, 103, 104])
    result = run(bars, {0: [buy()], 2: [sell()]})
    first, second = result.trades.itertuples()
    assert first.exit_reason == "reverse" and first.exit_price == second.entry_price == 103.0
    assert second.side == "short" and second.is_open
    (reversal,) = [o for o in result.orders if o.tag == "short"]
    assert reversal.filled_qty == Decimal(2) and reversal.status is OrderStatus.FILLED


def test_reversal_commission_when_percent_is_shared_pro_rata_between_legs() -> None:
    bars = flat_bars(5)
    model = ExecutionModel(commission=1.0, commission_type=CommissionType.PERCENT, size=1)
    result = run(bars, {0: [buy(qty=1)], 1: [sell(qty=3)]}, model)
    first, second = result.trades.itertuples()
    # the reversal trades 4 units at 100: commission 4, one quarter to the closing leg
    assert first.commission == pytest.approx(1.0 + 1.0) and second.commission == pytest.approx(3.0)
    assert second.quantity == 3.0


def test_stop_entry_when_price_rises_through_fills_at_stop() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 106, 99, 105), (105, 106, 104, 105)])
    trade = run(bars, {0: [buy(stop=103)]}).trades.iloc[0]
    assert trade.entry_price == 103.0 and trade.entry_bar == 1


def test_stop_entry_when_open_gaps_above_fills_at_open() -> None:
    bars = bars_from([(100, 101, 99, 100), (107, 108, 106, 107), (107, 108, 106, 107)])
    assert run(bars, {0: [buy(stop=103)]}).trades.iloc[0].entry_price == 107.0


def test_stop_entry_when_price_never_reaches_keeps_working_unfilled() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 102, 99, 101), (101, 102, 100, 101)])
    result = run(bars, {0: [buy(stop=103)]})
    assert result.trades.empty
    assert [o.status for o in result.orders] == [OrderStatus.ACCEPTED]


def test_limit_entry_when_price_dips_fills_at_limit() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 101, 95, 99), (99, 100, 98, 99)])
    assert run(bars, {0: [buy(limit=97)]}).trades.iloc[0].entry_price == 97.0


@pytest.mark.parametrize(
    ("bar", "expected_exit"),
    [
        ((100, 110, 88, 100), ("take_profit", 110.0)),  # high nearer the open: target first
        ((100, 111, 92, 100), ("stop_loss", 95.0)),  # low nearer the open: stop first
        ((100, 110, 90, 101), ("stop_loss", 95.0)),  # tie: TradingView walks to the low first
    ],
)
def test_stop_and_target_in_one_bar_when_tradingview_path_nearer_extreme_first(
    bar: tuple[float, float, float, float], expected_exit: tuple[str, float]
) -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), bar])
    trade = run(bars, {0: [buy()], 1: [close(stop=95), close(limit=110)]}).trades.iloc[0]
    assert (trade.exit_reason, trade.exit_price) == expected_exit


def test_bar_path_when_forced_open_high_low_close_takes_target_first() -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (100, 111, 92, 100)])
    model = ExecutionModel(bar_path=BarPath.OPEN_HIGH_LOW_CLOSE)
    trade = run(bars, {0: [buy()], 1: [close(stop=95), close(limit=110)]}, model).trades.iloc[0]
    assert trade.exit_reason == "take_profit"


def test_stop_exit_when_open_gaps_through_fills_at_open() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 101, 99, 100), (90, 91, 89, 90)])
    trade = run(bars, {0: [buy()], 1: [close(stop=95)]}).trades.iloc[0]
    assert (trade.exit_reason, trade.exit_price) == ("stop_loss", 90.0)


def test_exit_orders_when_one_closes_the_position_cancel_the_other() -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (100, 111, 99, 105), (105, 106, 80, 90)])
    result = run(bars, {0: [buy()], 1: [close(stop=95), close(limit=110)]})
    assert result.trades["exit_reason"].tolist() == ["take_profit"]
    statuses = sorted(o.status.value for o in result.orders if o.tag == "close")
    assert statuses == ["cancelled", "filled"]


def test_pyramiding_when_two_allowed_opens_two_lots_and_closes_fifo() -> None:
    bars = with_opens(flat_bars(6), [100, 101, 102, 103, 104, 105])
    trades = run(bars, {0: [buy()], 1: [buy()], 2: [buy()], 3: [close()]}, ExecutionModel(pyramiding=2)).trades
    assert trades["entry_price"].tolist() == [101.0, 102.0]
    assert trades["exit_price"].tolist() == [104.0, 104.0]


def test_entry_when_pyramiding_limit_reached_is_not_created() -> None:
    result = run(flat_bars(5), {0: [buy()], 2: [buy(tag="again")]})
    assert len(result.trades) == 1
    assert [o.tag for o in result.orders] == ["long"]


def test_commission_when_percent_charged_on_both_fills() -> None:
    model = ExecutionModel(commission=0.1, commission_type=CommissionType.PERCENT, size=2)
    trade = run(flat_bars(4), {0: [buy()], 1: [close()]}, model).trades.iloc[0]
    assert trade.commission == pytest.approx(2 * 100 * 0.001 * 2)
    assert trade.pnl == pytest.approx(-0.4)


def test_commission_when_per_contract_scales_with_quantity() -> None:
    model = ExecutionModel(commission=0.5, commission_type=CommissionType.PER_CONTRACT, size=3)
    trade = run(flat_bars(4), {0: [buy()], 1: [close()]}, model).trades.iloc[0]
    assert trade.commission == pytest.approx(3.0)


def test_slippage_when_ticks_moves_fills_against_the_order() -> None:
    model = ExecutionModel(slippage=2, slippage_type=SlippageType.TICKS, instrument=Instrument(tick_size=0.5))
    trade = run(flat_bars(4), {0: [buy()], 1: [close()]}, model).trades.iloc[0]
    assert (trade.entry_price, trade.exit_price) == (101.0, 99.0)


def test_percent_of_equity_sizing_when_step_set_rounds_quantity_down() -> None:
    model = ExecutionModel(
        sizing=SizingType.PERCENT_OF_EQUITY, size=10, initial_capital=1000, instrument=Instrument(qty_step=1)
    )
    trade = run(flat_bars(4, price=3.0), {0: [buy()]}, model).trades.iloc[0]
    assert trade.quantity == 33.0  # 100 / 3 = 33.3 -> 33


def test_stop_entry_when_sized_by_cash_is_resized_at_fill_price() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 126, 99, 125), (125, 126, 124, 125)])
    model = ExecutionModel(sizing=SizingType.FIXED_CASH, size=1000, instrument=Instrument(qty_step=0.001))
    trade = run(bars, {0: [buy(stop=125)]}, model).trades.iloc[0]
    assert trade.quantity == 8.0  # 1000 / 125, not 1000 / 100


def test_intraday_loss_when_breached_closes_at_extreme_and_halts_the_day() -> None:
    rows = [(100, 100.5, 99.5, 100)] * 6
    rows[2] = (100, 100.5, 80, 85)
    model = ExecutionModel(size=100, initial_capital=10_000, max_intraday_loss_pct=1)
    leverage = MarginConfig(leverage=Decimal(10))
    result = run(bars_from(rows), {bar: [buy(tag=f"L{bar}")] for bar in range(6)}, model, margin=leverage)
    trade = only_trade(result)
    assert trade.exit_reason == "intraday_loss" and trade.exit_price == 80.0
    rejected = [o for o in result.orders if o.status is OrderStatus.REJECTED]
    assert rejected and all("halted" in o.reason for o in rejected)


def test_open_trade_when_data_ends_is_marked_at_last_close() -> None:
    bars = bars_from([(10, 11, 9, 10), (10, 11, 9, 10), (12, 13, 11, 13)])
    trade = only_trade(run(bars, {0: [buy()]}))
    assert trade.is_open and trade.exit_reason == "open" and trade.exit_price == 13.0
    assert trade.exit_bar == -1 and pd.isna(trade.exit_time)


def test_equity_when_position_open_is_marked_to_close() -> None:
    bars = bars_from([(10, 11, 9, 10), (10, 11, 9, 11), (11, 12, 10, 12)])
    result = run(bars, {0: [buy()]}, ExecutionModel(initial_capital=100))
    assert result.equity["equity"].tolist() == [100.0, 101.0, 102.0]
    assert result.equity["position"].tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (buy(stop=100.004), Decimal("100.01")),  # buy stop: up
        (buy(limit=99.996), Decimal("99.99")),  # buy limit: down
        (sell(stop=99.996), Decimal("99.99")),  # sell stop: down
        (sell(limit=100.004), Decimal("100.01")),  # sell limit: up
        (buy(stop=100.0100000001), Decimal("100.01")),  # within 1e-4 tick of the grid: on it
    ],
)
def test_order_price_when_off_grid_is_rounded_in_the_cautious_direction(action: object, expected: Decimal) -> None:
    (order,) = run(flat_bars(2), {0: [action]}).orders  # type: ignore[list-item]
    assert (order.stop or order.price) == expected


def test_partial_fills_when_volume_limited_leave_the_rest_working_for_next_bar() -> None:
    bars = bars_from(
        [(100, 101, 99, 100, 10), (100, 101, 99, 100, 10), (102, 103, 101, 102, 10), (104, 105, 103, 104, 10)]
    )
    result = run(bars, {0: [buy(qty=3)]}, fraction=Decimal("0.2"))
    assert result.trades["quantity"].tolist() == [2.0, 1.0]
    assert result.trades["entry_price"].tolist() == [100.0, 102.0]
    (order,) = result.orders
    assert order.status is OrderStatus.FILLED and order.filled_qty == 3


def test_order_when_good_for_one_bar_expires_unfilled() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 101, 99, 100), (100, 110, 99, 105)])
    result = run(bars, {0: [buy(stop=105, good_for=1)]})
    assert result.trades.empty
    (order,) = result.orders
    assert order.status is OrderStatus.EXPIRED


def test_sell_stop_entry_when_price_falls_through_fills_at_stop_with_slippage() -> None:
    bars = bars_from([(100, 101, 99, 100), (100, 101, 94, 95), (95, 96, 94, 95)])
    model = ExecutionModel(slippage=1, slippage_type=SlippageType.TICKS, instrument=Instrument(tick_size=0.5))
    trade = run(bars, {0: [sell(stop=97)]}, model).trades.iloc[0]
    assert (trade.side, trade.entry_price) == ("short", 96.5)
