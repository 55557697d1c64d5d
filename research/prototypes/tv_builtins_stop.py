"""TradingView's built-in strategies that enter with stop orders: Bollinger Bands,
Keltner Channels, ChannelBreakOut. Each reproduces the built-in script with its default
inputs. ``mintick`` is Pine's ``syminfo.mintick``; 0 infers it from the prices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantbridge.datasets.execution import ExecutionModel
from quantbridge.datasets.instruments import infer_tick_size

from ..indicators import tradingview as ta
from ..registry import Param, PrototypeSpec
from ..signals import Signals

__all__ = ["BOLLINGER", "CHANNEL_BREAKOUT", "KELTNER"]


def _tick(bars: pd.DataFrame, mintick: float) -> float:
    return mintick if mintick > 0 else infer_tick_size(bars)


def bollinger_strategy(bars: pd.DataFrame, length: int = 20, mult: float = 2.0) -> Signals:
    """ "Bollinger Bands Strategy": when the close crosses above the lower band, a buy stop
    at the lower band for the next bar (else the order is cancelled); when it crosses
    below the upper band, a sell stop at the upper band."""
    close = bars["close"]
    basis = ta.sma(close, length)
    dev = mult * ta.stdev(close, length)
    upper, lower = basis + dev, basis - dev
    long_entry = ta.crossover(close, lower).to_numpy()
    short_entry = ta.crossunder(close, upper).to_numpy()
    return Signals.build(
        pd.DatetimeIndex(bars.index),
        long_entry=long_entry,
        long_entry_stop=np.where(long_entry, lower.to_numpy(), np.nan),
        short_entry=short_entry,
        short_entry_stop=np.where(short_entry, upper.to_numpy(), np.nan),
        long_name="BBandLE",
        short_name="BBandSE",
        indicators={"basis": basis, "upper": upper, "lower": lower},
    )


def _working_order(placed: np.ndarray, cancelled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pine's persistent order: placed on ``placed`` bars, cancelled on ``cancelled`` bars
    (a cancel and a new placement on one bar leave the new order). Returns (working after
    bar i, bar that placed it)."""
    n = len(placed)
    working = np.zeros(n, dtype=bool)
    origin = np.arange(n, dtype=np.int64)
    for i in range(n):
        if placed[i]:
            working[i] = True
        elif i > 0 and working[i - 1] and not cancelled[i]:
            working[i], origin[i] = True, origin[i - 1]
    return working, origin


def keltner_strategy(
    bars: pd.DataFrame,
    length: int = 20,
    mult: float = 2.0,
    use_exp: bool = True,
    bands_style: str = "Average True Range",
    atr_length: int = 10,
    mintick: float = 0.0,
) -> Signals:
    """ "Keltner Channels Strategy": when the close crosses above the upper band, a buy
    stop one tick above that bar's high works until the close falls below the average or
    the high reaches the stop; short side mirrored."""
    close, high, low = bars["close"], bars["high"], bars["low"]
    ma = ta.ema(close, length) if use_exp else ta.sma(close, length)
    if bands_style == "True Range":
        band = ta.tr(high, low, close, handle_na=True)
    elif bands_style == "Average True Range":
        band = ta.atr(high, low, close, atr_length)
    else:
        band = ta.rma(high - low, length)
    upper, lower = ma + band * mult, ma - band * mult
    tick = _tick(bars, mintick)
    cross_up = ta.crossover(close, upper).to_numpy()
    cross_down = ta.crossunder(close, lower).to_numpy()
    buy_price = pd.Series(np.where(cross_up, high + tick, np.nan), index=bars.index).ffill().fillna(0.0).to_numpy()
    sell_price = pd.Series(np.where(cross_down, low - tick, np.nan), index=bars.index).ffill().fillna(0.0).to_numpy()
    with np.errstate(invalid="ignore"):
        cancel_buy = np.maximum.accumulate(cross_up) & ((close < ma).to_numpy() | (high.to_numpy() >= buy_price))
        cancel_sell = np.maximum.accumulate(cross_down) & ((close > ma).to_numpy() | (low.to_numpy() <= sell_price))
    long_entry, long_from = _working_order(cross_up, cancel_buy)
    short_entry, short_from = _working_order(cross_down, cancel_sell)
    return Signals.build(
        pd.DatetimeIndex(bars.index),
        long_entry=long_entry,
        long_entry_stop=np.where(long_entry, buy_price, np.nan),
        long_entry_from=long_from,
        short_entry=short_entry,
        short_entry_stop=np.where(short_entry, sell_price, np.nan),
        short_entry_from=short_from,
        long_name="KltChLE",
        short_name="KltChSE",
        indicators={"ma": ma, "upper": upper, "lower": lower},
    )


def channel_breakout_strategy(bars: pd.DataFrame, length: int = 5, mintick: float = 0.0) -> Signals:
    """ "ChannelBreakOutStrategy": every bar, a buy stop one tick above the highest high of
    ``length`` bars (once ``length`` bars of history exist) and a sell stop one tick
    below the lowest low. The built-in places the sell order unconditionally, so while
    the lowest low is still na (the first ``length − 1`` bars) Pine makes it a *market*
    order — a NaN stop here means the same."""
    tick = _tick(bars, mintick)
    up_bound = ta.highest(bars["high"], length).to_numpy()
    down_bound = ta.lowest(bars["low"], length).to_numpy()
    history = np.arange(len(bars)) >= length
    long_entry = history & np.isfinite(up_bound)
    short_entry = np.ones(len(bars), dtype=bool)
    return Signals.build(
        pd.DatetimeIndex(bars.index),
        long_entry=long_entry,
        long_entry_stop=np.where(long_entry, up_bound + tick, np.nan),
        short_entry=short_entry,
        short_entry_stop=np.where(short_entry, down_bound - tick, np.nan),
        long_name="ChBrkLE",
        short_name="ChBrkSE",
    )


_TICK = Param("mintick", 0.0, low=0.0, help="syminfo.mintick; 0 infers it from the prices")

BOLLINGER = PrototypeSpec(
    name="tv_bollinger",
    function=bollinger_strategy,
    description='TradingView built-in "Bollinger Bands Strategy" (stop entries at the bands).',
    params=(Param("length", 20, low=2, high=1000), Param("mult", 2.0, low=0.001, high=50)),
    model=ExecutionModel(),
    lookback=lambda p: int(p["length"]) + 1,
)

KELTNER = PrototypeSpec(
    name="tv_keltner",
    function=keltner_strategy,
    description='TradingView built-in "Keltner Channels Strategy" (persistent stop entries).',
    params=(
        Param("length", 20, low=1, high=1000),
        Param("mult", 2.0, low=0.01, high=50),
        Param("use_exp", True),
        Param("bands_style", "Average True Range", choices=("Average True Range", "True Range", "Range")),
        Param("atr_length", 10, low=1, high=1000),
        _TICK,
    ),
    model=ExecutionModel(),
    lookback=lambda p: 10 * max(int(p["length"]), int(p["atr_length"])),
)

CHANNEL_BREAKOUT = PrototypeSpec(
    name="tv_channel_breakout",
    function=channel_breakout_strategy,
    description='TradingView built-in "ChannelBreakOutStrategy" (stop entries beyond the channel).',
    params=(Param("length", 5, low=1, high=1000), _TICK),
    model=ExecutionModel(),
    lookback=lambda p: int(p["length"]) + 1,
)
