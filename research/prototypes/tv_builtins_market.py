"""TradingView's built-in strategies that trade market orders: RSI, MACD, Supertrend,
BarUpDn. Each reproduces the built-in script's logic with its default inputs; the
``SPEC`` carries the built-in's default strategy properties as its ExecutionModel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import ExecutionModel, SizingType

from ..indicators import tradingview as ta
from ..registry import Param, PrototypeSpec
from ..signals import Signals

__all__ = ["BARUPDN", "MACD", "RSI", "SUPERTREND"]


def _index(bars: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(bars.index)


def rsi_strategy(bars: pd.DataFrame, length: int = 14, oversold: float = 30, overbought: float = 70) -> Signals:
    """ "RSI Strategy": long when RSI crosses above ``oversold``, short when it crosses
    below ``overbought`` (entries only while the RSI is defined)."""
    rsi = ta.rsi(bars["close"], length)
    defined = rsi.notna().to_numpy()
    return Signals.build(
        _index(bars),
        long_entry=ta.crossover(rsi, oversold).to_numpy() & defined,
        short_entry=ta.crossunder(rsi, overbought).to_numpy() & defined,
        long_name="RsiLE",
        short_name="RsiSE",
        indicators={"rsi": rsi},
    )


def macd_strategy(bars: pd.DataFrame, fast: int = 12, slow: int = 26, signal: int = 9) -> Signals:
    """ "MACD Strategy": ``delta = (ema(fast) − ema(slow)) − ema(macd, signal)``; long when
    delta crosses above 0, short when it crosses below."""
    macd = ta.ema(bars["close"], fast) - ta.ema(bars["close"], slow)
    delta = macd - ta.ema(macd, signal)
    return Signals.build(
        _index(bars),
        long_entry=ta.crossover(delta, 0.0).to_numpy(),
        short_entry=ta.crossunder(delta, 0.0).to_numpy(),
        long_name="MacdLE",
        short_name="MacdSE",
        indicators={"macd": macd, "delta": delta},
    )


def supertrend_strategy(bars: pd.DataFrame, atr_period: int = 10, factor: float = 3.0) -> Signals:
    """ "Supertrend Strategy": long when ``ta.supertrend``'s direction turns down (−1,
    Pine's up-trend), short when it turns up."""
    trend = ta.supertrend(bars["high"], bars["low"], bars["close"], factor, atr_period)
    change = trend.direction.diff().to_numpy()
    with np.errstate(invalid="ignore"):
        return Signals.build(
            _index(bars),
            long_entry=change < 0,
            short_entry=change > 0,
            long_name="My Long Entry Id",
            short_name="My Short Entry Id",
            indicators={"supertrend": trend.supertrend, "direction": trend.direction},
        )


def barupdn_strategy(bars: pd.DataFrame) -> Signals:
    """ "BarUpDn Strategy": long after an up bar that opened above the previous close,
    short after a down bar that opened below it. (The built-in's 1% max intraday loss is
    an ExecutionModel setting, see SPEC.)"""
    o, c = bars["open"].to_numpy(), bars["close"].to_numpy()
    prev_close = np.concatenate([[np.nan], c[:-1]])
    with np.errstate(invalid="ignore"):
        return Signals.build(
            _index(bars),
            long_entry=(c > o) & (o > prev_close),
            short_entry=(c < o) & (o < prev_close),
            long_name="BarUp",
            short_name="BarDn",
        )


_TV = ExecutionModel()  # TradingView's default strategy properties: 1 contract, 1,000,000 capital

RSI = PrototypeSpec(
    name="tv_rsi",
    function=rsi_strategy,
    description='TradingView built-in "RSI Strategy" (RSI crosses 30/70, always in the market).',
    params=(
        Param("length", 14, low=2, high=500),
        Param("oversold", 30.0, low=0, high=100),
        Param("overbought", 70.0, low=0, high=100),
    ),
    model=_TV,
    # measured by validation.warmup on BTC 1h: RSI(14) agrees to 1e-6 after 181 bars
    lookback=lambda p: 15 * int(p["length"]),
)

MACD = PrototypeSpec(
    name="tv_macd",
    function=macd_strategy,
    description='TradingView built-in "MACD Strategy" (MACD histogram crosses zero).',
    params=(
        Param("fast", 12, low=2, high=500),
        Param("slow", 26, low=3, high=1000),
        Param("signal", 9, low=2, high=500),
    ),
    model=_TV,
    lookback=lambda p: 10 * (int(p["slow"]) + int(p["signal"])),
)

SUPERTREND = PrototypeSpec(
    name="tv_supertrend",
    function=supertrend_strategy,
    description='TradingView built-in "Supertrend Strategy" (15% of equity per trade).',
    params=(Param("atr_period", 10, low=1, high=500), Param("factor", 3.0, low=0.1, high=50)),
    model=ExecutionModel(sizing=SizingType.PERCENT_OF_EQUITY, size=15),
    lookback=lambda p: 12 * int(p["atr_period"]),  # measured: ATR(10) supertrend needs 105 bars
)

BARUPDN = PrototypeSpec(
    name="tv_barupdn",
    function=barupdn_strategy,
    description='TradingView built-in "BarUpDn Strategy" (10% of equity, 1% max intraday loss).',
    params=(),
    model=ExecutionModel(sizing=SizingType.PERCENT_OF_EQUITY, size=10, max_intraday_loss_pct=1.0),
    lookback=lambda _: 2,
)
