"""The order value, its deterministic id and its state machine."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from quantbridge.runtime.domain.fills import Fill
from quantbridge.runtime.domain.orders import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    Intent,
    Order,
    OrderError,
    OrderStatus,
    OrderType,
    Side,
    client_order_id,
)

T0 = pd.Timestamp("2024-01-01", tz="UTC")
FILL_STATES = (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)


def new_order(qty: str = "10", **changes: object) -> Order:
    order = Order(
        client_order_id="qb-test",
        strategy_id="s",
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        intent=Intent.ENTRY,
        qty=Decimal(qty),
        signal_bar=T0,
        created=T0,
    )
    return replace(order, **changes) if changes else order  # type: ignore[arg-type]


def in_state(status: OrderStatus) -> Order:
    """An order already in ``status`` (set directly: this is test setup)."""
    if status is OrderStatus.PARTIALLY_FILLED:
        return new_order(status=status, filled_qty=Decimal(4), leaves_qty=Decimal(6), avg_price=Decimal(100))
    if status is OrderStatus.FILLED:
        return new_order(status=status, filled_qty=Decimal(10), leaves_qty=Decimal(0), avg_price=Decimal(100))
    return new_order(status=status)


def fill(qty: str, leaves: str, price: str = "100", key: str = "qb-test") -> Fill:
    return Fill(
        fill_id=f"{key}-f",
        client_order_id=key,
        symbol="BTCUSDT",
        side=Side.BUY,
        qty=Decimal(qty),
        price=Decimal(price),
        commission=Decimal("0.1"),
        ts=T0,
        received=T0,
        leaves_qty=Decimal(leaves),
    )


def move(order: Order, target: OrderStatus) -> Order:
    """Drive ``order`` to ``target`` the way the engine does (fills for the fill states)."""
    if target is OrderStatus.FILLED:
        return order.apply_fill(fill(str(max(order.remaining, Decimal(1))), "0"))
    if target is OrderStatus.PARTIALLY_FILLED:
        return order.apply_fill(fill("1", str(max(order.remaining - 1, Decimal(1)))))
    return order.transition(target, T0)


LEGAL = [(a, b) for a, following in TRANSITIONS.items() for b in sorted(following)]
ILLEGAL = [(a, b) for a, b in itertools.product(OrderStatus, OrderStatus) if b not in TRANSITIONS[a]]


def test_transition_table_when_read_has_exactly_the_documented_terminal_states() -> None:
    assert {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED} == TERMINAL
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_transition_when_legal_returns_order_in_target_state(current: OrderStatus, target: OrderStatus) -> None:
    before = in_state(current)
    after = move(before, target)
    assert after.status is target
    assert before.status is current  # immutable: the old value is unchanged


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_transition_when_illegal_raises_naming_order_and_both_states(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        move(in_state(current), target)
    message = str(caught.value)
    assert "qb-test" in message and f"{current.value} -> {target.value}" in message
    assert (caught.value.current, caught.value.target) == (current, target)


def test_apply_fill_when_partial_then_final_tracks_quantities_and_average_price() -> None:
    order = new_order().transition(OrderStatus.SUBMITTED, T0).transition(OrderStatus.ACCEPTED, T0)
    order = order.apply_fill(fill("4", "6", "100"))
    assert (order.status, order.filled_qty, order.remaining) == (OrderStatus.PARTIALLY_FILLED, 4, 6)
    order = order.apply_fill(fill("6", "0", "110"))
    assert (order.status, order.filled_qty, order.remaining, order.qty) == (OrderStatus.FILLED, 10, 0, 10)
    assert order.avg_price == Decimal(106) and order.commission == Decimal("0.2")


def test_apply_fill_when_venue_trades_more_than_asked_takes_the_venue_size() -> None:
    """A reversal: the entry asked for 10, the venue traded 10 + the 5 it closed."""
    order = new_order().transition(OrderStatus.SUBMITTED, T0).apply_fill(fill("15", "0"))
    assert (order.status, order.qty, order.filled_qty) == (OrderStatus.FILLED, 15, 15)


def test_apply_fill_when_fill_of_another_order_raises() -> None:
    order = new_order().transition(OrderStatus.SUBMITTED, T0)
    with pytest.raises(OrderError, match="belongs to order qb-other"):
        order.apply_fill(fill("1", "9", key="qb-other"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"qty": Decimal(0)}, "quantity 0 must be a positive"),
        ({"qty": Decimal("NaN")}, "quantity NaN"),
        ({"type": OrderType.STOP}, "a stop price goes with a stop order"),
        ({"type": OrderType.LIMIT}, "a limit price goes with a limit order"),
        ({"type": OrderType.LIMIT, "price": Decimal(-1)}, "price -1 must be a positive"),
    ],
)
def test_order_when_inconsistent_raises_naming_the_problem(changes: dict[str, object], message: str) -> None:
    with pytest.raises(OrderError, match=message):
        new_order(**changes)  # type: ignore[arg-type]


def test_client_order_id_when_same_inputs_is_identical_and_fits_venue_limits() -> None:
    first = client_order_id("sma", "BTCUSDT", T0, "entry:buy:market:SmaLE")
    assert first == client_order_id("sma", "BTCUSDT", T0, "entry:buy:market:SmaLE")
    assert re.fullmatch(r"[a-z0-9-]{1,36}", first)


@pytest.mark.parametrize(
    "other",
    [
        ("rsi", "BTCUSDT", T0, "entry:buy:market:SmaLE"),
        ("sma", "ETHUSDT", T0, "entry:buy:market:SmaLE"),
        ("sma", "BTCUSDT", T0 + pd.Timedelta(hours=1), "entry:buy:market:SmaLE"),
        ("sma", "BTCUSDT", T0, "entry:sell:market:SmaSE"),
    ],
)
def test_client_order_id_when_any_input_differs_is_different(other: tuple[str, str, pd.Timestamp, str]) -> None:
    assert client_order_id("sma", "BTCUSDT", T0, "entry:buy:market:SmaLE") != client_order_id(*other)


def test_client_order_id_when_time_is_naive_raises() -> None:
    with pytest.raises(ValueError, match="signal_bar"):
        client_order_id("sma", "BTCUSDT", pd.Timestamp("2024-01-01"), "x")


_CHANGES = st.sampled_from(
    [OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED]
)


class OrderLifecycle(RuleBasedStateMachine):
    """Random sequences of venue reports: a legal one moves the order per the table, an
    illegal one raises naming the order and both states and leaves the order as it was."""

    def __init__(self) -> None:
        super().__init__()
        self.order = new_order()
        self.fills: list[Fill] = []

    def _expect(self, target: OrderStatus, legal: bool, apply: Callable[[], Order]) -> bool:
        """Apply a report; True when it was applied."""
        before = self.order
        try:
            after = apply()
        except IllegalTransition as exc:
            assert not legal, f"{before.status} -> {target} should be legal"
            assert before.client_order_id in str(exc) and before.status.value in str(exc) and target.value in str(exc)
            return False
        assert legal, f"{before.status} -> {target} should have raised"
        assert after.status is target
        self.order = after
        return True

    @rule(status=_CHANGES)
    def report(self, status: OrderStatus) -> None:
        self._expect(status, status in TRANSITIONS[self.order.status], lambda: self.order.transition(status, T0))

    @rule(qty=st.integers(1, 12), price=st.integers(90, 110), last=st.booleans())
    def report_fill(self, qty: int, price: int, last: bool) -> None:
        leaves = 0 if last else max(int(self.order.remaining) - qty, 0)
        target = OrderStatus.FILLED if leaves == 0 else OrderStatus.PARTIALLY_FILLED
        fillable = self.order.status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
        report = fill(str(qty), str(leaves), str(price))
        legal = fillable and target in TRANSITIONS[self.order.status]
        if self._expect(target, legal, lambda: self.order.apply_fill(report)):
            self.fills.append(report)

    @invariant()
    def quantities_add_up(self) -> None:
        order = self.order
        assert order.filled_qty == sum((f.qty for f in self.fills), Decimal(0))
        assert order.qty == order.filled_qty + order.remaining
        assert (order.status is OrderStatus.FILLED) == (order.remaining == 0)

    @invariant()
    def average_price_within_fill_prices(self) -> None:
        if self.fills:
            assert self.order.avg_price is not None
            assert min(f.price for f in self.fills) <= self.order.avg_price <= max(f.price for f in self.fills)


OrderLifecycle.TestCase.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
test_order_lifecycle_when_random_reports_arrive_follows_the_table = OrderLifecycle.TestCase
