"""TelegramSink: NotificationCenter notifications as Telegram messages (python-telegram-bot).

``send`` (alias ``emit``) only formats and enqueues, so the trading core never waits on
the network. A sender task started by :meth:`TelegramSink.start` delivers the queue:

* **bounded queue** — when full, the oldest message below WARNING ("info") is dropped
  first; alerts are dropped only when nothing else is left (both are counted);
* **rate limits** — token buckets read the injected Clock: 1 message/s per private chat,
  20/min per group (negative chat id), 30/s over all chats;
* **retries** — 429 waits ``retry_after``, network errors and 5xx back off exponentially,
  permanent errors (400, 403, bad token) are dropped; all are logged and counted;
* **secrecy** — the bot token is scrubbed from log records of ``httpx``/``httpcore``/
  ``telegram``/``aiohttp``/``quantbridge`` (:func:`protect_token`; build the Bot with
  :func:`create_bot` so its own start-up logs are covered) and never put in reprs.

python-telegram-bot ≥ 22.2 warns when ``RetryAfter.retry_after`` is read as a number;
set ``PTB_TIMEDELTA=true`` in the environment to opt into the timedelta form.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from ..clock import Clock
from ..components.notifications import Level, Notification

__all__ = [
    "RateLimiter",
    "SinkStats",
    "TelegramSink",
    "TokenBucket",
    "TokenRedactor",
    "create_bot",
    "format_notification",
    "protect_token",
    "redact",
    "retry_after_seconds",
]

_log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
MAX_TEXT = 4096  # Telegram's limit for one message
_EPSILON = 1e-6  # a token this close to whole counts as whole (clocks round to ns)

# kind -> (template, fields the template needs); other kinds use the generic form
_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fill": ("✅ FILL {side} {qty} {symbol} @ {price} ({order})", ("side", "qty", "symbol", "price", "order")),
    "order_rejected": ("⛔ REJECTED {order}: {message}", ("order",)),
    "risk_trip": ("⚠️ RISK {rule}: {message}", ("rule",)),
    "kill_switch": ("🛑 KILL SWITCH {state}: {message}", ("state",)),
    "connection_lost": ("🔌 CONNECTION LOST {source}: {message}", ("source",)),
    "connection_restored": ("🔗 CONNECTION RESTORED {source}: {message}", ("source",)),
    "daily_summary": (
        "📊 DAILY {date}: PnL {pnl} | trades {trades} | equity {equity}",
        ("date", "pnl", "trades", "equity"),
    ),
}
_LEVEL_ICONS = {Level.DEBUG: "·", Level.INFO: "ℹ️", Level.WARNING: "⚠️", Level.ERROR: "❗"}


def format_notification(notification: Notification) -> str:
    """One concise line per notification; the generic form is ``icon kind: message | k=v, …``."""
    fields = dict(notification.fields)
    template = _TEMPLATES.get(notification.kind)
    if template is not None and all(name in fields for name in template[1]):
        text = template[0].format(message=notification.message, **fields)
    else:
        text = f"{_LEVEL_ICONS.get(notification.level, '')} {notification.kind}: {notification.message}"
        if fields:
            text += " | " + ", ".join(f"{key}={value}" for key, value in notification.fields)
    return text[:MAX_TEXT]


class TokenBucket:
    """``rate`` tokens per second up to ``capacity``; one message costs one token."""

    def __init__(self, rate: float, capacity: float = 1.0) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self._rate = rate
        self._capacity = capacity
        self._tokens = capacity
        self._last: pd.Timestamp | None = None

    def _refill(self, now: pd.Timestamp) -> None:
        if self._last is not None:
            elapsed = max(0.0, (now - self._last).total_seconds())
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._last = now

    def delay(self, now: pd.Timestamp) -> float:
        """Seconds until one token is available (0 when it is)."""
        self._refill(now)
        missing = 1 - self._tokens
        return 0.0 if missing <= _EPSILON else missing / self._rate

    def take(self, now: pd.Timestamp) -> None:
        self._refill(now)
        self._tokens -= 1


class RateLimiter:
    """Telegram's published limits: per chat (1/s private, 20/min groups) and overall 30/s."""

    def __init__(self, clock: Clock, per_chat: float = 1.0, per_group: float = 20 / 60, overall: float = 30.0) -> None:
        self._clock = clock
        self._per_chat = per_chat
        self._per_group = per_group
        self._overall = TokenBucket(overall)
        self._chats: dict[int | str, TokenBucket] = {}

    def _bucket(self, chat_id: int | str) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            is_group = isinstance(chat_id, int) and chat_id < 0
            bucket = self._chats[chat_id] = TokenBucket(self._per_group if is_group else self._per_chat)
        return bucket

    def delay(self, chat_id: int | str) -> float:
        now = self._clock.now()
        return max(self._overall.delay(now), self._bucket(chat_id).delay(now))

    def take(self, chat_id: int | str) -> None:
        now = self._clock.now()
        self._overall.take(now)
        self._bucket(chat_id).take(now)


class TokenRedactor(logging.Filter):
    """Replaces known secrets in log records (message, arguments, traceback) with ``<token>``.

    Filters do not inherit down the logger tree, so :meth:`install` attaches it to every
    existing logger under :attr:`PREFIXES`; :func:`protect_token` does both for the
    process-wide instance and is idempotent.
    """

    PREFIXES = ("httpx", "httpcore", "telegram", "quantbridge", "aiohttp")

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def __repr__(self) -> str:
        return f"TokenRedactor(secrets={len(self._secrets)})"

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def install(self) -> None:
        names = {name for name in logging.root.manager.loggerDict if name.split(".")[0] in self.PREFIXES}
        for name in sorted(names | set(self.PREFIXES)):
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)


_REDACTOR = TokenRedactor()


def protect_token(token: str) -> None:
    """Scrub ``token`` from the logs of httpx, httpcore, telegram, aiohttp and quantbridge."""
    _REDACTOR.add(token)
    _REDACTOR.install()


def redact(text: str) -> str:
    """``text`` with every protected token replaced by ``<token>``."""
    return _REDACTOR.redact(text)


def create_bot(token: str, base_url: str = "https://api.telegram.org/bot") -> Bot:
    """A python-telegram-bot ``Bot`` whose token is protected *before* the Bot logs its URLs."""
    protect_token(token)
    return Bot(token, base_url=base_url)


@dataclass(slots=True)
class SinkStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0  # gave up after retries or on a permanent error
    dropped_info: int = 0  # queue overflow
    dropped_alerts: int = 0
    errors: int = 0  # unexpected exceptions inside the sender (logged)


@dataclass(frozen=True, slots=True)
class _Outgoing:
    chat_id: int | str
    text: str
    level: Level


class TelegramSink:
    """A :class:`NotificationSink` delivering to ``chat_ids`` through ``bot``.

    The caller owns ``bot`` (``async with bot:`` initialises it with ``getMe``); the sink
    owns its sender task: ``await sink.start()`` … ``await sink.aclose()``.
    """

    def __init__(
        self,
        bot: Bot,
        chat_ids: Sequence[int | str],
        clock: Clock,
        *,
        level: Level = Level.INFO,
        max_queue: int = 1000,
        max_attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        formatter: Callable[[Notification], str] = format_notification,
    ) -> None:
        if max_queue < 1 or max_attempts < 1:
            raise ValueError("max_queue and max_attempts must be >= 1")
        self._bot = bot
        self._chat_ids = tuple(chat_ids)
        self._level = level
        self._max_queue = max_queue
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._limiter = limiter or RateLimiter(clock)
        self._sleep = sleep
        self._formatter = formatter
        protect_token(bot.token)
        self._queue: deque[_Outgoing] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.stats = SinkStats()

    def __repr__(self) -> str:
        return f"TelegramSink(chats={len(self._chat_ids)}, level={self._level.name}, queued={len(self._queue)})"

    @property
    def level(self) -> Level:
        return self._level

    @property
    def queued(self) -> int:
        return len(self._queue)

    def send(self, notification: Notification) -> None:
        """Format and enqueue for every chat; never blocks, never raises."""
        try:
            text = self._formatter(notification)
            for chat_id in self._chat_ids:
                self._enqueue(_Outgoing(chat_id, text, notification.level))
        except Exception as exc:
            self.stats.errors += 1
            _log.error("telegram sink could not enqueue %s: %s", notification.kind, redact(repr(exc)))

    emit = send

    def _enqueue(self, item: _Outgoing) -> None:
        if len(self._queue) >= self._max_queue:
            self._drop_for(item)
        if len(self._queue) < self._max_queue:
            self._queue.append(item)
        self._idle.clear()
        self._wakeup.set()

    def _drop_for(self, item: _Outgoing) -> None:
        """Make room: the oldest info goes first; an info never evicts an alert."""
        victim = next((queued for queued in self._queue if queued.level < Level.WARNING), None)
        if victim is None and item.level < Level.WARNING:
            self.stats.dropped_info += 1  # the newcomer itself is the oldest info
            return
        victim = victim or self._queue[0]
        self._queue.remove(victim)
        if victim.level < Level.WARNING:
            self.stats.dropped_info += 1
        else:
            self.stats.dropped_alerts += 1

    # -- delivery --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            protect_token(self._bot.token)  # loggers created since __init__
            self._task = asyncio.create_task(self._run(), name="telegram-sink")

    async def aclose(self, drain_timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``drain_timeout`` seconds), then stop the sender."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), drain_timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            item = self._queue.popleft()
            try:
                await self._deliver(item)
            except Exception as exc:  # the sender must survive anything
                self.stats.errors += 1
                _log.error("telegram sender error: %s", redact(repr(exc)))

    async def _deliver(self, item: _Outgoing) -> None:
        for attempt in range(1, self._max_attempts + 1):
            await self._await_slot(item.chat_id)
            try:
                await self._bot.send_message(item.chat_id, item.text)
            except TelegramError as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None or attempt == self._max_attempts:
                    self._give_up(item, exc, attempt)
                    return
                self.stats.retried += 1
                _log.warning(
                    "telegram send to chat %s failed (attempt %d/%d): %s; retrying in %.1f s",
                    item.chat_id, attempt, self._max_attempts, self._describe(exc), delay,
                )  # fmt: skip
                await self._sleep(delay)
            else:
                self.stats.sent += 1
                return

    async def _await_slot(self, chat_id: int | str) -> None:
        while (delay := self._limiter.delay(chat_id)) > 0:
            await self._sleep(delay)
        self._limiter.take(chat_id)

    def _retry_delay(self, exc: TelegramError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when retrying cannot help."""
        if isinstance(exc, RetryAfter):
            return retry_after_seconds(exc)
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):  # network, timeouts, 5xx
            return min(self._max_backoff, self._backoff * (1 << (attempt - 1)))
        return None

    def _give_up(self, item: _Outgoing, exc: TelegramError, attempt: int) -> None:
        self.stats.failed += 1
        _log.error(
            "telegram send to chat %s dropped after %d attempt(s): %s", item.chat_id, attempt, self._describe(exc)
        )

    def _describe(self, exc: BaseException) -> str:
        return redact(f"{type(exc).__name__}: {exc}")


def retry_after_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds whether python-telegram-bot reports an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)
