"""TradingView-exact indicators against TradingView's own values.

Tolerance: every comparison is relative, ``|ours - tv| <= rtol * |tv|`` with
``rtol = 1e-9``, and na positions must be identical (same warm-up). The one column that
needs more is documented where it is compared (SPX ``StdDev``); nothing is loosened
anywhere else. Most values are in fact bit-identical, because the rolling sums reproduce
TradingView's compensated accumulator.

Reference files (``$QUANTBRIDGE_REFERENCE_DATA/tradingview/indicators``):

* ``ta__*.csv`` — PyneCore's TradingView captures; every extra column is named by the
  Pine call that produced it and starts at bar 0, so they are compared from bar 0.
  Titles that are not the call itself are mapped in :data:`SCRIPT_EXPRESSIONS` and
  :data:`MISLABELLED`, from PyneCore's test scripts.
* ``BINANCE_BTCUSDT_1D.csv`` — a chart export from the symbol's first bar.
* ``SP_SPX_1D.csv`` — a chart export whose history starts before the file, compared
  after per-column convergence windows.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from quantbridge.datasets.paths import reference_data_dir
from quantbridge.datasets.readers import read_bars
from quantbridge.research.indicators import sources
from quantbridge.research.indicators import tradingview as tv
from quantbridge.research.indicators.pine import REGISTRY, PineError, compile_pine, names_used
from quantbridge.research.indicators.pine_parser import PineSyntaxError, parse
from quantbridge.research.indicators.sessions import Session, timeframe_change

RTOL = 1e-9
INDICATORS = reference_data_dir() / "tradingview" / "indicators"
TA_FILES = sorted(INDICATORS.glob("ta__*.csv"))
BAR_COLUMNS = ("open", "high", "low", "close", "volume")

#: The PyneCore scripts bind variables (``ema1 = ta.ema(close, 5)``) or plot booleans
#: as numbers, so these titles are not evaluable Pine. Each maps to the expression the
#: script plotted (read from PyneCore's tests/t01_lib/t20_ta scripts).
SCRIPT_EXPRESSIONS: dict[str, str] = {
    "correlation": "ta.correlation(ta.sma(close, 20), ta.ema(close, 10), 20)",
    "ta.cross(ema1, ema2)": "ta.cross(ta.ema(close, 5), ta.ema(close, 11)) ? 0.5 : 0",
    "ta.crossover(ema1, ema2)": "ta.crossover(ta.ema(close, 5), ta.ema(close, 11)) ? 1 : 0",
    "ta.crossunder(ema1, ema2)": "ta.crossunder(ta.ema(close, 5), ta.ema(close, 11)) ? -1 : 0",
    "ta.falling(ema, 5)": "ta.falling(ta.ema(close, 20), 5) ? -1 : 0",
    "ta.rising(ema, 5)": "ta.rising(ta.ema(close, 20), 5) ? 1 : 0",
    "min(close)": "ta.min(close)",
    "max(close)": "ta.max(close)",
    "median(close)": "ta.median(close, 20)",
    "mode(close)": "ta.mode(close, 20)",
    "ta.valuewhen(ta.cross(slow, fast), close, 1)": (
        "ta.valuewhen(ta.cross(ta.sma(close, 7), ta.sma(close, 14)), close, 1)"
    ),
    "v0": "ta.valuewhen(bar_index % 3 == 0, bar_index % 2 == 0 ? na : close, 0)",
    "v1": "ta.valuewhen(bar_index % 3 == 0, bar_index % 2 == 0 ? na : close, 1)",
    "v2": "ta.valuewhen(bar_index % 3 == 0, bar_index % 2 == 0 ? na : close, 2)",
    "w0": "ta.valuewhen(bar_index % 3 == 0, close, 0)",
}
#: Titles that are valid Pine but not what was plotted: PyneCore's ``ppp`` script plots
#: both percentiles with percentage 20 under titles saying 30 and 0.
MISLABELLED: dict[str, str] = {
    "ta.percentile_linear_interpolation(close, 20, 30)": "ta.percentile_linear_interpolation(close, 20, 20)",
    "ta.percentile_nearest_rank(close, 20, 0)": "ta.percentile_nearest_rank(close, 20, 20)",
}
#: Columns of the ta__ files the registry does not provide, with the reason. None at
#: present: every column is computed (through the two maps above where needed).
NOT_PROVIDED: dict[str, str] = {}
#: ta__vwap.csv is a CAPITALCOM-style FX chart: sessions open 17:00 New York, which is
#: where ``timeframe.change("240")`` and the daily VWAP reset (21:00 UTC in summer).
FX_SESSION = Session("America/New_York", dt.time(17, 0))
FILE_SESSIONS = {"ta__vwap.csv": FX_SESSION}


@functools.cache
def _bars(path: Path) -> pd.DataFrame:
    return read_bars(path)


def _expression(title: str) -> str:
    return SCRIPT_EXPRESSIONS.get(title) or MISLABELLED.get(title) or title


def _provided(expression: str) -> bool:
    try:
        compile_pine(expression)
    except PineError:
        return False
    return True


def _ta_columns() -> list[tuple[Path, str]]:
    return [(path, column) for path in TA_FILES for column in _bars(path).columns if column not in BAR_COLUMNS]


def _ta_cases() -> list[object]:
    cases = [
        pytest.param(path, column, id=f"{path.stem[4:]}:{column}")
        for path, column in _ta_columns()
        if _provided(_expression(column))
    ]
    return cases or [pytest.param(None, "", marks=pytest.mark.skip(reason=f"no ta__*.csv in {INDICATORS}"))]


def assert_matches(ours: pd.Series, reference: pd.Series, rtol: float | np.ndarray = RTOL, start: int = 0) -> None:
    """Same na positions from ``start`` on, and ``|ours - ref| <= rtol * |ref|``."""
    o = ours.to_numpy(dtype=np.float64)[start:]
    r = reference.to_numpy(dtype=np.float64)[start:]
    na_differs = np.flatnonzero(np.isnan(o) != np.isnan(r)) + start
    assert na_differs.size == 0, f"na positions differ at bars {na_differs[:10].tolist()}"
    both = ~np.isnan(r)
    limit = (rtol if np.isscalar(rtol) else np.asarray(rtol)[start:][both]) * np.abs(r[both])
    error = np.abs(o[both] - r[both])
    bad = np.flatnonzero(error > limit)
    if bad.size:
        at = np.flatnonzero(both)[bad[0]] + start
        worst = float(np.max(error / np.abs(r[both])))
        pytest.fail(f"first mismatch at bar {at}: ours {o[at - start]!r} vs {r[at - start]!r}; worst rel {worst:.3e}")


# --- ta__*.csv: every column, from bar 0 --------------------------------------------------


@pytest.mark.reference_data
@pytest.mark.parametrize(("path", "column"), _ta_cases())
def test_pine_column_when_computed_from_bar_0_matches_tradingview(
    path: Path, column: str, reference_data: Path
) -> None:
    bars = _bars(path)
    expression = compile_pine(_expression(column), FILE_SESSIONS.get(path.name))
    assert_matches(expression(bars).astype(np.float64), bars[column])


@pytest.mark.reference_data
def test_registry_when_column_titles_parsed_rejects_exactly_the_script_variable_titles(reference_data: Path) -> None:
    not_pine = {column for _, column in _ta_columns() if not _provided(column)}
    assert not_pine == set(SCRIPT_EXPRESSIONS)


@pytest.mark.reference_data
def test_registry_when_every_ta_column_mapped_leaves_only_the_documented_columns_unprovided(
    reference_data: Path,
) -> None:
    columns = _ta_columns()
    assert columns, "no ta__*.csv columns found"
    unprovided = {column for _, column in columns if not _provided(_expression(column))}
    assert unprovided == set(NOT_PROVIDED)


@pytest.mark.reference_data
def test_mislabelled_titles_when_evaluated_as_written_do_not_match_tradingview(reference_data: Path) -> None:
    # Guards the MISLABELLED map: the titles really are not what the columns hold.
    bars = _bars(INDICATORS / "ta__ppp.csv")
    for title in MISLABELLED:
        ours = compile_pine(title)(bars).to_numpy()
        with pytest.raises(AssertionError):
            np.testing.assert_allclose(ours, bars[title].to_numpy(), rtol=RTOL)


# --- BINANCE_BTCUSDT_1D.csv: a chart export from the listing day ----------------------

#: The export's anonymous columns, identified by matching values (all exact from bar 0).
BTC_COLUMNS: dict[str, str] = {
    "MA №1": "ta.ema(close, 9)",
    "MA №2": "ta.ema(close, 26)",
    "MA №3": "ta.sma(close, 50)",
    "MA №4": "ta.sma(close, 200)",
    "Volume MA": "ta.sma(volume, 20)",
    "RSI": "ta.rsi(close, 14)",
}


@pytest.mark.reference_data
@pytest.mark.parametrize("column", list(BTC_COLUMNS))
def test_btc_export_column_when_computed_from_listing_day_matches_tradingview(
    column: str, reference_data: Path
) -> None:
    # The last bar (2021-11-28) was still forming when exported: its indicator values
    # were computed at a later tick than its exported close (see the next test), so the
    # comparison stops one bar short.
    bars = _bars(INDICATORS / "BINANCE_BTCUSDT_1D.csv")
    ours = compile_pine(BTC_COLUMNS[column])(bars)
    assert_matches(ours.iloc[:-1], bars[column].iloc[:-1])


@pytest.mark.reference_data
def test_btc_export_money_flow_column_when_computed_matches_chaikin_money_flow_20(reference_data: Path) -> None:
    # "MF" is TradingView's built-in Chaikin Money Flow with its default length 20.
    bars = _bars(INDICATORS / "BINANCE_BTCUSDT_1D.csv")
    ours = tv.cmf(bars["high"], bars["low"], bars["close"], bars["volume"], 20)
    assert_matches(ours.iloc[:-1], bars["MF"].iloc[:-1])


@pytest.mark.reference_data
def test_btc_export_last_bar_when_inverted_from_ema_shows_a_later_close_than_exported(reference_data: Path) -> None:
    bars = _bars(INDICATORS / "BINANCE_BTCUSDT_1D.csv")
    ema = tv.ema(bars["close"], 9)
    implied_close = ema.iloc[-2] + (bars["MA №1"].iloc[-1] - ema.iloc[-2]) / (2 / 10)
    assert implied_close == pytest.approx(54324.38, abs=1e-6)
    assert bars["close"].iloc[-1] == 54324.37


# --- SP_SPX_1D.csv: history before the file, compared after convergence --------------


class SpxColumn(NamedTuple):
    compute: Callable[[pd.DataFrame], pd.Series]
    start: int  # first compared bar
    note: str


def _c(bars: pd.DataFrame) -> pd.Series:
    return bars["close"]


def _hlc(bars: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    return bars["high"], bars["low"], bars["close"]


def _round_root_hma(bars: pd.DataFrame) -> pd.Series:
    close = _c(bars)
    return tv.wma(2 * tv.wma(close, 7) - tv.wma(close, 14), 4)


def _roc_trix(bars: pd.DataFrame) -> pd.Series:
    return tv.roc(tv.ema(tv.ema(tv.ema(_c(bars), 14), 14), 14), 1)


def _accdist_from_file_start(bars: pd.DataFrame) -> pd.Series:
    ours = tv.accdist(*_hlc(bars), bars["volume"])
    return ours + (bars["A/D"].iloc[0] - ours.iloc[0])


#: The SPX export is not TradingView's built-ins at their defaults: it is the
#: oakscriptJS reference script ("OakScript Reference", Pine v6) with one input
#: ``length = 14`` for everything, MACD 12/26/9, and a few formulas of its own; the
#: "Volume MA" column is TradingView's Volume indicator (MA 20). Each entry is the
#: definition found by matching values, and the first compared bar:
#: * windowed indicators: the first full window (they must match from there);
#: * recursive ones: k bars such that an initial-state error, which decays like
#:   ``(1 - alpha) ** k``, is below 1e-12 — EMA(14) alpha 2/15: 194 → 200; RMA(14)
#:   alpha 1/14: 373 → 380 (RSI, DI-, McGinley, whose alpha ≈ 1/length); EMA(26) alpha
#:   2/27: 359 → 360; cascades of EMA(14) (DEMA, TEMA, TRIX) 300.
SPX_COLUMNS: dict[str, SpxColumn] = {
    "SMA": SpxColumn(lambda b: tv.sma(_c(b), 14), 13, "ta.sma(close, 14)"),
    "EMA": SpxColumn(lambda b: tv.ema(_c(b), 14), 200, "ta.ema(close, 14)"),
    "WMA": SpxColumn(lambda b: tv.wma(_c(b), 14), 13, "ta.wma(close, 14)"),
    "VWMA": SpxColumn(lambda b: tv.vwma(_c(b), b["volume"], 14), 13, "ta.vwma(close, 14)"),
    "RMA": SpxColumn(lambda b: tv.rma(_c(b), 14), 380, "ta.rma(close, 14)"),
    "DEMA": SpxColumn(lambda b: tv.dema(_c(b), 14), 300, "2 * e1 - ema(e1, 14)"),
    "TEMA": SpxColumn(lambda b: tv.tema(_c(b), 14), 300, "3 * (e1 - e2) + e3"),
    "HMA": SpxColumn(_round_root_hma, 16, "script's Hull: wma(2 wma(7) - wma(14), round(sqrt 14) = 4), not ta.hma"),
    "LSMA": SpxColumn(lambda b: tv.linreg(_c(b), 14, 0), 13, "ta.linreg(close, 14, 0)"),
    "McGinley": SpxColumn(lambda b: tv.mcginley(_c(b), 14), 380, "McGinley Dynamic(14)"),
    "ALMA": SpxColumn(lambda b: tv.alma(_c(b), 14, 0.85, 6), 13, "ta.alma(close, 14, 0.85, 6)"),
    "BB Basis": SpxColumn(lambda b: tv.bb(_c(b), 14, 2).basis, 13, "ta.sma(close, 14)"),
    "BB Upper": SpxColumn(lambda b: tv.bb(_c(b), 14, 2).upper, 13, "basis + 2 * ta.stdev(close, 14)"),
    "BB Lower": SpxColumn(lambda b: tv.bb(_c(b), 14, 2).lower, 13, "basis - 2 * ta.stdev(close, 14)"),
    "Volume MA": SpxColumn(lambda b: tv.sma(b["volume"], 20), 19, "Volume indicator's ta.sma(volume, 20)"),
    "RSI": SpxColumn(lambda b: tv.rsi(_c(b), 14), 380, "ta.rsi(close, 14)"),
    "Stoch %K": SpxColumn(lambda b: tv.stoch(_c(b), b["high"], b["low"], 14), 13, "ta.stoch(close, high, low, 14)"),
    "MACD": SpxColumn(lambda b: tv.macd(_c(b), 12, 26, 9).macd, 360, "the MACD line (not the histogram)"),
    "CCI": SpxColumn(lambda b: tv.cci(sources.hlc3(b), 14), 13, "ta.cci(hlc3, 14)"),
    "Accelerator Osc": SpxColumn(
        lambda b: tv.accelerator_oscillator(b["high"], b["low"]), 37, "AO(5, 34) - sma(AO, 5)"
    ),
    "Ultimate Osc": SpxColumn(lambda b: tv.ultimate_oscillator(*_hlc(b)), 28, "UO(7, 14, 28)"),
    "DI-": SpxColumn(lambda b: tv.dmi(*_hlc(b), 14, 14).minus, 380, "ta.dmi(14, 14) -DI"),
    "Aroon Down": SpxColumn(lambda b: tv.aroon(b["high"], b["low"], 14).down, 14, "Aroon(14) down"),
    "StdDev": SpxColumn(lambda b: tv.stdev(_c(b), 14), 13, "ta.stdev(close, 14) — tolerance below"),
    "Hist Vol": SpxColumn(
        lambda b: tv.historical_volatility(_c(b), 14, periods_per_year=252), 14, "100·stdev(log ret, 14)·√252"
    ),
    "A/D": SpxColumn(_accdist_from_file_start, 0, "ta.accdist, offset by the A/D accumulated before the file"),
    "CMF": SpxColumn(lambda b: tv.cmf(*_hlc(b), b["volume"], 14), 13, "Chaikin Money Flow(14)"),
    "Force Index": SpxColumn(lambda b: tv.efi(_c(b), b["volume"], 14), 200, "ta.ema(change(close) * volume, 14)"),
    "Coppock": SpxColumn(lambda b: tv.coppock(_c(b), 10, 14, 11), 23, "wma(roc(14) + roc(11), 10)"),
    "TRIX": SpxColumn(_roc_trix, 300, "script's TRIX: ta.roc(e3, 1), not the built-in's 10000·change(e3 of log)"),
}
#: Columns of the SPX export not compared, with the reason.
SPX_NOT_COMPARED: dict[str, str] = {
    "SuperTrend": "the script's own ratchet (max/min of the band and the previous value, direction from close"
    " vs that line), not ta.supertrend",
}


def _stdev_tolerance(bars: pd.DataFrame) -> np.ndarray:
    # TradingView's rolling sums carry compensation state (and rebuild points) from bars
    # before the export's first bar; ours start at bar 0, so Σx² can differ by a few ulps
    # (33 measured). The one-pass variance E[x²] - E[x]² amplifies that by
    # κ = E[x²] / Var(x) (up to 6.6e5 on SPX), so the bound is 64·ε·κ per bar (≈ 2 ×
    # the worst measured), never below RTOL. Only StdDev exceeds 1e-9 (1.0e-9 at one bar).
    close = _c(bars)
    kappa = (tv.sma(close * close, 14) / tv.variance(close, 14)).to_numpy()
    return np.maximum(RTOL, 64 * np.finfo(np.float64).eps * np.nan_to_num(kappa, nan=0.0))


@pytest.mark.reference_data
@pytest.mark.parametrize("column", list(SPX_COLUMNS))
def test_spx_export_column_when_converged_matches_tradingview(column: str, reference_data: Path) -> None:
    bars = _bars(INDICATORS / "SP_SPX_1D.csv")
    spec = SPX_COLUMNS[column]
    rtol = _stdev_tolerance(bars) if column == "StdDev" else RTOL
    assert_matches(spec.compute(bars), bars[column], rtol=rtol, start=spec.start)


@pytest.mark.reference_data
def test_spx_export_when_columns_listed_are_all_compared_or_documented(reference_data: Path) -> None:
    bars = _bars(INDICATORS / "SP_SPX_1D.csv")
    indicator_columns = set(bars.columns) - set(BAR_COLUMNS)
    assert indicator_columns == set(SPX_COLUMNS) | set(SPX_NOT_COMPARED)
    assert len(indicator_columns) == 31


@pytest.mark.reference_data
def test_spx_recursive_column_when_compared_before_convergence_differs(reference_data: Path) -> None:
    # Guards the windows above: right after the seed the history before the file shows.
    bars = _bars(INDICATORS / "SP_SPX_1D.csv")
    with pytest.raises(pytest.fail.Exception):
        assert_matches(tv.rsi(_c(bars), 14), bars["RSI"], start=14)


# --- properties on synthetic bars (no reference data needed) -------------------------


def synthetic_bars(n: int = 600, seed: int = 11) -> pd.DataFrame:
    """A random walk with consistent OHLC and integer-valued volume, hourly, UTC."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-03-01", periods=n, freq="1h", tz="UTC", name="open_time").as_unit("ns")
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = rng.uniform(0.1, 1.5, (2, n))
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread[0],
            "low": np.minimum(open_, close) - spread[1],
            "close": close,
            "volume": rng.integers(1, 1000, n).astype(np.float64),
        },
        index=index,
    )


#: One expression per registry name (and both overloads where there are two).
CAUSALITY_CASES = [
    "ta.sma(close, 10)",
    "ta.ema(hl2, 10)",
    "ta.rma(close, 7)",
    "ta.wma(close, 9)",
    "ta.hma(close, 9)",
    "ta.swma(close)",
    "ta.vwma(close, 10)",
    "ta.alma(close, 9, 0.85, 6, true)",
    "ta.linreg(close, 10, 2)",
    "ta.dev(close, 10)",
    "ta.median(close, 10)",
    "ta.mode(close, 10)",
    "ta.percentrank(close, 10)",
    "ta.rci(close, 10)",
    "ta.range(close, 10)",
    "math.sum(close, 10)",
    "ta.stdev(close, 10)",
    "ta.variance(close, 10, biased=false)",
    "ta.percentile_linear_interpolation(close, 10, 30)",
    "ta.percentile_nearest_rank(close, 10, 30)",
    "ta.cum(volume)",
    "ta.max(high)",
    "ta.min(low)",
    "ta.correlation(close, volume, 10)",
    "ta.highest(10)",
    "ta.lowest(close, 10)",
    "ta.highestbars(close, 10)",
    "ta.lowestbars(10)",
    "ta.pivothigh(3, 2)",
    "ta.pivotlow(close, 3, 2)",
    "ta.rsi(close, 14)",
    "ta.cci(hlc3, 14)",
    "ta.roc(close, 5)",
    "ta.mom(close, 5)",
    "ta.cog(close, 10)",
    "ta.cmo(close, 9)",
    "ta.change(close)",
    "ta.stoch(close, high, low, 14)",
    "ta.macd(close, 12, 26, 9).hist",
    "ta.tsi(close, 5, 13)",
    "ta.mfi(hlc3, 14)",
    "ta.wpr(14)",
    "ta.tr",
    "ta.atr(14)",
    "ta.bb(close, 20, 2).upper",
    "ta.bbw(close, 20, 2)",
    "ta.kc(close, 20, 2).lower",
    "ta.kcw(close, 20, 2, false)",
    "ta.dmi(14, 14).adx",
    "ta.supertrend(3, 10).direction",
    "ta.sar(0.02, 0.02, 0.2)",
    "ta.accdist",
    "ta.iii",
    "ta.wad",
    "ta.wvad",
    "ta.obv",
    "ta.pvt",
    "ta.nvi",
    "ta.pvi",
    "ta.vwap",
    'ta.vwap(close, timeframe.change("240"), 1).upper_band',
    "ta.cross(close, ta.sma(close, 10))",
    "ta.crossover(ta.ema(close, 5), ta.ema(close, 11))",
    "ta.crossunder(close, 100)",
    "ta.rising(close, 3)",
    "ta.falling(close, 3)",
    "ta.valuewhen(ta.cross(close, ta.sma(close, 10)), close, 1)",
    "ta.barssince(ta.crossunder(close, ta.sma(close, 10)))",
    "nz(close[1], -1)",
    "na(close[1]) ? 1 : 0",
    "math.max(open, close) - math.min(open, close)",
    "math.abs(math.log(close / open)) * math.sign(close - open) + math.sqrt(volume)",
]


@pytest.mark.parametrize("text", CAUSALITY_CASES)
def test_pine_expression_when_future_bars_removed_keeps_past_values(text: str) -> None:
    bars = synthetic_bars()
    expression = compile_pine(text)
    full = expression(bars)
    for cut in (40, 201, 433):
        pd.testing.assert_series_equal(expression(bars.iloc[:cut]), full.iloc[:cut])


@pytest.mark.parametrize("n", [0, 5])
def test_pine_expression_when_fewer_bars_than_its_window_returns_a_series_of_that_length(n: int) -> None:
    bars = synthetic_bars(n)
    for text in CAUSALITY_CASES:
        result = compile_pine(text)(bars)
        assert result.index.equals(bars.index), text


def test_causality_cases_when_listed_cover_every_registry_name() -> None:
    used = set().union(*(names_used(parse(text)) for text in CAUSALITY_CASES))
    assert set(REGISTRY) - used == set()


def test_ema_when_source_has_leading_na_starts_after_them() -> None:
    values = pd.Series([np.nan] * 5 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    out = tv.ema(values, 3)
    assert out.iloc[:7].isna().all()
    assert out.iloc[7] == 2.0  # the SMA seed of 1, 2, 3
    assert out.iloc[8] == 2.0 + 0.5 * (4.0 - 2.0)


def test_ema_when_source_has_na_inside_skips_that_bar_and_keeps_its_state() -> None:
    with_gap = pd.Series([1.0, 2.0, 3.0, np.nan, 4.0, 5.0])
    out = tv.ema(with_gap, 3)
    assert np.isnan(out.iloc[3])
    assert out.iloc[4] == tv.ema(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), 3).iloc[3]


def test_sma_when_window_holds_an_na_averages_the_last_length_values() -> None:
    out = tv.sma(pd.Series([1.0, 2.0, np.nan, 3.0, 4.0]), 3)
    assert out.iloc[3] == 2.0
    assert out.iloc[4] == 3.0


def test_macd_signal_when_line_warms_up_starts_after_both_windows() -> None:
    result = tv.macd(synthetic_bars()["close"], 12, 26, 9)
    assert result.macd.first_valid_index() == result.macd.index[25]
    assert result.signal.first_valid_index() == result.signal.index[25 + 8]


def test_supertrend_when_trend_is_up_reports_direction_minus_one_with_the_line_below_close() -> None:
    bars = synthetic_bars()
    result = tv.supertrend(bars["high"], bars["low"], bars["close"], 3, 10)
    up = result.direction == -1
    assert up.any() and (result.direction[~up].iloc[1:] == 1).all()
    assert (result.supertrend[up] <= bars["close"][up]).all()
    assert (result.supertrend[~up].iloc[10:] >= bars["close"][~up].iloc[10:]).all()


def test_timeframe_change_when_four_hour_periods_start_is_true_on_their_first_bar_but_not_bar_0() -> None:
    bars = synthetic_bars(24)
    flags = compile_pine('timeframe.change("240")')(bars)
    assert flags.to_numpy().nonzero()[0].tolist() == [4, 8, 12, 16, 20]


def test_timeframe_change_when_session_opens_in_the_evening_starts_days_there() -> None:
    index = pd.date_range("2024-04-01 19:00", periods=6, freq="1h", tz="UTC")
    flags = timeframe_change(index, "D", FX_SESSION)
    assert flags.to_numpy().nonzero()[0].tolist() == [2]  # 21:00 UTC = 17:00 New York (EDT)


def test_timeframe_change_when_new_york_leaves_daylight_saving_moves_the_day_start_to_22_utc() -> None:
    index = pd.date_range("2024-11-01 12:00", "2024-11-05 12:00", freq="1h", tz="UTC")
    flags = timeframe_change(index, "D", FX_SESSION)
    starts = [t.strftime("%m-%d %H:%M") for t in index[flags.to_numpy()]]
    assert starts == ["11-01 21:00", "11-02 21:00", "11-03 22:00", "11-04 22:00"]


def test_compile_pine_when_keyword_argument_given_binds_it_by_name() -> None:
    bars = synthetic_bars()
    ours = compile_pine("ta.stdev(close, 10, biased=false)")(bars)
    pd.testing.assert_series_equal(ours, tv.stdev(bars["close"], 10, biased=False).rename(ours.name))


def test_compile_pine_when_the_length_only_overload_is_used_reads_the_high() -> None:
    bars = synthetic_bars()
    ours = compile_pine("ta.highest(10)")(bars)
    pd.testing.assert_series_equal(ours, tv.highest(bars["high"], 10).rename(ours.name))


def test_compile_pine_when_condition_combines_calls_returns_a_bool_series_on_the_bars_index() -> None:
    bars = synthetic_bars()
    ours = compile_pine("close > ta.sma(close, 20) and not (ta.rsi(close, 14) >= 70)")(bars)
    expected = (bars["close"] > tv.sma(bars["close"], 20)) & ~(tv.rsi(bars["close"], 14) >= 70)
    assert ours.dtype == bool
    assert ours.index.equals(bars.index)
    assert (ours == expected).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ta.nosuch(close, 3)", "ta.nosuch"),
        ("ta.sma(close)", "does not take these arguments"),
        ("ta.macd(close, 12, 26, 9)", "select one of its fields"),
        ("ta.macd(close, 12, 26, 9).nosuch", "has no field 'nosuch'"),
        ("ta.sma(close, 2.5)", "integer"),
    ],
)
def test_compile_pine_when_expression_is_wrong_raises_pine_error_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(PineError, match=message):
        compile_pine(text)(synthetic_bars(50))


@pytest.mark.parametrize("text", ["ta.sma(close, 10", "close +", "ta.sma(close, length=10, 3)", "close $ 2"])
def test_parse_when_text_is_not_an_expression_raises_a_syntax_error(text: str) -> None:
    with pytest.raises(PineSyntaxError):
        compile_pine(text)


# --- built-ins without a TradingView capture: their documented definitions -------------


def test_trix_when_computed_is_10000_times_the_change_of_the_triple_ema_of_log_close() -> None:
    close = synthetic_bars()["close"]
    logs = np.log(close)
    expected = 10000 * tv.change(tv.ema(tv.ema(tv.ema(logs, 18), 18), 18))
    pd.testing.assert_series_equal(tv.trix(close), expected)
    assert tv.trix(close).first_valid_index() == close.index[3 * 17 + 1]


def test_ppo_when_defaults_used_is_tradingviews_10_21_sma_price_oscillator() -> None:
    close = synthetic_bars()["close"]
    slow = tv.sma(close, 21)
    expected = 100 * (tv.sma(close, 10) - slow) / slow
    pd.testing.assert_series_equal(tv.ppo(close).ppo, expected)


def test_bollinger_percent_b_when_computed_is_the_position_of_the_source_between_the_bands() -> None:
    close = synthetic_bars()["close"]
    bands = tv.bb(close, 20, 2)
    expected = (close - bands.lower) / (bands.upper - bands.lower)
    pd.testing.assert_series_equal(tv.bollinger_percent_b(close, 20, 2), expected)


def test_stochastic_builtin_when_defaults_used_is_raw_k_and_its_3_bar_sma() -> None:
    bars = synthetic_bars()
    result = tv.stochastic(bars["high"], bars["low"], bars["close"])
    raw = tv.stoch(bars["close"], bars["high"], bars["low"], 14)
    pd.testing.assert_series_equal(result.k, raw)
    pd.testing.assert_series_equal(result.d, tv.sma(raw, 3))


def test_awesome_oscillator_when_computed_is_sma5_minus_sma34_of_hl2() -> None:
    bars = synthetic_bars()
    hl2 = sources.hl2(bars)
    expected = tv.sma(hl2, 5) - tv.sma(hl2, 34)
    pd.testing.assert_series_equal(tv.awesome_oscillator(bars["high"], bars["low"]), expected.rename(None))
