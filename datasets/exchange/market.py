"""The dataset a local exchange serves: per symbol, bars at a base timeframe, trades and
the symbol's trading rules (tick size, lot size).

Klines at other intervals are derived from the base bars with
:func:`quantbridge.datasets.resample.resample_bars` (weekly bars open on Monday 00:00
UTC, as Binance's do). The exchange has its own clock (``now`` in epoch
milliseconds, injected; by default the close of the last bar): only bars that have
opened and trades that have happened by then are visible, so a clock inside the data
shows a still-open last bar, as a live exchange does. Such a bar is served with its
base bars as they are (the base bar containing ``now`` is shown whole).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import numpy as np
import pandas as pd

from ..problems import GapPolicy
from ..resample import resample_bars
from ..schemas import BAR_COLUMNS
from ..timeframes import parse_timeframe
from ..validation import infer_timeframe, validate_bars, validate_trades
from .bar_trades import trades_from_bars

__all__ = [
    "BINANCE_INTERVALS",
    "IntervalError",
    "MarketData",
    "SymbolSeries",
    "SymbolSpec",
    "UnknownSymbolError",
    "window",
]

#: Kline intervals Binance USD-M accepts (``1M`` is not served: months vary in length).
BINANCE_INTERVALS: Final = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w")
#: Intervals the local exchange serves: Binance's plus ``1s`` for second-bar datasets.
LOCAL_INTERVALS: Final = ("1s", *BINANCE_INTERVALS)
_WEEK: Final = pd.Timedelta(weeks=1)
#: Binance weeks open on Monday; the Unix epoch was a Thursday, four days earlier.
_WEEK_ORIGIN: Final = pd.Timedelta(days=4)
_KNOWN_QUOTES: Final = ("USDT", "USDC", "BUSD", "FDUSD", "USD", "BTC")
_MS: Final = 1_000_000


class UnknownSymbolError(KeyError):
    """The exchange does not list this symbol."""


class IntervalError(ValueError):
    """An interval the exchange cannot serve."""


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """A perpetual contract's identity and trading rules, as exchangeInfo reports them."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal = Decimal("0.1")
    step_size: Decimal = Decimal("0.001")
    max_qty: Decimal = Decimal("1000")
    min_notional: Decimal = Decimal("5")

    def __post_init__(self) -> None:
        if not self.symbol.isalnum() or self.symbol.upper() != self.symbol:
            raise ValueError(f"symbol {self.symbol!r}: expected an upper-case exchange id such as 'BTCUSDT'")
        for name in ("tick_size", "step_size", "max_qty", "min_notional"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value > 0:
                raise ValueError(f"symbol {self.symbol}: {name} = {value!r}, expected a positive Decimal")

    @classmethod
    def for_symbol(
        cls, symbol: str, *, tick_size: Decimal = Decimal("0.1"), step_size: Decimal = Decimal("0.001")
    ) -> SymbolSpec:
        """A spec for an exchange id like ``BTCUSDT``, splitting off a known quote asset."""
        for quote in _KNOWN_QUOTES:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return cls(symbol, symbol[: -len(quote)], quote, tick_size=tick_size, step_size=step_size)
        raise ValueError(
            f"symbol {symbol!r}: cannot tell base from quote; expected it to end with one of {_KNOWN_QUOTES}"
        )

    @property
    def price_precision(self) -> int:
        """Decimal places of the tick size."""
        return max(0, -int(self.tick_size.normalize().as_tuple().exponent))

    @property
    def quantity_precision(self) -> int:
        """Decimal places of the lot step."""
        return max(0, -int(self.step_size.normalize().as_tuple().exponent))


def window(keys: np.ndarray, start: int | None, end: int | None, limit: int) -> slice:
    """Binance's window over sorted ``keys``: from ``start`` (inclusive) forwards, else the
    last ``limit`` up to ``end`` (inclusive), at most ``limit`` items."""
    lo = 0 if start is None else int(np.searchsorted(keys, start, side="left"))
    hi = len(keys) if end is None else int(np.searchsorted(keys, end, side="right"))
    if start is not None:
        return slice(lo, max(lo, min(hi, lo + limit)))
    return slice(max(lo, hi - limit), hi)


def _origin(width: pd.Timedelta) -> pd.Timedelta:
    return _WEEK_ORIGIN if width % _WEEK == pd.Timedelta(0) else pd.Timedelta(0)


def _resample(bars: pd.DataFrame, interval: str, origin: pd.Timedelta) -> pd.DataFrame:
    if origin == pd.Timedelta(0):
        return resample_bars(bars, interval)
    shifted = bars.set_axis(pd.DatetimeIndex(bars.index) - origin)
    out = resample_bars(shifted, interval)
    return out.set_axis(pd.DatetimeIndex(out.index) + origin)


def _trade_extras(trades: pd.DataFrame, width: pd.Timedelta, origin: pd.Timedelta) -> pd.DataFrame:
    """Per kline: trade count, quote volume, taker-buy base and quote volume."""
    ts = pd.DatetimeIndex(trades["ts"]).as_unit("ns").asi8 - origin.value
    keys = ts - np.mod(ts, width.value) + origin.value
    amount = trades["amount"].to_numpy(dtype=np.float64)
    quote = amount * trades["price"].to_numpy(dtype=np.float64)
    buy = (trades["side"] == "buy").to_numpy()
    parts = pd.DataFrame(
        {"trades": 1, "quote_volume": quote, "taker_buy_base": amount * buy, "taker_buy_quote": quote * buy}, index=keys
    )
    grouped = parts.groupby(level=0, sort=True).sum()
    grouped.index = pd.DatetimeIndex(pd.to_datetime(grouped.index, unit="ns", utc=True))
    return grouped


class SymbolSeries:
    """One symbol's data: validated base bars, trades (given or synthesised) and its spec."""

    def __init__(
        self, spec: SymbolSpec, bars: pd.DataFrame, *, timeframe: str | None = None, trades: pd.DataFrame | None = None
    ) -> None:
        self.spec = spec
        bars = _ns_bars(bars, spec.symbol)
        self.timeframe = _base_interval(bars, timeframe, spec.symbol)
        self.width = parse_timeframe(self.timeframe)
        validate_bars(
            bars, source=f"{spec.symbol} bars", timeframe=self.width, gap_policy=GapPolicy.IGNORE
        ).raise_for_errors()
        self.bars = bars[list(BAR_COLUMNS)].astype("float64")
        self.trades = (
            _checked_trades(trades, spec.symbol) if trades is not None else trades_from_bars(self.bars, self.width)
        )
        self.open_ms = pd.DatetimeIndex(self.bars.index).as_unit("ns").asi8 // _MS
        self.trade_ms = pd.DatetimeIndex(self.trades["ts"]).as_unit("ns").asi8 // _MS
        self.trade_ids = self.trades["trade_id"].to_numpy(dtype=np.int64)
        self._klines: dict[str, tuple[int, int, pd.DataFrame]] = {}

    @property
    def end_ms(self) -> int:
        """Close time of the last bar (epoch ms), the default clock of the exchange."""
        return int(self.open_ms[-1]) + int(self.width / pd.Timedelta(milliseconds=1)) if len(self.open_ms) else 0

    def interval_width(self, interval: str) -> pd.Timedelta:
        """The width of ``interval``; :class:`IntervalError` if it cannot be derived from the base bars."""
        if interval not in LOCAL_INTERVALS:
            raise IntervalError(f"interval {interval!r}: expected one of {', '.join(LOCAL_INTERVALS)}")
        width = parse_timeframe(interval)
        if width < self.width or width % self.width != pd.Timedelta(0):
            raise IntervalError(f"interval {interval!r}: not a multiple of the served base timeframe {self.timeframe}")
        return width

    def visible_bars(self, now_ms: int) -> int:
        """How many base bars have opened by ``now_ms``."""
        return int(np.searchsorted(self.open_ms, now_ms, side="right"))

    def visible_trades(self, now_ms: int) -> int:
        """How many trades happened by ``now_ms``."""
        return int(np.searchsorted(self.trade_ms, now_ms, side="right"))

    def klines(self, interval: str, now_ms: int) -> pd.DataFrame:
        """All klines at ``interval`` visible at ``now_ms``: OHLCV plus ``trades``,
        ``quote_volume``, ``taker_buy_base`` and ``taker_buy_quote``."""
        width = self.interval_width(interval)
        n_bars, n_trades = self.visible_bars(now_ms), self.visible_trades(now_ms)
        cached = self._klines.get(interval)
        if cached is not None and cached[:2] == (n_bars, n_trades):
            return cached[2]
        bars = self.bars.iloc[:n_bars]
        origin = _origin(width)
        frame = bars.copy() if width == self.width else _resample(bars, interval, origin)
        extras = _trade_extras(self.trades.iloc[:n_trades], width, origin).reindex(frame.index, fill_value=0)
        frame = frame.join(extras)
        self._klines[interval] = (n_bars, n_trades, frame)
        return frame

    def last_price(self, now_ms: int) -> float | None:
        """The last trade's price at ``now_ms`` (the last close if no trade yet)."""
        n_trades = self.visible_trades(now_ms)
        if n_trades:
            return float(self.trades["price"].to_numpy(dtype=np.float64)[n_trades - 1])
        n_bars = self.visible_bars(now_ms)
        return float(self.bars["close"].to_numpy(dtype=np.float64)[n_bars - 1]) if n_bars else None


def _ns_bars(bars: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """``bars`` with a nanosecond index (pandas 3 builds microsecond ones by default)."""
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise ValueError(f"{symbol} bars: expected a DatetimeIndex of open times, got {type(bars.index).__name__}")
    return bars.set_axis(bars.index.as_unit("ns"))


def _base_interval(bars: pd.DataFrame, timeframe: str | None, symbol: str) -> str:
    if timeframe is not None:
        if timeframe not in LOCAL_INTERVALS:
            raise IntervalError(f"{symbol}: base timeframe {timeframe!r} is not one of {', '.join(LOCAL_INTERVALS)}")
        return timeframe
    assert isinstance(bars.index, pd.DatetimeIndex)  # checked by _ns_bars
    width = infer_timeframe(bars.index)
    for interval in LOCAL_INTERVALS:
        if width is not None and parse_timeframe(interval) == width:
            return interval
    raise IntervalError(
        f"{symbol} bars: cannot serve a base timeframe of {width}; pass timeframe= one of {LOCAL_INTERVALS}"
    )


def _checked_trades(trades: pd.DataFrame, symbol: str) -> pd.DataFrame:
    validate_trades(trades, source=f"{symbol} trades").raise_for_errors()
    trades = trades.assign(ts=pd.DatetimeIndex(trades["ts"]).as_unit("ns"))
    ids = trades["trade_id"].to_numpy(dtype=np.int64)
    if len(ids) > 1 and not bool(np.all(np.diff(ids) > 0)):
        raise ValueError(f"{symbol} trades: trade_id must increase row by row (fromId paging relies on it)")
    return trades.reset_index(drop=True)


class MarketData:
    """Every symbol the exchange lists, and the exchange's clock (epoch milliseconds)."""

    def __init__(self, series: Sequence[SymbolSeries], *, clock: Callable[[], int] | None = None) -> None:
        if not series:
            raise ValueError("MarketData: expected at least one symbol")
        self._series = {s.spec.symbol: s for s in series}
        if len(self._series) != len(series):
            raise ValueError("MarketData: the same symbol appears twice")
        end = max(s.end_ms for s in series)
        self._clock = clock if clock is not None else (lambda: end)

    @classmethod
    def from_bars(
        cls,
        bars: pd.DataFrame,
        *,
        symbol: str = "BTCUSDT",
        timeframe: str | None = None,
        trades: pd.DataFrame | None = None,
        tick_size: Decimal = Decimal("0.1"),
        step_size: Decimal = Decimal("0.001"),
        clock: Callable[[], int] | None = None,
    ) -> MarketData:
        """One symbol's market from its bars (and trades, synthesised when not given)."""
        spec = SymbolSpec.for_symbol(symbol, tick_size=tick_size, step_size=step_size)
        return cls([SymbolSeries(spec, bars, timeframe=timeframe, trades=trades)], clock=clock)

    @property
    def symbols(self) -> tuple[SymbolSeries, ...]:
        return tuple(self._series.values())

    @property
    def clock(self) -> Callable[[], int]:
        """The callable the exchange reads its time from (epoch ms)."""
        return self._clock

    def with_clock(self, clock: Callable[[], int]) -> MarketData:
        """The same symbols (shared, not copied) read through another clock."""
        return MarketData(self.symbols, clock=clock)

    @property
    def start_ms(self) -> int:
        """Open time of the earliest first bar over all symbols (epoch ms)."""
        return min(int(s.open_ms[0]) for s in self._series.values() if len(s.open_ms))

    @property
    def end_ms(self) -> int:
        """Close time of the latest last bar over all symbols: the default clock (epoch ms)."""
        return max(s.end_ms for s in self._series.values())

    def series(self, symbol: str) -> SymbolSeries:
        """The data of exchange id ``symbol``; :class:`UnknownSymbolError` if not listed."""
        try:
            return self._series[symbol]
        except KeyError:
            raise UnknownSymbolError(symbol) from None

    def now_ms(self) -> int:
        """The exchange clock."""
        return int(self._clock())
