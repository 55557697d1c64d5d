"""Two-way Telegram control: ``/status``, ``/positions``, ``/pnl``, ``/kill [reason]``, ``/resume``.

:class:`TelegramControl` long-polls ``getUpdates`` with python-telegram-bot's ``Bot`` and
answers commands from allowed chat ids through a :class:`ControlPort` (the engine
implements it). Messages from any other chat are ignored and logged (chat id and
command only). Polling errors are logged and retried; they never reach the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from telegram import Bot, Update
from telegram.error import TelegramError

from .telegram import protect_token, redact

__all__ = ["COMMANDS", "ControlPort", "FakeControlPort", "TelegramControl"]

_log = logging.getLogger(__name__)
COMMANDS = ("/status", "/positions", "/pnl", "/kill", "/resume")


class ControlPort(Protocol):
    """What Telegram may ask of the runtime; each call returns the reply text."""

    def status_text(self) -> str: ...

    def positions_text(self) -> str: ...

    def pnl_text(self) -> str: ...

    def kill(self, reason: str) -> str: ...

    def resume(self) -> str: ...


class FakeControlPort:
    """In-memory ControlPort for tests and demos."""

    def __init__(self, positions: str = "no open positions", pnl: str = "PnL 0") -> None:
        self.killed = False
        self.kill_reasons: list[str] = []
        self.resumed = 0
        self._positions = positions
        self._pnl = pnl

    def status_text(self) -> str:
        return "status: KILLED" if self.killed else "status: running"

    def positions_text(self) -> str:
        return self._positions

    def pnl_text(self) -> str:
        return self._pnl

    def kill(self, reason: str) -> str:
        self.killed = True
        self.kill_reasons.append(reason)
        return f"kill switch engaged: {reason}"

    def resume(self) -> str:
        self.killed = False
        self.resumed += 1
        return "kill switch released"


class TelegramControl:
    """Polls for commands until :meth:`aclose`. The caller owns ``bot`` (``async with bot:``)."""

    def __init__(
        self,
        bot: Bot,
        port: ControlPort,
        allowed_chat_ids: Iterable[int],
        *,
        poll_timeout: int = 10,
        error_backoff: float = 1.0,
    ) -> None:
        self._bot = bot
        self._port = port
        self._allowed = frozenset(allowed_chat_ids)
        self._poll_timeout = poll_timeout
        self._error_backoff = error_backoff
        self._offset: int | None = None
        protect_token(bot.token)
        self._task: asyncio.Task[None] | None = None
        self.handled = 0
        self.ignored = 0
        self.errors = 0

    def __repr__(self) -> str:
        return f"TelegramControl(allowed={sorted(self._allowed)})"

    async def start(self) -> None:
        if self._task is None:
            protect_token(self._bot.token)
            self._task = asyncio.create_task(self._run(), name="telegram-control")

    async def aclose(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except TelegramError as exc:
                self.errors += 1
                _log.warning("telegram getUpdates failed: %s", redact(f"{type(exc).__name__}: {exc}"))
                await asyncio.sleep(self._error_backoff)

    async def poll_once(self) -> int:
        """One ``getUpdates`` round; returns how many updates it processed."""
        timeout = self._poll_timeout
        updates = await self._bot.get_updates(
            offset=self._offset, timeout=timeout, read_timeout=timeout + 5, allowed_updates=["message"]
        )
        for update in updates:
            self._offset = update.update_id + 1
            await self._handle(update)
        return len(updates)

    async def _handle(self, update: Update) -> None:
        message = update.effective_message
        if message is None or message.text is None or not message.text.startswith("/"):
            return
        chat_id = message.chat_id
        command, _, argument = message.text.partition(" ")
        command = command.split("@", 1)[0].lower()
        if chat_id not in self._allowed:
            self.ignored += 1
            _log.warning("telegram command %s from chat %s ignored: chat not allowed", command, chat_id)
            return
        reply = self._dispatch(command, argument.strip(), chat_id)
        self.handled += 1
        try:
            await self._bot.send_message(chat_id, reply)
        except TelegramError as exc:
            self.errors += 1
            _log.warning("telegram reply to chat %s failed: %s", chat_id, redact(str(exc)))

    def _dispatch(self, command: str, argument: str, chat_id: int) -> str:
        actions: dict[str, Callable[[], str]] = {
            "/status": self._port.status_text,
            "/positions": self._port.positions_text,
            "/pnl": self._port.pnl_text,
            "/kill": lambda: self._port.kill(argument or f"telegram /kill from chat {chat_id}"),
            "/resume": self._port.resume,
        }
        action = actions.get(command)
        if action is None:
            return "unknown command; try " + " ".join(COMMANDS)
        try:
            return action()
        except Exception as exc:  # the port is engine code: report, do not die
            self.errors += 1
            _log.exception("telegram command %s failed", command)
            return f"{command} failed: {type(exc).__name__}"
