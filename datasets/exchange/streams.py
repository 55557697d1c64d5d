"""The local exchange's live market streams: who is connected, what they subscribed to, and a
publisher that turns the dataset's trades into stream events as the exchange clock moves.

Every ``poll_interval`` seconds (on the server's event loop) the publisher reads the
market clock (:meth:`MarketData.now_ms`) and, per symbol, publishes the trades that
became visible since its previous step — trade/aggTrade events one per trade, then one
bookTicker and one ticker/miniTicker event for the new state — to every connection
subscribed to them. A subscriber gets what happens after it subscribed, as on Binance;
history is REST's job. A clock that goes back publishes nothing until it passes the
trades already published.

The hub is shared between the server loop and the caller's thread: :meth:`publish`,
:meth:`drop`, :meth:`stall`, :meth:`resume` and :meth:`connections` may be called from
any other thread (tests, notebooks); handlers on the loop use the ``*_now`` methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from aiohttp import web

from .market import MarketData, SymbolSeries
from .stream_connection import ConnectionInfo, StreamConnection
from .stream_faults import StreamFaultPlan
from .stream_wire import StreamBatch

__all__ = ["StreamHub"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
#: How long a caller on another thread waits for the server loop to carry out a command.
_COMMAND_TIMEOUT: Final = 10.0
#: How long stopping waits for clients to answer the close handshake.
_CLOSE_TIMEOUT: Final = 1.0


class StreamHub:
    """Connections, subscriptions, the stream fault plan and the publisher of one server."""

    def __init__(
        self, market: MarketData, *, poll_interval: float = 0.01, faults: StreamFaultPlan | None = None
    ) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval = {poll_interval}: expected a positive number of seconds")
        self.market = market
        self.poll_interval = poll_interval
        self.faults = faults if faults is not None else StreamFaultPlan()
        self._connections: dict[int, StreamConnection] = {}
        self._cursors: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publisher: asyncio.Task[None] | None = None

    # --- lifecycle (server loop) ---------------------------------------------------------

    async def start(self) -> None:
        """Begin publishing from the current clock (the app's startup hook)."""
        self._loop = asyncio.get_running_loop()
        now = self.market.now_ms()
        self._cursors = {s.spec.symbol: s.visible_trades(now) for s in self.market.symbols}
        self._publisher = asyncio.create_task(self._publish_forever(), name="local-exchange-streams")

    async def stop(self) -> None:
        """Stop publishing and close every connection (the app's shutdown hook)."""
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drop_now(), _CLOSE_TIMEOUT)
        self._loop = None

    def register(self, ws: web.WebSocketResponse, path: str, *, combined: bool) -> StreamConnection:
        connection = StreamConnection(next(self._ids), path, ws, combined=combined, plan=self.faults)
        self._connections[connection.id] = connection
        return connection

    def unregister(self, connection: StreamConnection) -> None:
        self._connections.pop(connection.id, None)

    def listed(self) -> frozenset[str]:
        """The exchange ids a stream may name."""
        return frozenset(s.spec.symbol for s in self.market.symbols)

    # --- publishing ----------------------------------------------------------------------

    async def _publish_forever(self) -> None:
        while True:
            try:
                self.publish_due()
            except Exception:  # a broken clock must not end the feed silently
                _log.exception("local exchange: publishing stream events failed")
            await asyncio.sleep(self.poll_interval)

    def publish_due(self) -> int:
        """Publish what became visible since the last step; returns the events queued."""
        now = self.market.now_ms()
        return sum(self._publish_symbol(series, now) for series in self.market.symbols)

    def _publish_symbol(self, series: SymbolSeries, now_ms: int) -> int:
        symbol = series.spec.symbol
        visible = series.visible_trades(now_ms)
        start = self._cursors.get(symbol, visible)
        self._cursors[symbol] = max(start, visible)
        if visible <= start:
            return 0
        batch = StreamBatch(series, start, visible, now_ms)
        return sum(connection.publish(batch) for connection in list(self._connections.values()))

    # --- commands on the server loop -----------------------------------------------------

    async def drop_now(self, *, abrupt: bool = False) -> int:
        """Close every open connection (``abrupt``: without a close frame); returns how many."""
        connections = list(self._connections.values())
        await asyncio.gather(*(c.drop(abrupt=abrupt) for c in connections), return_exceptions=True)
        return len(connections)

    def stall_now(self, seconds: float | None = None) -> int:
        """Freeze every open connection for ``seconds`` (None: until resumed)."""
        for connection in self._connections.values():
            connection.stall(seconds)
        return len(self._connections)

    def resume_now(self) -> int:
        for connection in self._connections.values():
            connection.resume()
        return len(self._connections)

    def snapshot(self) -> list[ConnectionInfo]:
        return [connection.info() for connection in self._connections.values()]

    # --- commands from another thread ----------------------------------------------------

    def drop(self, *, abrupt: bool = False) -> int:
        """Close every open connection now (from a thread other than the server's)."""
        return self._on_loop(lambda: self.drop_now(abrupt=abrupt))

    def publish(self) -> int:
        """Run one publisher step now (tests that step the feed themselves set a long
        ``poll_interval`` before the server starts); returns the events queued."""
        return self._on_loop(lambda: _wrap(self.publish_due))

    def stall(self, seconds: float | None = None) -> int:
        """Freeze every open connection for ``seconds`` (None: until :meth:`resume`)."""
        return self._on_loop(lambda: _wrap(self.stall_now, seconds))

    def resume(self) -> int:
        return self._on_loop(lambda: _wrap(self.resume_now))

    def connections(self) -> list[ConnectionInfo]:
        """The open connections (empty when the server is not running)."""
        if self._loop is None:
            return []
        return self._on_loop(lambda: _wrap(self.snapshot))

    def _on_loop(self, command: Callable[[], Awaitable[_T]]) -> _T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the local exchange is not running; start it first")
        if _running_loop() is loop:
            raise RuntimeError("called on the server loop: use the *_now methods there")

        async def run() -> _T:
            return await command()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(_COMMAND_TIMEOUT)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _wrap(function: Callable[..., _T], *args: object) -> _T:
    return function(*args)
