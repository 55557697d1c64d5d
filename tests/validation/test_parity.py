"""Signal and trade parity of every catalogue prototype with its bridged strategy."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from quantbridge.datasets.execution import ExecutionModel, Instrument, SizingType, SlippageType
from quantbridge.datasets.paths import sample_path
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.rules import PositionRules, ScaleOut, StopMode
from quantbridge.validation.parity import check_parity, compare_signals, compare_trades, render_html

BTC = Instrument(symbol="BTCUSDT", tick_size=0.01, qty_step=0.001)
SIZED = ExecutionModel(
    instrument=BTC,
    sizing=SizingType.PERCENT_OF_EQUITY,
    size=10,
    commission=0.04,
    slippage=2,
    slippage_type=SlippageType.TICKS,
    initial_capital=100_000,
)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return pd.read_parquet(sample_path("BTCUSDT_1h.parquet")).iloc[:1500]


def _model(name: str) -> ExecutionModel:
    return CATALOGUE.get(name).model.model_copy(update={"instrument": BTC})


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_check_parity_when_bridged_from_bars_matches_signals_and_trades_fully(name: str, bars: pd.DataFrame) -> None:
    report = check_parity(CATALOGUE.get(name), bars, model=_model(name))
    assert report.signals.compared == len(bars) - report.warmup + 1
    assert report.signals.match == 1.0, report.signals.first_divergence
    assert report.trades.passed, report.trades.differences[:5]
    assert report.trades.match == 1.0


@pytest.mark.parametrize("name", ["sma_crossover", "tv_channel_breakout", "tv_keltner"])
def test_check_parity_when_bridged_from_ticks_matches_signals_and_trades_fully(name: str, bars: pd.DataFrame) -> None:
    report = check_parity(CATALOGUE.get(name), bars, model=_model(name), source="ticks")
    assert report.signals.source == "ticks"
    assert report.signals.passed, report.signals.first_divergence
    assert report.trades.passed and report.trades.reference_trades > 0, report.trades.differences[:5]


RULES = {
    "stop_take_cooldown": (
        PositionRules(stop_loss_pct=1, take_profit_pct=2, stop_mode=StopMode.ON_CLOSE, cooldown_bars=5),
        {"stop_loss", "take_profit"},
    ),
    "max_bars": (PositionRules(max_bars_held=12), {"max_bars"}),
    "trailing_no_flip": (
        PositionRules(trailing_stop_pct=1.5, stop_mode=StopMode.ON_CLOSE, flip=False),
        {"trailing_stop"},
    ),
}


@pytest.mark.parametrize("case", list(RULES))
@pytest.mark.parametrize("name", ["sma_crossover", "osc_cci"])
def test_check_parity_when_position_rules_apply_runtime_trades_equal_simulator(
    name: str, case: str, bars: pd.DataFrame
) -> None:
    rules, _ = RULES[case]
    report = check_parity(CATALOGUE.get(name), bars, rules=rules, model=SIZED)
    assert report.trades.passed, report.trades.differences[:5]
    assert report.signals.passed


def test_check_parity_when_rules_apply_exits_carry_the_rule_reasons(bars: pd.DataFrame) -> None:
    from quantbridge.bridge import bridge
    from quantbridge.runtime.backtest import BacktestConfig, market_for, run_backtest
    from quantbridge.validation.parity import relabel_rule_exits

    for rules, reasons in RULES.values():
        strategy = bridge(CATALOGUE.get("sma_crossover"), rules=rules, model=SIZED)
        config = BacktestConfig(strategy=strategy.spec(), params={}, market=market_for(SIZED), model=SIZED)
        trades = relabel_rule_exits(run_backtest(bars, config).trades, strategy.exit_journal)
        assert reasons <= set(trades["exit_reason"])


def test_check_parity_when_cooldown_set_blocks_entries_after_stop_out(bars: pd.DataFrame) -> None:
    with_cooldown = PositionRules(stop_loss_pct=1, stop_mode=StopMode.ON_CLOSE, cooldown_bars=48)
    without = PositionRules(stop_loss_pct=1, stop_mode=StopMode.ON_CLOSE)
    spec = CATALOGUE.get("osc_cci")
    cooled = check_parity(spec, bars, rules=with_cooldown, model=SIZED)
    free = check_parity(spec, bars, rules=without, model=SIZED)
    assert cooled.passed and free.passed
    assert cooled.trades.runtime_trades < free.trades.runtime_trades


INTRABAR = {
    "stop_take": (PositionRules(stop_loss_pct=1, take_profit_pct=2), {"stop_loss", "take_profit"}),
    "trailing": (PositionRules(trailing_stop_pct=1.5), {"trailing_stop"}),
    "scale_outs": (
        PositionRules(scale_outs=(ScaleOut(at_pct=2, fraction=0.5), ScaleOut(at_pct=4, fraction=0.5))),
        {"scale_out"},
    ),
    "stop_take_cooldown": (
        PositionRules(stop_loss_pct=1, take_profit_pct=2, cooldown_bars=5),
        {"stop_loss", "take_profit"},
    ),
}


@pytest.mark.parametrize("sized", [False, True], ids=["model", "percent_of_equity"])
@pytest.mark.parametrize("case", list(INTRABAR))
@pytest.mark.parametrize("name", ["sma_crossover", "osc_cci"])
def test_check_parity_when_rules_rest_inside_the_bar_runtime_trades_equal_simulator(
    name: str, case: str, sized: bool, bars: pd.DataFrame
) -> None:
    rules, _ = INTRABAR[case]
    report = check_parity(CATALOGUE.get(name), bars, rules=rules, model=SIZED if sized else _model(name))
    assert report.trades.match == 1.0, report.trades.differences[:5]
    assert report.passed and report.trades.reference_trades > 0
    assert report.signals.match == 1.0


@pytest.mark.parametrize("name", ["tv_channel_breakout", "tv_keltner"])
def test_check_parity_when_stop_entries_meet_intrabar_rules_on_the_entry_bar_trades_equal_simulator(
    name: str, bars: pd.DataFrame
) -> None:
    rules = PositionRules(
        stop_loss_pct=1,
        take_profit_pct=5,
        trailing_stop_pct=1.5,
        cooldown_bars=3,
        scale_outs=(ScaleOut(at_pct=1, fraction=0.3),),
        max_bars_held=30,
    )
    report = check_parity(CATALOGUE.get(name), bars, rules=rules, model=SIZED)
    assert report.passed and report.trades.match == 1.0, report.trades.differences[:5]


def test_check_parity_when_rules_rest_inside_the_bar_from_ticks_matches_trades_fully(bars: pd.DataFrame) -> None:
    rules, _ = INTRABAR["stop_take"]
    report = check_parity(CATALOGUE.get("sma_crossover"), bars, rules=rules, model=SIZED, source="ticks")
    assert report.passed and report.trades.match == 1.0, report.trades.differences[:5]


def test_check_parity_when_rules_rest_inside_the_bar_exits_carry_the_rule_reasons(bars: pd.DataFrame) -> None:
    from quantbridge.bridge import bridge
    from quantbridge.runtime.backtest import BacktestConfig, market_for, run_backtest

    for rules, reasons in INTRABAR.values():
        strategy = bridge(CATALOGUE.get("osc_cci"), rules=rules, model=SIZED)
        config = BacktestConfig(strategy=strategy.spec(), params={}, market=market_for(SIZED), model=SIZED)
        assert reasons <= set(run_backtest(bars, config).trades["exit_reason"])


def test_check_parity_when_intrabar_cooldown_set_blocks_entries_after_stop_out(bars: pd.DataFrame) -> None:
    spec = CATALOGUE.get("osc_cci")
    cooled = check_parity(spec, bars, rules=PositionRules(stop_loss_pct=1, cooldown_bars=48), model=SIZED)
    free = check_parity(spec, bars, rules=PositionRules(stop_loss_pct=1), model=SIZED)
    assert cooled.passed and free.passed
    assert cooled.trades.runtime_trades < free.trades.runtime_trades


def test_compare_signals_when_rows_differ_reports_first_divergence_with_indicators(bars: pd.DataFrame) -> None:
    from dataclasses import replace

    from quantbridge.bridge import bridge
    from quantbridge.runtime.backtest import BacktestConfig, market_for, run_backtest

    spec, model = CATALOGUE.get("sma_crossover"), _model("sma_crossover")
    short = bars.iloc[:300]
    strategy = bridge(spec, model=model)
    run_backtest(short, BacktestConfig(strategy=strategy.spec(), params={}, market=market_for(model), model=model))
    rows = list(strategy.records)
    rows[10] = replace(rows[10], long_entry=not rows[10].long_entry)
    parity = compare_signals("sma_crossover", "bars", spec(short), short, rows, strategy.warmup - 1)
    first = parity.first_divergence
    assert first is not None and first.bar == rows[10].bar and first.fields == ("long_entry",)
    assert set(first.reference_indicators) == {"fast", "slow"} == set(first.bridged_indicators)
    assert parity.matched == parity.compared - 1 and not parity.passed
    assert "First divergence: bar" in render_html_for(parity)


def render_html_for(parity: object) -> str:
    from quantbridge.validation.parity import ParityReport, TradeParity

    report = ParityReport("sma_crossover", {}, parity, TradeParity(0, 0, 0), 51)  # type: ignore[arg-type]
    return render_html(report)


def test_compare_trades_when_price_off_by_more_than_tolerance_reports_the_field(bars: pd.DataFrame) -> None:
    report = check_parity(CATALOGUE.get("sma_crossover"), bars.iloc[:400], model=_model("sma_crossover"))
    assert report.trades.passed
    from quantbridge.research.simulator import simulate

    reference = simulate(
        bars.iloc[:400], CATALOGUE.get("sma_crossover")(bars.iloc[:400]), model=_model("sma_crossover")
    )
    shifted = reference.trades.copy()
    shifted.loc[1, "exit_price"] += 2e-9
    parity = compare_trades(reference.trades, shifted)
    assert [(d.trade, d.field) for d in parity.differences] == [(2, "exit_price")]
    assert parity.matched == len(reference.trades) - 1 and not parity.passed


def test_parity_report_when_serialised_gives_json_with_match_ratios(bars: pd.DataFrame) -> None:
    report = check_parity(CATALOGUE.get("tv_bollinger"), bars.iloc[:400], model=_model("tv_bollinger"))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["passed"] is True
    assert data["signals"]["match"] == 1.0 and data["trades"]["match"] == 1.0
    assert data["trades"]["tolerances"]["entry_price"] == {"kind": "abs", "tolerance": 1e-9}
    fragment = render_html(report)
    assert fragment.startswith("<section>") and "<table" in fragment and "<script" not in fragment
