"""MarginCalculator: initial and maintenance margin, liquidation prices; the margin rule."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.runtime.components.margin import MarginCalculator, MarginConfig
from quantbridge.runtime.domain.market import ContractType, Market
from quantbridge.runtime.domain.orders import OrderStatus
from quantbridge.runtime.domain.positions import Lot, Position, PositionSide

from .helpers import buy, flat_bars, run, sell

T0 = pd.Timestamp("2024-01-01", tz="UTC")
PERP = Market("BTCUSDT", Decimal("0.1"), Decimal("0.001"))
SPOT = Market("BTCUSDT", Decimal("0.1"), Decimal("0.001"), contract=ContractType.SPOT)


def position(side: PositionSide, qty: str, entry: str, symbol: str = "BTCUSDT") -> Position:
    lot = Lot(Decimal(qty), Decimal(entry), Decimal(0), T0, T0, "qb-1", "test")
    return Position(symbol, side, (lot,))


def calculator(leverage: int = 10, mmr: str = "0.005", amount: str = "0") -> MarginCalculator:
    return MarginCalculator(MarginConfig(Decimal(leverage), Decimal(mmr), Decimal(amount)))


def test_initial_margin_when_leveraged_is_notional_over_leverage() -> None:
    assert calculator(10).initial_margin(PERP, Decimal(2), Decimal(50_000)) == Decimal(10_000)


def test_initial_margin_when_spot_is_full_notional_whatever_the_leverage() -> None:
    assert calculator(10).initial_margin(SPOT, Decimal(2), Decimal(50_000)) == Decimal(100_000)


def test_maintenance_margin_when_tiered_is_rate_times_notional_minus_amount() -> None:
    assert calculator(10, "0.01", "50").maintenance_margin(PERP, Decimal(1), Decimal(10_000)) == Decimal(50)


def test_liquidation_price_when_long_isolated_follows_the_formula() -> None:
    # M = 10000 / 10 = 1000; P = (Q·E − M) / (Q · (1 − mmr)) = 9000 / 0.995
    price = calculator(10).liquidation_price(PERP, position(PositionSide.LONG, "1", "10000"))
    assert price == Decimal(9000) / Decimal("0.995")
    assert Decimal("9045.22") < price < Decimal("9045.23")


def test_liquidation_price_when_short_isolated_follows_the_formula() -> None:
    price = calculator(10).liquidation_price(PERP, position(PositionSide.SHORT, "1", "10000"))
    assert price == Decimal(11_000) / Decimal("1.005")


def test_liquidation_price_when_long_fully_collateralised_is_none() -> None:
    assert calculator(1, "0").liquidation_price(PERP, position(PositionSide.LONG, "1", "10000")) is None


def test_liquidation_price_when_spot_or_flat_is_none() -> None:
    assert calculator().liquidation_price(SPOT, position(PositionSide.LONG, "1", "10000")) is None
    assert calculator().liquidation_price(PERP, Position("BTCUSDT")) is None


def test_margin_config_when_leverage_leaves_no_room_above_maintenance_raises() -> None:
    with pytest.raises(ValueError, match="liquidated at once"):
        MarginConfig(leverage=Decimal(100), maintenance_rate=Decimal("0.01"))


def test_liquidation_price_when_cross_margin_given_uses_it() -> None:
    wide = calculator(10).liquidation_price(PERP, position(PositionSide.LONG, "1", "10000"), margin=Decimal(5000))
    assert wide == Decimal(5000) / Decimal("0.995")


@settings(max_examples=200, deadline=None)
@given(
    side=st.sampled_from([PositionSide.LONG, PositionSide.SHORT]),
    qty=st.decimals("0.001", "100", places=3),
    entry=st.decimals("1", "100000", places=1),
    leverage=st.integers(2, 125),
    mmr=st.decimals("0", "0.05", places=4),
)
def test_liquidation_price_when_reached_leaves_exactly_the_maintenance_margin(
    side: PositionSide, qty: Decimal, entry: Decimal, leverage: int, mmr: Decimal
) -> None:
    assume(leverage * mmr < 1)
    calc = calculator(leverage, str(mmr))
    held = position(side, str(qty), str(entry))
    price = calc.liquidation_price(PERP, held)
    assert price is not None and price > 0
    margin = calc.isolated_margin(PERP, held)
    equity = margin + held.unrealised(price, PERP.contract_size)
    assert equity == pytest.approx(
        calc.maintenance_margin(PERP, qty, price), rel=Decimal("1e-20"), abs=Decimal("1e-12")
    )
    assert (price < entry) if side is PositionSide.LONG else (price > entry)


def test_margin_rule_when_entry_needs_more_than_equity_rejects_with_reason() -> None:
    model = ExecutionModel(initial_capital=1000, size=20)
    result = run(flat_bars(3), {0: [buy()]}, model)
    (order,) = result.orders
    assert order.status is OrderStatus.REJECTED
    assert order.reason.startswith("margin: insufficient margin: 2000") and "equity 1000" in order.reason
    assert result.trades.empty


def test_margin_rule_when_leverage_covers_the_entry_accepts_it() -> None:
    model = ExecutionModel(initial_capital=1000, size=20)
    result = run(flat_bars(3), {0: [buy()]}, model, margin=MarginConfig(leverage=Decimal(5)))
    assert [o.status for o in result.orders] == [OrderStatus.FILLED]


def test_margin_rule_when_spot_account_sells_short_rejects() -> None:
    model = ExecutionModel()
    spot = Market("TEST", Decimal("0.01"), Decimal("0.001"), contract=ContractType.SPOT)
    result = run(flat_bars(3), {0: [sell()]}, model, market=spot)
    (order,) = result.orders
    assert order.status is OrderStatus.REJECTED and "spot account cannot sell short" in order.reason
