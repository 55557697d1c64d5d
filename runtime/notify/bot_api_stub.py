"""A local Telegram Bot API server (aiohttp, loopback) for tests and offline demos.

Point python-telegram-bot at it with ``Bot(token, base_url=stub.base_url)``. It answers
``getMe``, ``sendMessage``, ``getUpdates`` (long polling over updates injected with
:meth:`BotApiStub.push_command`), ``deleteWebhook`` and ``getWebhookInfo``; faults are
programmed per method with :meth:`BotApiStub.fail_next` (``"429"``, ``"500"``, ``"drop"``)
or :meth:`BotApiStub.stall` (requests hang until :meth:`release` or :meth:`close`).
Every ``sendMessage`` that succeeded is in :attr:`BotApiStub.messages`; every request,
failed or not, in :attr:`BotApiStub.requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from aiohttp import web

from ..clock import Clock

__all__ = ["BotApiStub", "Request", "SentMessage"]

_BOT_USER = {"id": 4242, "is_bot": True, "first_name": "quantbridge", "username": "quantbridge_stub_bot"}
_Handler = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class SentMessage:
    chat_id: int
    text: str
    ts: pd.Timestamp | None  # the injected clock's time when received (None without a clock)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    outcome: str  # "ok" or the fault served ("429", "500", "drop")
    ts: pd.Timestamp | None


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    retry_after: int


class BotApiStub:
    """The stub server. ``async with BotApiStub(token) as stub:`` starts and stops it."""

    def __init__(self, token: str, clock: Clock | None = None, host: str = "127.0.0.1") -> None:
        self._token = token
        self._clock = clock
        self._host = host
        self._port = 0
        self._runner: web.AppRunner | None = None
        self._faults: dict[str, deque[_Fault]] = {}
        self._stalled: set[str] = set()
        self._unstall = asyncio.Event()
        self._closing = False
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._new_update = asyncio.Condition()
        self.messages: list[SentMessage] = []
        self.requests: list[Request] = []

    def __repr__(self) -> str:
        return f"BotApiStub(port={self._port})"

    @property
    def base_url(self) -> str:
        """What python-telegram-bot takes as ``base_url`` (the token is appended by the Bot)."""
        return f"http://{self._host}:{self._port}/bot"

    async def __aenter__(self) -> BotApiStub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        self._closing = True
        self._unstall.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- programming the stub ------------------------------------------------------------

    def fail_next(self, method: str, kind: str, count: int = 1, retry_after: int = 1) -> None:
        """Serve ``kind`` (``"429"``, ``"500"`` or ``"drop"``) to the next ``count`` calls of ``method``."""
        if kind not in {"429", "500", "drop"}:
            raise ValueError(f"unknown fault {kind!r}")
        queue = self._faults.setdefault(method, deque())
        queue.extend(_Fault(kind, retry_after) for _ in range(count))

    def stall(self, method: str) -> None:
        """Calls of ``method`` hang (no answer) until :meth:`release`."""
        self._stalled.add(method)
        self._unstall.clear()

    def release(self) -> None:
        self._stalled.clear()
        self._unstall.set()

    async def push_command(self, chat_id: int, text: str, user_id: int | None = None) -> int:
        """Queue a text message from ``chat_id`` for ``getUpdates``; returns its update id."""
        update_id = next(self._update_ids)
        sender = {"id": user_id or chat_id, "is_bot": False, "first_name": "user"}
        message = {
            "message_id": next(self._message_ids),
            "date": 0,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": sender,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        async with self._new_update:
            self._updates.append({"update_id": update_id, "message": message})
            self._new_update.notify_all()
        return update_id

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages if m.chat_id == chat_id]

    # -- serving -------------------------------------------------------------------------

    def _now(self) -> pd.Timestamp | None:
        return self._clock.now() if self._clock is not None else None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self._token:
            return _error(401, "Unauthorized")
        if method in self._stalled:
            await self._unstall.wait()
            if self._runner is None or self._closing:
                return _error(503, "Service Unavailable: stub closing")
        fault = self._take_fault(method)
        self.requests.append(Request(method, fault.kind if fault else "ok", self._now()))
        if fault is not None:
            return await _serve_fault(request, fault)
        handler = self._handlers().get(method)
        if handler is None:
            return _error(404, "Not Found: method not found")
        params = await _params(request)
        return web.json_response({"ok": True, "result": await handler(params)})

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        return queue.popleft() if queue else None

    def _handlers(self) -> dict[str, _Handler]:
        return {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._true,
            "getWebhookInfo": self._webhook_info,
        }

    async def _get_me(self, params: dict[str, Any]) -> Any:
        return {**_BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False}

    async def _true(self, params: dict[str, Any]) -> Any:
        return True

    async def _webhook_info(self, params: dict[str, Any]) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def _send_message(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = str(params["text"])
        self.messages.append(SentMessage(chat_id, text, self._now()))
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        return {"message_id": next(self._message_ids), "date": 0, "chat": chat, "from": _BOT_USER, "text": text}

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            async with self._new_update:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), timeout)
        return list(self._updates)


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    form = await request.post()
    params: dict[str, Any] = {**request.query}
    for key, value in form.items():
        params[key] = value
    return params


def _error(code: int, description: str, **parameters: int) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


async def _serve_fault(request: web.Request, fault: _Fault) -> web.StreamResponse:
    if fault.kind == "429":
        message = f"Too Many Requests: retry after {fault.retry_after}"
        return _error(429, message, retry_after=fault.retry_after)
    if fault.kind == "500":
        return _error(500, "Internal Server Error")
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=500)
