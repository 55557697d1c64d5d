"""Point-in-time views of a symbol at the exchange clock: 24h statistics and a book.

The dataset has no order book, so the book is synthesised around the last trade price:
the best bid is that price rounded down to the tick, the best ask one tick above it,
and every further level one tick away with a deterministic size on the lot grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from .market import SymbolSeries

__all__ = ["BookSnapshot", "Ticker24h", "book_snapshot", "ticker_24h"]

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Ticker24h:
    """Rolling 24-hour statistics ending at ``close_ms``."""

    open_ms: int
    close_ms: int
    open: float
    high: float
    low: float
    last: float
    last_qty: float
    volume: float
    quote_volume: float
    first_id: int
    last_id: int
    count: int


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Price levels (best first) as exact decimals on the symbol's grid."""

    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    update_id: int


def ticker_24h(series: SymbolSeries, now_ms: int) -> Ticker24h:
    """Statistics of the base bars and trades in ``[now - 24h, now]``."""
    start_ms = now_ms - _DAY_MS
    lo, hi = int(np.searchsorted(series.open_ms, start_ms, side="left")), series.visible_bars(now_ms)
    t_lo, t_hi = int(np.searchsorted(series.trade_ms, start_ms, side="left")), series.visible_trades(now_ms)
    bars = series.bars.iloc[lo:hi]
    trades = series.trades.iloc[t_lo:t_hi]
    last = series.last_price(now_ms) or 0.0
    price = trades["price"].to_numpy(dtype=np.float64)
    amount = trades["amount"].to_numpy(dtype=np.float64)
    ids = series.trade_ids[t_lo:t_hi]
    return Ticker24h(
        open_ms=start_ms,
        close_ms=now_ms,
        open=float(bars["open"].to_numpy(dtype=np.float64)[0]) if len(bars) else last,
        high=float(bars["high"].max()) if len(bars) else last,
        low=float(bars["low"].min()) if len(bars) else last,
        last=last,
        last_qty=float(amount[-1]) if len(amount) else 0.0,
        volume=float(bars["volume"].sum()),
        quote_volume=float(np.dot(price, amount)),
        first_id=int(ids[0]) if len(ids) else -1,
        last_id=int(ids[-1]) if len(ids) else -1,
        count=len(ids),
    )


def _on_grid(price: float, tick: Decimal) -> Decimal:
    return (Decimal(str(float(price))) / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def book_snapshot(series: SymbolSeries, now_ms: int, depth: int) -> BookSnapshot:
    """``depth`` levels a side around the last price at ``now_ms``."""
    last = series.last_price(now_ms)
    if last is None:
        return BookSnapshot((), (), update_id=0)
    tick, step = series.spec.tick_size, series.spec.step_size
    best_bid = _on_grid(last, tick)
    sizes = [step * (10 + 7 * (level % 5)) for level in range(depth)]
    bids = tuple((best_bid - tick * level, size) for level, size in enumerate(sizes) if best_bid - tick * level > 0)
    asks = tuple((best_bid + tick * (level + 1), size) for level, size in enumerate(sizes))
    return BookSnapshot(bids, asks, update_id=series.visible_trades(now_ms))
