"""TA-Lib wrappers against TA-Lib itself: same numbers as a direct ``talib`` call, on
the input's index, with the behaviour the wrappers add (dtype coercion, named outputs,
``ignore_na``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import talib

from quantbridge.research.indicators import talib_ as ta


def synthetic_bars(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="15min", tz="UTC", name="open_time").as_unit("ns")
    close = 50 + np.cumsum(rng.normal(0, 0.5, n))
    open_ = np.concatenate([[50.0], close[:-1]])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + rng.uniform(0.05, 0.6, n),
            "low": np.minimum(open_, close) - rng.uniform(0.05, 0.6, n),
            "close": close,
            "volume": rng.integers(1, 500, n).astype(np.float64),
        },
        index=index,
    )


BARS = synthetic_bars()
H, L, C, V = (BARS[c].to_numpy() for c in ("high", "low", "close", "volume"))

#: wrapper call and the direct TA-Lib call it must reproduce (single output)
SINGLE: dict[str, tuple[Callable[[], pd.Series], Callable[[], np.ndarray]]] = {
    "sma": (lambda: ta.sma(BARS["close"], 20), lambda: talib.SMA(C, 20)),
    "ema": (lambda: ta.ema(BARS["close"], 20), lambda: talib.EMA(C, 20)),
    "wma": (lambda: ta.wma(BARS["close"], 9), lambda: talib.WMA(C, 9)),
    "dema": (lambda: ta.dema(BARS["close"], 9), lambda: talib.DEMA(C, 9)),
    "tema": (lambda: ta.tema(BARS["close"], 9), lambda: talib.TEMA(C, 9)),
    "trima": (lambda: ta.trima(BARS["close"], 9), lambda: talib.TRIMA(C, 9)),
    "kama": (lambda: ta.kama(BARS["close"], 10), lambda: talib.KAMA(C, 10)),
    "rsi": (lambda: ta.rsi(BARS["close"], 14), lambda: talib.RSI(C, 14)),
    "cmo": (lambda: ta.cmo(BARS["close"], 14), lambda: talib.CMO(C, 14)),
    "roc": (lambda: ta.roc(BARS["close"], 10), lambda: talib.ROC(C, 10)),
    "mom": (lambda: ta.mom(BARS["close"], 10), lambda: talib.MOM(C, 10)),
    "trix": (lambda: ta.trix(BARS["close"], 18), lambda: talib.TRIX(C, 18)),
    "linearreg": (lambda: ta.linearreg(BARS["close"], 14), lambda: talib.LINEARREG(C, 14)),
    "stddev": (lambda: ta.stddev(BARS["close"], 20, 2.0), lambda: talib.STDDEV(C, 20, 2.0)),
    "ppo": (lambda: ta.ppo(BARS["close"], 12, 26, 1), lambda: talib.PPO(C, 12, 26, 1)),
    "trange": (lambda: ta.trange(BARS["high"], BARS["low"], BARS["close"]), lambda: talib.TRANGE(H, L, C)),
    "atr": (lambda: ta.atr(BARS["high"], BARS["low"], BARS["close"], 14), lambda: talib.ATR(H, L, C, 14)),
    "natr": (lambda: ta.natr(BARS["high"], BARS["low"], BARS["close"], 14), lambda: talib.NATR(H, L, C, 14)),
    "adx": (lambda: ta.adx(BARS["high"], BARS["low"], BARS["close"], 14), lambda: talib.ADX(H, L, C, 14)),
    "plus_di": (lambda: ta.plus_di(BARS["high"], BARS["low"], BARS["close"]), lambda: talib.PLUS_DI(H, L, C)),
    "minus_di": (lambda: ta.minus_di(BARS["high"], BARS["low"], BARS["close"]), lambda: talib.MINUS_DI(H, L, C)),
    "cci": (lambda: ta.cci(BARS["high"], BARS["low"], BARS["close"], 20), lambda: talib.CCI(H, L, C, 20)),
    "willr": (lambda: ta.willr(BARS["high"], BARS["low"], BARS["close"]), lambda: talib.WILLR(H, L, C)),
    "ultosc": (lambda: ta.ultosc(BARS["high"], BARS["low"], BARS["close"]), lambda: talib.ULTOSC(H, L, C)),
    "sar": (lambda: ta.sar(BARS["high"], BARS["low"], 0.02, 0.2), lambda: talib.SAR(H, L, 0.02, 0.2)),
    "mfi": (
        lambda: ta.mfi(BARS["high"], BARS["low"], BARS["close"], BARS["volume"], 14),
        lambda: talib.MFI(H, L, C, V, 14),
    ),
    "obv": (lambda: ta.obv(BARS["close"], BARS["volume"]), lambda: talib.OBV(C, V)),
    "ad": (lambda: ta.ad(BARS["high"], BARS["low"], BARS["close"], BARS["volume"]), lambda: talib.AD(H, L, C, V)),
    "adosc": (
        lambda: ta.adosc(BARS["high"], BARS["low"], BARS["close"], BARS["volume"]),
        lambda: talib.ADOSC(H, L, C, V),
    ),
}


@pytest.mark.parametrize("name", list(SINGLE))
def test_wrapper_when_called_equals_direct_talib_on_the_input_index(name: str) -> None:
    ours, direct = SINGLE[name]
    result = ours()
    assert isinstance(result, pd.Series)
    assert result.index.equals(BARS.index)
    np.testing.assert_array_equal(result.to_numpy(), direct())


def test_wrapper_when_ints_are_given_computes_what_talib_computes_on_floats() -> None:
    volume = BARS["volume"].astype(np.int64)
    with pytest.raises(Exception, match="double"):
        talib.OBV(C, volume.to_numpy())  # TA-Lib itself refuses int arrays
    np.testing.assert_array_equal(ta.obv(BARS["close"], volume).to_numpy(), talib.OBV(C, V))


def test_macd_when_called_names_talib_outputs_macd_signal_hist() -> None:
    result = ta.macd(BARS["close"], 12, 26, 9)
    for ours, direct in zip(result, talib.MACD(C, 12, 26, 9), strict=True):
        np.testing.assert_array_equal(ours.to_numpy(), direct)
    assert result._fields == ("macd", "signal", "hist")


def test_bbands_when_called_names_talib_outputs_upper_middle_lower() -> None:
    result = ta.bbands(BARS["close"], 20, 2.0, 2.0)
    for ours, direct in zip(result, talib.BBANDS(C, 20, 2.0, 2.0), strict=True):
        np.testing.assert_array_equal(ours.to_numpy(), direct)
    assert result.middle.index.equals(BARS.index)


def test_stoch_when_called_names_talib_outputs_slowk_slowd() -> None:
    result = ta.stoch(BARS["high"], BARS["low"], BARS["close"], 14, 3, 3)
    for ours, direct in zip(result, talib.STOCH(H, L, C, 14, 3, 0, 3, 0), strict=True):
        np.testing.assert_array_equal(ours.to_numpy(), direct)


def test_aroon_when_called_names_talib_outputs_down_up() -> None:
    result = ta.aroon(BARS["high"], BARS["low"], 14)
    down, up = talib.AROON(H, L, 14)
    np.testing.assert_array_equal(result.down.to_numpy(), down)
    np.testing.assert_array_equal(result.up.to_numpy(), up)


def _with_gap(series: pd.Series, at: int) -> pd.Series:
    gapped = series.copy()
    gapped.iloc[at] = np.nan
    return gapped


def test_ema_when_na_inside_and_not_ignored_is_poisoned_like_talib() -> None:
    gapped = _with_gap(BARS["close"], 100)
    result = ta.ema(gapped, 10)
    np.testing.assert_array_equal(result.to_numpy(), talib.EMA(gapped.to_numpy(), 10))
    assert result.iloc[100:].isna().all()


def test_ema_when_na_inside_and_ignored_computes_on_the_defined_bars() -> None:
    gapped = _with_gap(BARS["close"], 100)
    result = ta.ema(gapped, 10, ignore_na=True)
    compact = talib.EMA(gapped.dropna().to_numpy(), 10)
    assert np.isnan(result.iloc[100])
    np.testing.assert_array_equal(result.drop(result.index[100]).to_numpy(), compact)


def test_atr_when_na_in_one_input_and_ignored_skips_the_bar_for_all_inputs() -> None:
    high = _with_gap(BARS["high"], 50)
    result = ta.atr(high, BARS["low"], BARS["close"], 14, ignore_na=True)
    keep = high.notna().to_numpy()
    compact = talib.ATR(H[keep], L[keep], C[keep], 14)
    assert np.isnan(result.iloc[50])
    np.testing.assert_array_equal(result.to_numpy()[keep], compact)


def test_macd_when_ignoring_na_places_every_output_back_on_the_defined_bars() -> None:
    gapped = _with_gap(BARS["close"], 200)
    result = ta.macd(gapped, ignore_na=True)
    compact = talib.MACD(gapped.dropna().to_numpy())
    for ours, direct in zip(result, compact, strict=True):
        assert np.isnan(ours.iloc[200])
        np.testing.assert_array_equal(ours.drop(ours.index[200]).to_numpy(), direct)
