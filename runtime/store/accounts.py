"""AccountSnapshotStore: the latest known position of each symbol and balance of each asset.

One row per (account, symbol) and per (account, asset), replaced on every save (an
upsert, its own committed transaction): what a restarted process starts from before it
reconciles with the venue. ``source`` says who last said so: the runtime's own
accounting or the venue. Reads come from a write-through cache loaded at construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast

import pandas as pd
from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from ._base import checked_account, reading
from .schema import POSITION_SOURCES, BalanceRow, PositionRow

__all__ = ["AccountSnapshotStore", "BalanceSnapshot", "PositionSnapshot", "PositionSource"]

PositionSource = Literal["runtime", "venue"]


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A signed position (``qty`` < 0 is short); ``avg_price`` None when flat or unknown."""

    symbol: str
    qty: Decimal
    avg_price: Decimal | None
    updated: pd.Timestamp
    source: PositionSource


@dataclass(frozen=True, slots=True)
class BalanceSnapshot:
    asset: str
    total: Decimal
    free: Decimal
    updated: pd.Timestamp


def _table(entity: type[PositionRow] | type[BalanceRow]) -> Table:
    return cast("Table", entity.__table__)  # a declarative class maps a Table (typed as its FromClause base)


def _upsert(connection: Connection, table: Table, values: dict[str, Any]) -> None:
    """Insert ``values`` into ``table``, or replace the row with the same primary key."""
    keys = [column.name for column in table.primary_key.columns]
    changes = {name: value for name, value in values.items() if name not in keys}
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        connection.execute(insert(table).values(values).on_conflict_do_update(index_elements=keys, set_=changes))
        return
    where = [table.c[name] == values[name] for name in keys]  # portable fallback: one process owns an account
    if connection.execute(table.update().where(*where).values(changes)).rowcount == 0:
        connection.execute(table.insert().values(values))


class AccountSnapshotStore:
    """The position and balance snapshots of ``account`` (see the module docstring)."""

    def __init__(self, engine: Engine, account: str) -> None:
        self._engine = engine
        self.account = checked_account(account)
        with reading(engine) as session:
            positions = session.scalars(select(PositionRow).where(PositionRow.account == account))
            self._positions = {
                row.symbol: PositionSnapshot(
                    row.symbol, row.qty, row.avg_price, row.updated, cast("PositionSource", row.source)
                )
                for row in sorted(positions, key=lambda row: row.symbol)
            }
            balances = session.scalars(select(BalanceRow).where(BalanceRow.account == account))
            self._balances = {
                row.asset: BalanceSnapshot(row.asset, row.total, row.free, row.updated)
                for row in sorted(balances, key=lambda row: row.asset)
            }

    def save_position(
        self,
        symbol: str,
        qty: Decimal,
        avg_price: Decimal | None,
        updated: pd.Timestamp,
        source: PositionSource = "runtime",
    ) -> None:
        """Replace the position of ``symbol`` (a flat one is kept as ``qty`` 0)."""
        if source not in POSITION_SOURCES:
            raise ValueError(f"position source {source!r}: expected one of {', '.join(POSITION_SOURCES)}")
        snapshot = PositionSnapshot(symbol, qty, avg_price, updated, source)
        values = {"account": self.account, "symbol": symbol, "qty": qty, "avg_price": avg_price}
        with self._engine.begin() as connection:
            _upsert(connection, _table(PositionRow), {**values, "updated": updated, "source": source})
        self._positions[symbol] = snapshot

    def save_balance(self, asset: str, total: Decimal, free: Decimal, updated: pd.Timestamp) -> None:
        """Replace the balance of ``asset``."""
        values = {"account": self.account, "asset": asset, "total": total, "free": free, "updated": updated}
        with self._engine.begin() as connection:
            _upsert(connection, _table(BalanceRow), values)
        self._balances[asset] = BalanceSnapshot(asset, total, free, updated)

    def positions(self) -> dict[str, PositionSnapshot]:
        """The latest position of each symbol ever saved, by symbol."""
        return dict(self._positions)

    def balances(self) -> dict[str, BalanceSnapshot]:
        """The latest balance of each asset ever saved, by asset."""
        return dict(self._balances)
