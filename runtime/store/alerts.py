"""SqlAlertSink: a :class:`~quantbridge.runtime.components.notifications.NotificationSink`
that keeps every notification of an account at or above its level in the ``alerts`` table.

It is the durable record of what the runtime told people (``quantbridge status`` reads
it back with :meth:`SqlAlertSink.recent`). A database error is logged and swallowed, never
raised: a failing store must not stop trading. Each alert is stored undelivered; a
transport that forwards alerts from the table marks them with :meth:`SqlAlertSink.mark_delivered`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..components.notifications import Level, Notification
from ._base import checked_account, reading
from .database import safe_url
from .schema import AlertRow

__all__ = ["SqlAlertSink", "StoredAlert"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """A notification as stored, with its row id, account and whether it was delivered."""

    id: int
    account: str
    ts: pd.Timestamp
    level: Level
    kind: str
    message: str
    fields: tuple[tuple[str, str], ...]
    delivered: bool

    @property
    def notification(self) -> Notification:
        """The notification as it was sent."""
        return Notification(self.ts, self.level, self.kind, self.message, self.fields)


def _stored(row: AlertRow) -> StoredAlert:
    fields = tuple((str(key), str(value)) for key, value in row.fields)
    return StoredAlert(row.id, row.account, row.ts, Level[row.level], row.kind, row.message, fields, row.delivered)


class SqlAlertSink:
    """Stores the notifications of ``account`` at or above ``level`` (see the module docstring)."""

    def __init__(self, engine: Engine, account: str, level: Level = Level.INFO) -> None:
        self._engine = engine
        self.account = checked_account(account)
        self._level = level

    @property
    def level(self) -> Level:
        return self._level

    def send(self, notification: Notification) -> None:
        """Insert ``notification`` (committed when this returns); a database error is only logged."""
        statement = insert(AlertRow).values(
            account=self.account,
            ts=notification.ts,
            level=notification.level.name,
            kind=notification.kind,
            message=notification.message,
            fields=[[key, value] for key, value in notification.fields],
            delivered=False,
        )
        try:
            with self._engine.begin() as connection:
                connection.execute(statement)
        except SQLAlchemyError:  # a failing store must never stop trading: log and carry on
            _log.exception("alert %s of account %s not stored in %s", notification.kind, self.account, self._where())

    def _where(self) -> str:
        return safe_url(self._engine.url)

    def recent(self, limit: int = 20) -> tuple[StoredAlert, ...]:
        """The last ``limit`` alerts of the account, oldest first."""
        query = select(AlertRow).where(AlertRow.account == self.account).order_by(AlertRow.id.desc()).limit(limit)
        with reading(self._engine) as session:
            rows = list(session.scalars(query))
        return tuple(_stored(row) for row in reversed(rows))

    def undelivered(self, limit: int = 100) -> tuple[StoredAlert, ...]:
        """The oldest ``limit`` alerts of the account not marked delivered, oldest first."""
        query = (
            select(AlertRow)
            .where(AlertRow.account == self.account, AlertRow.delivered.is_(False))
            .order_by(AlertRow.id)
            .limit(limit)
        )
        with reading(self._engine) as session:
            return tuple(_stored(row) for row in session.scalars(query))

    def mark_delivered(self, alert_id: int) -> bool:
        """Mark one alert of the account delivered; False when there is no such alert."""
        statement = (
            update(AlertRow).where(AlertRow.account == self.account, AlertRow.id == alert_id).values(delivered=True)
        )
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount == 1
