"""A MarketDataClient over ccxt.pro websocket streams, with reconnection and REST back-fill.

Per symbol, a *watcher* task loops on ``watch_trades`` and hands each batch, and every
connection loss, to a *sequencer* task through an unbounded inbox. The watcher awaits
nothing but the websocket (and its back-off after a loss): a trade ccxt receives while
no ``watch_trades`` call is pending waits in ccxt's cache until the *next* message
resolves a call, so the REST work is kept out of that loop. The sequencer turns batches
into ticks exactly once, in trade-id order:

* a trade whose id is not above the last one emitted is a duplicate and is dropped;
* after a loss (a *seam*), and whenever ids jump while ``ids_consecutive`` (Binance's
  aggregate and trade ids are consecutive per symbol), the missing ids are fetched over
  REST (``fetch_trades`` with ``fromId``) before the next streamed trade is emitted;
* on a loss it also back-fills at once, and once more if nothing was streamed
  ``catch_up_after`` seconds after reconnecting (so a market that went quiet does not
  hold back what happened during the outage).

The REST method matches the stream's id space: ``aggTrade`` ↔ ``GET /fapi/v1/aggTrades``
(public), ``trade`` ↔ ``GET /fapi/v1/historicalTrades`` (needs an API key in ccxt).

Losses are detected by ccxt (the server closed or reset the socket; no pong within two
keep-alive intervals → ``RequestTimeout``) and, with ``ReconnectPolicy.idle_timeout``,
by the absence of any trade for that long: the websocket is then closed and reopened.
Reconnection waits an exponential back-off. Every loss, recovery and back-fill is logged,
counted in :attr:`CcxtWebsocketClient.stats` and passed to ``on_event`` (for a
NotificationCenter); a failing callback is logged, never raised.

Quotes come from ``watch_bids_asks`` (Binance's ``bookTicker``: USD-M's ticker streams
carry no bid/ask); they are state, not history, so a lost quote is not back-filled.

ccxt's unified trade and ticker dicts are decoded where the REST client decodes them
(:func:`.ccxt_rest.decode_trade` / :func:`.ccxt_rest.decode_quote`: one decoder for every
ccxt edge of the runtime); ``received`` comes from the injected Clock. Tick and quote
symbols are the symbols the client was asked for (ccxt unified: ``BTC/USDT:USDT``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

import ccxt
import pandas as pd

from ..clock import Clock
from ..domain import Quote, Tick
from .ccxt_rest import MalformedResponseError, decode_quote, decode_trade
from .client import MarketEvent

__all__ = [
    "CcxtWebsocketClient",
    "ReconnectPolicy",
    "StreamEvent",
    "StreamEventKind",
    "StreamStats",
    "TradeSequencer",
    "TradeStream",
]

_log = logging.getLogger(__name__)

TradeStream = Literal["aggTrade", "trade"]
Channel = Literal["trades", "quotes"]
#: REST method (ccxt ``fetchTradesMethod``) and page size in the id space of each stream.
_REST: Final[dict[str, tuple[str, int]]] = {
    "aggTrade": ("fapiPublicGetAggTrades", 1000),
    "trade": ("fapiPublicGetHistoricalTrades", 500),
}
#: Errors that end the client (a wrong symbol, missing credentials…); all others are retried.
_FATAL: Final = (ccxt.BadRequest, ccxt.AuthenticationError, ccxt.NotSupported, ccxt.ArgumentsRequired)
_TRANSIENT: Final = (ccxt.BaseError, ConnectionError, TimeoutError, MalformedResponseError)
#: How many 10 ms polls a closed ccxt websocket client may take to leave ``exchange.clients``.
_FORGET_POLLS: Final = 100


# --- the functional core: ordering, de-duplication, gaps --------------------------------------


class TradeSequencer:
    """One symbol's trade ids: which ticks are new, and when a gap must be filled first.

    ``last_id`` is the last id emitted (None until the first). A *seam* (a connection loss,
    or a known ``last_id`` at start) means the next new id must be joined to ``last_id``
    over REST; with ``consecutive`` ids, any jump means the same.
    """

    def __init__(self, last_id: int | None = None, *, consecutive: bool = True) -> None:
        self.last_id = last_id
        self._consecutive = consecutive
        self._seam = last_id is not None

    def mark_seam(self) -> None:
        self._seam = True

    def needs_fill(self, trade_id: int) -> bool:
        """True when ids between :attr:`last_id` and ``trade_id`` may be missing."""
        if self.last_id is None or trade_id <= self.last_id + 1:
            return False
        return self._seam or self._consecutive

    def accept(self, trade_id: int) -> bool:
        """Record ``trade_id`` if it is new (above :attr:`last_id`); False for a duplicate."""
        if self.last_id is not None and trade_id <= self.last_id:
            return False
        self.last_id = trade_id
        self._seam = False
        return True


# --- events, statistics, policy ----------------------------------------------------------------


class StreamEventKind(StrEnum):
    """What happened to a symbol's stream."""

    DISCONNECTED = "disconnected"
    """The websocket failed (first failure of an outage; ``detail`` says why)."""
    STALLED = "stalled"
    """No trade for ``idle_timeout``: the websocket was closed to be reopened."""
    RECONNECTED = "reconnected"
    """Data flows again after an outage."""
    BACKFILLED = "backfilled"
    """``count`` trades were recovered over REST."""
    BACKFILL_FAILED = "backfill_failed"
    """A REST back-fill attempt failed (it is retried)."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A connection event of one symbol's channel, stamped by the injected Clock."""

    kind: StreamEventKind
    symbol: str
    channel: Channel
    at: pd.Timestamp
    detail: str = ""
    count: int = 0


@dataclass(slots=True)
class StreamStats:
    """Counters over the client's life."""

    disconnects: int = 0
    stalls: int = 0
    reconnects: int = 0
    failed_attempts: int = 0
    backfilled: int = 0
    backfill_failures: int = 0
    duplicates: int = 0

    def count(self, event: StreamEvent) -> None:
        if event.kind is StreamEventKind.DISCONNECTED:
            self.disconnects += 1
        elif event.kind is StreamEventKind.STALLED:
            self.stalls += 1
        elif event.kind is StreamEventKind.RECONNECTED:
            self.reconnects += 1
        elif event.kind is StreamEventKind.BACKFILLED:
            self.backfilled += event.count
        else:
            self.backfill_failures += 1


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Back-off between reconnection (and REST retry) attempts: ``initial_delay * factor**n``
    seconds, at most ``max_delay``. ``idle_timeout`` (seconds, None: off) treats a stream
    without trades for that long as stalled. ``catch_up_after`` (seconds, None: off): when
    no trade was streamed that long after a reconnection, back-fill over REST once — the
    trades published between the loss's back-fill and the new subscription would otherwise
    wait for the next streamed trade."""

    initial_delay: float = 0.5
    max_delay: float = 30.0
    factor: float = 2.0
    idle_timeout: float | None = None
    catch_up_after: float | None = 1.0

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < self.initial_delay or self.factor < 1:
            raise ValueError(f"{self}: expected 0 <= initial_delay <= max_delay and factor >= 1")
        for name in ("idle_timeout", "catch_up_after"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} = {value}: expected a positive number of seconds or None")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (0-based) of a retry series."""
        return float(min(self.max_delay, self.initial_delay * self.factor ** min(attempt, 64)))


# --- inbox items between a watcher and its sequencer --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Batch:
    ticks: list[Tick]


@dataclass(frozen=True, slots=True)
class _Lost:
    kind: StreamEventKind
    detail: str
    first: bool


@dataclass(frozen=True, slots=True)
class _Restored:
    pass


@dataclass(frozen=True, slots=True)
class _CatchUp:
    """Reconnected, but no trade streamed within ``catch_up_after``: back-fill what was
    published between the loss's back-fill and the new subscription."""


_InboxItem = _Batch | _Lost | _Restored | _CatchUp


@dataclass(frozen=True, slots=True)
class _Failure:
    error: BaseException


class _End:
    pass


_END: Final = _End()


@dataclass(slots=True)
class _Outage:
    """A watcher's view of its connection: in an outage or not, and how many retries so far."""

    lost: bool = False
    attempts: int = 0
    caught_up: bool = False

    def fail(self) -> bool:
        """Note a failure; True when it starts a new outage."""
        first = not self.lost
        self.lost = True
        self.attempts += 1
        self.caught_up = False
        return first

    def recover(self) -> bool:
        """Note a success; True when it ends an outage."""
        ended, self.lost, self.attempts = self.lost, False, 0
        return ended


# --- the client ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Options:
    trades: bool
    quotes: bool
    stream: TradeStream
    policy: ReconnectPolicy
    consecutive: bool
    start_after: dict[str, int] = field(default_factory=dict)


class CcxtWebsocketClient:
    """Ticks (and quotes) for ``symbols`` from a ccxt.pro exchange's websocket streams.

    ``exchange`` is a ccxt.pro instance (e.g. ``ccxt.pro.binanceusdm``); ``rest`` (default:
    the same instance) answers the back-fill ``fetch_trades`` calls. ``start_after`` maps a
    symbol to the last trade id already processed (e.g. before a restart): ticks then
    resume right after it, back-filled over REST. With ``owns_exchange`` (default),
    :meth:`close` closes the ccxt clients too. Tick and quote symbols are ccxt's unified
    symbols (``BTC/USDT:USDT``).

    Events are buffered without bound until consumed (the core is expected to keep up).
    An error retrying cannot heal (unknown symbol, missing API key for the ``trade``
    stream's back-fill) is raised from the event iterator; call :meth:`close` then.
    ``idle_timeout`` suits liquid markets: in a quiet one every timeout costs a
    reconnection and one REST request.
    """

    def __init__(
        self,
        exchange: Any,
        symbols: Sequence[str],
        clock: Clock,
        *,
        trades: bool = True,
        quotes: bool = False,
        stream: TradeStream = "aggTrade",
        policy: ReconnectPolicy | None = None,
        rest: Any | None = None,
        start_after: Mapping[str, int] | None = None,
        ids_consecutive: bool = True,
        on_event: Callable[[StreamEvent], None] | None = None,
        owns_exchange: bool = True,
    ) -> None:
        if not symbols or not (trades or quotes):
            raise ValueError("CcxtWebsocketClient: expected at least one symbol and trades and/or quotes")
        if stream not in _REST:
            raise ValueError(f"stream = {stream!r}: expected one of {sorted(_REST)}")
        self._exchange = exchange
        self._rest = rest if rest is not None else exchange
        self._symbols = tuple(dict.fromkeys(symbols))
        self._clock = clock
        self._options = _Options(
            trades, quotes, stream, policy or ReconnectPolicy(), ids_consecutive, dict(start_after or {})
        )
        self._on_event = on_event
        self._owns = owns_exchange
        self.stats = StreamStats()
        self._output: asyncio.Queue[MarketEvent | _Failure | _End] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._closed = False

    # --- MarketDataClient ---------------------------------------------------------------------

    def events(self) -> AsyncIterator[MarketEvent]:
        """Ticks and quotes as they arrive (starts the streams on first use); ends after :meth:`close`."""
        return _Events(self)

    async def start(self) -> None:
        """Start the watcher/sequencer tasks (idempotent; :meth:`events` calls it)."""
        if self._closed:
            raise RuntimeError("CcxtWebsocketClient is closed")
        if self._started:
            return
        self._started = True
        for symbol in self._symbols:
            if self._options.trades:
                inbox: asyncio.Queue[_InboxItem] = asyncio.Queue()
                self._spawn(self._watch_trades(symbol, inbox), f"ws-trades-{symbol}")
                self._spawn(self._sequence(symbol, inbox), f"ws-sequencer-{symbol}")
            if self._options.quotes:
                self._spawn(self._watch_quotes(symbol), f"ws-quotes-{symbol}")

    async def close(self) -> None:
        """Stop every task, (if owned) close the ccxt clients, discard unconsumed events and end
        every iterator; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._owns:
            await self._exchange.close()
            if self._rest is not self._exchange:
                await self._rest.close()
        while not self._output.empty():  # what nobody consumed before close() is stale
            self._output.get_nowait()
        self._output.put_nowait(_END)

    async def _next(self) -> MarketEvent:
        if not self._closed:
            await self.start()
        item = await self._output.get()
        if isinstance(item, _End):
            self._output.put_nowait(item)  # every iterator ends
            raise StopAsyncIteration
        if isinstance(item, _Failure):
            raise item.error
        return item

    # --- tasks --------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(self._guard(work), name=name))

    async def _guard(self, work: Awaitable[None]) -> None:
        """Run a task body; an error it cannot recover from ends the event stream with it."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as error:
            _log.exception("websocket market data: task failed")
            self._output.put_nowait(_Failure(error))

    async def _watch_trades(self, symbol: str, inbox: asyncio.Queue[_InboxItem]) -> None:
        outage = _Outage()
        while True:
            policy = self._options.policy
            catching_up = outage.lost and not outage.caught_up and policy.catch_up_after is not None
            try:
                ticks = await self._next_ticks(symbol, policy.catch_up_after if catching_up else policy.idle_timeout)
            except TimeoutError:
                await self._on_timeout(symbol, inbox, outage, catching_up)
                continue
            except _FATAL:
                raise
            except _TRANSIENT as error:
                inbox.put_nowait(_Lost(StreamEventKind.DISCONNECTED, _describe(error), outage.fail()))
                await asyncio.sleep(policy.delay(outage.attempts - 1))
                continue
            if outage.recover():
                inbox.put_nowait(_Restored())
            inbox.put_nowait(_Batch(ticks))

    async def _on_timeout(
        self, symbol: str, inbox: asyncio.Queue[_InboxItem], outage: _Outage, catching_up: bool
    ) -> None:
        """Reconnected but quiet: back-fill once; no trade for the idle timeout: reopen the socket."""
        if catching_up:
            outage.caught_up = True
            inbox.put_nowait(_CatchUp())
            return
        await _reset_websocket(self._exchange, "trade", symbol)
        inbox.put_nowait(_Lost(StreamEventKind.STALLED, "no trade for the idle timeout", outage.fail()))
        await asyncio.sleep(self._options.policy.delay(outage.attempts - 1))

    async def _next_ticks(self, symbol: str, timeout: float | None) -> list[Tick]:
        watch = self._exchange.watch_trades(symbol, params={"name": self._options.stream})
        trades = await (watch if timeout is None else asyncio.wait_for(watch, timeout))
        received = self._clock.now()
        return [decode_trade(symbol, trade, received) for trade in trades]

    async def _sequence(self, symbol: str, inbox: asyncio.Queue[_InboxItem]) -> None:
        sequencer = TradeSequencer(self._options.start_after.get(symbol), consecutive=self._options.consecutive)
        if sequencer.last_id is not None:
            await self._fill(symbol, sequencer, None, retry=False)
        while True:
            item = await inbox.get()
            if isinstance(item, _Batch):
                await self._accept(symbol, sequencer, item.ticks)
            elif isinstance(item, _Restored):
                self._record(StreamEventKind.RECONNECTED, symbol, "trades")
            elif isinstance(item, _CatchUp):
                await self._fill(symbol, sequencer, None, retry=False)
            else:
                await self._on_lost(symbol, sequencer, item)

    async def _on_lost(self, symbol: str, sequencer: TradeSequencer, lost: _Lost) -> None:
        sequencer.mark_seam()
        if not lost.first:
            self.stats.failed_attempts += 1
            _log.debug("websocket %s trades: reconnection failed: %s", symbol, lost.detail)
            return
        self._record(lost.kind, symbol, "trades", lost.detail)
        await self._fill(symbol, sequencer, None, retry=False)

    async def _accept(self, symbol: str, sequencer: TradeSequencer, ticks: list[Tick]) -> None:
        for tick in ticks:
            if sequencer.needs_fill(tick.trade_id):
                await self._fill(symbol, sequencer, tick.trade_id, retry=True)
            self._emit(sequencer, tick)

    def _emit(self, sequencer: TradeSequencer, tick: Tick) -> bool:
        if not sequencer.accept(tick.trade_id):
            self.stats.duplicates += 1
            return False
        self._output.put_nowait(tick)
        return True

    async def _fill(self, symbol: str, sequencer: TradeSequencer, before: int | None, *, retry: bool) -> None:
        """Back-fill ids above ``sequencer.last_id`` (below ``before``) over REST; with ``retry``
        keep trying (with back-off) until it succeeds, as nothing may be emitted past a gap."""
        if sequencer.last_id is None:
            return
        attempt = 0
        while True:
            try:
                count = await self._backfill(symbol, sequencer, before)
            except _FATAL:
                raise
            except _TRANSIENT as error:
                self._record(StreamEventKind.BACKFILL_FAILED, symbol, "trades", _describe(error))
                if not retry:
                    return
                await asyncio.sleep(self._options.policy.delay(attempt))
                attempt += 1
                continue
            if count:
                self._record(StreamEventKind.BACKFILLED, symbol, "trades", count=count)
            return

    async def _backfill(self, symbol: str, sequencer: TradeSequencer, before: int | None) -> int:
        method, page_size = _REST[self._options.stream]
        emitted = 0
        while sequencer.last_id is not None and (before is None or sequencer.last_id < before - 1):
            params = {"fromId": sequencer.last_id + 1, "fetchTradesMethod": method}
            page = await self._rest.fetch_trades(symbol, None, page_size, params)
            received = self._clock.now()
            ticks = [decode_trade(symbol, trade, received) for trade in page]
            wanted = [t for t in ticks if before is None or t.trade_id < before]
            fresh = sum(self._emit(sequencer, tick) for tick in wanted)
            emitted += fresh
            if len(page) < page_size or not fresh:
                break
        return emitted

    async def _watch_quotes(self, symbol: str) -> None:
        outage = _Outage()
        while True:
            try:
                quotes = await self._next_quotes(symbol)
            except _FATAL:
                raise
            except _TRANSIENT as error:
                if outage.fail():
                    self._record(StreamEventKind.DISCONNECTED, symbol, "quotes", _describe(error))
                await asyncio.sleep(self._options.policy.delay(outage.attempts - 1))
                continue
            if outage.recover():
                self._record(StreamEventKind.RECONNECTED, symbol, "quotes")
            for quote in quotes:
                self._output.put_nowait(quote)

    async def _next_quotes(self, symbol: str) -> list[Quote]:
        tickers = await self._exchange.watch_bids_asks([symbol])
        received = self._clock.now()
        return [decode_quote(symbol, ticker, received) for ticker in tickers.values()]

    # --- events ---------------------------------------------------------------------------------

    def _record(self, kind: StreamEventKind, symbol: str, channel: Channel, detail: str = "", count: int = 0) -> None:
        event = StreamEvent(kind, symbol, channel, self._clock.now(), detail, count)
        self.stats.count(event)
        level = logging.INFO if kind in (StreamEventKind.RECONNECTED, StreamEventKind.BACKFILLED) else logging.WARNING
        _log.log(level, "websocket %s %s: %s %s%s", symbol, channel, kind.value, detail, f" ({count})" if count else "")
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a failing notifier never stops market data
            _log.exception("websocket market data: on_event callback failed")


class _Events:
    """The async iterator :meth:`CcxtWebsocketClient.events` returns."""

    def __init__(self, client: CcxtWebsocketClient) -> None:
        self._client = client

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> MarketEvent:
        return await self._client._next()


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _reset_websocket(exchange: Any, prefix: str, symbol: str) -> None:
    """Close the ccxt websocket client(s) subscribed to ``symbol``'s ``prefix`` stream (ccxt
    keys subscriptions like ``trade::BTC/USDT:USDT``) and wait until ccxt has forgotten them,
    so the next watch opens a fresh connection."""
    clients: dict[str, Any] = getattr(exchange, "clients", None) or {}
    for url, client in list(clients.items()):
        keys = [str(key) for key in getattr(client, "subscriptions", {})]
        if any(key.startswith(prefix) and key.endswith(symbol) for key in keys):
            with contextlib.suppress(Exception):
                await client.close()
            await _forget(clients, url, client)


async def _forget(clients: dict[str, Any], url: str, client: Any) -> None:
    for _ in range(_FORGET_POLLS):
        if clients.get(url) is not client:
            return
        await asyncio.sleep(0.01)
    if clients.get(url) is client:
        del clients[url]
