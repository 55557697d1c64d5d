"""ReconciliationLog: what a restarted process found when it compared the store with the venue.

Each difference is one row (``kind``: ``order_status``, ``missing_fill``, ``position``,
``unknown_order``, ``never_sent``… and a ``detail`` for people), appended in its own
committed transaction. The log is evidence, not state: nothing reads it to trade.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, insert, select

from ._base import checked_account, reading
from .schema import ReconciliationRow

__all__ = ["ReconciliationLog", "ReconciliationRecord"]


@dataclass(frozen=True, slots=True)
class ReconciliationRecord:
    id: int
    account: str
    run_id: int | None
    ts: pd.Timestamp
    kind: str
    client_order_id: str
    detail: str


class ReconciliationLog:
    """The reconciliation findings of ``account``; ``run_id`` is recorded with each new one."""

    def __init__(self, engine: Engine, account: str, run_id: int | None = None) -> None:
        self._engine = engine
        self.account = checked_account(account)
        self.run_id = run_id

    def record(self, ts: pd.Timestamp, kind: str, detail: str, client_order_id: str = "") -> int:
        """Append one finding; returns its id."""
        if not kind:
            raise ValueError("a reconciliation finding needs a kind")
        statement = insert(ReconciliationRow).values(
            account=self.account, run_id=self.run_id, ts=ts, kind=kind, client_order_id=client_order_id, detail=detail
        )
        with self._engine.begin() as connection:
            key = connection.execute(statement).inserted_primary_key
        if key is None:  # pragma: no cover - every backend we support returns the new id
            raise RuntimeError("the database did not return the new finding's id")
        return int(key[0])

    def all(self, run_id: int | None = None) -> tuple[ReconciliationRecord, ...]:
        """The findings of the account (of one run, when given), in the order they were recorded."""
        query = select(ReconciliationRow).where(ReconciliationRow.account == self.account)
        if run_id is not None:
            query = query.where(ReconciliationRow.run_id == run_id)
        with reading(self._engine) as session:
            return tuple(
                ReconciliationRecord(row.id, row.account, row.run_id, row.ts, row.kind, row.client_order_id, row.detail)
                for row in session.scalars(query.order_by(ReconciliationRow.id))
            )
