"""The durable trading store (quantbridge.runtime.store) on SQLite and PostgreSQL.

Every test runs on both backends (the ``database_url`` fixture); "a restart" is a fresh
engine on the same database, so nothing can come from a cache of the first process.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields, replace
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from quantbridge.runtime.components.notifications import Level, Notification, NotificationCenter
from quantbridge.runtime.components.order_store import DuplicateOrderError, UnknownOrderError
from quantbridge.runtime.components.risk_store import RiskDecision
from quantbridge.runtime.domain.fills import Fill, FillOrigin
from quantbridge.runtime.domain.orders import Intent, Order, OrderStatus, OrderType, Side
from quantbridge.runtime.domain.protection import Protection, ScaleOutLevel
from quantbridge.runtime.store import (
    AccountSnapshotStore,
    ControlQueue,
    ReconciliationLog,
    RunStore,
    SqlAlertSink,
    SqlFillStore,
    SqlOrderStore,
    SqlRiskDecisionStore,
    TradingStore,
    UnknownControlRequestError,
    UnknownRunError,
    open_database,
)

T0 = pd.Timestamp("2024-03-01 12:00:00.123456789", tz="UTC")
HOUR = pd.Timedelta(hours=1)
ACCOUNT = "paper-1"


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    """Opens engines on the test's database (``open_engine``) and disposes of them afterwards."""
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.dispose()


def open_engine(engines: list[Engine], url: str) -> Engine:
    engine = open_database(url)
    engines.append(engine)
    return engine


def exact(value: object) -> list[tuple[str, str]]:
    """Every field of a dataclass value as its repr: Decimal('0.00100') and Decimal('0.001'),
    or two times a nanosecond apart, differ here (``==`` alone would not tell)."""
    return [(f.name, repr(getattr(value, f.name))) for f in fields(value)]  # type: ignore[arg-type]


def order(key: str = "qb-1", **changes: object) -> Order:
    base = Order(
        client_order_id=key,
        strategy_id="sma",
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        intent=Intent.ENTRY,
        qty=Decimal("0.00100"),
        signal_bar=T0.floor("h"),
        created=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def full_order() -> Order:
    """An order with every optional field set, partly filled."""
    return Order(
        client_order_id="qb-full",
        strategy_id="rsi",
        symbol="ETH/USDT",
        side=Side.SELL,
        type=OrderType.LIMIT,
        intent=Intent.ENTRY,
        qty=Decimal("1.2500"),
        signal_bar=T0.floor("h"),
        created=T0,
        price=Decimal("3012.50"),
        budget=Decimal("1E+3"),
        tag="short #2",
        expire_at=T0 + pd.Timedelta(days=1, nanoseconds=7),
        protection=Protection(
            stop_loss_pct=Decimal("1.50"),
            take_profit_pct=Decimal("3"),
            trailing_stop_pct=Decimal("0.75"),
            scale_outs=(ScaleOutLevel(Decimal("1.0"), Decimal("0.25")), ScaleOutLevel(Decimal("2"), Decimal("0.5"))),
            cooldown_bars=3,
        ),
        status=OrderStatus.PARTIALLY_FILLED,
        filled_qty=Decimal("0.5000"),
        leaves_qty=Decimal("0.7500"),
        avg_price=Decimal("3012.333333333333333333333333"),
        commission=Decimal("0.0000000001"),
        updated=T0 + pd.Timedelta(nanoseconds=1),
        reason="venue said ✓ ok",
        venue_order_id="8812-ab",
    )


def fill(fill_id: str = "f-1", **changes: object) -> Fill:
    base = Fill(
        fill_id=fill_id,
        client_order_id="qb-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        qty=Decimal("0.00100"),
        price=Decimal("64000.10"),
        commission=Decimal("0.0640001"),
        ts=T0,
        received=T0 + pd.Timedelta(milliseconds=3, nanoseconds=1),
        leaves_qty=Decimal("0E-8"),
        bar_time=T0.floor("h"),
        origin=FillOrigin.ORDER,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- orders -----------------------------------------------------------------------------------


def test_orders_when_reopened_round_trip_every_field_exactly(database_url: str, engines: list[Engine]) -> None:
    stop_exit = order("qb-stop", type=OrderType.STOP, intent=Intent.EXIT, stop=Decimal("59000.00"), side=Side.SELL)
    first = SqlOrderStore(open_engine(engines, database_url), ACCOUNT)
    first.add(replace(full_order(), status=OrderStatus.NEW, filled_qty=Decimal(0), leaves_qty=None))
    first.add(stop_exit)
    first.update(full_order())

    reopened = SqlOrderStore(open_engine(engines, database_url), ACCOUNT)

    assert [exact(o) for o in reopened] == [exact(full_order()), exact(stop_exit)]
    loaded = reopened.get("qb-full")
    assert loaded is not None and loaded.expire_at is not None
    assert loaded.expire_at.value == (T0 + pd.Timedelta(days=1, nanoseconds=7)).value
    assert str(loaded.expire_at.tz) == "UTC" and loaded.created == T0
    assert str(loaded.qty) == "1.2500" and str(loaded.budget) == "1E+3"


def test_add_when_id_was_stored_by_an_earlier_process_raises_duplicate(
    database_url: str, engines: list[Engine]
) -> None:
    SqlOrderStore(open_engine(engines, database_url), ACCOUNT).add(order("qb-1"))
    restarted = SqlOrderStore(open_engine(engines, database_url), ACCOUNT)

    with pytest.raises(DuplicateOrderError, match="qb-1"):
        restarted.add(order("qb-1", qty=Decimal("5")))

    assert len(restarted) == 1
    stored = restarted.get("qb-1")
    assert stored is not None and stored.qty == Decimal("0.00100")


def test_add_when_another_store_wrote_the_id_after_loading_raises_duplicate_and_shows_it(
    database_url: str, engines: list[Engine]
) -> None:
    stale = SqlOrderStore(open_engine(engines, database_url), ACCOUNT)  # loaded before the write
    SqlOrderStore(open_engine(engines, database_url), ACCOUNT).add(order("qb-1"))

    with pytest.raises(DuplicateOrderError, match="qb-1"):
        stale.add(order("qb-1"))  # only the UNIQUE constraint can tell

    assert stale.get("qb-1") == order("qb-1")


def test_add_when_same_id_in_another_account_is_allowed(database_url: str, engines: list[Engine]) -> None:
    engine = open_engine(engines, database_url)
    SqlOrderStore(engine, "paper-1").add(order("qb-1"))
    SqlOrderStore(engine, "paper-2").add(order("qb-1", symbol="ETH/USDT"))

    first, second = SqlOrderStore(engine, "paper-1"), SqlOrderStore(engine, "paper-2")
    assert [o.symbol for o in first] == ["BTC/USDT"]
    assert [o.symbol for o in second] == ["ETH/USDT"]


def test_add_when_run_id_is_unknown_raises_integrity_error_not_duplicate(
    database_url: str, engines: list[Engine]
) -> None:
    store = SqlOrderStore(open_engine(engines, database_url), ACCOUNT, run_id=999)

    with pytest.raises(IntegrityError):  # foreign keys are enforced (on SQLite by the pragma)
        store.add(order("qb-1"))

    assert store.get("qb-1") is None and len(store) == 0


def test_update_when_order_is_unknown_raises_and_stores_nothing(database_url: str, engines: list[Engine]) -> None:
    engine = open_engine(engines, database_url)
    store = SqlOrderStore(engine, ACCOUNT)

    with pytest.raises(UnknownOrderError, match="qb-9"):
        store.update(order("qb-9"))

    assert list(SqlOrderStore(engine, ACCOUNT)) == []


def test_open_orders_when_reopened_are_reloaded_in_creation_order(database_url: str, engines: list[Engine]) -> None:
    store = SqlOrderStore(open_engine(engines, database_url), ACCOUNT)
    for key, strategy, symbol in [("a", "s1", "BTC"), ("b", "s2", "BTC"), ("c", "s1", "ETH"), ("d", "s1", "BTC")]:
        store.add(order(key, strategy_id=strategy, symbol=symbol))
    store.update(order("b", strategy_id="s2", symbol="BTC", status=OrderStatus.CANCELLED))
    store.update(order("a", strategy_id="s1", symbol="BTC", status=OrderStatus.SUBMITTED))  # an update keeps its place

    reopened = SqlOrderStore(open_engine(engines, database_url), ACCOUNT)

    assert [o.client_order_id for o in reopened.open_orders()] == ["a", "c", "d"]
    assert [o.client_order_id for o in reopened.open_orders(strategy_id="s1", symbol="BTC")] == ["a", "d"]
    assert [o.client_order_id for o in reopened] == ["a", "b", "c", "d"]
    assert reopened.open_orders()[0].status is OrderStatus.SUBMITTED


# --- fills ------------------------------------------------------------------------------------


def test_fills_when_reopened_round_trip_every_field_exactly(database_url: str, engines: list[Engine]) -> None:
    liquidation = fill("f-2", client_order_id="", origin=FillOrigin.INTRADAY_LOSS, bar_time=None, side=Side.SELL)
    store = SqlFillStore(open_engine(engines, database_url), ACCOUNT)
    assert store.add(fill("f-1")) and store.add(liquidation)

    reopened = SqlFillStore(open_engine(engines, database_url), ACCOUNT)

    assert [exact(f) for f in reopened.all()] == [exact(fill("f-1")), exact(liquidation)]
    loaded = reopened.get("f-1")
    assert loaded is not None and loaded.received.value == (T0 + pd.Timedelta(milliseconds=3, nanoseconds=1)).value


def test_add_fill_when_fill_id_is_known_returns_false_and_keeps_the_first(
    database_url: str, engines: list[Engine]
) -> None:
    store = SqlFillStore(open_engine(engines, database_url), ACCOUNT)
    assert store.add(fill("f-1")) is True
    assert store.add(fill("f-1", qty=Decimal("9"))) is False
    stale = SqlFillStore(open_engine(engines, database_url), "paper-1")
    store.add(fill("f-2", ts=T0 + HOUR))
    assert stale.add(fill("f-2")) is False  # written after `stale` loaded: the constraint tells

    reopened = SqlFillStore(open_engine(engines, database_url), ACCOUNT)
    assert reopened.add(fill("f-1")) is False
    assert [f.fill_id for f in reopened.all()] == ["f-1", "f-2"]
    stored = reopened.get("f-1")
    assert stored is not None and stored.qty == Decimal("0.00100")


def test_fill_queries_when_several_orders_and_symbols(database_url: str, engines: list[Engine]) -> None:
    store = SqlFillStore(open_engine(engines, database_url), ACCOUNT)
    assert store.latest_ts() is None
    store.add(fill("f-1", client_order_id="a", ts=T0 + 2 * HOUR))
    store.add(fill("f-2", client_order_id="b", symbol="ETH/USDT", ts=T0 + 5 * HOUR))
    store.add(fill("f-3", client_order_id="a", ts=T0 + HOUR))

    reopened = SqlFillStore(open_engine(engines, database_url), ACCOUNT)

    assert [f.fill_id for f in reopened.for_order("a")] == ["f-1", "f-3"]
    assert reopened.for_order("zzz") == ()
    assert reopened.latest_ts() == T0 + 5 * HOUR
    assert reopened.latest_ts("BTC/USDT") == T0 + 2 * HOUR
    assert reopened.latest_ts("SOL/USDT") is None


# --- risk decisions -------------------------------------------------------------------------


def test_breaker_states_when_reopened_are_the_latest_trip_or_reset_per_rule(
    database_url: str, engines: list[Engine]
) -> None:
    engine = open_engine(engines, database_url)
    store = SqlRiskDecisionStore(engine, ACCOUNT)
    decisions = [
        RiskDecision(T0, "", "kill_switch", "trip", "telegram /kill"),
        RiskDecision(T0 + HOUR, "qb-1", "chain", "approve", "", "sma", "BTC/USDT"),
        RiskDecision(T0 + HOUR, "", "drawdown", "trip", "-12%"),
        RiskDecision(T0 + 2 * HOUR, "qb-2", "kill_switch", "reject", "tripped", "sma", "BTC/USDT"),
        RiskDecision(T0 + 2 * HOUR, "", "drawdown", "reset", "reset on request"),
    ]
    for decision in decisions:
        store.add(decision)
    SqlRiskDecisionStore(engine, "other").add(RiskDecision(T0, "", "kill_switch", "reset", "other account"))

    reopened = SqlRiskDecisionStore(open_engine(engines, database_url), ACCOUNT)

    assert reopened.breaker_states() == {"kill_switch": decisions[0], "drawdown": decisions[4]}
    assert reopened.all() == tuple(decisions) and list(reopened) == decisions and len(reopened) == 5
    reopened.add(RiskDecision(T0 + 3 * HOUR, "", "kill_switch", "reset", "resume"))
    assert reopened.breaker_states()["kill_switch"].outcome == "reset"


# --- alerts -----------------------------------------------------------------------------------


def test_alert_sink_when_notified_stores_what_is_at_or_above_its_level(
    database_url: str, engines: list[Engine]
) -> None:
    engine = open_engine(engines, database_url)
    center = NotificationCenter([SqlAlertSink(engine, ACCOUNT, Level.INFO)])
    center.notify(T0, Level.DEBUG, "approved", "not kept")
    center.notify(T0 + HOUR, Level.INFO, "fill", "bought 0.001 BTC", qty=Decimal("0.00100"), price="64000.1")
    center.notify(T0 + 2 * HOUR, Level.ERROR, "kill_switch", "trading stopped")

    sink = SqlAlertSink(open_engine(engines, database_url), ACCOUNT)
    recent = sink.recent(10)

    assert center.failures == 0
    assert [(a.kind, a.message) for a in recent] == [("fill", "bought 0.001 BTC"), ("kill_switch", "trading stopped")]
    assert recent[0].fields == (("qty", "0.00100"), ("price", "64000.1"))
    assert recent[1].notification == Notification(T0 + 2 * HOUR, Level.ERROR, "kill_switch", "trading stopped")
    assert [a.kind for a in sink.recent(1)] == ["kill_switch"]
    assert sink.mark_delivered(recent[0].id) and not sink.mark_delivered(10_000)
    assert [a.id for a in sink.undelivered()] == [recent[1].id]
    assert SqlAlertSink(engine, "other").recent() == ()


def test_alert_sink_when_database_fails_logs_and_does_not_raise(
    database_url: str, engines: list[Engine], caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(engines, database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alerts"))
    center = NotificationCenter([SqlAlertSink(engine, ACCOUNT)])

    with caplog.at_level(logging.ERROR, logger="quantbridge.runtime.store.alerts"):
        center.notify(T0, Level.ERROR, "kill_switch", "trading stopped")

    assert center.failures == 0  # the sink swallowed it
    assert any("kill_switch" in r.getMessage() and r.exc_info for r in caplog.records)


# --- runs -------------------------------------------------------------------------------------


def test_run_lifecycle_when_started_beating_and_stopped(database_url: str, engines: list[Engine]) -> None:
    runs = RunStore(open_engine(engines, database_url))
    first = runs.start(ACCOUNT, "paper", "sma", ["BTC/USDT"], "binance", {"fast": 10}, T0)
    symbols, params = ["ETH/USDT", "BTC/USDT"], {"n": Decimal("14")}
    second = runs.start(ACCOUNT, "live", "rsi", symbols, "bybit", params, T0 + HOUR, forced=True, force_reason="cert")
    runs.heartbeat(first, T0 + 2 * HOUR)
    runs.stop(first, T0 + 3 * HOUR, "stopped", "ctrl-c")

    reopened = RunStore(open_engine(engines, database_url))
    done, live = reopened.get(first), reopened.latest(ACCOUNT)

    assert done is not None and live is not None and live.id == second
    assert (done.status, done.stop_reason, done.heartbeat, done.stopped) == (
        "stopped",
        "ctrl-c",
        T0 + 2 * HOUR,
        T0 + 3 * HOUR,
    )
    assert (live.mode, live.symbols, live.params, live.forced) == ("live", ("ETH/USDT", "BTC/USDT"), {"n": "14"}, True)
    assert (live.pid, live.host, live.status) == (os.getpid(), reopened.host, "running")
    assert [r.id for r in reopened.running()] == [second] and reopened.latest("nobody") is None
    with pytest.raises(UnknownRunError):
        reopened.heartbeat(10_000, T0)
    with pytest.raises(ValueError, match="force_reason"):
        reopened.start(ACCOUNT, "paper", "sma", [], "binance", {}, T0, forced=True)
    with pytest.raises(ValueError, match="a run ends"):
        reopened.stop(first, T0, "running")  # type: ignore[arg-type]


def test_mark_crashed_when_process_is_gone_marks_only_that_run(database_url: str, engines: list[Engine]) -> None:
    engine = open_engine(engines, database_url)
    runs, elsewhere = RunStore(engine, host="this-host"), RunStore(engine, host="other-host")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = runs.start(ACCOUNT, "paper", "sma", ["BTC/USDT"], "binance", {}, T0, pid=child.pid)
    finally:
        child.kill()
        child.wait(timeout=10)
    alive = runs.start("paper-2", "paper", "sma", ["BTC/USDT"], "binance", {}, T0)  # this process
    remote = elsewhere.start("paper-3", "paper", "sma", ["BTC/USDT"], "binance", {}, T0, pid=child.pid)

    crashed = runs.mark_crashed_if_stale(T0 + HOUR)

    assert crashed == (dead,)
    record = runs.get(dead)
    assert record is not None and record.status == "crashed" and record.stopped == T0 + HOUR
    assert str(child.pid) in record.stop_reason
    assert [r.id for r in runs.running()] == [alive, remote]
    assert runs.mark_crashed_if_stale(T0 + 2 * HOUR) == ()


# --- control requests -------------------------------------------------------------------------


def test_control_queue_when_requests_are_handled_leaves_the_rest_pending(
    database_url: str, engines: list[Engine]
) -> None:
    queue = ControlQueue(open_engine(engines, database_url))
    kill = queue.request(ACCOUNT, "kill", "flash crash", "telegram", T0)
    resume = queue.request(ACCOUNT, "resume", "all clear", "cli", T0 + HOUR)
    queue.request("paper-2", "kill", "other account", "cli", T0)

    queue.mark_handled(kill, T0 + pd.Timedelta(seconds=1), "kill switch tripped")

    reopened = ControlQueue(open_engine(engines, database_url))
    assert [r.id for r in reopened.pending(ACCOUNT)] == [resume]
    handled = reopened.get(kill)
    assert handled is not None and handled.result == "kill switch tripped" and handled.source == "telegram"
    assert handled.handled_at == T0 + pd.Timedelta(seconds=1)
    with pytest.raises(ValueError, match="handled already"):
        reopened.mark_handled(kill, T0 + HOUR, "again")
    with pytest.raises(UnknownControlRequestError):
        reopened.mark_handled(10_000, T0, "nothing")
    with pytest.raises(ValueError, match="control command"):
        reopened.request(ACCOUNT, "explode", "", "cli", T0)  # type: ignore[arg-type]


# --- positions, balances, reconciliations, the whole set ------------------------------------------


def test_snapshots_when_saved_twice_keep_the_latest(database_url: str, engines: list[Engine]) -> None:
    engine = open_engine(engines, database_url)
    snapshots = AccountSnapshotStore(engine, ACCOUNT)
    snapshots.save_position("BTC/USDT", Decimal("0.00100"), Decimal("64000.10"), T0)
    snapshots.save_position("BTC/USDT", Decimal("-0.00200"), Decimal("65000"), T0 + HOUR, source="venue")
    snapshots.save_position("ETH/USDT", Decimal("0"), None, T0)
    snapshots.save_balance("USDT", Decimal("1000.00"), Decimal("900.50"), T0)
    snapshots.save_balance("USDT", Decimal("1010.00"), Decimal("1010.00"), T0 + HOUR)

    reopened = AccountSnapshotStore(open_engine(engines, database_url), ACCOUNT)

    btc = reopened.positions()["BTC/USDT"]
    assert (str(btc.qty), btc.avg_price, btc.updated, btc.source) == ("-0.00200", Decimal("65000"), T0 + HOUR, "venue")
    assert reopened.positions()["ETH/USDT"].avg_price is None and len(reopened.positions()) == 2
    usdt = reopened.balances()["USDT"]
    assert (str(usdt.total), str(usdt.free), usdt.updated) == ("1010.00", "1010.00", T0 + HOUR)
    assert AccountSnapshotStore(engine, "other").positions() == {}


def test_trading_store_when_reopened_reconciles_from_what_was_stored(database_url: str) -> None:
    with TradingStore.open(database_url, ACCOUNT) as setup:
        run = setup.runs.start(ACCOUNT, "paper", "sma", ["BTC/USDT"], "binance", {}, T0)
    with TradingStore.open(database_url, ACCOUNT, run_id=run) as store:
        store.orders.add(order("qb-1", status=OrderStatus.ACCEPTED))
        store.fills.add(fill("f-1"))
        first = store.reconciliations.record(T0 + HOUR, "missing_fill", "venue reported f-9", "qb-1")
        ReconciliationLog(store.engine, ACCOUNT).record(T0 + HOUR, "position", "no run")

    with TradingStore.open(database_url, ACCOUNT) as restarted:
        assert [o.client_order_id for o in restarted.orders.open_orders()] == ["qb-1"]
        assert restarted.fills.get("f-1") == fill("f-1")
        findings = restarted.reconciliations.all(run_id=run)
        assert [(r.id, r.kind, r.client_order_id, r.run_id) for r in findings] == [(first, "missing_fill", "qb-1", run)]
        assert [r.kind for r in restarted.reconciliations.all()] == ["missing_fill", "position"]
        with restarted.engine.connect() as connection:
            run_of_order = connection.execute(text("SELECT run_id FROM orders")).scalar_one()
        assert run_of_order == run


def test_public_api_when_imported_is_exactly_what_all_names() -> None:
    import quantbridge.runtime.store as store

    public = {name for name in vars(store) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(store, name)).__name__ == "module"}
    assert set(store.__all__) == public - modules
    assert len(store.__all__) == len(set(store.__all__))
