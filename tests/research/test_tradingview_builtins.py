"""The catalogue's TradingView built-ins reproduce TradingView's own trade lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantbridge.research.catalogue import TRADINGVIEW_BUILTINS
from quantbridge.research.tradingview_check import compare_builtin


@pytest.mark.reference_data
@pytest.mark.parametrize("name", sorted(TRADINGVIEW_BUILTINS))
def test_builtin_when_simulated_on_reference_bars_matches_every_tradingview_trade(
    name: str, reference_data: Path
) -> None:
    result = compare_builtin(name, reference_data / "tradingview" / "builtin_strategies")
    assert result.our_trades == result.reference_trades
    assert result.first_mismatch is None, f"first differing trade: #{result.first_mismatch}"
    assert result.matched == result.reference_trades
    # TradingView's export rounds P&L to its display precision (2 decimals, or 3 sig. digits below 1)
    assert result.our_pnl == pytest.approx(result.reference_pnl, abs=0.006)
