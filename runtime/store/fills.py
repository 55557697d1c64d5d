"""SqlFillStore: every fill of an account, once.

A venue may report the same execution more than once (a websocket message and a REST
poll, a replay after a restart): :meth:`SqlFillStore.add` keeps the first and answers
False for the others, never raising for them. The fill id is UNIQUE per account in
the database, so this also holds across processes and restarts. Each ``add`` is its own
committed transaction, durable when it returns; reads come from a write-through cache
loaded at construction (one process owns an account).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..domain.fills import Fill, FillOrigin
from ..domain.orders import Side
from ._base import checked_account, reading
from .schema import FillRow

__all__ = ["SqlFillStore"]


def _values(fill: Fill) -> dict[str, Any]:
    return {
        "fill_id": fill.fill_id,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "qty": fill.qty,
        "price": fill.price,
        "commission": fill.commission,
        "ts": fill.ts,
        "received": fill.received,
        "leaves_qty": fill.leaves_qty,
        "bar_time": fill.bar_time,
        "origin": fill.origin.value,
    }


def _fill(row: FillRow) -> Fill:
    return Fill(
        fill_id=row.fill_id,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=Side(row.side),
        qty=row.qty,
        price=row.price,
        commission=row.commission,
        ts=row.ts,
        received=row.received,
        leaves_qty=row.leaves_qty,
        bar_time=row.bar_time,
        origin=FillOrigin(row.origin),
    )


class SqlFillStore:
    """The fills of ``account`` (see the module docstring); ``run_id`` is recorded with each new fill."""

    def __init__(self, engine: Engine, account: str, run_id: int | None = None) -> None:
        self._engine = engine
        self.account = checked_account(account)
        self.run_id = run_id
        self._fills: dict[str, Fill] = {}
        self._reload()

    def _reload(self) -> None:
        query = select(FillRow).where(FillRow.account == self.account).order_by(FillRow.id)
        with reading(self._engine) as session:
            self._fills = {row.fill_id: _fill(row) for row in session.scalars(query)}

    def _exists(self, fill_id: str) -> bool:
        query = select(FillRow.id).where(FillRow.account == self.account, FillRow.fill_id == fill_id)
        with reading(self._engine) as session:
            return session.scalar(query) is not None

    def add(self, fill: Fill) -> bool:
        """Store ``fill``: True when it is new, False when its fill id is known already (kept as first stored)."""
        if fill.fill_id in self._fills:
            return False
        statement = insert(FillRow).values(account=self.account, run_id=self.run_id, **_values(fill))
        try:
            with self._engine.begin() as connection:
                connection.execute(statement)
        except IntegrityError:
            if not self._exists(fill.fill_id):
                raise  # another constraint (an unknown run id): not a duplicate
            self._reload()  # written by another process: show it from now on
            return False
        self._fills[fill.fill_id] = fill
        return True

    def get(self, fill_id: str) -> Fill | None:
        return self._fills.get(fill_id)

    def for_order(self, client_order_id: str) -> tuple[Fill, ...]:
        """The fills of one order, in the order they were stored."""
        return tuple(fill for fill in self._fills.values() if fill.client_order_id == client_order_id)

    def all(self) -> tuple[Fill, ...]:
        """Every fill, in the order they were stored."""
        return tuple(self._fills.values())

    def latest_ts(self, symbol: str | None = None) -> pd.Timestamp | None:
        """The latest execution time (of ``symbol``, when given); None without fills. Where to
        resume fetching a venue's trade history after a restart."""
        times = [fill.ts for fill in self._fills.values() if symbol is None or fill.symbol == symbol]
        return max(times) if times else None

    def __len__(self) -> int:
        return len(self._fills)
