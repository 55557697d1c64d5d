"""Reconciling our trades with TradingView's, trade by trade, with every difference classified."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE, TRADINGVIEW_BUILTINS
from quantbridge.research.reference import reference_model
from quantbridge.research.simulator import simulate
from quantbridge.validation.tradingview import (
    ReconcileError,
    Reconciliation,
    Tolerance,
    TradeClass,
    TradingViewTradeList,
    read_tradingview_trades,
    reconcile,
)

BUILTINS = Path("tradingview") / "builtin_strategies"


@pytest.fixture(scope="module")
def reference_bars(reference_data: Path) -> pd.DataFrame:
    return read_bars(reference_data / BUILTINS / "ohlcv.csv")


@pytest.fixture(scope="module")
def simulated(reference_bars: pd.DataFrame) -> dict[str, pd.DataFrame]:
    trades = {}
    for name in TRADINGVIEW_BUILTINS:
        spec = CATALOGUE.get(name)
        model = reference_model(spec.model)
        trades[name] = simulate(reference_bars, spec(reference_bars), spec.rules, model, engine="kernel").trades
    return trades


@pytest.fixture(scope="module")
def tradingview(reference_data: Path) -> dict[str, TradingViewTradeList]:
    folder = reference_data / BUILTINS
    return {name: read_tradingview_trades(folder / f"{stem}_trades.csv") for name, stem in TRADINGVIEW_BUILTINS.items()}


def _counts(result: Reconciliation) -> dict[str, int]:
    return {kind.value: n for kind, n in result.counts.items() if n}


@pytest.mark.reference_data
@pytest.mark.parametrize("name", list(TRADINGVIEW_BUILTINS))
def test_reconcile_when_builtin_is_simulated_matches_every_tradingview_trade(
    name: str,
    simulated: dict[str, pd.DataFrame],
    tradingview: dict[str, TradingViewTradeList],
    reference_bars: pd.DataFrame,
) -> None:
    theirs = tradingview[name]
    result = reconcile(simulated[name], theirs, reference_bars)
    n = len(theirs.trades)
    assert _counts(result) == {"exact": n - 1, "open_at_export": 1}
    assert (result.reference_trades, result.our_trades, result.matched) == (n, n, n)
    assert result.match == 1.0
    assert result.passed
    assert len(result.table) == n
    assert result.table["tv_trade"].tolist() == result.table["our_trade"].tolist() == list(range(1, n + 1))
    assert result.table["class"].iloc[-1] == "open_at_export"


# ---------------------------------------------------------------- perturbations of one built-in


@pytest.fixture(scope="module")
def macd(
    simulated: dict[str, pd.DataFrame], tradingview: dict[str, TradingViewTradeList]
) -> tuple[pd.DataFrame, TradingViewTradeList]:
    return simulated["tv_macd"], tradingview["tv_macd"]


@pytest.mark.reference_data
def test_reconcile_when_our_trade_is_dropped_reports_one_missing_and_the_rest_exact(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    result = reconcile(ours.drop(index=500), theirs, reference_bars)
    n = len(theirs.trades)
    assert _counts(result) == {"exact": n - 2, "missing": 1, "open_at_export": 1}
    missing = result.table[result.table["class"] == "missing"].iloc[0]
    assert missing["tv_trade"] == ours.loc[500, "trade_id"]
    assert pd.isna(missing["our_trade"])
    assert result.match == pytest.approx((n - 1) / n)
    assert not result.passed


@pytest.mark.reference_data
def test_reconcile_when_tradingview_trade_is_dropped_reports_one_extra(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    result = reconcile(ours, theirs.trades.drop(index=7), reference_bars)
    assert _counts(result) == {"exact": len(ours) - 2, "extra": 1, "open_at_export": 1}
    extra = result.table[result.table["class"] == "extra"].iloc[0]
    assert extra["our_trade"] == 8
    assert result.table.index[result.table["class"] == "extra"].tolist() == [7]  # in entry order


@pytest.mark.reference_data
def test_reconcile_when_we_add_a_trade_reports_one_extra_and_counts_it_against_the_match(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    added = ours.iloc[[300]].assign(trade_id=99_999, entry_time=ours.loc[300, "entry_time"] + pd.Timedelta(days=400))
    result = reconcile(pd.concat([ours, added], ignore_index=True), theirs, reference_bars)
    n = len(theirs.trades)
    assert _counts(result) == {"exact": n - 1, "extra": 1, "open_at_export": 1}
    assert result.table.loc[result.table["class"] == "extra", "our_trade"].tolist() == [99_999]
    assert result.matched == n
    assert result.match == pytest.approx(n / (n + 1))
    assert not result.passed
    assert reconcile(pd.concat([ours, added]), theirs, reference_bars, threshold=0.99).passed


@pytest.mark.reference_data
def test_reconcile_when_one_exit_is_a_bar_late_reports_off_by_one_bar(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    shifted = ours.copy()
    shifted.loc[200, "exit_time"] = reference_bars.index[shifted.loc[200, "exit_bar"] + 1]
    result = reconcile(shifted, theirs, reference_bars)
    assert _counts(result) == {"exact": len(ours) - 2, "off_by_n_bars": 1, "open_at_export": 1}
    row = result.differences.iloc[0]
    assert (row["class"], row["n_bars"], row["differs"]) == ("off_by_n_bars", 1, "exit_time")
    assert (row["tv_trade"], row["exit_shift_bars"], row["entry_shift_bars"]) == (201, 1, 0)


@pytest.mark.reference_data
def test_reconcile_when_one_entry_is_two_bars_early_pairs_it_as_off_by_minus_two(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    shifted = ours.copy()
    shifted.loc[200, "entry_time"] = reference_bars.index[shifted.loc[200, "entry_bar"] - 2]
    result = reconcile(shifted, theirs, reference_bars)
    assert _counts(result) == {"exact": len(ours) - 2, "off_by_n_bars": 1, "open_at_export": 1}
    row = result.differences.iloc[0]
    assert (row["n_bars"], row["differs"], row["tv_trade"], row["our_trade"]) == (-2, "entry_time", 201, 201)


@pytest.mark.reference_data
def test_reconcile_when_entry_moves_beyond_the_window_reports_missing_and_extra(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    shifted = ours.copy()
    shifted.loc[200, "entry_time"] = reference_bars.index[shifted.loc[200, "entry_bar"] - 2]
    result = reconcile(shifted, theirs, reference_bars, max_shift_bars=1)
    assert _counts(result) == {"exact": len(ours) - 2, "missing": 1, "extra": 1, "open_at_export": 1}


@pytest.mark.reference_data
def test_reconcile_when_a_price_changes_reports_price_differs(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    changed = ours.copy()
    changed.loc[42, "exit_price"] += 0.0001
    result = reconcile(changed, theirs, reference_bars)
    assert _counts(result) == {"exact": len(ours) - 2, "price_differs": 1, "open_at_export": 1}
    row = result.differences.iloc[0]
    assert (row["differs"], row["tv_trade"]) == ("exit_price", 43)
    assert pd.isna(row["n_bars"])


@pytest.mark.reference_data
def test_reconcile_when_price_is_within_half_a_tick_calls_it_exact(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    changed = ours.copy()
    changed.loc[42, "exit_price"] += 0.000004
    assert reconcile(changed, theirs, reference_bars).counts[TradeClass.PRICE_DIFFERS] == 1
    half_tick = reconcile(changed, theirs, reference_bars, tolerance=Tolerance(tick_size=0.00001))
    assert half_tick.counts[TradeClass.PRICE_DIFFERS] == 0
    assert half_tick.match == 1.0


@pytest.mark.reference_data
def test_reconcile_when_quantity_changes_reports_quantity_differs(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    changed = ours.copy()
    changed.loc[10, "quantity"] = 2.0
    result = reconcile(changed, theirs, reference_bars)
    assert _counts(result) == {"exact": len(ours) - 2, "quantity_differs": 1, "open_at_export": 1}
    assert result.differences["differs"].tolist() == ["quantity"]


@pytest.mark.reference_data
def test_reconcile_when_pnl_is_beyond_display_rounding_reports_pnl_differs(
    simulated: dict[str, pd.DataFrame], tradingview: dict[str, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = simulated["tv_barupdn"], tradingview["tv_barupdn"]
    assert theirs.trades.loc[10, "pnl_decimals"] == 2
    within, beyond = ours.copy(), ours.copy()
    within.loc[10, "pnl"] = theirs.trades.loc[10, "pnl"] + 0.0049
    beyond.loc[10, "pnl"] = theirs.trades.loc[10, "pnl"] + 0.0052
    assert reconcile(within, theirs, reference_bars).match == 1.0
    result = reconcile(beyond, theirs, reference_bars)
    assert _counts(result) == {"exact": len(ours) - 2, "pnl_differs": 1, "open_at_export": 1}
    assert result.differences["differs"].tolist() == ["pnl"]


@pytest.mark.reference_data
def test_reconcile_when_we_close_the_trade_tradingview_left_open_reports_off_by_n_bars(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    closed = ours.copy()
    last = closed.index[-1]
    closed.loc[last, ["is_open", "exit_time"]] = [False, reference_bars.index[-3]]
    result = reconcile(closed, theirs, reference_bars)
    row = result.table.iloc[-1]
    assert (row["class"], row["n_bars"]) == ("off_by_n_bars", -2)
    assert "exit_time" in row["differs"].split(",")


# ---------------------------------------------------------------- outputs and inputs


@pytest.mark.reference_data
def test_to_dict_when_differences_exist_is_json_with_counts_and_each_difference(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    changed = ours.drop(index=3).copy()
    changed.loc[42, "exit_price"] += 0.01
    summary = json.loads(json.dumps(reconcile(changed, theirs, reference_bars).to_dict()))
    assert summary["counts"]["missing"] == 1
    assert summary["counts"]["price_differs"] == 1
    assert set(summary["counts"]) == {kind.value for kind in TradeClass}
    assert summary["passed"] is False
    assert summary["reference_trades"] == len(theirs.trades)
    assert [d["class"] for d in summary["differences"]] == ["missing", "price_differs"]
    assert summary["differences"][1]["differs"] == ["exit_price"]
    assert summary["differences"][0]["our_entry_time"] is None
    assert summary["differences"][1]["tv_entry_time"].endswith("+00:00")


@pytest.mark.reference_data
def test_to_html_when_rendered_is_a_self_contained_table(
    macd: tuple[pd.DataFrame, TradingViewTradeList], reference_bars: pd.DataFrame
) -> None:
    ours, theirs = macd
    changed = ours.copy()
    changed.loc[42, "exit_price"] += 0.01
    result = reconcile(changed, theirs, reference_bars, title="MACD <vs> TradingView")
    page = result.to_html()
    assert page.startswith("<section class='qb-reconciliation'>")
    assert page.count("<tr class=") == len(theirs.trades)
    assert "MACD &lt;vs&gt; TradingView" in page
    assert "FAIL" in page
    for external in ("<script", "http:", "https:", "<link", "src="):
        assert external not in page
    short = result.to_html(only_differences=True)
    assert short.count("<tr class=") == 1
    assert "<td class='hit'>" in short
    assert result.to_html(max_rows=5).count("<tr class=") == 5


def test_reconcile_when_tradingview_times_are_naive_refuses() -> None:
    ours = pd.DataFrame(
        {
            "trade_id": [1],
            "side": ["long"],
            "entry_time": pd.to_datetime(["2024-01-01 10:00"]).tz_localize("UTC"),
            "exit_time": pd.to_datetime(["2024-01-01 12:00"]).tz_localize("UTC"),
            "entry_price": [1.0],
            "exit_price": [2.0],
            "quantity": [1.0],
            "pnl": [1.0],
            "is_open": [False],
        }
    )
    theirs = ours.assign(entry_time=ours["entry_time"].dt.tz_localize(None))
    bars = pd.date_range("2024-01-01", periods=24, freq="1h", tz="UTC")
    with pytest.raises(ReconcileError, match="naive"):
        reconcile(ours, theirs, bars)
    with pytest.raises(ReconcileError, match="quantity"):
        reconcile(ours.drop(columns="quantity"), ours, bars)


def test_reconcile_when_a_pyramided_entry_is_missing_pairs_its_siblings_exactly() -> None:
    bars = pd.date_range("2024-01-01", periods=48, freq="1h", tz="UTC")
    times = bars[[2, 2, 2, 5]]
    theirs = pd.DataFrame(
        {
            "trade_id": [1, 2, 3, 4],
            "side": ["long", "long", "long", "short"],
            "entry_time": times,
            "exit_time": bars[[9, 9, 9, 12]],
            "entry_price": [10.0, 10.0, 10.0, 11.0],
            "exit_price": [12.0, 12.0, 12.0, 10.5],
            "quantity": [1.0, 2.0, 3.0, 1.0],
            "pnl": [2.0, 4.0, 6.0, 0.5],
            "is_open": [False] * 4,
        }
    )
    ours = theirs.drop(index=1).reset_index(drop=True)  # the second pyramided entry is missing
    result = reconcile(ours, theirs, bars)
    assert result.table["class"].tolist() == ["exact", "missing", "exact", "exact"]
    assert result.table["tv_trade"].tolist() == [1, 2, 3, 4]
    assert result.table["our_trade"].fillna(0).tolist() == [1, 0, 3, 4]
    assert np.isnan(result.table["our_quantity"].iloc[1])


def test_reconcile_when_our_open_trade_has_no_mark_price_calls_it_open_at_export() -> None:
    bars = pd.date_range("2024-01-01", periods=48, freq="1h", tz="UTC")
    theirs = pd.DataFrame(
        {
            "trade_id": [1, 2],
            "side": ["long", "short"],
            "entry_time": bars[[2, 5]],
            "exit_time": [bars[5], pd.NaT],
            "entry_price": [10.0, 11.0],
            "exit_price": [11.0, 10.5],
            "quantity": [1.0, 1.0],
            "pnl": [1.0, 0.5],
            "is_open": [False, True],
        }
    )
    ours = theirs.assign(exit_price=[11.0, np.nan], pnl=[1.0, np.nan])
    result = reconcile(ours, theirs, bars)
    assert result.table["class"].tolist() == ["exact", "open_at_export"]
    assert result.table["differs"].tolist() == ["", ""]
    missing_pnl = reconcile(ours.assign(pnl=[np.nan, np.nan]), theirs, bars)
    assert missing_pnl.table["class"].tolist() == ["pnl_differs", "open_at_export"]
