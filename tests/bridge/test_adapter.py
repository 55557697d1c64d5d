"""The bridge: a research prototype as a runtime strategy."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from quantbridge.bridge import (
    BridgedStrategy,
    BridgeError,
    PrototypeMutationError,
    bridge,
    protection_for,
    run_on_window,
)
from quantbridge.datasets.execution import ExecutionModel, Instrument
from quantbridge.datasets.paths import sample_path
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.registry import Param, PrototypeSpec
from quantbridge.research.rules import PositionRules, ScaleOut, StopMode
from quantbridge.research.signals import Signals
from quantbridge.runtime.backtest import BacktestConfig, BacktestResult, market_for, run_backtest
from quantbridge.runtime.domain.orders import Intent
from quantbridge.runtime.strategy import Protection, ScaleOutLevel

BTC = Instrument(symbol="BTCUSDT", tick_size=0.01, qty_step=0.001)
MODEL = ExecutionModel(instrument=BTC)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return pd.read_parquet(sample_path("BTCUSDT_1h.parquet")).iloc[:300]


def _run(strategy: BridgedStrategy, bars: pd.DataFrame) -> BacktestResult:
    config = BacktestConfig(strategy=strategy.spec(), params={}, market=market_for(MODEL), model=MODEL)
    return run_backtest(bars, config)


def _always_long(bars: pd.DataFrame, every: int = 1) -> Signals:
    n = len(bars)
    return Signals.build(pd.DatetimeIndex(bars.index), long_entry=[i % every == 0 for i in range(n)])


def _mutating(bars: pd.DataFrame, every: int = 1) -> Signals:
    bars["close"] = bars["close"] * 2.0
    return _always_long(bars, every)


def _spec(function: object, name: str, lookback: int = 0) -> PrototypeSpec:
    return PrototypeSpec(
        name=name,
        function=function,  # type: ignore[arg-type]
        description=name,
        params=(Param("every", 1, low=1),),
        lookback=lambda _: lookback,
    )


def test_bridged_strategy_when_not_warm_places_no_orders_and_says_so(bars: pd.DataFrame) -> None:
    strategy = bridge(_spec(_always_long, "eager"), model=MODEL, warmup=50)
    result = _run(strategy, bars)
    first_order = min(order.signal_bar for order in result.orders)
    assert first_order == bars.index[49]
    assert [row.bar for row in strategy.records][:1] == [49]
    assert pd.Timestamp(result.trades["entry_time"].iloc[0]) == bars.index[50]


def test_bridged_strategy_when_never_warm_places_no_orders_and_reports_warming_up(bars: pd.DataFrame) -> None:
    strategy = bridge(_spec(_always_long, "eager"), model=MODEL, warmup=1000)
    result = _run(strategy, bars)
    assert len(result.orders) == 0 and strategy.records == []
    assert strategy.status == "warming up: 300 of 1000 bars; no orders"


def test_bridged_strategy_when_warm_reports_trading(bars: pd.DataFrame) -> None:
    strategy = bridge(_spec(_always_long, "eager"), model=MODEL, warmup=10)
    _run(strategy, bars)
    assert strategy.status == "trading"


def test_bridge_when_window_shorter_than_warmup_raises_bridge_error() -> None:
    with pytest.raises(BridgeError, match="window 10 is shorter than the warm-up of 51"):
        bridge(CATALOGUE.get("sma_crossover"), model=MODEL, window=10)


def test_bridged_strategy_when_window_given_acts_on_last_rows_with_absolute_origins(bars: pd.DataFrame) -> None:
    strategy = bridge(CATALOGUE.get("tv_channel_breakout"), model=MODEL, window=40)
    _run(strategy, bars)
    reference = CATALOGUE.get("tv_channel_breakout")(bars)
    last = strategy.records[-1]
    assert last.bar == len(bars) - 1
    assert last.long_entry_from == int(reference.long_entry_from[-1]) == len(bars) - 1
    assert last.long_entry_stop == float(reference.long_entry_stop[-1])


def test_run_on_window_when_prototype_mutates_bars_raises_mutation_error(bars: pd.DataFrame) -> None:
    with pytest.raises(PrototypeMutationError, match="mutated its input window"):
        run_on_window(_spec(_mutating, "dirty"), {"every": 1}, bars.copy())


def test_bridged_strategy_when_prototype_mutates_bars_is_rejected_and_stops_trading(bars: pd.DataFrame) -> None:
    strategy = bridge(_spec(_mutating, "dirty"), model=MODEL, warmup=5)
    result = _run(strategy, bars)
    assert result.failed and result.stats.strategy_errors == 1
    assert "mutated its input window" in result.notifications[0].message
    assert len(result.orders) == 0 and len(result.trades) == 0


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (PositionRules(stop_loss_pct=2.0), Protection(stop_loss_pct=Decimal(2))),
        (
            PositionRules(take_profit_pct=2.0, stop_mode=StopMode.INTRABAR, cooldown_bars=3),
            Protection(take_profit_pct=Decimal(2), cooldown_bars=3),
        ),
        (PositionRules(trailing_stop_pct=1.5), Protection(trailing_stop_pct=Decimal("1.5"))),
        (
            PositionRules(
                stop_loss_pct=1.0, scale_outs=(ScaleOut(at_pct=1.0, fraction=0.5),), stop_mode=StopMode.ON_CLOSE
            ),
            Protection(scale_outs=(ScaleOutLevel(Decimal(1), Decimal("0.5")),)),
        ),
        (PositionRules(stop_loss_pct=1.0, stop_mode=StopMode.ON_CLOSE, cooldown_bars=2), None),
    ],
    ids=["stop_loss_intrabar", "take_profit_intrabar", "trailing_intrabar", "scale_outs_with_on_close", "on_close"],
)
def test_protection_for_when_rules_rest_inside_the_bar_maps_them_to_the_entry_protection(
    rules: PositionRules, expected: Protection | None
) -> None:
    assert protection_for(rules) == expected
    bridge(CATALOGUE.get("sma_crossover"), rules=rules, model=MODEL)  # no BridgeError any more


def test_bridged_strategy_when_rules_intrabar_attaches_protection_to_every_entry(bars: pd.DataFrame) -> None:
    rules = PositionRules(stop_loss_pct=1.0, take_profit_pct=2.0)
    result = _run(bridge(CATALOGUE.get("sma_crossover"), rules=rules, model=MODEL), bars)
    entries = [o for o in result.orders if o.intent is Intent.ENTRY]
    assert entries and all(o.protection == protection_for(rules) for o in entries)
    assert {"stop_loss", "take_profit"} & set(result.trades["exit_reason"])


def test_bridged_strategy_when_flip_off_meets_resting_entry_against_position_raises(bars: pd.DataFrame) -> None:
    strategy = bridge(CATALOGUE.get("tv_channel_breakout"), rules=PositionRules(flip=False), model=MODEL)
    result = _run(strategy, bars)
    assert result.stats.strategy_errors == 1
    assert "flip=False" in result.notifications[0].message


def test_bridged_strategy_when_entry_has_stop_and_limit_raises_bridge_error(bars: pd.DataFrame) -> None:
    def both(bars: pd.DataFrame, every: int = 1) -> Signals:
        n = len(bars)
        close = bars["close"].to_numpy()
        return Signals.build(
            pd.DatetimeIndex(bars.index), long_entry=[True] * n, long_entry_stop=close + 10, long_entry_limit=close - 10
        )

    result = _run(bridge(_spec(both, "bracket"), model=MODEL, warmup=3), bars)
    assert result.stats.strategy_errors == 1
    assert "both a stop and a limit" in result.notifications[0].message


def test_bridged_strategy_when_signals_named_tags_orders_with_the_names(bars: pd.DataFrame) -> None:
    result = _run(bridge(CATALOGUE.get("sma_crossover"), model=MODEL), bars)
    assert {order.tag for order in result.orders} == {"SmaLE", "SmaSE"}
    assert set(result.trades["entry_signal"]) == {"SmaLE", "SmaSE"}


def test_bridged_strategy_when_persistent_order_repeats_places_it_once(bars: pd.DataFrame) -> None:
    strategy = bridge(CATALOGUE.get("tv_keltner"), model=MODEL, warmup=30)
    longer = pd.read_parquet(sample_path("BTCUSDT_1h.parquet")).iloc[:600]
    bars_times = pd.DatetimeIndex(longer.index)
    result = _run(strategy, longer)
    wanted_rows = sum(row.long_entry for row in strategy.records)
    placed = {bars_times[int(row.long_entry_from)] for row in strategy.records if row.long_entry}
    long_orders = [order.signal_bar for order in result.orders if order.tag == "KltChLE"]
    assert 1 < len(long_orders) == len(set(long_orders)) < wanted_rows
    assert set(long_orders) <= placed
