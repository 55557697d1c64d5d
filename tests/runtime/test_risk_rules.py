"""The risk engine: each rule (approve / modify / reject with its reason), breaker state
transitions, decisions recorded and alerted, the typed config, and the chain end to end
through a backtest and an engine."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pydantic
import pytest

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.runtime.backtest import candles_from_bars, run_backtest
from quantbridge.runtime.clock import SimulatedClock
from quantbridge.runtime.components.notifications import Level, MemorySink, NotificationCenter
from quantbridge.runtime.components.risk import (
    Approve,
    BreakerState,
    KillSwitch,
    MarketRule,
    MaxPositionSize,
    Modify,
    Reject,
    RiskManager,
)
from quantbridge.runtime.components.risk_config import (
    DrawdownConfig,
    OrderRateConfig,
    RiskConfig,
)
from quantbridge.runtime.components.risk_rules import (
    DailyLossCap,
    DrawdownBreaker,
    ExposureLimit,
    OrderRateLimit,
    RequireStop,
)
from quantbridge.runtime.components.risk_store import InMemoryRiskDecisionStore
from quantbridge.runtime.core import EngineConfig, build_engine
from quantbridge.runtime.domain.market import Market
from quantbridge.runtime.domain.orders import Intent, Order, OrderStatus, OrderType, Side
from quantbridge.runtime.domain.positions import Lot, Position, PositionSide
from quantbridge.runtime.domain.protection import Protection
from quantbridge.runtime.venue.simulated import SimulatedVenue, SimulatedVenueConfig

from .helpers import Script, bars_from, buy, config_for, market_of
from .test_orders import new_order

T0 = pd.Timestamp("2024-01-01", tz="UTC")
STOP = Protection(stop_loss_pct=Decimal(50))
MARKET = market_of(ExecutionModel(), "BTCUSDT")


@dataclass
class View:
    """A hand-set account for unit tests (a RiskAccount)."""

    equity_value: Decimal = Decimal(1000)
    marks: dict[str, Decimal] = field(default_factory=lambda: {"BTCUSDT": Decimal(100)})
    held: dict[str, Position] = field(default_factory=dict)
    pnls: dict[str, Decimal] = field(default_factory=dict)

    def market(self, symbol: str) -> Market | None:
        return MARKET if symbol == "BTCUSDT" else None

    def position(self, symbol: str) -> Position:
        return self.held.get(symbol, Position(symbol))

    def positions(self) -> tuple[Position, ...]:
        return tuple(self.held.values())

    def equity(self) -> Decimal:
        return self.equity_value

    def mark(self, symbol: str) -> Decimal | None:
        return self.marks.get(symbol)

    def pnl(self, symbol: str) -> Decimal:
        return self.pnls.get(symbol, Decimal(0))


def long(qty: str) -> Position:
    lot = Lot(Decimal(qty), Decimal(100), Decimal(0), T0, T0, "qb-0", "long")
    return Position("BTCUSDT", PositionSide.LONG, (lot,))


def exit_order(**changes: Any) -> Order:
    return new_order(side=Side.SELL, intent=Intent.EXIT, **changes)


# ---- kill switch ---------------------------------------------------------------------------------
def test_kill_switch_when_tripped_blocks_entries_until_reset_and_its_state_restores() -> None:
    switch, view = KillSwitch(), View()
    assert switch.check(new_order(), view) == Approve()
    switch.trip("operator /kill", T0)
    assert switch.check(new_order(), view) == Reject("kill switch engaged: no new entries")
    assert switch.check(exit_order(), view) == Approve()
    saved = switch.state
    assert saved == BreakerState(True, "operator /kill", T0)
    switch.reset(T0)
    assert switch.check(new_order(), view) == Approve() and not switch.engaged
    switch.restore(saved)
    assert isinstance(switch.check(new_order(), view), Reject)


def test_risk_manager_kill_when_called_records_alerts_and_names_working_entries_to_cancel() -> None:
    sink, store = MemorySink(), InMemoryRiskDecisionStore()
    manager = RiskManager((KillSwitch(),), store=store, notifications=NotificationCenter([sink]))
    working = (new_order(client_order_id="qb-entry"), exit_order(client_order_id="qb-exit"))
    assert manager.cancellations(working) == ()
    manager.kill("operator /kill", T0)
    assert [o.client_order_id for o in manager.cancellations(working)] == ["qb-entry"]
    (trip,) = store.all()
    assert (trip.rule, trip.outcome, trip.detail) == ("kill_switch", "trip", "operator /kill")
    alert = sink.received[-1]
    assert (alert.kind, alert.level, dict(alert.fields)["state"]) == ("kill_switch", Level.ERROR, "tripped")
    manager.reset("kill_switch", T0)
    assert manager.cancellations(working) == () and store.all()[-1].outcome == "reset"
    assert sink.received[-1].fields[0] == ("state", "reset")
    with pytest.raises(KeyError, match="no breaker named 'drawdown'"):
        manager.reset("drawdown", T0)
    with pytest.raises(ValueError, match="no kill switch"):
        RiskManager(()).kill("x", T0)


# ---- drawdown ------------------------------------------------------------------------------------
def test_drawdown_breaker_when_equity_falls_from_its_peak_trips_blocks_and_resets() -> None:
    breaker, view = DrawdownBreaker(Decimal(10)), View()
    for equity in ("1000", "1100", "1000"):
        view.equity_value = Decimal(equity)
        assert breaker.observe(view, T0) is None
    view.equity_value = Decimal(990)
    assert breaker.observe(view, T0) == "global drawdown 10.00% reached the limit of 10.00%"
    assert breaker.check(new_order(), view) == Reject(
        "global drawdown 10.00% reached the limit of 10.00%; no new entries"
    )
    assert breaker.check(exit_order(), view) == Approve()
    assert breaker.observe(view, T0) is None  # already tripped: one trip, one alert
    breaker.reset(T0)
    assert breaker.check(new_order(), view) == Approve()
    assert breaker.observe(view, T0) is None and breaker.peak == 990  # a new peak after reset


def test_drawdown_breaker_per_strategy_uses_its_capital_and_pnl_and_blocks_only_it() -> None:
    breaker, view = DrawdownBreaker(Decimal(15), "s", Decimal(1000)), View()
    assert breaker.check(new_order(), view) == Approve()  # learns that s trades BTCUSDT
    assert breaker.observe(view, T0) is None
    view.pnls["BTCUSDT"] = Decimal(-200)
    assert breaker.observe(view, T0) == "strategy s drawdown 20.00% reached the limit of 15.00%"
    assert isinstance(breaker.check(new_order(), view), Reject)
    assert breaker.check(new_order(strategy_id="other"), view) == Approve()
    with pytest.raises(ValueError, match="needs the strategy's capital"):
        DrawdownBreaker(Decimal(15), "s")


# ---- exposure ------------------------------------------------------------------------------------
def test_exposure_limit_approves_within_rejects_above_and_clips_on_the_lot_grid() -> None:
    view = View(held={"BTCUSDT": long("4")})
    rule = ExposureLimit(Decimal(1000))
    assert rule.check(new_order(qty="6"), view) == Approve()
    assert rule.check(new_order(qty="7"), view) == Reject("notional 1100 of s in BTCUSDT above the limit of 1000")
    assert rule.check(exit_order(qty="70"), view) == Approve()
    clipped = ExposureLimit(Decimal("1000.05"), clip=True).check(new_order(qty="7"), view)
    assert isinstance(clipped, Modify) and clipped.order.qty == Decimal("6.000")
    assert clipped.note == "quantity 7 clipped to 6.000 (notional limit 1000.05)"
    override = ExposureLimit(Decimal(1000), per_strategy={"s": Decimal(500)})
    assert override.check(new_order(qty="1"), view) == Approve()
    assert override.check(new_order(qty="2"), view) == Reject("notional 600 of s in BTCUSDT above the limit of 500")
    assert override.check(new_order(qty="2", strategy_id="t"), view) == Approve()


# ---- daily loss ----------------------------------------------------------------------------------
def test_daily_loss_cap_when_reached_blocks_entries_until_the_next_trading_day() -> None:
    clock = SimulatedClock(pd.Timestamp("2024-01-02 12:00", tz="UTC"))
    cap, view = DailyLossCap(Decimal(100), clock, "America/New_York", "17:00"), View()
    assert cap.observe(view, clock.now()) is None
    view.equity_value = Decimal(950)
    assert cap.observe(view, clock.now()) is None
    view.equity_value = Decimal(890)
    assert cap.observe(view, clock.now()) == "daily loss 110 reached the cap of 100"
    assert cap.check(new_order(), view) == Reject("daily loss 110 reached the cap of 100; no new entries")
    assert cap.check(exit_order(), view) == Approve()
    clock.advance_to(pd.Timestamp("2024-01-02 21:59", tz="UTC"))  # 16:59 in New York: same day
    assert isinstance(cap.check(new_order(), view), Reject)
    clock.advance_to(pd.Timestamp("2024-01-02 22:00", tz="UTC"))  # 17:00 in New York: a new day
    assert cap.check(new_order(), view) == Approve() and cap.anchor == 890


def test_daily_loss_cap_restored_after_a_restart_holds_for_the_rest_of_its_trading_day() -> None:
    clock = SimulatedClock(pd.Timestamp("2024-01-02 12:00", tz="UTC"))
    first, view = DailyLossCap(Decimal(100), clock, "America/New_York", "17:00"), View()
    first.observe(view, clock.now())
    view.equity_value = Decimal(850)
    assert first.observe(view, clock.now()) is not None
    clock.advance_to(pd.Timestamp("2024-01-02 15:00", tz="UTC"))  # the process restarts, same trading day
    restarted = DailyLossCap(Decimal(100), clock, "America/New_York", "17:00")
    restarted.restore(first.state)
    assert restarted.observe(view, clock.now()) is None  # the first observation must not re-arm it
    assert isinstance(restarted.check(new_order(), view), Reject)
    clock.advance_to(pd.Timestamp("2024-01-02 22:00", tz="UTC"))  # 17:00 in New York: its day is over
    assert restarted.check(new_order(), view) == Approve()


# ---- order rate ----------------------------------------------------------------------------------
def test_order_rate_limit_when_a_burst_exceeds_the_window_rejects_until_it_rolls() -> None:
    clock = SimulatedClock(T0)
    rule, view = OrderRateLimit(2, pd.Timedelta(seconds=60), clock), View()
    assert [rule.check(new_order(), view) for _ in range(2)] == [Approve(), Approve()]
    assert rule.check(new_order(), view) == Reject("2 orders in the last 60s, the limit is 2")
    clock.advance_to(T0 + pd.Timedelta(seconds=59))
    assert isinstance(rule.check(exit_order(), view), Reject)
    clock.advance_to(T0 + pd.Timedelta(seconds=60))
    assert rule.check(new_order(), view) == Approve()


# ---- require stop --------------------------------------------------------------------------------
def test_require_stop_rejects_an_entry_without_a_stop_unless_a_stop_exit_works() -> None:
    working: list[Order] = []
    rule, view = RequireStop(lambda strategy, symbol: tuple(working)), View()
    reason = "entry without a protective stop (none attached and no stop exit working)"
    assert rule.check(new_order(), view) == Reject(reason)
    assert rule.check(new_order(protection=Protection(take_profit_pct=Decimal(5))), view) == Reject(reason)
    assert rule.check(new_order(protection=STOP), view) == Approve()
    assert rule.check(new_order(protection=Protection(trailing_stop_pct=Decimal(2))), view) == Approve()
    assert rule.check(exit_order(), view) == Approve()
    working.append(exit_order(type=OrderType.STOP, stop=Decimal(90), status=OrderStatus.ACCEPTED))
    assert rule.check(new_order(), view) == Approve()


# ---- the chain: decisions recorded and alerted ---------------------------------------------------
def test_chain_when_rules_modify_then_reject_records_and_alerts_each_decision() -> None:
    sink = MemorySink()
    clock = SimulatedClock(T0)
    rules = (MarketRule(), MaxPositionSize(Decimal(5), clip=True), OrderRateLimit(1, pd.Timedelta(hours=1), clock))
    manager = RiskManager(rules, notifications=NotificationCenter([sink]))
    outcome = manager.evaluate(new_order(qty="8"), View(), T0)
    assert isinstance(outcome, Order) and outcome.qty == Decimal("5.000")
    rejected = manager.evaluate(new_order(qty="1", client_order_id="qb-2"), View(), T0)
    assert rejected == Reject("order_rate: 1 orders in the last 3600s, the limit is 1")
    rows = [(d.client_order_id, d.rule, d.outcome) for d in manager.decisions]
    assert rows == [
        ("qb-test", "max_position_size", "modify"),
        ("qb-test", "chain", "approve"),
        ("qb-2", "order_rate", "reject"),
    ]
    assert manager.decisions[0].detail == "quantity 8 clipped to 5.000 (position limit 5)"
    assert [(n.kind, n.level) for n in sink.received] == [
        ("risk_modified", Level.INFO),
        ("risk_approved", Level.DEBUG),
        ("risk_rejected", Level.WARNING),
    ]
    assert sink.received[-1].message == "1 orders in the last 3600s, the limit is 1"


def test_chain_when_observing_records_each_trip_once_and_restores_states() -> None:
    sink = MemorySink()
    manager = RiskManager((KillSwitch(), DrawdownBreaker(Decimal(10))), notifications=NotificationCenter([sink]))
    view = View()
    assert manager.observe(view, T0) == ()
    view.equity_value = Decimal(800)
    assert manager.observe(view, T0) == ("drawdown",) and manager.observe(view, T0) == ()
    assert sink.kinds() == ["risk_trip"] and dict(sink.received[0].fields) == {"rule": "drawdown"}
    saved = manager.states()
    fresh = RiskManager((KillSwitch(), DrawdownBreaker(Decimal(10))))
    fresh.restore(saved)
    assert fresh.states() == saved and fresh.states()["drawdown"].tripped


# ---- config --------------------------------------------------------------------------------------
def test_risk_config_when_loaded_from_json_builds_the_rules_in_chain_order() -> None:
    text = """{"drawdown": {"max_pct": "10"},
               "strategy_drawdowns": [{"strategy_id": "s", "max_pct": "5", "capital": "1000"}],
               "daily_loss": {"max_loss": "100", "session_timezone": "America/New_York", "session_start": "17:00"},
               "require_stop": true, "max_position": {"limit": "3"},
               "exposure": {"limit": "5000", "clip": true}, "order_rate": {"max_orders": 5, "window_seconds": 60}}"""
    config = RiskConfig.model_validate_json(text)
    rules = config.rules(SimulatedClock(T0), lambda strategy, symbol: ())
    names = [rule.name for rule in rules]
    assert names == [
        "kill_switch",
        "drawdown",
        "drawdown:s",
        "daily_loss",
        "require_stop",
        "max_position_size",
        "exposure",
        "order_rate",
    ]
    assert RiskConfig(kill_switch=None).rules(SimulatedClock(T0), lambda s, y: ()) == ()
    with pytest.raises(pydantic.ValidationError):
        RiskConfig.model_validate({"drawdown": {"max_pct": "0"}})
    with pytest.raises(pydantic.ValidationError):
        RiskConfig.model_validate({"unknown_rule": {}})
    with pytest.raises(pydantic.ValidationError):
        config.require_stop = False


# ---- end to end ----------------------------------------------------------------------------------
def falling_bars() -> pd.DataFrame:
    """Flat at 100 for three bars, down to 75 by bar 5, flat after (14 units bought at 100
    lose 7% of 2000 at the close of 90 and 14% at the close of 80: the breaker trips there)."""
    closes = [100, 100, 100, 90, 80, 75, 75, 75, 75, 75]
    return bars_from([(c, c + 1, c - 1, c) for c in closes])


def test_backtest_when_drawdown_trips_cancels_the_working_entry_and_fills_no_entry_after() -> None:
    model = ExecutionModel(initial_capital=2000.0, pyramiding=3)
    risk = RiskConfig(
        drawdown=DrawdownConfig(max_pct=Decimal(10)),
        order_rate=OrderRateConfig(max_orders=2, window_seconds=3600),
        require_stop=True,
    )
    actions = {
        0: [
            buy(qty=13, tag="a", protect=STOP),
            buy(qty=1, tag="b"),
            buy(qty=1, tag="c", protect=STOP),
            buy(qty=1, tag="burst", protect=STOP),
        ],
        2: [buy(qty=1, stop=120, tag="stop-entry", protect=STOP)],
        7: [buy(qty=1, tag="late", protect=STOP)],
    }
    script = Script(actions)
    result = run_backtest(falling_bars(), replace(config_for(script, model), risk=risk))
    by_tag = {o.tag: o for o in result.orders}
    assert by_tag["a"].status is OrderStatus.FILLED
    assert by_tag["b"].reason == (
        "require_stop: entry without a protective stop (none attached and no stop exit working)"
    )
    assert by_tag["c"].status is OrderStatus.FILLED
    assert by_tag["burst"].reason == "order_rate: 2 orders in the last 3600s, the limit is 2"
    trip = next(d for d in result.risk_decisions if d.outcome == "trip")
    assert (trip.rule, trip.detail) == ("drawdown", "global drawdown 14.00% reached the limit of 10.00%")
    assert by_tag["stop-entry"].status is OrderStatus.CANCELLED
    assert by_tag["late"].status is OrderStatus.REJECTED
    assert by_tag["late"].reason.startswith("drawdown: global drawdown 14.00%")
    assert all(ts < trip.ts for ts in result.trades["entry_time"])
    assert "risk_trip" in [n.kind for n in result.notifications]


def test_engine_kill_when_called_mid_run_cancels_a_working_stop_entry_and_blocks_entries() -> None:
    model = ExecutionModel()
    script = Script({0: [buy(qty=1, stop=150, tag="stop-entry")], 3: [buy(qty=1, tag="after-kill")]})
    config = config_for(script, model)
    bars = bars_from([(100, 101, 99, 100)] * 6)
    clock = SimulatedClock(pd.Timestamp(bars.index[0]))
    markets = {config.market.symbol: config.market}
    venue = SimulatedVenue(markets, clock, SimulatedVenueConfig(model))
    sink = MemorySink(Level.WARNING)
    engine = build_engine(
        markets=markets,
        clock=clock,
        venue=venue,
        config=EngineConfig(model=model, risk=RiskConfig()),
        notifications=NotificationCenter([sink]),
    )
    engine.strategies.add("script", config.market.symbol, script, params={}, window=None)
    for number, candle in enumerate(candles_from_bars(bars, config.market, pd.Timedelta(hours=1))):
        clock.advance_to(candle.close_time)
        engine.feed(candle)
        engine.run_until_idle()
        if number == 1:
            engine.kill("operator /kill")
            engine.run_until_idle()
    orders = {o.tag: o for o in engine.orders.store}
    assert orders["stop-entry"].status is OrderStatus.CANCELLED
    assert orders["after-kill"].reason == "kill_switch: kill switch engaged: no new entries"
    assert "kill_switch" in sink.kinds() and engine.risk.states()["kill_switch"].reason == "operator /kill"
    engine.reset_risk("kill_switch")
    assert not engine.risk.states()["kill_switch"].tripped
