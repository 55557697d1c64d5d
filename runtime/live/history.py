"""What the runtime learns from the exchange before it trades: the market's rules and the
closed candles a strategy warms up on (``fetch_ohlcv``).

A warm-up candle is *closed*: its interval ended at or before the exchange clock's
``now``; the one still forming is never handed to a strategy. Prices are put on the
market's tick grid (as the backtest's bars are), volumes kept as the exchange sent them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import pandas as pd

from ..domain.market import ContractType, Market
from ..domain.marketdata import Candle

__all__ = ["HistoryError", "candles_through", "closed_candles", "market_from_ccxt"]

_PAGE: Final = 500
_MS: Final = 1_000_000
#: ccxt's precision modes (ccxt.DECIMAL_PLACES, ccxt.SIGNIFICANT_DIGITS; TICK_SIZE is 4).
_DECIMAL_PLACES: Final = 2
_SIGNIFICANT_DIGITS: Final = 3


class HistoryError(RuntimeError):
    """The exchange's answer cannot be used (no such symbol, malformed candles)."""


def _decimal(value: Any, what: str) -> Decimal:
    if value is None:
        raise HistoryError(f"market field {what} is missing")
    number = Decimal(str(value))
    if not number.is_finite() or number < 0:
        raise HistoryError(f"market field {what} = {value!r}: expected a finite number >= 0")
    return number


def _grid(value: Any, mode: int | None, what: str) -> Decimal:
    """A precision value as a step: ccxt's TICK_SIZE mode gives the step itself,
    DECIMAL_PLACES the number of decimals; SIGNIFICANT_DIGITS has no fixed step."""
    if mode == _DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(_decimal(value, what)))
    if mode == _SIGNIFICANT_DIGITS:
        raise HistoryError(f"{what}: the exchange states precision in significant digits; a fixed grid is needed")
    return _decimal(value, what)


def market_from_ccxt(symbol: str, markets: Mapping[str, Any], precision_mode: int | None = None) -> Market:
    """``symbol``'s :class:`Market` from ccxt's ``load_markets()`` result: tick size and
    lot size from ``precision`` (read by the exchange's ``precisionMode``: TICK_SIZE, as
    for Binance, or DECIMAL_PLACES), minimum quantity and notional from ``limits``."""
    raw = markets.get(symbol)
    if raw is None:
        listed = ", ".join(sorted(markets)[:10])
        raise HistoryError(f"symbol {symbol!r} is not listed by the exchange (e.g. {listed})")
    precision, limits = raw.get("precision", {}), raw.get("limits", {})
    contract = ContractType.SPOT if raw.get("spot") else ContractType.LINEAR_PERPETUAL
    return Market(
        symbol=symbol,
        tick_size=_grid(precision.get("price"), precision_mode, f"{symbol} precision.price"),
        lot_size=_grid(precision.get("amount"), precision_mode, f"{symbol} precision.amount"),
        min_qty=_decimal((limits.get("amount") or {}).get("min") or 0, f"{symbol} limits.amount.min"),
        min_notional=_decimal((limits.get("cost") or {}).get("min") or 0, f"{symbol} limits.cost.min"),
        contract=contract,
        base=str(raw.get("base", "")),
        quote=str(raw.get("quote", "USDT")),
        contract_size=_decimal(raw.get("contractSize") or 1, f"{symbol} contractSize"),
    )


def _candle(row: Any, market: Market, interval: pd.Timedelta) -> Candle:
    try:
        stamp, *values = row[:6]
        o, h, low, c = (market.price(Decimal(str(v))) for v in values[:4])
        volume = Decimal(str(values[4] if values[4] is not None else 0))
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise HistoryError(f"{market.symbol}: malformed OHLCV row {row!r} ({exc})") from None
    return Candle(market.symbol, interval, pd.Timestamp(int(stamp) * _MS, tz="UTC"), o, h, low, c, volume)


async def closed_candles(exchange: Any, market: Market, timeframe: str, count: int, now: pd.Timestamp) -> list[Candle]:
    """The last ``count`` candles of ``market`` at ``timeframe`` that closed by ``now``,
    oldest first (fewer when the exchange has less history)."""
    interval = pd.Timedelta(exchange.parse_timeframe(timeframe), unit="s")
    last_open = now.floor(interval) - interval
    since = last_open - interval * (count - 1)
    candles: list[Candle] = []
    cursor = since
    while cursor <= last_open:
        rows = await exchange.fetch_ohlcv(market.symbol, timeframe, since=cursor.value // _MS, limit=_PAGE)
        page = [_candle(row, market, interval) for row in rows]
        page = [c for c in page if cursor <= c.open_time <= last_open]
        if not page:
            break
        candles.extend(page)
        cursor = page[-1].open_time + interval
    return candles[-count:] if count > 0 else []


async def candles_through(
    exchange: Any, market: Market, timeframe: str, first: pd.Timestamp, last: pd.Timestamp
) -> list[Candle] | None:
    """The candles opening from ``first`` to ``last`` (inclusive, oldest first) once the
    exchange serves a later one — so all of them are closed *by the exchange's clock*,
    whatever ours says —, else None."""
    interval = pd.Timedelta(exchange.parse_timeframe(timeframe), unit="s")
    wanted = int((last - first) / interval) + 2
    rows = await exchange.fetch_ohlcv(market.symbol, timeframe, since=first.value // _MS, limit=min(wanted, _PAGE))
    page = [_candle(row, market, interval) for row in rows]
    if not page or page[-1].open_time <= last:
        return None
    return [c for c in page if first <= c.open_time <= last]
