"""The components one by one: position accounting, risk rules, stores, notifications,
metrics, the strategy registry, and the public API of the packages."""

from __future__ import annotations

import importlib
import logging
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.datasets.trade_list import ExitReason
from quantbridge.runtime.components.notifications import Level, LoggingSink, MemorySink, NotificationCenter
from quantbridge.runtime.components.order_store import DuplicateOrderError, InMemoryOrderStore, UnknownOrderError
from quantbridge.runtime.components.risk import Approve, KillSwitch, MaxPositionSize, Reject
from quantbridge.runtime.domain.fills import Fill
from quantbridge.runtime.domain.orders import OrderStatus, Side
from quantbridge.runtime.domain.positions import Position, PositionSide, apply_fill
from quantbridge.runtime.registry import Param, ParamError, StrategySpec
from quantbridge.runtime.strategies import STRATEGIES

from .helpers import buy, flat_bars, run, sell
from .test_orders import new_order

T0 = pd.Timestamp("2024-01-01", tz="UTC")
STEP = Decimal("0.00000001")


def fill(side: Side, qty: str, price: str, commission: str = "0", key: str = "qb-1") -> Fill:
    return Fill(
        fill_id=f"{key}-1",
        client_order_id=key,
        symbol="BTCUSDT",
        side=side,
        qty=Decimal(qty),
        price=Decimal(price),
        commission=Decimal(commission),
        ts=T0,
        received=T0,
    )


def book(position: Position, f: Fill, reason: ExitReason = ExitReason.SIGNAL) -> tuple[Position, list[object], Decimal]:
    effect = apply_fill(position, f, point_value=Decimal(1), money_step=STEP, tag=f.client_order_id, reason=reason)
    return effect.position, list(effect.trades), effect.cash_delta


def test_apply_fill_when_reversing_closes_then_opens_sharing_commission_pro_rata() -> None:
    long, _, cash_in = book(Position("BTCUSDT"), fill(Side.BUY, "1", "100", "1"))
    short, (closed,), cash = book(long, fill(Side.SELL, "4", "110", "4", key="qb-2"), ExitReason.REVERSE)
    assert cash_in == Decimal(-1)
    assert closed.pnl == Decimal(10 - 1 - 1) and closed.exit_reason is ExitReason.REVERSE  # type: ignore[attr-defined]
    assert (short.side, short.size, short.lots[0].commission) == (PositionSide.SHORT, 3, 3)
    assert cash == Decimal(10 - 1 - 3)


def test_apply_fill_when_closing_part_of_two_lots_goes_first_in_first_out() -> None:
    position, _, _ = book(Position("BTCUSDT"), fill(Side.BUY, "2", "100", "2"))
    position, _, _ = book(position, fill(Side.BUY, "2", "120", "2", key="qb-2"))
    position, trades, _ = book(position, fill(Side.SELL, "3", "130", "3", key="qb-3"))
    assert [(t.qty, t.entry_price) for t in trades] == [(2, 100), (1, 120)]  # type: ignore[attr-defined]
    assert [(lot.qty, lot.commission) for lot in position.lots] == [(1, 1)]
    assert position.entries == 1 and position.avg_price == 120


def test_risk_max_position_size_when_clipping_modifies_and_otherwise_rejects() -> None:
    model = ExecutionModel(size=5)
    clipped = run(flat_bars(3), {0: [buy()]}, model, rules=(MaxPositionSize(Decimal(3), clip=True),))
    (order,) = clipped.orders
    assert order.filled_qty == 3
    rejected = run(flat_bars(3), {0: [buy()]}, model, rules=(MaxPositionSize(Decimal(3)),))
    assert rejected.orders[0].reason == "max_position_size: position would be 5, above the limit of 3"


def test_risk_rule_decisions_when_made_are_approve_modify_or_reject_values() -> None:
    order = new_order()
    view = run(flat_bars(2), {}).config  # any object: these rules read nothing for these cases
    assert isinstance(KillSwitch(engaged=True).check(order, view), Reject)  # type: ignore[arg-type]
    assert isinstance(KillSwitch(engaged=False).check(order, view), Approve)  # type: ignore[arg-type]


def test_kill_switch_when_engaged_blocks_entries_but_not_exits() -> None:
    switch = KillSwitch()
    result = run(flat_bars(6), {0: [buy()], 2: [("close", {})], 3: [sell()]}, rules=(switch,))
    assert [o.status for o in result.orders] == [OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.FILLED]
    switch.engaged = True
    blocked = run(flat_bars(3), {0: [buy()]}, rules=(switch,))
    assert blocked.orders[0].reason == "kill_switch: kill switch engaged: no new entries"


def test_order_store_when_id_repeats_raises_and_tracks_open_orders() -> None:
    store = InMemoryOrderStore()
    order = new_order()
    store.add(order)
    with pytest.raises(DuplicateOrderError, match="qb-test already exists"):
        store.add(order)
    with pytest.raises(UnknownOrderError):
        store.update(new_order(client_order_id="qb-other"))
    assert store.open_orders("s", "BTCUSDT") == (order,)
    store.update(order.transition(OrderStatus.REJECTED, T0, reason="no"))
    assert store.open_orders() == () and len(store) == 1


def test_notification_center_when_sinks_have_levels_sends_each_what_it_asked_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet, chatty = MemorySink(Level.WARNING), MemorySink(Level.DEBUG)
    center = NotificationCenter([quiet, chatty, LoggingSink(Level.INFO)])
    with caplog.at_level(logging.INFO):
        center.notify(T0, Level.INFO, "fill", "buy 1 BTCUSDT @ 100", order="qb-1")
        center.notify(T0, Level.WARNING, "order_rejected", "too big")
    assert quiet.kinds() == ["order_rejected"] and chatty.kinds() == ["fill", "order_rejected"]
    assert "[fill] buy 1 BTCUSDT @ 100 order=qb-1" in caplog.text


def test_param_when_given_strings_converts_by_the_default_type_and_checks_the_range() -> None:
    spec = STRATEGIES.get("sma_crossover")
    assert dict(spec.bind({"fast": "7", "allow_short": "no"})) == {"fast": 7, "slow": 50, "allow_short": False}
    with pytest.raises(ParamError, match="below its minimum 2"):
        spec.bind({"fast": "1"})
    assert Param("x", 1.5).coerce("2") == 2.0


def test_strategy_spec_when_params_do_not_match_the_factory_raises() -> None:
    with pytest.raises(ParamError, match="declared params"):
        StrategySpec(name="bad", factory=lambda fast: None, description="", params=())


@pytest.mark.parametrize(
    "module",
    [
        "quantbridge.runtime.core",
        "quantbridge.runtime.venue",
        "quantbridge.runtime.backtest",
        "quantbridge.runtime.strategy",
    ],
)
def test_public_api_when_imported_exports_exactly_what_all_names(module: str) -> None:
    loaded = importlib.import_module(module)
    exported = loaded.__all__
    assert len(set(exported)) == len(exported) and all(hasattr(loaded, name) for name in exported)
    public = {
        n for n, v in vars(loaded).items() if not n.startswith("_") and getattr(v, "__module__", "").startswith(module)
    }
    assert public <= set(exported)


def test_trade_list_when_runtime_writes_it_has_the_shared_dtypes() -> None:
    trades = run(flat_bars(4), {0: [buy()], 2: [sell()]}).trades
    assert trades["entry_time"].dtype == "datetime64[ns, UTC]" and trades["trade_id"].tolist() == [1, 2]
    assert np.issubdtype(trades["entry_bar"].dtype, np.integer) and trades["is_open"].dtype == bool
