"""Telegram for ``quantbridge paper|live --telegram``: the alert sink and the /commands.

Configured by environment variables (a bot token is a secret: never an option, never
logged): ``QUANTBRIDGE_TELEGRAM_TOKEN``, ``QUANTBRIDGE_TELEGRAM_CHAT_IDS`` (comma-separated
ids; alerts go to them and only they may send commands) and, for a local Bot API stub,
``QUANTBRIDGE_TELEGRAM_API_URL`` (e.g. ``http://127.0.0.1:8081/bot``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

from .research_common import fail

if TYPE_CHECKING:
    from quantbridge.runtime.clock import Clock
    from quantbridge.runtime.components.notifications import NotificationSink
    from quantbridge.runtime.live import TradingSession

__all__ = ["TOKEN_ENV", "telegram_sinks"]

TOKEN_ENV: Final = "QUANTBRIDGE_TELEGRAM_TOKEN"
CHATS_ENV: Final = "QUANTBRIDGE_TELEGRAM_CHAT_IDS"
URL_ENV: Final = "QUANTBRIDGE_TELEGRAM_API_URL"
_OFFICIAL: Final = "https://api.telegram.org/bot"

Attach = Callable[["TradingSession"], Awaitable[None]]


class _LazyPort:
    """The session's ControlPort once the session has an engine; a polite answer before."""

    def __init__(self, session: TradingSession) -> None:
        self._session = session

    def _ready(self) -> bool:
        try:
            self._session.engine  # noqa: B018 - raises until the session is prepared
        except RuntimeError:
            return False
        return True

    def status_text(self) -> str:
        return self._session.control.status_text() if self._ready() else "starting: not trading yet"

    def positions_text(self) -> str:
        return self._session.control.positions_text() if self._ready() else "starting: not trading yet"

    def pnl_text(self) -> str:
        return self._session.control.pnl_text() if self._ready() else "starting: not trading yet"

    def kill(self, reason: str) -> str:
        return self._session.control.kill(reason) if self._ready() else "starting: try again in a moment"

    def resume(self) -> str:
        return self._session.control.resume() if self._ready() else "starting: try again in a moment"


def _chat_ids(raw: str) -> list[int]:
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise fail(f"${CHATS_ENV}: expected comma-separated numeric chat ids") from None
    if not ids:
        raise fail(f"--telegram needs ${CHATS_ENV} (the chat ids that receive alerts and may send commands)")
    return ids


@asynccontextmanager
async def telegram_sinks(enabled: bool, clock: Clock) -> AsyncIterator[tuple[Sequence[NotificationSink], Attach]]:
    """No sinks when disabled; else a started TelegramSink and a function that starts
    the command poller on a session. Everything is stopped on exit (alerts drained)."""
    if not enabled:

        async def nothing(_session: TradingSession) -> None:
            return None

        yield (), nothing
        return
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise fail(f"--telegram needs ${TOKEN_ENV} (the bot token; it is never logged)")
    chats = _chat_ids(os.environ.get(CHATS_ENV, ""))
    from quantbridge.runtime.notify.telegram import TelegramSink, create_bot
    from quantbridge.runtime.notify.telegram_control import TelegramControl

    bot = create_bot(token, os.environ.get(URL_ENV, _OFFICIAL))
    async with bot:
        sink = TelegramSink(bot, chats, clock)
        await sink.start()
        controls: list[TelegramControl] = []

        async def attach(session: TradingSession) -> None:
            control = TelegramControl(bot, _LazyPort(session), chats)
            controls.append(control)
            await control.start()

        try:
            yield (sink,), attach
        finally:
            for control in controls:
                await control.aclose()
            await sink.aclose()
