"""The reference FX symbol behind ``tradingview/builtin_strategies/ohlcv.csv``.

Prices on a 0.00001 grid, quantities on TradingView's 0.1 lot step (every sized
quantity in the exports is a multiple of 0.1), the trading day rolling at 17:00 New York
(FX session). The reconciliation with TradingView's own trade lists lives in
:mod:`quantbridge.validation.tradingview.builtins`.
"""

from __future__ import annotations

from quantbridge.datasets.execution import ExecutionModel, Instrument

__all__ = ["REFERENCE_INSTRUMENT", "reference_model"]

REFERENCE_INSTRUMENT = Instrument(symbol="EURUSD", tick_size=0.00001, qty_step=0.1)


def reference_model(base: ExecutionModel) -> ExecutionModel:
    """``base`` (a built-in's strategy properties) on the reference FX symbol."""
    return base.model_copy(
        update={"instrument": REFERENCE_INSTRUMENT, "session_timezone": "America/New_York", "session_start": "17:00"}
    )
