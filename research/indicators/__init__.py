"""Technical indicators: TA-Lib wrappers and TradingView-exact (Pine ``ta.*``) variants.

* :mod:`.talib_` — thin typed wrappers over TA-Lib (Series in, aligned Series out).
* :mod:`.tradingview` — every TradingView-exact implementation in one namespace; they
  live by family in ``tv_ma``, ``tv_stats``, ``tv_extremes``, ``tv_oscillators``,
  ``tv_volatility``, ``tv_trend``, ``tv_volume``, ``tv_signals`` and ``tv_builtins``.
  Each docstring states the formula, the seeding and the na handling it follows; the
  tests compare them with TradingView's own exports from bar 0.
* :mod:`.sources` — Pine's price sources (``hl2``, ``hlc3``, ``ohlc4``, ``hlcc4`` …).
* :mod:`.sessions` — ``timeframe.change`` periods anchored to a trading session.
* :mod:`.pine` — the registry of Pine names and :func:`compile_pine`, which turns
  ``"ta.macd(close, 12, 26, 9).signal"`` into a callable on a bars frame.

Conventions shared by the TradingView variants: inputs and outputs are float Series on
the bars' index; everything is causal (bar *i* uses bars ≤ *i* only); na is NaN; Pine's
"na values are ignored" rule applies to the averages and window statistics; rolling sums
reproduce TradingView's compensated accumulator, which makes most values bit-identical.
"""

from __future__ import annotations

from . import sources, talib_, tradingview
from .pine import REGISTRY, PineError, PineExpression, compile_pine
from .sessions import Session, timeframe_change

__all__ = [
    "REGISTRY",
    "PineError",
    "PineExpression",
    "Session",
    "compile_pine",
    "sources",
    "talib_",
    "timeframe_change",
    "tradingview",
]
