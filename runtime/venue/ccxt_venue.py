"""CcxtVenue: the runtime's :class:`~.base.Venue` over a real async ccxt exchange (live trading).

One account (the exchange's credentials), several symbols (ccxt unified symbols such as
``BTC/USDT:USDT``, the runtime's symbols too).

**Threading.** ``submit`` and ``cancel`` are called by the engine on the asyncio loop's
thread and never block: they queue a command for the venue's worker task, which runs the
commands one at a time in the order given — the orders of one ``submit`` are sent in
decision order, and a cancel never overtakes the send of its order. Every event is
reported by calling the attached sink from the loop's thread (the worker or the poll
task), never from inside ``submit``/``cancel`` (except a submit after :meth:`close`,
rejected at once).

**Sending** (:mod:`.ccxt_orders`, :mod:`.ccxt_send`): the size is settled at send time
(an entry against an opposite position sends ``|position| + qty``, ``position_of`` giving
the runtime account's signed position; a budgeted stop/limit entry is sized at its
level), the exchange's precision and limits are applied, and an order that fails them
is rejected locally — no request reaches the exchange. Orders carrying ``protection``
are rejected: protective exits are not supported on a ccxt venue yet. Exits are sent
reduce-only, limits with their price, stops as stop-market orders with a trigger
price. Our client order id is the exchange's client order id, which makes a resend
after an unknown outcome safe: the order is looked up by it first, and never sent twice.
Every rejection is also notified (``order_rejected``, warning).

**Fills** (:mod:`.ccxt_book`): every ``poll_interval`` seconds (and at once after a send
or cancel) the poll task resolves sends whose outcome is unknown, asks the exchange for
each working order's state (``fetch_order``) and for the account's trades of every
symbol with orders being followed (``fetch_my_trades`` from the earliest of them, the
last trade seen, or six days ago, whichever is latest). Trades
are matched to our orders by the exchange's order id; each is reported once as
``OrderFilled`` (``known_fills`` never); a trade of no order of ours is notified
(``unknown_fill``) and kept in :attr:`unknown_fills` for the reconciler.
``OrderAccepted`` comes once, when the exchange first shows the order;
``OrderCancelled``/``OrderExpired`` once the exchange reports it and all its fills are
reported. An order with ``expire_at`` is cancelled by the venue once the clock passes it
and reported as expired.

**Failures** (:mod:`.ccxt_errors`): rate limits and transient failures are retried with
exponential backoff or the ``Retry-After`` asked for; an uncertain send is resolved by
looking the order up before anything is resent; refusals reject the order with the
exchange's reason. Credentials never appear in a reason, log line, notification or
exception the venue produces (:class:`~.ccxt_errors.Redactor`). ccxt's own DEBUG logging
prints request headers, which carry the API key: keep the ``ccxt`` logger above DEBUG.

**Restarts.** :meth:`snapshot` reads what the exchange holds for the reconciler;
:meth:`adopt` makes the venue follow orders that were at the exchange before the
restart; ``known_fills`` keeps their recorded fills from being reported again.

The venue does not own ``exchange``: :meth:`close` leaves it open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import pandas as pd

from ..clock import Clock
from ..components.notifications import Level, NotificationCenter
from ..crashpoints import crash_point
from ..domain.events import Event, OrderRejected
from ..domain.fills import Fill
from ..domain.market import Market
from ..domain.marketdata import Candle
from ..domain.orders import Order, OrderType
from ..marketdata.ccxt_rest import MalformedResponseError, Sleep
from .base import EventSink
from .ccxt_book import OrderBook, Tracked
from .ccxt_decode import decode_order
from .ccxt_errors import Failure, Redactor, RequestFailedError, RetryPolicy
from .ccxt_fetch import my_trades, order_by_id
from .ccxt_orders import lookup_params, prepare
from .ccxt_requests import Requester
from .ccxt_send import Placement, Sender
from .ccxt_snapshot import SnapshotRequest, VenueOrder, VenueSnapshot, take_snapshot

__all__ = ["CcxtVenue", "RetryPolicy", "VenueOrder", "VenueSnapshot"]

_log = logging.getLogger(__name__)
_MS: Final = 1_000_000
#: How far back the poll asks for trades at most (Binance answers at most 7 days from a start time).
_MAX_LOOKBACK: Final = pd.Timedelta(days=6)
#: Failures of one poll step that are logged and retried at the next poll.
_POLL_ERRORS: Final = (RequestFailedError, MalformedResponseError)


@dataclass(frozen=True, slots=True)
class _Submit:
    order: Order


@dataclass(frozen=True, slots=True)
class _Cancel:
    client_order_id: str
    reason: str
    expire: bool = False


_Command = _Submit | _Cancel


class CcxtVenue:
    """The Venue port over an async ccxt ``exchange`` (see the module docstring)."""

    def __init__(
        self,
        exchange: Any,
        markets: Mapping[str, Market],
        clock: Clock,
        notifications: NotificationCenter,
        position_of: Callable[[str], Decimal],
        *,
        retry: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        known_fills: Iterable[str] = (),
        secrets: Iterable[str] = (),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval {poll_interval}: expected a positive number of seconds")
        self._exchange = exchange
        self._markets = dict(markets)
        self._clock = clock
        self._notifications = notifications
        self._position_of = position_of
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._redact = Redactor.for_exchange(exchange, extra=secrets)
        self._requests = Requester(exchange, retry or RetryPolicy(), self._redact, sleep)
        self._sender = Sender(self._requests, clock)
        self._book = OrderBook(known_fills, {symbol: m.quote for symbol, m in self._markets.items()})
        self._queue: asyncio.Queue[_Command] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._sink: EventSink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._cursors: dict[str, int] = {}
        self._unknown: list[Fill] = []
        self._poll_problem = ""
        self._polls = 0
        self._closed = False

    # ---- the Venue port ----------------------------------------------------------------------
    def attach(self, sink: EventSink) -> None:
        self._sink = sink

    def submit(self, orders: Sequence[Order]) -> None:
        """Queue ``orders`` for sending, in order (never blocks)."""
        for order in orders:
            if self._closed:
                self._reject(order, "the venue is closed")
            else:
                self._queue.put_nowait(_Submit(order))

    def cancel(self, client_order_id: str) -> None:
        """Queue a cancel of ``client_order_id`` (never blocks)."""
        if self._closed:
            _log.warning("cancel %s: the venue is closed", client_order_id)
            return
        self._queue.put_nowait(_Cancel(client_order_id, "cancelled on request"))

    def on_candle(self, candle: Candle) -> None:
        """A real venue trades on the exchange's prices, not on candles."""

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the exchange's markets (every runtime symbol must be one of them), then start
        the worker and the poll task. Raises when the markets cannot be loaded."""
        if self._sink is None:
            raise RuntimeError("CcxtVenue: attach(sink) before start()")
        if self._tasks:
            raise RuntimeError("CcxtVenue: already started")
        await self._requests.read("load markets", self._exchange.load_markets)
        missing = sorted(set(self._markets) - set(self._exchange.markets or {}))
        if missing:
            raise ValueError(f"CcxtVenue: {', '.join(missing)} not listed by {self._exchange.id}")
        self._tasks = [
            asyncio.create_task(self._work(), name="ccxt-venue-worker"),
            asyncio.create_task(self._poll_forever(), name="ccxt-venue-poll"),
        ]

    async def close(self, drain: float = 5.0) -> None:
        """Stop (idempotent). Commands already queued get ``drain`` seconds to finish and a
        last poll reports what they caused. After that, the send in flight (if any) is
        abandoned and left for reconciliation — the order stays submitted in the runtime's
        store, and its deterministic client id lets the next start's snapshot find it at
        the exchange or prove it never arrived; sends never started are rejected ("the
        venue closed before sending it"), cancels never started are dropped (logged)."""
        if self._closed:
            return
        self._closed = True
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._abandon_queue()
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_once(), drain)
        self._tasks = []

    # ---- read-only state ---------------------------------------------------------------------
    @property
    def unknown_fills(self) -> tuple[Fill, ...]:
        """Trades of the account that match no order of ours (for the reconciler)."""
        return tuple(self._unknown)

    @property
    def unresolved(self) -> tuple[str, ...]:
        """Client ids of orders whose send outcome is still unknown."""
        return tuple(t.client_order_id for t in self._book.tracked() if t.unresolved)

    @property
    def polls(self) -> int:
        """Polls completed so far."""
        return self._polls

    def following(self) -> tuple[str, ...]:
        """Client ids of the orders the venue follows (sent or adopted, not finished)."""
        return tuple(t.client_order_id for t in self._book.tracked())

    # ---- restarts ----------------------------------------------------------------------------
    async def snapshot(
        self, symbols: Iterable[str], client_ids: Iterable[str], since: pd.Timestamp | None
    ) -> VenueSnapshot:
        """What the exchange holds (see :class:`~.ccxt_snapshot.VenueSnapshot`): the orders
        with ``client_ids``, the trades of ``symbols`` since ``since`` (None: the exchange's
        most recent page), open orders (plain and conditional), positions and balances.
        Needs no :meth:`start`. Raises :class:`~.ccxt_errors.RequestFailedError` when the
        exchange cannot be read (after retries), ``MalformedResponseError`` when an answer
        is not what ccxt should return."""
        request = SnapshotRequest(
            symbols=tuple(symbols),
            client_ids=tuple(client_ids),
            since=since,
            conditional=True,
            quotes={symbol: m.quote for symbol, m in self._markets.items()},
        )
        if not self._exchange.markets:
            await self._requests.read("load markets", self._exchange.load_markets)
        try:
            return await take_snapshot(self._requests, request, self._book.owner, self._clock.now)
        except MalformedResponseError as error:
            redacted = MalformedResponseError(self._redact(error))
        raise redacted  # outside the except block: the unredacted original is not attached

    def adopt(self, orders: Iterable[Order]) -> None:
        """Follow ``orders`` that were sent before a restart (their later fills, cancels and
        expiry are reported as for orders sent now; terminal ones are ignored). A working
        order with its ``venue_order_id`` is followed at once; any other is first looked up
        by client id — and, if the exchange does not have it, rejected (cancelled if it had
        been accepted) with the reason "not found at the exchange after a restart".
        Call before :meth:`start`, so no trade of theirs is taken for a stranger's."""
        for order in orders:
            if not order.is_terminal and self._book.get(order.client_order_id) is None:
                self._book.adopt(order, conditional=order.type is OrderType.STOP)
        self._wake.set()

    # ---- the worker --------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            command = await self._queue.get()
            try:
                await self._run(command)
            except Exception as error:  # a bug must not stop the venue: log, notify, go on
                self._internal_error(command, error)
            finally:
                self._queue.task_done()

    async def _run(self, command: _Command) -> None:
        if isinstance(command, _Submit):
            await self._send(command.order)
        else:
            await self._cancel(command)

    async def _send(self, order: Order) -> None:
        market = self._markets.get(order.symbol)
        if market is None:
            self._reject(order, f"unknown symbol {order.symbol!r}")
            return
        if self._book.get(order.client_order_id) is not None:
            self._reject(order, f"duplicate client order id {order.client_order_id}")
            return
        prepared = prepare(order, self._exchange, market, self._position_of(order.symbol))
        if isinstance(prepared, str):
            self._reject(order, prepared)
            return
        tracked = self._book.add(order, prepared.qty, conditional=prepared.conditional)
        crash_point("before_send")
        placement = await self._sender.place(prepared)
        crash_point("after_send")
        self._placed(tracked, placement)

    def _placed(self, tracked: Tracked, placement: Placement) -> None:
        now = self._clock.now()
        if placement.view is not None:
            self._emit(self._book.confirm(tracked.client_order_id, placement.view, now))
            self._wake.set()
        elif placement.pending:
            tracked.unresolved = f"venue unreachable after {self._requests.policy.attempts} attempts"
            _log.error("order %s: outcome unknown, resolving later: %s", tracked.client_order_id, placement.reason)
            self._notifications.notify(
                now,
                Level.ERROR,
                "order_unresolved",
                f"order outcome unknown, resolving: {placement.reason}",
                order=tracked.client_order_id,
                symbol=tracked.symbol,
            )
        else:
            self._emit(self._book.reject(tracked.client_order_id, placement.reason, now))

    async def _cancel(self, command: _Cancel) -> None:
        tracked = self._book.get(command.client_order_id)
        if tracked is None:
            _log.info("cancel %s: not an order the venue follows (finished or unknown)", command.client_order_id)
            return
        tracked.cancel_reason, tracked.expire = command.reason, command.expire
        venue_id, params = self._cancel_target(tracked)
        exchange = self._exchange
        try:
            raw = await self._requests.read(
                f"cancel {tracked.client_order_id}", lambda: exchange.cancel_order(venue_id, tracked.symbol, params)
            )
        except RequestFailedError as failed:
            self._cancel_failed(tracked, failed)
            return
        self._emit(self._book.confirm(tracked.client_order_id, decode_order(raw), self._clock.now()))
        self._wake.set()

    @staticmethod
    def _cancel_target(tracked: Tracked) -> tuple[str | None, dict[str, Any]]:
        if not tracked.venue_id:
            return None, lookup_params(tracked.client_order_id, conditional=tracked.conditional)
        return tracked.venue_id, ({"trigger": True} if tracked.conditional and not tracked.tracks_actual else {})

    def _cancel_failed(self, tracked: Tracked, failed: RequestFailedError) -> None:
        self._wake.set()  # the next poll tells what happened to the order
        if failed.failure is Failure.NOT_FOUND:  # finished already, or never arrived
            _log.info("cancel %s: the exchange has no open order: %s", tracked.client_order_id, failed.detail)
            return
        tracked.cancel_reason, tracked.expire = "", False
        _log.warning("cancel %s failed: %s", tracked.client_order_id, failed.detail)
        self._notifications.notify(
            self._clock.now(),
            Level.WARNING,
            "cancel_failed",
            failed.detail,
            order=tracked.client_order_id,
            symbol=tracked.symbol,
        )

    def _abandon_queue(self) -> None:
        while not self._queue.empty():
            command = self._queue.get_nowait()
            self._queue.task_done()
            if isinstance(command, _Submit):
                self._reject(command.order, "the venue closed before sending it")
            else:
                _log.warning("cancel %s dropped: the venue closed", command.client_order_id)

    # ---- the poll loop -----------------------------------------------------------------------
    async def _poll_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._poll_once()
            except Exception as error:  # a bug must not stop polling: log, notify, poll again
                self._report_poll_problem([error], level=Level.ERROR)
            await self._wait_for_next_poll()

    async def _wait_for_next_poll(self) -> None:
        sleeper = asyncio.ensure_future(self._sleep(self._poll_interval))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _poll_once(self) -> None:
        problems: list[Exception] = []
        for step in (self._resolve_unresolved, self._refresh_orders, self._poll_trades):
            try:
                await step()
            except _POLL_ERRORS as error:
                problems.append(error)
        self._emit(self._book.settle(self._clock.now()))
        self._expire_due()
        if problems:
            self._report_poll_problem(problems)
        else:
            self._poll_problem = ""
        self._polls += 1

    async def _resolve_unresolved(self) -> None:
        for tracked in [t for t in self._book.tracked() if t.unresolved]:
            view = await self._sender.lookup(tracked.client_order_id, tracked.symbol, conditional=tracked.conditional)
            now = self._clock.now()
            if view is not None:
                self._emit(self._book.confirm(tracked.client_order_id, view, now))
            else:
                self._emit(self._book.reject(tracked.client_order_id, tracked.unresolved, now))

    async def _refresh_orders(self) -> None:
        for tracked in [t for t in self._book.tracked() if t.working and t.venue_id]:
            conditional = tracked.conditional and not tracked.tracks_actual
            view = await order_by_id(self._requests, tracked.venue_id, tracked.symbol, conditional=conditional)
            self._emit(self._book.confirm(tracked.client_order_id, view, self._clock.now()))

    async def _poll_trades(self) -> None:
        symbols = self._book.trade_symbols()
        self._cursors = {s: c for s, c in self._cursors.items() if s in symbols}
        floor = (self._clock.now() - _MAX_LOOKBACK).value // _MS
        for symbol, earliest in sorted(symbols.items()):
            since = max(self._cursors.get(symbol, earliest), earliest, floor)
            trades = await my_trades(self._requests, symbol, since)
            if trades:
                self._cursors[symbol] = max(since, trades[-1].ts.value // _MS)
            events, unknown = self._book.trades(trades, self._clock.now())
            self._emit(events)
            self._report_unknown(unknown)

    def _expire_due(self) -> None:
        now = self._clock.now()
        for tracked in self._book.tracked():
            expire_at = tracked.order.expire_at
            if expire_at is not None and expire_at <= now and tracked.accepted and not tracked.cancel_reason:
                tracked.cancel_reason = "expired (good till time)"
                self._queue.put_nowait(_Cancel(tracked.client_order_id, tracked.cancel_reason, expire=True))

    # ---- reporting ---------------------------------------------------------------------------
    def _emit(self, events: Iterable[Event]) -> None:
        sink = self._sink
        if sink is None:
            raise RuntimeError("CcxtVenue: attach(sink) before use")
        for event in events:
            if isinstance(event, OrderRejected):  # the OrderExecutor notifies it when it applies it
                _log.info("order %s rejected: %s", event.client_order_id, event.reason)
            sink(event)

    def _reject(self, order: Order, reason: str) -> None:
        now = self._clock.now()
        event = OrderRejected(client_order_id=order.client_order_id, reason=self._redact(reason), ts=now, received=now)
        self._emit([event])

    def _report_unknown(self, fills: Sequence[Fill]) -> None:
        for fill in fills:
            self._unknown.append(fill)
            message = f"trade of an order that is not ours: {fill.side.value} {fill.qty} {fill.symbol} @ {fill.price}"
            _log.warning("%s (fill %s)", message, fill.fill_id)
            self._notifications.notify(
                fill.received, Level.WARNING, "unknown_fill", message, fill=fill.fill_id, symbol=fill.symbol
            )

    def _report_poll_problem(self, errors: Sequence[Exception], level: Level = Level.WARNING) -> None:
        """Log every failed poll; notify when the failure is a new one (same request, same
        kind of failure: not once per poll)."""
        detail = "; ".join(self._redact(error) for error in errors)
        _log.warning("poll failed (retrying next poll): %s", detail)
        key = "; ".join(f"{getattr(e, 'what', '')}: {getattr(e, 'failure', type(e).__name__)}" for e in errors)
        if key == self._poll_problem:
            return
        self._poll_problem = key
        self._notifications.notify(self._clock.now(), level, "venue_poll_failed", detail)

    def _internal_error(self, command: _Command, error: Exception) -> None:
        detail = self._redact.error(error)
        _log.error("venue command %s failed: %s", type(command).__name__, detail)
        if isinstance(command, _Submit):
            key = command.order.client_order_id
            tracked = self._book.get(key)
            if tracked is None:  # failed before anything was sent
                self._reject(command.order, f"venue error: {detail}")
            elif not tracked.accepted:  # may have been sent: the poll loop finds out where it stands
                tracked.unresolved = f"venue error: {detail}"
        else:
            key = command.client_order_id
        self._notifications.notify(self._clock.now(), Level.ERROR, "venue_error", detail, order=key)
