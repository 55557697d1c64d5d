"""The local exchange's HTTP server: in-process on a background thread, or in the foreground.

In-process (tests, notebooks)::

    with LocalExchange(MarketData.from_bars(bars)) as exchange:
        client = binanceusdm_client(exchange.url)
        ...
        exchange.faults.add(FaultRule.rate_limit("/fapi/v1/klines", retry_after=1))
        exchange.requests.records("/fapi/v1/klines")

The server binds loopback, port 0 by default (the OS picks a free port; ``.port`` and
``.url`` tell which), and runs its own event loop on a daemon thread, so the caller's
code (and its own event loop, if any) is untouched. As a subprocess
(``python -m quantbridge.datasets.exchange --data FILE`` or ``quantbridge exchange
serve``), :func:`serve` prints the URL as the first line on stdout and serves until
SIGTERM or SIGINT.

The exchange's time is the market's clock; pass ``clock=`` (e.g. a
:class:`~.clock.ReplayClock`) to play the dataset "live"::

    clock = ReplayClock(market.start_ms, speed=60.0)  # one replayed minute per second
    with LocalExchange(market, clock=clock) as exchange: ...

Besides answering requests, the server matches resting and conditional orders every
``match_interval`` seconds (:meth:`Venue.sync`), so they fill as the clock passes the
replayed trades even when no client asks anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self

from aiohttp import web

from .accounts import AccountConfig
from .clock import ReplayClock
from .faults import FaultPlan
from .market import MarketData
from .matching import Venue
from .middleware import FAULTS_KEY, REQUESTS_KEY, inject_faults, record_requests
from .requestlog import RequestLog
from .routes_admin import add_admin_routes
from .routes_algo import add_algo_routes
from .routes_market import MARKET_KEY, add_market_routes, binance_errors
from .routes_orders import VENUE_KEY, add_order_routes
from .routes_ws import add_stream_routes
from .streams import StreamHub

__all__ = ["MATCH_INTERVAL", "LocalExchange", "build_app", "serve"]

_log = logging.getLogger(__name__)
#: How long stopping waits for requests still being answered (a held "timeout" fault).
SHUTDOWN_TIMEOUT: Final = 0.5
#: Seconds between two matching passes of the server's own (default).
MATCH_INTERVAL: Final = 0.02
_START_TIMEOUT: Final = 10.0


class _Matcher:
    """Runs :meth:`Venue.sync` every ``interval`` seconds on the server loop."""

    def __init__(self, venue: Venue, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"match_interval = {interval}: expected a positive number of seconds (or None)")
        self.venue = venue
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: web.Application) -> None:
        self._task = asyncio.create_task(self._run(), name="local-exchange-matcher")

    async def stop(self, app: web.Application) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                self.venue.sync()
            except Exception:  # a broken clock must not stop matching silently
                _log.exception("local exchange: matching orders failed")
            await asyncio.sleep(self.interval)


def build_app(
    market: MarketData,
    faults: FaultPlan,
    requests: RequestLog,
    streams: StreamHub | None = None,
    venue: Venue | None = None,
    *,
    match_interval: float | None = MATCH_INTERVAL,
) -> web.Application:
    """The aiohttp application: market, order and algo-order routes, websocket streams,
    admin routes, log, faults, Binance errors, and (unless ``match_interval`` is None)
    order matching every ``match_interval`` seconds."""
    app = web.Application(middlewares=[record_requests, inject_faults, binance_errors])
    app[MARKET_KEY] = market
    app[FAULTS_KEY] = faults
    app[REQUESTS_KEY] = requests
    app[VENUE_KEY] = venue if venue is not None else Venue(market)
    add_market_routes(app)
    add_order_routes(app)
    add_algo_routes(app)
    add_admin_routes(app)
    add_stream_routes(app, streams if streams is not None else StreamHub(market))
    if match_interval is not None:
        matcher = _Matcher(app[VENUE_KEY], match_interval)
        app.on_startup.append(matcher.start)
        app.on_shutdown.append(matcher.stop)
    return app


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"local exchange: cannot bind {host}:{port}: {error}") from error
    sock.setblocking(False)
    return sock


async def _start_site(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


class LocalExchange:
    """A Binance-USDM-compatible server for ``market`` on a background thread.

    ``clock`` replaces the market's clock (``self.market`` is then ``market.with_clock(clock)``;
    the ``market`` passed in is left as it is); ``match_interval`` is the period of the
    server's own matching passes (None: only requests match orders)."""

    def __init__(
        self,
        market: MarketData,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        accounts: AccountConfig | None = None,
        clock: Callable[[], int] | None = None,
        match_interval: float | None = MATCH_INTERVAL,
    ) -> None:
        self.market = market if clock is None else market.with_clock(clock)
        self.faults = faults if faults is not None else FaultPlan()
        self.requests = RequestLog()
        #: Accounts, orders and fills (the matching engine over ``market``).
        self.venue = Venue(self.market, accounts)
        #: Websocket streams: connections, stream faults, drop/stall commands.
        self.streams = StreamHub(self.market)
        self._match_interval = match_interval
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: Exception | None = None

    @property
    def clock(self) -> Callable[[], int]:
        """The exchange's clock (a :class:`~.clock.ReplayClock` when one was passed)."""
        return self.market.clock

    @property
    def port(self) -> int:
        """The port the server listens on (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("LocalExchange is not running; call start() or use it as a context manager")
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> Self:
        """Bind, start the event-loop thread, and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("LocalExchange is already running")
        sock = _bound_socket(self._host, self._requested_port)
        self._port = int(sock.getsockname()[1])
        self._ready.clear()
        self._failure = None
        self._loop = asyncio.new_event_loop()
        app = build_app(
            self.market, self.faults, self.requests, self.streams, self.venue, match_interval=self._match_interval
        )
        self._thread = threading.Thread(
            target=self._run, args=(self._loop, app, sock), name=f"local-exchange-{self._port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT) or self._failure is not None:
            failure = self._failure
            self.stop()
            raise RuntimeError(f"local exchange on {self._host}:{self._port} did not start: {failure}") from failure
        return self

    def _run(self, loop: asyncio.AbstractEventLoop, app: web.Application, sock: socket.socket) -> None:
        asyncio.set_event_loop(loop)
        runner: web.AppRunner | None = None
        try:
            runner = loop.run_until_complete(_start_site(app, sock))
            self._ready.set()
            loop.run_forever()
        except Exception as error:  # reported by start()
            self._failure = error
            self._ready.set()
        finally:
            if runner is not None:
                loop.run_until_complete(runner.cleanup())
            _cancel_pending(loop)
            loop.close()
            sock.close()

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed after a failed start
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_START_TIMEOUT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


def _announce(url: str) -> None:
    sys.stdout.write(url + "\n")
    sys.stdout.flush()


async def _serve_until_signal(
    app: web.Application, sock: socket.socket, url: str, announce: Callable[[str], None]
) -> None:
    runner = await _start_site(app, sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        announce(url)
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(
    market: MarketData,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultPlan | None = None,
    announce: Callable[[str], None] = _announce,
    clock: ReplayClock | None = None,
    accounts: AccountConfig | None = None,
) -> None:
    """Serve ``market`` in the foreground until SIGTERM/SIGINT; ``announce`` gets the URL
    (by default printed as the first line on stdout, for a parent process to read).

    The exchange runs on ``clock``; without one, on the market's clock when it is a
    :class:`~.clock.ReplayClock`, else on a paused ReplayClock at the market's current time
    (the same fixed clock, but ``POST /_admin/clock`` can set, speed up or start it)."""
    if clock is None:
        current = market.clock
        clock = current if isinstance(current, ReplayClock) else ReplayClock(market.now_ms(), paused=True)
    market = market.with_clock(clock)
    sock = _bound_socket(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    app = build_app(market, faults if faults is not None else FaultPlan(), RequestLog(), venue=Venue(market, accounts))
    try:
        asyncio.run(_serve_until_signal(app, sock, url, announce))
    finally:
        sock.close()
