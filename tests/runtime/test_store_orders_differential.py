"""SqlOrderStore (SQLite) against InMemoryOrderStore: any sequence of add / update / get /
open_orders — with restarts of the SQL store in between — gives identical answers, the same
exceptions with the same messages, and orders identical to the last exponent and nanosecond."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pandas as pd
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from quantbridge.runtime.components.order_store import InMemoryOrderStore, OrderStore
from quantbridge.runtime.domain.orders import Intent, Order, OrderStatus, OrderType, Side
from quantbridge.runtime.domain.protection import Protection, ScaleOutLevel
from quantbridge.runtime.store import SqlOrderStore, open_database

KEYS = ("qb-a", "qb-b", "qb-c", "qb-d")
STRATEGIES = ("s1", "s2")
SYMBOLS = ("BTC/USDT", "ETH/USDT")

positive = st.one_of(
    st.sampled_from(["0.00100", "1", "1E+3", "2.5000", "64000.10", "3012.333333333333333333333333"]).map(Decimal),
    st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(10**9), places=8),
)
not_negative = st.one_of(st.just(Decimal("0")), st.just(Decimal("0E-8")), positive)
times = st.integers(min_value=0, max_value=4_102_444_800 * 10**9).map(lambda n: pd.Timestamp(n, unit="ns", tz="UTC"))
words = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
protections = st.builds(
    Protection,
    stop_loss_pct=st.none() | positive,
    take_profit_pct=st.none() | positive,
    trailing_stop_pct=st.none() | positive,
    scale_outs=st.sampled_from(
        [
            (),
            (ScaleOutLevel(Decimal("1.0"), Decimal("0.25")),),
            (ScaleOutLevel(Decimal("0.5"), Decimal("0.5")), ScaleOutLevel(Decimal("1.5"), Decimal("0.50"))),
        ]
    ),
    cooldown_bars=st.integers(0, 5),
)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    kind = draw(st.sampled_from(OrderType))
    intent = draw(st.sampled_from(Intent))
    return Order(
        client_order_id=draw(st.sampled_from(KEYS)),
        strategy_id=draw(st.sampled_from(STRATEGIES)),
        symbol=draw(st.sampled_from(SYMBOLS)),
        side=draw(st.sampled_from(Side)),
        type=kind,
        intent=intent,
        qty=draw(positive),
        signal_bar=draw(times),
        created=draw(times),
        price=draw(positive) if kind is OrderType.LIMIT else None,
        stop=draw(positive) if kind is OrderType.STOP else None,
        budget=draw(st.none() | positive),
        tag=draw(words),
        expire_at=draw(st.none() | times),
        protection=draw(st.none() | protections) if intent is Intent.ENTRY else None,
        status=draw(st.sampled_from(OrderStatus)),
        filled_qty=draw(not_negative),
        leaves_qty=draw(st.none() | not_negative),
        avg_price=draw(st.none() | positive),
        commission=draw(not_negative),
        updated=draw(st.none() | times),
        reason=draw(words),
        venue_order_id=draw(words),
    )


def exact(order: Order | None) -> list[str] | None:
    return None if order is None else [repr(getattr(order, f.name)) for f in fields(order)]


def outcome(store: OrderStore, method: str, order: Order) -> tuple[str, str]:
    """What ``store.<method>(order)`` did: ``ok`` or the exception's type and message."""
    try:
        getattr(store, method)(order)
    except KeyError as error:
        return type(error).__name__, str(error)
    return "ok", ""


class SqlAgainstMemory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="qb-orders-"))
        self.url = f"sqlite:///{self.folder / 'orders.db'}"
        self.engine = open_database(self.url)
        self.sql = SqlOrderStore(self.engine, "acc")
        self.memory = InMemoryOrderStore()

    @rule(order=orders())
    def add(self, order: Order) -> None:
        assert outcome(self.sql, "add", order) == outcome(self.memory, "add", order)

    @rule(order=orders())
    def update(self, order: Order) -> None:
        assert outcome(self.sql, "update", order) == outcome(self.memory, "update", order)

    @rule(key=st.sampled_from(KEYS))
    def get(self, key: str) -> None:
        assert exact(self.sql.get(key)) == exact(self.memory.get(key))

    @rule(strategy_id=st.none() | st.sampled_from(STRATEGIES), symbol=st.none() | st.sampled_from(SYMBOLS))
    def open_orders(self, strategy_id: str | None, symbol: str | None) -> None:
        found = self.sql.open_orders(strategy_id, symbol)
        assert [exact(o) for o in found] == [exact(o) for o in self.memory.open_orders(strategy_id, symbol)]

    @rule()
    def restart(self) -> None:
        self.engine.dispose()
        self.engine = open_database(self.url)
        self.sql = SqlOrderStore(self.engine, "acc")

    @invariant()
    def same_orders_in_same_order(self) -> None:
        assert len(self.sql) == len(self.memory)
        assert [exact(o) for o in self.sql] == [exact(o) for o in self.memory]

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


SqlAgainstMemory.TestCase.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)
test_sql_order_store_when_operations_are_random_answers_like_the_in_memory_store = SqlAgainstMemory.TestCase
