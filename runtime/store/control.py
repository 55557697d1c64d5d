"""ControlQueue: kill / resume requests from outside the trading process.

``quantbridge kill`` (the CLI) or the Telegram bot writes a request with
:meth:`ControlQueue.request`; the process that trades the account polls
:meth:`ControlQueue.pending`, acts (``Engine.kill`` / ``Engine.reset_risk``) and records
the outcome with :meth:`ControlQueue.mark_handled`. The database is the mailbox, so a
request also reaches a process started after it was made. Every write is its own
committed transaction; a request is handled once (a second ``mark_handled`` is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from ._base import checked_account, reading
from .schema import CONTROL_COMMANDS, CONTROL_SOURCES, ControlRequestRow

__all__ = ["ControlCommand", "ControlQueue", "ControlRequest", "ControlSource", "UnknownControlRequestError"]

ControlCommand = Literal["kill", "resume"]
ControlSource = Literal["cli", "telegram"]


class UnknownControlRequestError(KeyError):
    """No control request has this id."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """One request as stored (``handled_at`` is None while it is pending)."""

    id: int
    account: str
    ts: pd.Timestamp
    command: ControlCommand
    reason: str
    source: ControlSource
    handled_at: pd.Timestamp | None
    result: str


def _request(row: ControlRequestRow) -> ControlRequest:
    return ControlRequest(
        id=row.id,
        account=row.account,
        ts=row.ts,
        command=cast("ControlCommand", row.command),
        reason=row.reason,
        source=cast("ControlSource", row.source),
        handled_at=row.handled_at,
        result=row.result,
    )


class ControlQueue:
    """The ``control_requests`` table (all accounts; see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def request(
        self, account: str, command: ControlCommand, reason: str, source: ControlSource, ts: pd.Timestamp
    ) -> int:
        """Queue ``command`` for ``account``; returns the request id."""
        if command not in CONTROL_COMMANDS:
            raise ValueError(f"control command {command!r}: expected one of {', '.join(CONTROL_COMMANDS)}")
        if source not in CONTROL_SOURCES:
            raise ValueError(f"control source {source!r}: expected one of {', '.join(CONTROL_SOURCES)}")
        statement = insert(ControlRequestRow).values(
            account=checked_account(account), ts=ts, command=command, reason=reason, source=source, result=""
        )
        with self._engine.begin() as connection:
            key = connection.execute(statement).inserted_primary_key
        if key is None:  # pragma: no cover - every backend we support returns the new id
            raise RuntimeError("the database did not return the new request's id")
        return int(key[0])

    def pending(self, account: str) -> tuple[ControlRequest, ...]:
        """The requests for ``account`` not yet handled, oldest first."""
        query = (
            select(ControlRequestRow)
            .where(ControlRequestRow.account == account, ControlRequestRow.handled_at.is_(None))
            .order_by(ControlRequestRow.id)
        )
        with reading(self._engine) as session:
            return tuple(_request(row) for row in session.scalars(query))

    def get(self, request_id: int) -> ControlRequest | None:
        with reading(self._engine) as session:
            row = session.get(ControlRequestRow, request_id)
            return None if row is None else _request(row)

    def mark_handled(self, request_id: int, ts: pd.Timestamp, result: str) -> None:
        """Record that request ``request_id`` was acted on at ``ts`` with ``result``.
        ``UnknownControlRequestError`` if there is no such request, ``ValueError`` if it was handled already."""
        statement = (
            update(ControlRequestRow)
            .where(ControlRequestRow.id == request_id, ControlRequestRow.handled_at.is_(None))
            .values(handled_at=ts, result=result)
        )
        with self._engine.begin() as connection:
            if connection.execute(statement).rowcount == 1:
                return
        existing = self.get(request_id)
        if existing is None:
            raise UnknownControlRequestError(f"control request {request_id} does not exist")
        raise ValueError(f"control request {request_id} was handled already at {existing.handled_at}")
