"""Protective exits attached to a position (``buy/sell(protect=Protection(...))``) at the
simulated venue, on hand-made candles: the rules of ``research/simulator/kernel.py``
(``protective_levels``, ``first_trigger``, ``fill_slot``, ``update_extreme``)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from quantbridge.runtime.domain.orders import Intent, Order, OrderError, OrderType, Side
from quantbridge.runtime.domain.protection import Protection, ProtectionError, ScaleOutLevel

from .helpers import bars_from, buy, close, run, sell

SL_TP = Protection(stop_loss_pct=Decimal(1), take_profit_pct=Decimal(2))


def rows(result: object) -> list[tuple[object, ...]]:
    trades: pd.DataFrame = result.trades  # type: ignore[attr-defined]
    return [
        (t.entry_bar, t.entry_price, t.exit_bar, t.exit_price, t.quantity, t.exit_reason) for t in trades.itertuples()
    ]


def test_stop_entry_when_bar_turns_down_after_fill_stop_loss_fills_on_the_entry_bar() -> None:
    # bar 1 walks open 100 -> high 102 (the buy stop at 101 fills) -> low 95 (the stop at 99.99 fills)
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 102, 95, 96), (96, 97, 95, 96)])
    result = run(bars, {0: [buy(stop=101, protect=Protection(stop_loss_pct=Decimal(1)))]})
    assert rows(result) == [(1, 101.0, 1, 99.99, 1.0, "stop_loss")]


@pytest.mark.parametrize(
    ("candle", "expected"),
    [((100, 102.5, 97, 100), (102.0, "take_profit")), ((100, 103, 98.5, 100), (99.0, "stop_loss"))],
    ids=["high_nearer_open", "low_nearer_open"],
)
def test_bracket_when_bar_reaches_both_levels_the_extreme_nearer_the_open_fills_first(
    candle: tuple[float, ...], expected: tuple[float, str]
) -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), candle, (100, 100.5, 99.5, 100)])
    result = run(bars, {0: [buy(protect=SL_TP)]})
    assert rows(result) == [(1, 100.0, 2, *expected[:1], 1.0, expected[1])]


def test_bracket_when_bar_gaps_through_the_stop_fills_at_the_open() -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (97, 98, 96, 97.5)])
    result = run(bars, {0: [buy(protect=SL_TP)]})
    assert rows(result) == [(1, 100.0, 2, 97.0, 1.0, "stop_loss")]


def test_short_bracket_when_bar_gaps_through_the_target_fills_at_the_open() -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (97, 98, 96, 97.5)])
    result = run(bars, {0: [sell(protect=SL_TP)]})
    assert rows(result) == [(1, 100.0, 2, 97.0, 1.0, "take_profit")]


def test_trailing_stop_when_price_rises_trails_the_closed_bars_extreme() -> None:
    bars = bars_from(
        [
            (100, 100.5, 99.5, 100),
            (100, 100.5, 99.5, 100.2),  # entry at 100: trails 100 on its own bar (stop 99)
            (101, 105, 100.8, 104),  # trails 100.5 during the bar (99.49), then 105
            (104, 104.5, 102, 103),  # stop 103.95: the high first, then down through it
        ]
    )
    result = run(bars, {0: [buy(protect=Protection(trailing_stop_pct=Decimal(1)))]})
    assert rows(result) == [(1, 100.0, 3, 103.95, 1.0, "trailing_stop")]


def test_scale_outs_when_levels_reached_take_fractions_of_the_initial_quantity() -> None:
    levels = (ScaleOutLevel(Decimal(2), Decimal("0.5")), ScaleOutLevel(Decimal(4), Decimal("0.5")))
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (100, 104.5, 99.8, 104), (104, 105, 103, 104)])
    result = run(bars, {0: [buy(qty=2, protect=Protection(scale_outs=levels))]})
    assert rows(result) == [(1, 100.0, 2, 102.0, 1.0, "scale_out"), (1, 100.0, 2, 104.0, 1.0, "scale_out")]


def test_stop_loss_when_cooldown_set_refuses_entries_until_it_is_over() -> None:
    protect = Protection(stop_loss_pct=Decimal(1), cooldown_bars=1)
    quiet = (100, 100.5, 99.5, 100)
    bars = bars_from([quiet, quiet, (100, 100.5, 98, 98.5), quiet, quiet, quiet])
    # stopped out on bar 2: entries are refused on bars 2 and 3, the one decided on bar 3 fills on bar 4
    result = run(bars, {0: [buy(protect=protect)], 2: [buy(tag="again")], 3: [buy(tag="third")]})
    assert rows(result)[0] == (1, 100.0, 2, 99.0, 1.0, "stop_loss")
    assert [r[0] for r in rows(result)[1:]] == [4]


def test_bracket_when_position_closed_by_signal_is_gone() -> None:
    bars = bars_from([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (97, 98, 96, 97)])
    result = run(bars, {0: [buy(protect=SL_TP)], 1: [close()], 2: [buy()]})
    assert rows(result) == [(1, 100.0, 2, 100.0, 1.0, "signal"), (3, 97.0, -1, 97.0, 1.0, "open")]


def test_protection_when_values_impossible_raises() -> None:
    with pytest.raises(ProtectionError):
        Protection(stop_loss_pct=Decimal(0))
    with pytest.raises(ProtectionError):
        Protection(scale_outs=(ScaleOutLevel(Decimal(2), Decimal("0.7")), ScaleOutLevel(Decimal(4), Decimal("0.7"))))
    with pytest.raises(ProtectionError):
        Protection(scale_outs=(ScaleOutLevel(Decimal(4), Decimal("0.5")), ScaleOutLevel(Decimal(2), Decimal("0.5"))))


def test_protection_when_given_to_an_exit_is_refused() -> None:
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    with pytest.raises(OrderError, match="only an entry"):
        Order(
            client_order_id="x",
            strategy_id="s",
            symbol="TEST",
            side=Side.SELL,
            type=OrderType.MARKET,
            intent=Intent.EXIT,
            qty=Decimal(1),
            signal_bar=ts,
            created=ts,
            protection=SL_TP,
        )
