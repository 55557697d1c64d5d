"""TradingStore: every store of one account, on one engine, opened in one call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import URL, Engine

from ..components.notifications import Level
from .accounts import AccountSnapshotStore
from .alerts import SqlAlertSink
from .control import ControlQueue
from .database import open_database
from .fills import SqlFillStore
from .orders import SqlOrderStore
from .reconciliations import ReconciliationLog
from .risk import SqlRiskDecisionStore
from .runs import RunStore

__all__ = ["TradingStore"]


@dataclass(frozen=True)
class TradingStore:
    """The durable state of ``account``: build it with :meth:`open`, end it with :meth:`close`
    (or use it as a context manager). ``run_id`` is recorded with new orders, fills and
    reconciliation findings; ``runs`` and ``control`` see every account."""

    engine: Engine
    account: str
    run_id: int | None
    orders: SqlOrderStore
    fills: SqlFillStore
    risk: SqlRiskDecisionStore
    alerts: SqlAlertSink
    accounts: AccountSnapshotStore
    reconciliations: ReconciliationLog
    runs: RunStore
    control: ControlQueue

    @classmethod
    def open(
        cls, url: str | URL, account: str, run_id: int | None = None, *, alert_level: Level = Level.INFO
    ) -> TradingStore:
        """Open (and migrate) the database at ``url`` and load ``account``'s state."""
        engine = open_database(url)
        try:
            return cls.on_engine(engine, account, run_id, alert_level=alert_level)
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def on_engine(
        cls, engine: Engine, account: str, run_id: int | None = None, *, alert_level: Level = Level.INFO
    ) -> TradingStore:
        """The stores of ``account`` on an engine already opened with :func:`open_database`."""
        return cls(
            engine=engine,
            account=account,
            run_id=run_id,
            orders=SqlOrderStore(engine, account, run_id),
            fills=SqlFillStore(engine, account, run_id),
            risk=SqlRiskDecisionStore(engine, account),
            alerts=SqlAlertSink(engine, account, alert_level),
            accounts=AccountSnapshotStore(engine, account),
            reconciliations=ReconciliationLog(engine, account, run_id),
            runs=RunStore(engine),
            control=ControlQueue(engine),
        )

    def close(self) -> None:
        """Release the database connections (every write is committed already)."""
        self.engine.dispose()

    def __enter__(self) -> TradingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
