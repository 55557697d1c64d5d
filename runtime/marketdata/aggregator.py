"""Streaming candle aggregation: trade ticks or quotes → closed candles, one event at a time.

:class:`CandleAggregator` is the event-driven twin of
:func:`quantbridge.datasets.resample.aggregate_trades` / ``aggregate_quotes`` (a
differential test binds them): epoch-aligned buckets ``[t, t + Δ)`` labelled by their
open time, UTC, any width from one second to one day.

**Closing.** The aggregator keeps a watermark: the latest time it has seen, from a tick's
``ts`` or from :meth:`~CandleAggregator.on_time`. A candle closes once the watermark
reaches ``close_time + grace``; until then it is held open and ticks stamped inside it
still amend it. A tick whose candle has already closed is *late*: counted, logged and
dropped — history is never rewritten.

**Order inside a candle.** Open and close are the prices of the earliest and latest tick by
``(ts, arrival)``, so a tick that arrives late inside the grace but is stamped before
the candle's first tick becomes its open. For ticks that arrive in time order this is
arrival order, which is what the vectorised reference does.

**Policies** (explicit, no defaults hidden in the engine):

* :class:`EmptyPolicy` (= :class:`~quantbridge.datasets.resample.EmptyBars`): an interval
  without ticks is skipped (``SKIP``, chart style) or becomes a zero-volume candle at
  the previous close (``FILL``, exchange style; never before the first candle, since
  there is no previous close).
* :class:`FirstCandlePolicy`: a candle that opened before the aggregator started is
  partial; ``SKIP`` drops it, ``EMIT_FLAGGED`` emits it with ``partial=True``. The start
  is ``start`` when given, else the first ``on_time`` — or, when a tick comes first, it is
  unknown and the first candle is partial (earlier trades of that interval were not seen).
  A skipped partial candle still provides the previous close for ``FILL``.
* Duplicate trade ids are ignored (a bounded window of recent ids: ``dedup_window``).
* A tick with a NaN, infinite or non-positive price or amount, another symbol, or (for
  quotes) a crossed or non-positive bid/ask is rejected, counted and logged.

**Exactness.** Prices are carried as given; volumes are summed in an unbounded-precision
decimal context, so the sum of the candles' volumes is the sum of the accepted amounts,
digit for digit. Quote candles use the mid ``(bid + ask) / 2`` and count quote updates
as their volume, like ``aggregate_quotes``.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, fields
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from enum import StrEnum
from typing import Final, Literal

import pandas as pd

from quantbridge.datasets.resample import EmptyBars

from ..domain import Candle, Quote, Tick, ensure_utc

__all__ = [
    "DEFAULT_DEDUP_WINDOW",
    "NO_GRACE",
    "AggregatorStats",
    "CandleAggregator",
    "EmptyPolicy",
    "FirstCandlePolicy",
]

_log = logging.getLogger(__name__)

#: How many recent trade ids are remembered to ignore duplicates.
DEFAULT_DEDUP_WINDOW: Final = 10_000
#: The default grace: a candle closes as soon as the watermark reaches its close time.
NO_GRACE: Final = pd.Timedelta(0)
_MIN_INTERVAL: Final = pd.Timedelta(seconds=1)
_MAX_INTERVAL: Final = pd.Timedelta(days=1)
#: Addition in this context is exact (no rounding at 28 digits).
_EXACT: Final = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
_ONE: Final = Decimal(1)
_NO_BOUNDARY: Final = -(2**62)

EmptyPolicy = EmptyBars
"""What an interval without ticks becomes: the vectorised reference's own enum."""


class FirstCandlePolicy(StrEnum):
    """What happens to a candle that opened before the aggregator started."""

    SKIP = "skip"
    """Not emitted (its close still seeds ``EmptyPolicy.FILL``)."""
    EMIT_FLAGGED = "emit_flagged"
    """Emitted with ``Candle.partial = True``."""


@dataclass(frozen=True, slots=True)
class AggregatorStats:
    """Counters of one aggregator: ``ticks`` accepted (trades or quotes), ``duplicates``
    ignored, ``late_amended`` (arrived after a later-stamped tick, accepted inside the
    grace), ``late_dropped`` (their candle had closed), ``rejected`` (invalid), ``ignored``
    (a quote given to a trade aggregator or the reverse), candles ``emitted`` (of which
    ``filled`` were empty intervals) and partial candles ``skipped``."""

    ticks: int = 0
    duplicates: int = 0
    late_amended: int = 0
    late_dropped: int = 0
    rejected: int = 0
    ignored: int = 0
    emitted: int = 0
    filled: int = 0
    skipped: int = 0


class _Builder:
    """A candle being built. Open/close follow ``(ts, arrival)``; volume is exact."""

    __slots__ = ("close", "first_ts", "high", "last_ts", "low", "open", "open_ns", "trades", "volume")

    def __init__(self, open_ns: int, ts: int, price: Decimal, amount: Decimal) -> None:
        self.open_ns = open_ns
        self.open = self.high = self.low = self.close = price
        self.first_ts = self.last_ts = ts
        self.volume = amount
        self.trades = 1

    def add(self, ts: int, price: Decimal, amount: Decimal) -> None:
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        if ts >= self.last_ts:
            self.close, self.last_ts = price, ts
        elif ts < self.first_ts:
            self.open, self.first_ts = price, ts
        self.volume = _EXACT.add(self.volume, amount)
        self.trades += 1


def _check_interval(interval: pd.Timedelta) -> int:
    width = pd.Timedelta(interval)
    if not _MIN_INTERVAL <= width <= _MAX_INTERVAL or width % _MIN_INTERVAL != pd.Timedelta(0):
        raise ValueError(f"interval {interval}: expected a whole number of seconds from 1s to 1d")
    return int(width.value)


def _check_grace(grace: pd.Timedelta) -> int:
    value = pd.Timedelta(grace)
    if value < pd.Timedelta(0):
        raise ValueError(f"grace {grace}: expected a duration >= 0")
    return int(value.value)


def _positive(value: Decimal) -> bool:
    return value.is_finite() and value > 0


def _tick_problem(tick: Tick, symbol: str) -> str | None:
    if tick.symbol != symbol:
        return f"symbol {tick.symbol!r} is not {symbol!r}"
    if not _positive(tick.price):
        return f"price {tick.price} is not a positive finite number"
    if not _positive(tick.amount):
        return f"amount {tick.amount} is not a positive finite number"
    return None


def _quote_problem(quote: Quote, symbol: str) -> str | None:
    if quote.symbol != symbol:
        return f"symbol {quote.symbol!r} is not {symbol!r}"
    if not (_positive(quote.bid) and _positive(quote.ask)):
        return f"bid {quote.bid} / ask {quote.ask} is not a pair of positive finite prices"
    if quote.bid > quote.ask:
        return f"crossed quote: bid {quote.bid} > ask {quote.ask}"
    return None


class _RecentIds:
    """The last ``size`` trade ids, for constant-memory duplicate detection."""

    __slots__ = ("_order", "_size", "seen")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"dedup_window {size}: expected at least 1")
        self._size = size
        self.seen: set[int] = set()
        self._order: deque[int] = deque(maxlen=size)

    def add(self, trade_id: int) -> None:
        order = self._order
        if len(order) == self._size:
            self.seen.discard(order[0])
        order.append(trade_id)
        self.seen.add(trade_id)


class CandleAggregator:
    """Closed candles of one symbol at one interval from trade ticks or quotes.

    Every ``on_*`` method returns the candles it closed, oldest first (possibly none).
    Events of the kind the aggregator does not build from (quotes for ``source="trades"``
    and the reverse) are ignored and counted, so a client that streams both can feed
    every event. See the module docstring for the closing rule and the policies.
    """

    def __init__(
        self,
        symbol: str,
        interval: pd.Timedelta,
        *,
        source: Literal["trades", "quotes"] = "trades",
        grace: pd.Timedelta = NO_GRACE,
        empty: EmptyPolicy = EmptyPolicy.SKIP,
        first: FirstCandlePolicy = FirstCandlePolicy.EMIT_FLAGGED,
        start: pd.Timestamp | None = None,
        dedup_window: int = DEFAULT_DEDUP_WINDOW,
    ) -> None:
        if source not in ("trades", "quotes"):
            raise ValueError(f"source {source!r}: expected 'trades' or 'quotes'")
        self.symbol = symbol
        self.interval = pd.Timedelta(interval)
        self.source = source
        self.empty = EmptyPolicy(empty)
        self.first = FirstCandlePolicy(first)
        self._width = _check_interval(interval)
        self._grace = _check_grace(grace)
        self._ids = _RecentIds(dedup_window)
        self._seen_ids = self._ids.seen
        self._open: dict[int, _Builder] = {}
        self._current: _Builder | None = None
        self._closed_to = _NO_BOUNDARY  # every bucket opening before this has been closed
        self._mark = _NO_BOUNDARY  # the watermark: latest time seen (ticks and clock)
        self._tick_mark = _NO_BOUNDARY  # latest tick time seen
        self._started = False
        self._start: int | None = None  # when listening began; None: unknown (a tick came first)
        self._prev_close: Decimal | None = None
        self._next_fill = _NO_BOUNDARY
        self._counts = {field.name: 0 for field in fields(AggregatorStats)}
        if start is not None:
            self.on_time(start)

    # --- public API ---------------------------------------------------------------------------

    @property
    def stats(self) -> AggregatorStats:
        """A snapshot of the counters."""
        return AggregatorStats(**self._counts)

    def on_tick(self, tick: Tick) -> list[Candle]:
        """Add one trade; returns the candles it closed."""
        if self.source != "trades":
            self._counts["ignored"] += 1
            return []
        price, amount = tick.price, tick.amount
        valid = price.is_finite() and amount.is_finite() and price > 0 and amount > 0 and tick.symbol == self.symbol
        if not valid:
            return self._reject(_tick_problem(tick, self.symbol), tick.ts)
        if tick.trade_id in self._seen_ids:
            self._counts["duplicates"] += 1
            return []
        ts = tick.ts.value
        if not self._accept(ts, price, amount):
            return []
        self._ids.add(tick.trade_id)
        return self._advance(ts, tick.received)

    def on_quote(self, quote: Quote) -> list[Candle]:
        """Add one quote update (its mid price); returns the candles it closed."""
        if self.source != "quotes":
            self._counts["ignored"] += 1
            return []
        problem = _quote_problem(quote, self.symbol)
        if problem is not None:
            return self._reject(problem, quote.ts)
        ts = quote.ts.value
        if not self._accept(ts, quote.mid, _ONE):
            return []
        return self._advance(ts, quote.received)

    def on_event(self, event: Tick | Quote) -> list[Candle]:
        """``on_tick`` or ``on_quote``, by the event's type."""
        return self.on_tick(event) if isinstance(event, Tick) else self.on_quote(event)

    def on_time(self, now: pd.Timestamp) -> list[Candle]:
        """The clock says ``now``: close every candle with ``close_time + grace <= now`` and,
        under ``EmptyPolicy.FILL``, emit the empty intervals that ended by then."""
        value = ensure_utc(now, "now").value
        if not self._started:
            self._started, self._start = True, value
        return self._advance(value, now)

    def flush(self) -> list[Candle]:
        """End of data: close every open candle as it is (no fill beyond the last one)."""
        if not self._open:
            return []
        return self._close_before(max(self._open) + self._width, None)

    # --- internals ----------------------------------------------------------------------------

    def _name(self) -> str:
        return f"CandleAggregator({self.symbol}, {self.interval})"

    def _reject(self, problem: str | None, ts: pd.Timestamp) -> list[Candle]:
        self._counts["rejected"] += 1
        _log.warning("%s: rejected the tick at %s: %s", self._name(), ts, problem)
        return []

    def _accept(self, ts: int, price: Decimal, amount: Decimal) -> bool:
        """Add a valid tick to its candle; False (and counted) when that candle has closed."""
        bucket = ts - ts % self._width
        if bucket < self._closed_to:
            self._drop_late(ts, bucket)
            return False
        self._started = True
        current = self._current
        if current is not None and current.open_ns == bucket:
            current.add(ts, price, amount)
        elif bucket in self._open:
            self._open[bucket].add(ts, price, amount)
        else:
            self._current = self._open[bucket] = _Builder(bucket, ts, price, amount)
        counts = self._counts
        counts["ticks"] += 1
        if ts < self._tick_mark:
            counts["late_amended"] += 1
        else:
            self._tick_mark = ts
        return True

    def _drop_late(self, ts: int, bucket: int) -> None:
        self._counts["late_dropped"] += 1
        _log.warning(
            "%s: dropped a late tick at %s: its candle %s closed (watermark %s, grace %s)",
            self._name(),
            pd.Timestamp(ts, tz="UTC").isoformat(),
            pd.Timestamp(bucket, tz="UTC").isoformat(),
            pd.Timestamp(self._mark, tz="UTC").isoformat(),
            pd.Timedelta(self._grace),
        )

    def _advance(self, now: int, received: pd.Timestamp | None) -> list[Candle]:
        """Move the watermark to ``now`` (never back) and close what it passed."""
        if now > self._mark:
            self._mark = now
        limit = self._mark - self._grace
        boundary = limit - limit % self._width
        if boundary <= self._closed_to:
            return []
        return self._close_before(boundary, received)

    def _close_before(self, boundary: int, received: pd.Timestamp | None) -> list[Candle]:
        """Close every bucket opening before ``boundary``: held candles and, under FILL, empty intervals."""
        out: list[Candle] = []
        for bucket in sorted(b for b in self._open if b < boundary):
            self._fill_until(bucket, received, out)
            self._emit(self._open.pop(bucket), received, out)
        self._fill_until(boundary, received, out)
        self._closed_to = boundary
        if self._current is not None and self._current.open_ns < boundary:
            self._current = None
        return out

    def _fill_until(self, end: int, received: pd.Timestamp | None, out: list[Candle]) -> None:
        """Zero-volume candles at the previous close for the empty buckets before ``end``."""
        close = self._prev_close
        if self.empty is not EmptyPolicy.FILL or close is None:
            return
        zero = Decimal(0)
        for bucket in range(self._next_fill, end, self._width):
            out.append(self._candle(bucket, close, close, close, close, zero, 0, received, filled=True))
            self._counts["filled"] += 1
            self._counts["emitted"] += 1
        self._next_fill = max(self._next_fill, end)

    def _emit(self, b: _Builder, received: pd.Timestamp | None, out: list[Candle]) -> None:
        start = self._start
        partial = start is None or b.open_ns < start
        if start is None:  # the first candle of a stream that started at an unknown time
            self._start = b.open_ns + self._width
        self._prev_close = b.close
        self._next_fill = b.open_ns + self._width
        if partial and self.first is FirstCandlePolicy.SKIP:
            self._counts["skipped"] += 1
            return
        volume = Decimal(b.trades) if self.source == "quotes" else b.volume
        out.append(self._candle(b.open_ns, b.open, b.high, b.low, b.close, volume, b.trades, received, partial=partial))
        self._counts["emitted"] += 1

    def _candle(
        self,
        open_ns: int,
        o: Decimal,
        h: Decimal,
        low: Decimal,
        c: Decimal,
        volume: Decimal,
        trades: int,
        received: pd.Timestamp | None,
        *,
        partial: bool = False,
        filled: bool = False,
    ) -> Candle:
        return Candle(
            symbol=self.symbol,
            interval=self.interval,
            open_time=pd.Timestamp(open_ns, tz="UTC"),
            open=o,
            high=h,
            low=low,
            close=c,
            volume=volume,
            trades=trades,
            partial=partial,
            filled=filled,
            received=received,
        )
