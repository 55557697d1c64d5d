"""ccxt REST polling as a :class:`~.client.MarketDataClient` (the edge that decodes ccxt dicts).

:class:`CcxtRestClient` polls an async ccxt exchange every ``PollPolicy.interval`` of the
injected Clock:

* **Trades** from a per-symbol cursor. The first trade at or after ``since`` (default: the
  clock's now when the stream starts) is located with time windows (``fetch_trades``
  with ``since`` and ``until``, an hour wide — Binance's aggTrades limit); after that the
  cursor is the last trade id and pages are asked ``fromId = last id + 1`` (Binance;
  ``TradePaging.FROM_ID``) or ``since = last trade time`` (any ccxt exchange;
  ``TradePaging.SINCE``). Trades whose id the cursor has passed are dropped as duplicates,
  so overlapping pages, retried requests and resumes never emit a trade twice. A full
  page is followed at once by the next (catch-up); a short one ends the poll.
* **Quotes** from the best bid/ask (``fetch_bids_asks``: Binance's bookTicker), emitted
  when the top of book changed since the last poll.

**Failures never end the stream.** ccxt's transient errors (``OperationFailed``: network
errors, timeouts, 5xx, 418/429 rate limits, bad responses), connection failures, and
bodies that are not JSON (ccxt does not raise on those: it parses the text as data) are
logged and the request is retried after an exponential backoff — or after the
``Retry-After`` the exchange asked for (capped). The cursor only moves after a page was
decoded, so a retry neither loses nor repeats a trade. Errors that retrying cannot heal
(an unknown symbol, bad credentials, an unsupported call) are raised.

**Rate limits**: ccxt's throttle is switched on (``enableRateLimit``), pages are requested
one at a time, and 429/418 answers back off as above.

**Time**: ``received`` is stamped from the injected Clock when the answer arrived; all
waiting goes through the injected ``sleep`` (``asyncio.sleep`` by default) for the
duration the clock says is left.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeVar

import pandas as pd

from ..clock import Clock
from ..domain import Quote, Tick
from .client import MarketEvent

__all__ = [
    "Backoff",
    "CcxtRestClient",
    "MalformedResponseError",
    "PollPolicy",
    "PollStats",
    "Sleep",
    "TradePaging",
    "decode_quote",
    "decode_trade",
    "is_transient",
    "require_json",
    "retry_after",
]

_log = logging.getLogger(__name__)
T = TypeVar("T")
#: An awaitable sleep in seconds (``asyncio.sleep``; tests inject one that advances a SimulatedClock).
Sleep = Callable[[float], Awaitable[None]]
_HOUR_MS: Final = 3_600_000
_ONE_SECOND: Final = pd.Timedelta(seconds=1)
_MS: Final = 1_000_000
#: An empty time window is skipped only once it ended this long ago (trades are published late).
_SETTLE_MS: Final = 60_000


class MalformedResponseError(Exception):
    """The exchange answered with a body that is not the JSON expected (retried)."""


class _StreamClosedError(Exception):
    """``close()`` was called while a request was being retried."""


class TradePaging(StrEnum):
    """How the trade cursor asks for the next page."""

    FROM_ID = "from_id"
    """``params={"fromId": last_id + 1}`` (Binance): exact by trade id."""
    SINCE = "since"
    """``since = last trade time`` (any ccxt exchange); trades at that time already seen are dropped."""


@dataclass(frozen=True)
class Backoff:
    """Waits before retry ``n`` (0-based): ``min(cap, base * factor**n)`` seconds, or the
    exchange's ``Retry-After`` when it sent one, up to ``max_retry_after``."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.base < 0 or self.factor < 1 or self.cap < 0 or self.max_retry_after < 0:
            raise ValueError(f"{self}: expected base >= 0, factor >= 1, cap >= 0, max_retry_after >= 0")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return float(min(self.cap, self.base * self.factor**attempt))


@dataclass(frozen=True)
class PollPolicy:
    """What is polled and how often: every ``interval`` of the clock, trades pages of
    ``page_limit`` (1000: Binance's maximum), and quotes."""

    interval: pd.Timedelta = _ONE_SECOND
    page_limit: int = 1000
    trades: bool = True
    quotes: bool = True
    paging: TradePaging | None = None
    """``None``: ``FROM_ID`` for Binance exchanges, else ``SINCE``."""
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.interval <= pd.Timedelta(0):
            raise ValueError(f"interval {self.interval}: expected a positive duration")
        if self.page_limit < 1:
            raise ValueError(f"page_limit {self.page_limit}: expected at least 1")


@dataclass
class PollStats:
    """Counters: HTTP ``requests`` (retries included), ``retries``, ``duplicates`` dropped,
    ``trades`` and ``quotes`` emitted, and the transient failures by exception name."""

    requests: int = 0
    retries: int = 0
    duplicates: int = 0
    trades: int = 0
    quotes: int = 0
    failures: dict[str, int] = field(default_factory=dict)


@dataclass
class _Cursor:
    """Where one symbol's trades continue: from time ``since_ms`` (``SINCE`` paging, and
    ``FROM_ID`` until the first trade), after trade ``last_id``."""

    since_ms: int
    last_id: int | None = None


def _number(raw: Mapping[str, Any], key: str) -> Decimal:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedResponseError(f"field {key!r} = {value!r}: expected a number")
    return Decimal(repr(float(value)))


def _ms_time(value: Any, what: str) -> pd.Timestamp:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedResponseError(f"{what} = {value!r}: expected epoch milliseconds")
    return pd.Timestamp(int(value) * _MS, tz="UTC")


def _trade_id(raw: Mapping[str, Any]) -> int:
    try:
        return int(str(raw.get("id")))
    except ValueError:
        raise MalformedResponseError(f"trade id {raw.get('id')!r}: expected an integer id") from None


def decode_trade(symbol: str, raw: Any, received: pd.Timestamp) -> Tick:
    """A ccxt trade structure as a :class:`Tick` (``MalformedResponseError`` if it is not one)."""
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"trade {raw!r}: expected a ccxt trade structure")
    side = raw.get("side")
    if side not in ("buy", "sell"):
        raise MalformedResponseError(f"trade side {side!r}: expected 'buy' or 'sell'")
    return Tick(
        symbol=symbol,
        ts=_ms_time(raw.get("timestamp"), "trade timestamp"),
        received=received,
        price=_number(raw, "price"),
        amount=_number(raw, "amount"),
        side="buy" if side == "buy" else "sell",
        trade_id=_trade_id(raw),
    )


def decode_quote(symbol: str, raw: Any, received: pd.Timestamp) -> Quote:
    """A ccxt ticker with bid/ask (``fetch_bids_asks``) as a :class:`Quote`."""
    if not isinstance(raw, Mapping):
        raise MalformedResponseError(f"{symbol} ticker {raw!r}: expected a ccxt ticker structure")
    stamp = raw.get("timestamp")
    return Quote(
        symbol=symbol,
        ts=received if stamp is None else _ms_time(stamp, "ticker timestamp"),
        received=received,
        bid=_number(raw, "bid"),
        ask=_number(raw, "ask"),
        bid_size=_number(raw, "bidVolume"),
        ask_size=_number(raw, "askVolume"),
    )


def require_json(exchange: Any, what: str) -> None:
    """Raise :class:`MalformedResponseError` when the exchange's last body is not a JSON array or object
    (ccxt does not raise on a body that is not JSON: it parses the text as data)."""
    body = getattr(exchange, "last_http_response", None)
    if body is None:
        return
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        raise MalformedResponseError(f"{what}: the body is not JSON: {str(body)[:80]!r}") from None
    if not isinstance(parsed, list | dict):
        raise MalformedResponseError(f"{what}: expected a JSON array or object, got {type(parsed).__name__}")


def retry_after(exchange: Any) -> float | None:
    """The seconds the exchange's last answer asked to wait (``Retry-After``), None when it did not."""
    headers = getattr(exchange, "last_response_headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return None if raw is None else max(0.0, float(raw))
    except (TypeError, ValueError):  # an HTTP-date: use the backoff
        return None


def _default_paging(exchange: Any) -> TradePaging:
    return TradePaging.FROM_ID if str(getattr(exchange, "id", "")).startswith("binance") else TradePaging.SINCE


class CcxtRestClient:
    """Trades and quotes of ``symbols`` (ccxt unified symbols) polled from an async ccxt
    exchange, which the client owns from now on (``close()`` closes it)."""

    def __init__(
        self,
        exchange: Any,
        symbols: Sequence[str],
        clock: Clock,
        *,
        since: pd.Timestamp | None = None,
        from_ids: Mapping[str, int] | None = None,
        policy: PollPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not symbols:
            raise ValueError("CcxtRestClient: expected at least one symbol")
        self.exchange = exchange
        self.symbols = tuple(symbols)
        self.clock = clock
        self.policy = policy or PollPolicy()
        self.paging = self.policy.paging or _default_paging(exchange)
        if from_ids and since is None and self.paging is TradePaging.SINCE:
            raise ValueError("SINCE paging resumes by time: give since= (the time of the trades in from_ids)")
        self.stats = PollStats()
        self._sleep = sleep
        self._since = since
        self._cursors = {s: _Cursor(0, (from_ids or {}).get(s)) for s in self.symbols}
        self._tops: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
        self._closed = False
        exchange.enableRateLimit = True
        exchange.enableLastHttpResponse = True
        exchange.enableLastResponseHeaders = True

    @property
    def cursors(self) -> dict[str, int | None]:
        """The last trade id emitted per symbol (pass as ``from_ids`` to resume)."""
        return {symbol: cursor.last_id for symbol, cursor in self._cursors.items()}

    async def events(self) -> AsyncIterator[MarketEvent]:
        """Poll until :meth:`close`; each poll yields new ticks (per symbol, by trade id), then changed quotes."""
        try:
            async for event in self._poll_forever():
                yield event
        except _StreamClosedError:
            return

    async def _poll_forever(self) -> AsyncIterator[MarketEvent]:
        await self._call("load_markets", self._load_markets)
        start = self._since if self._since is not None else self.clock.now()
        for cursor in self._cursors.values():
            cursor.since_ms = start.value // _MS
        while not self._closed:
            started = self.clock.now()
            for symbol in self.symbols if self.policy.trades else ():
                async for page in self._trade_pages(symbol):
                    for tick in page:
                        yield tick
            for quote in await self._poll_quotes() if self.policy.quotes else []:
                yield quote
            await self._wait_until(started + self.policy.interval)

    async def close(self) -> None:
        """Stop polling and close the exchange's HTTP session (idempotent)."""
        if not self._closed:
            self._closed = True
            await self.exchange.close()

    async def _load_markets(self) -> Any:
        markets = await self.exchange.load_markets()
        require_json(self.exchange, "load_markets")
        return markets

    # --- trades -------------------------------------------------------------------------------

    async def _trade_pages(self, symbol: str) -> AsyncIterator[list[Tick]]:
        cursor = self._cursors[symbol]
        while not self._closed:
            size, ticks = await self._call(f"{symbol} trades", lambda: self._fetch_trades(symbol, cursor))
            fresh = self._advance(cursor, ticks)
            self.stats.trades += len(fresh)
            if fresh:
                yield fresh
            if not self._more(symbol, cursor, size, len(fresh)):
                return

    async def _fetch_trades(self, symbol: str, cursor: _Cursor) -> tuple[int, list[Tick]]:
        limit = self.policy.page_limit
        if self.paging is TradePaging.FROM_ID and cursor.last_id is not None:
            raw = await self.exchange.fetch_trades(symbol, None, limit, {"fromId": cursor.last_id + 1})
        elif self.paging is TradePaging.FROM_ID:  # locating the first trade: Binance's one-hour window
            raw = await self.exchange.fetch_trades(symbol, cursor.since_ms, limit, {"until": _window_end(cursor) - 1})
        else:
            raw = await self.exchange.fetch_trades(symbol, cursor.since_ms, limit)
        require_json(self.exchange, f"{symbol} trades")
        received = self.clock.now()
        if not isinstance(raw, list):
            raise MalformedResponseError(f"{symbol} trades: expected a list, got {type(raw).__name__}")
        return len(raw), [decode_trade(symbol, item, received) for item in raw]

    def _advance(self, cursor: _Cursor, ticks: list[Tick]) -> list[Tick]:
        """The ticks past the cursor, in id order; the cursor moves to the last of them."""
        last = cursor.last_id
        fresh = sorted((t for t in ticks if last is None or t.trade_id > last), key=_by_id)
        self.stats.duplicates += len(ticks) - len(fresh)
        if fresh:
            cursor.last_id = fresh[-1].trade_id
            cursor.since_ms = max(t.ts.value for t in fresh) // _MS
        return fresh

    def _more(self, symbol: str, cursor: _Cursor, size: int, fresh: int) -> bool:
        """Whether to ask again at once: after a full page with new trades (catching up), or
        when a time window without new trades lies wholly in the past (skip to the next)."""
        if fresh:
            return size >= self.policy.page_limit
        if self.paging is TradePaging.FROM_ID and cursor.last_id is not None:
            return False
        if size >= self.policy.page_limit:  # SINCE paging: a full page of trades at one time
            _log.warning("%s: more than %d trades at %d ms: some may be missed", symbol, size, cursor.since_ms)
            cursor.since_ms += 1
            return True
        end = _window_end(cursor)
        if end > self.clock.now().value // _MS - _SETTLE_MS:
            return False
        cursor.since_ms = end
        return True

    # --- quotes -------------------------------------------------------------------------------

    async def _poll_quotes(self) -> list[Quote]:
        quotes = await self._call("bid/ask", self._fetch_quotes)
        out = []
        for quote in quotes:
            top = (quote.bid, quote.ask, quote.bid_size, quote.ask_size)
            if self._tops.get(quote.symbol) != top:
                self._tops[quote.symbol] = top
                out.append(quote)
        self.stats.quotes += len(out)
        return out

    async def _fetch_quotes(self) -> list[Quote]:
        tickers = await self.exchange.fetch_bids_asks(list(self.symbols))
        require_json(self.exchange, "bid/ask")
        received = self.clock.now()
        if not isinstance(tickers, Mapping):
            raise MalformedResponseError(f"bid/ask: expected tickers by symbol, got {type(tickers).__name__}")
        return [decode_quote(symbol, tickers[symbol], received) for symbol in self.symbols if _has_top(tickers, symbol)]

    # --- retries ------------------------------------------------------------------------------

    async def _call(self, what: str, request: Callable[[], Awaitable[T]]) -> T:
        """``request()`` until it succeeds, waiting out transient failures; others are raised."""
        attempt = 0
        while True:
            if self._closed:
                raise _StreamClosedError
            self.stats.requests += 1
            self.exchange.last_response_headers = None  # never read a Retry-After from an older answer
            try:
                return await request()
            except Exception as error:
                if self._closed:  # the session was closed under the request
                    raise _StreamClosedError from error
                if not is_transient(error):
                    raise
                await self._back_off(what, error, attempt)
                attempt += 1

    async def _back_off(self, what: str, error: Exception, attempt: int) -> None:
        wait = self.policy.backoff.delay(attempt, retry_after(self.exchange))
        name = type(error).__name__
        self.stats.retries += 1
        self.stats.failures[name] = self.stats.failures.get(name, 0) + 1
        _log.warning("%s: %s: %s; retry %d in %.3gs", what, name, str(error)[:200], attempt + 1, wait)
        await self._sleep(wait)

    async def _wait_until(self, when: pd.Timestamp) -> None:
        left = (when - self.clock.now()).total_seconds()
        if left > 0:
            await self._sleep(left)
        else:
            await asyncio.sleep(0)  # behind schedule: poll again, but let other tasks run first


def _has_top(tickers: Mapping[str, Any], symbol: str) -> bool:
    """Whether ``symbol`` has a best bid and ask (an empty book has none: no quote then)."""
    raw = tickers.get(symbol)
    return isinstance(raw, Mapping) and raw.get("bid") is not None and raw.get("ask") is not None


def _window_end(cursor: _Cursor) -> int:
    return cursor.since_ms + _HOUR_MS


def is_transient(error: Exception) -> bool:
    """ccxt's ``OperationFailed`` family, a body that is not JSON, or a connection failure."""
    import aiohttp
    import ccxt

    if isinstance(error, ccxt.OperationFailed | MalformedResponseError):
        return True
    return isinstance(error, ccxt.ExchangeError) and isinstance(error.__cause__, aiohttp.ClientError)


def _by_id(tick: Tick) -> int:
    return tick.trade_id
