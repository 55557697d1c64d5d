"""The catalogue: every prototype quantbridge ships, by name."""

from __future__ import annotations

from .prototypes import oscillators, sma_crossover, tv_builtins_market, tv_builtins_stop
from .registry import Registry

__all__ = ["CATALOGUE", "TRADINGVIEW_BUILTINS"]

#: Prototype name → the TradingView built-in strategy it reproduces (and the reference
#: trade list's file stem in ``tradingview/builtin_strategies/``).
TRADINGVIEW_BUILTINS = {
    "tv_rsi": "rsi",
    "tv_macd": "macd",
    "tv_bollinger": "bollinger",
    "tv_supertrend": "supertrend",
    "tv_keltner": "keltnerchannel",
    "tv_channel_breakout": "channelbreakout",
    "tv_barupdn": "barupdn",
}

CATALOGUE = Registry(
    [
        sma_crossover.SPEC,
        tv_builtins_market.RSI,
        tv_builtins_market.MACD,
        tv_builtins_market.SUPERTREND,
        tv_builtins_market.BARUPDN,
        tv_builtins_stop.BOLLINGER,
        tv_builtins_stop.KELTNER,
        tv_builtins_stop.CHANNEL_BREAKOUT,
        *oscillators.OSCILLATORS,
    ]
)
