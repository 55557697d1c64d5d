"""NotificationCenter: one transport-agnostic service that tells people what happened.

The core calls :meth:`NotificationCenter.notify`; the center hands the
:class:`Notification` to each sink at or above the sink's level. A sink that raises is
logged and counted, never propagated: a failing transport cannot stop trading. Sinks
that talk to the network (Telegram, later) must only enqueue in ``send`` and deliver
from their own asyncio task, so a slow transport cannot block the core either.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import pandas as pd

__all__ = ["Level", "LoggingSink", "MemorySink", "Notification", "NotificationCenter", "NotificationSink"]

_log = logging.getLogger(__name__)


class Level(IntEnum):
    DEBUG = logging.DEBUG
    INFO = logging.INFO
    WARNING = logging.WARNING
    ERROR = logging.ERROR


@dataclass(frozen=True, slots=True)
class Notification:
    """``kind`` is a stable machine name (``fill``, ``order_rejected``, ``bad_input``…);
    ``message`` is for people; ``fields`` carry the details as text."""

    ts: pd.Timestamp
    level: Level
    kind: str
    message: str
    fields: tuple[tuple[str, str], ...] = ()


class NotificationSink(Protocol):
    """A transport. ``send`` must return quickly (enqueue, don't deliver, if it is slow)."""

    @property
    def level(self) -> Level: ...

    def send(self, notification: Notification) -> None: ...


class LoggingSink:
    """Notifications as log records of ``logger`` (default ``quantbridge.runtime.notifications``)."""

    def __init__(self, level: Level = Level.INFO, logger: logging.Logger | None = None) -> None:
        self._level = level
        self._logger = logger or logging.getLogger("quantbridge.runtime.notifications")

    @property
    def level(self) -> Level:
        return self._level

    def send(self, notification: Notification) -> None:
        details = " ".join(f"{key}={value}" for key, value in notification.fields)
        self._logger.log(int(notification.level), "[%s] %s %s", notification.kind, notification.message, details)


class MemorySink:
    """Keeps every notification (tests, run reports)."""

    def __init__(self, level: Level = Level.DEBUG) -> None:
        self._level = level
        self.received: list[Notification] = []

    @property
    def level(self) -> Level:
        return self._level

    def send(self, notification: Notification) -> None:
        self.received.append(notification)

    def kinds(self) -> list[str]:
        return [n.kind for n in self.received]


class NotificationCenter:
    """Fans notifications out to sinks; counts what each sink failed to take."""

    def __init__(self, sinks: Sequence[NotificationSink] = ()) -> None:
        self._sinks = tuple(sinks)
        self._failures: dict[int, int] = {}

    @property
    def failures(self) -> int:
        """Notifications a sink raised on."""
        return sum(self._failures.values())

    def notify(self, ts: pd.Timestamp, level: Level, kind: str, message: str, **fields: object) -> Notification:
        notification = Notification(ts, level, kind, message, tuple((k, str(v)) for k, v in fields.items()))
        for index, sink in enumerate(self._sinks):
            if level < sink.level:
                continue
            try:
                sink.send(notification)
            except Exception:  # a transport must never stop trading: log, count, carry on
                self._failures[index] = self._failures.get(index, 0) + 1
                _log.exception("notification sink %s failed on %s", type(sink).__name__, kind)
        return notification
