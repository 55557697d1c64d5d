"""One websocket connection of the local exchange: its subscriptions, its outgoing queue and
the fault it may carry.

Everything a connection sends — subscription answers and stream events — goes through
one queue drained by :meth:`StreamConnection.run_sender`, so answers and events keep
their order and a stall freezes both. All methods run on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import WSCloseCode, web

from .stream_faults import StreamAction, StreamFaultPlan, StreamFaultRule
from .stream_wire import StreamBatch, StreamKind, StreamName, combined

__all__ = ["ConnectionInfo", "StreamConnection"]

_dumps: Final = functools.partial(json.dumps, separators=(",", ":"))
#: All-market ticker streams deliver arrays (``!ticker@arr``); ``!bookTicker`` single events.
_ARRAY_KINDS: Final = (StreamKind.TICKER, StreamKind.MINI_TICKER)
DROP_MESSAGE: Final = b"dropped by the local exchange"


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A snapshot of one open connection."""

    id: int
    path: str
    streams: tuple[str, ...]
    sent: int
    stalled: bool
    fault: StreamAction | None

    def to_mapping(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "streams": list(self.streams),
            "sent": self.sent,
            "stalled": self.stalled,
            "fault": None if self.fault is None else self.fault.value,
        }


@dataclass(frozen=True, slots=True)
class _Item:
    """An outgoing message (``text``; ``stream`` for events), the fault's cue (``act``) or
    the end of the connection (``stop``)."""

    text: str = ""
    stream: str | None = None
    act: bool = False
    stop: bool = False


class StreamConnection:
    """A client connection: subscribed streams, outgoing queue, stall state, claimed fault."""

    def __init__(
        self, cid: int, path: str, ws: web.WebSocketResponse, *, combined: bool, plan: StreamFaultPlan
    ) -> None:
        self.id = cid
        self.path = path
        self.ws = ws
        self.combined = combined
        self.streams: dict[str, StreamName] = {}
        self.sent = 0
        self._plan = plan
        self._rule: StreamFaultRule | None = None
        self._matched = 0
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._running = asyncio.Event()
        self._running.set()
        self._resume: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None

    def attach(self, transport: asyncio.Transport | None) -> None:
        """The TCP transport, for :meth:`drop` with ``abrupt=True``."""
        self._transport = transport

    @property
    def stalled(self) -> bool:
        return not self._running.is_set()

    def info(self) -> ConnectionInfo:
        fault = None if self._rule is None else self._rule.action
        return ConnectionInfo(self.id, self.path, tuple(self.streams), self.sent, self.stalled, fault)

    # --- subscriptions -------------------------------------------------------------------

    def subscribe(self, names: Iterable[StreamName]) -> None:
        """Add streams; the first one matching a fault rule makes the connection claim it."""
        for name in names:
            self.streams[name.raw] = name
            if self._rule is None:
                self._rule = self._plan.claim(name.raw)
                if self._rule is not None and self._rule.after == 0:
                    self._queue.put_nowait(_Item(act=True))

    def unsubscribe(self, raws: Iterable[str]) -> None:
        for raw in raws:
            self.streams.pop(raw, None)

    # --- outgoing ------------------------------------------------------------------------

    def answer(self, payload: dict[str, Any]) -> None:
        """Queue a reply to a client request (``{"result": ..., "id": ...}`` or an error)."""
        self._queue.put_nowait(_Item(_dumps(payload)))

    def publish(self, batch: StreamBatch) -> int:
        """Queue the events of ``batch`` for every subscribed stream covering its symbol."""
        queued = 0
        for name in list(self.streams.values()):
            if not name.covers(batch.symbol):
                continue
            wrap = name.symbol is None and name.kind in _ARRAY_KINDS
            for text in batch.texts(name.kind):
                payload = f"[{text}]" if wrap else text
                self._queue.put_nowait(_Item(combined(name.raw, payload) if self.combined else payload, name.raw))
                queued += 1
        return queued

    async def run_sender(self) -> None:
        """Send queued items in order until the socket closes; apply the fault when due."""
        while not self.ws.closed:
            item = await self._queue.get()
            await self._running.wait()
            if item.stop:
                return
            if item.act and self._rule is not None:
                await self._act(self._rule)
            elif not await self._send(item):
                return

    async def _send(self, item: _Item) -> bool:
        """Send one message; False once the socket is closed."""
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(item.text)
        except (ConnectionError, RuntimeError):
            return False
        if item.stream is not None:
            self.sent += 1
            await self._count(item.stream)
        return True

    def finish(self) -> None:
        """Let :meth:`run_sender` return once it is done with what it is doing (the client left)."""
        self._queue.put_nowait(_Item(stop=True))
        self.resume()

    async def _count(self, stream: str) -> None:
        rule = self._rule
        if rule is None or not rule.matches(stream):
            return
        self._matched += 1
        if self._matched == rule.after:
            await self._act(rule)

    async def _act(self, rule: StreamFaultRule) -> None:
        if rule.action is StreamAction.STALL:
            self.stall(rule.seconds)
        else:
            await self.drop(abrupt=rule.action is StreamAction.ABORT)

    # --- faults --------------------------------------------------------------------------

    def stall(self, seconds: float | None) -> None:
        """Send nothing and answer no ping for ``seconds`` (None: until :meth:`resume`)."""
        self._running.clear()
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if seconds is not None:
            self._resume = asyncio.get_running_loop().call_later(seconds, self.resume)

    def resume(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        self._running.set()

    async def drop(self, *, abrupt: bool = False) -> None:
        """Close with code 1001 ("going away"), or with ``abrupt`` cut the TCP connection."""
        self.resume()
        if abrupt and self._transport is not None:
            self._transport.abort()
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=WSCloseCode.GOING_AWAY, message=DROP_MESSAGE)
