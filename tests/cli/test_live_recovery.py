"""Crash recovery of ``quantbridge live``: the process is SIGKILLed at the dangerous points
of an order's life and restarted; afterwards no order is duplicated, no fill is lost or
applied twice, and the runtime's position equals the exchange's — on SQLite always and on
PostgreSQL when a server is available.

The live process is the real CLI in its own process with the real ccxt client; the
exchange is the local one in this process, replaying bars 120× faster than real time
(``$QUANTBRIDGE_CRASH_AT`` names the crash point, :mod:`quantbridge.runtime.crashpoints`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest

from quantbridge.datasets.exchange import LocalExchange, MarketData
from quantbridge.datasets.exchange.accounts import AccountConfig
from quantbridge.datasets.exchange.clock import ReplayClock
from quantbridge.runtime.crashpoints import CRASH_ENV
from quantbridge.runtime.store import TradingStore
from tests.local_exchange_fixtures import random_walk_bars

SPEED = 180.0
KEY = "local-demo-key"  # what `quantbridge live --exchange local` signs with
ACCOUNT = "live:local:demo"
SYMBOL, EXCHANGE_SYMBOL = "BTC/USDT:USDT", "BTCUSDT"


@pytest.fixture
def exchange() -> Iterator[LocalExchange]:
    bars = random_walk_bars(4000, seed=5, step_sd=3.0)
    clock = ReplayClock(int(bars.index[100].value // 1_000_000), SPEED)
    market = MarketData.from_bars(bars, clock=clock)
    with LocalExchange(market, accounts=AccountConfig(balances={"USDT": Decimal(1_000_000)})) as served:
        yield served


def _live(exchange: LocalExchange, db: str, *, crash: str | None = None, duration: float = 60) -> int:
    args = [
        sys.executable, "-m", "quantbridge.cli.main", "live", "sma_crossover", "-p", "fast=2,slow=5",
        "--exchange-url", exchange.url, "--warmup", "30", "--force", "--force-reason", "crash test",
        "--duration", str(duration), "--db", db,
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key != CRASH_ENV}
    if crash is not None:
        env[CRASH_ENV] = crash
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    if done.returncode not in (0, -9):
        raise AssertionError(done.stderr[-3000:])
    return done.returncode


def _exchange_state(exchange: LocalExchange) -> tuple[list[str], dict[str, str], Decimal]:
    """Client ids of every order that reached the exchange, its trades (fill id → client id),
    and the account's position."""
    venue = exchange.venue
    fills = venue.fills(KEY, EXCHANGE_SYMBOL)
    posted = [
        record.params.get("newClientOrderId", "")
        for record in exchange.requests.records()
        if record.method == "POST" and record.path == "/fapi/v1/order" and record.status == 200
    ]
    trades = {f"{SYMBOL}#{fill.trade_id}": fill.order.client_id for fill in fills}
    position = venue.account(KEY).position(EXCHANGE_SYMBOL, "USDT").amount
    return posted, trades, position


def _check_consistent(exchange: LocalExchange, db: str) -> TradingStore:
    posted, trades, position = _exchange_state(exchange)
    assert trades, "the scenario must trade"
    duplicated = [cid for cid, n in Counter(posted).items() if n > 1]
    assert not duplicated, f"orders sent twice: {duplicated}"
    store = TradingStore.open(db, ACCOUNT)
    stored = {fill.fill_id: fill.client_order_id for fill in store.fills.all()}
    assert stored == trades, "every exchange trade is stored exactly once, under its order"
    runtime_position = sum((fill.signed_qty for fill in store.fills.all()), Decimal(0))
    assert runtime_position == position
    assert store.accounts.positions()[SYMBOL].qty == position
    for order in store.orders:
        assert order.is_terminal or order.client_order_id in posted, order
        if order.client_order_id in trades.values():
            assert order.status.value == "filled" and order.filled_qty == sum(
                (f.qty for f in store.fills.for_order(order.client_order_id)), Decimal(0)
            )
    return store


@pytest.mark.parametrize(
    ("crash", "expected"),
    [
        ("before_send:2", {"never_sent"}),
        ("after_send:2", {"order_status", "missing_fill"}),
        ("after_fill:2", {"missing_fill"}),
        ("after_fill_stored:2", {"order_fills"}),
    ],
)
def test_live_killed_at_a_crash_point_recovers_without_duplicate_or_lost_fill(
    exchange: LocalExchange, database_url: str, crash: str, expected: set[str]
) -> None:
    assert _live(exchange, database_url, crash=crash) == -9, "the process must die at the crash point"
    with TradingStore.open(database_url, ACCOUNT) as store:
        crashed = store.runs.latest(ACCOUNT)
        assert crashed is not None and crashed.status == "running"  # died without a word
    assert _live(exchange, database_url, duration=4) == 0
    store = _check_consistent(exchange, database_url)
    try:
        runs = store.runs.all(ACCOUNT)
        assert [run.status for run in runs] == ["crashed", "stopped"]
        kinds = {record.kind for record in store.reconciliations.all(runs[1].id)}
        assert expected <= kinds, kinds
        assert "position" not in kinds  # nothing was left to disagree about
        assert not [d for d in store.risk.all() if d.rule == "kill_switch" and d.outcome == "trip"]
    finally:
        store.close()


def test_live_restarted_twice_after_crashes_keeps_one_order_per_decision(
    exchange: LocalExchange, tmp_path: object
) -> None:
    db = f"sqlite:///{tmp_path}/qb.db"
    assert _live(exchange, db, crash="after_send:1") == -9
    assert _live(exchange, db, crash="after_fill:1") == -9
    assert _live(exchange, db, duration=4) == 0
    store = _check_consistent(exchange, db)
    try:
        assert [run.status for run in store.runs.all(ACCOUNT)] == ["crashed", "crashed", "stopped"]
    finally:
        store.close()


def test_live_orders_the_exchange_refuses_are_rejected_with_its_reason_stored_and_alerted(tmp_path: object) -> None:
    bars = random_walk_bars(4000, seed=5, step_sd=3.0)
    clock = ReplayClock(int(bars.index[100].value // 1_000_000), SPEED)
    poor = AccountConfig(balances={"USDT": Decimal(10)})  # 1 BTC-like unit at ~1,000 needs more margin
    with LocalExchange(MarketData.from_bars(bars, clock=clock), accounts=poor) as exchange:
        db = f"sqlite:///{tmp_path}/qb.db"
        assert _live(exchange, db, duration=5) == 0
        assert exchange.venue.fills(KEY, EXCHANGE_SYMBOL) == []
    with TradingStore.open(db, ACCOUNT) as store:
        orders = list(store.orders)
        assert orders and all(order.status.value == "rejected" for order in orders)
        assert all("Margin is insufficient" in order.reason for order in orders)
        alerts = [a for a in store.alerts.recent(100) if a.kind == "order_rejected"]
        assert sorted(dict(a.fields)["order"] for a in alerts) == sorted(o.client_order_id for o in orders)
        assert store.fills.all() == ()
