"""The durable state of quantbridge: one SQL database (SQLite file by default, PostgreSQL by
URL), one Alembic history, owned by the runtime layer.

* :func:`open_database` — an engine at the newest schema (SQLite made durable: WAL,
  ``synchronous=FULL``); :func:`default_database_url` — ``$QUANTBRIDGE_DB`` or the
  project's SQLite file.
* Per account (one process owns an account): :class:`SqlOrderStore` (the OrderStore port,
  UNIQUE client order id across restarts), :class:`SqlFillStore` (a fill id once),
  :class:`SqlRiskDecisionStore` (with the breakers' latest trips and resets),
  :class:`SqlAlertSink` (a NotificationSink), :class:`AccountSnapshotStore` (positions
  and balances), :class:`ReconciliationLog`.
* Across accounts: :class:`RunStore` (runs and crash detection) and :class:`ControlQueue`
  (kill / resume requests from the CLI or Telegram).
* :class:`TradingStore` opens all of them for one account on one engine.

Every write is its own committed transaction, durable when the method returns. Money is
kept as exact Decimal text and times as UTC epoch nanoseconds (:mod:`.types`).
"""

from .accounts import AccountSnapshotStore, BalanceSnapshot, PositionSnapshot, PositionSource
from .alerts import SqlAlertSink, StoredAlert
from .control import ControlCommand, ControlQueue, ControlRequest, ControlSource, UnknownControlRequestError
from .database import DATABASE_ENV, DatabaseOpenError, default_database_url, open_database, safe_url
from .fills import SqlFillStore
from .migrate import current_revision, head_revision, upgrade_to_head
from .orders import SqlOrderStore
from .reconciliations import ReconciliationLog, ReconciliationRecord
from .risk import SqlRiskDecisionStore
from .runs import RunEnding, RunMode, RunRecord, RunStatus, RunStore, UnknownRunError, process_alive
from .schema import Base, CertificateRow
from .trading import TradingStore

__all__ = [
    "DATABASE_ENV",
    "AccountSnapshotStore",
    "BalanceSnapshot",
    "Base",
    "CertificateRow",
    "ControlCommand",
    "ControlQueue",
    "ControlRequest",
    "ControlSource",
    "DatabaseOpenError",
    "PositionSnapshot",
    "PositionSource",
    "ReconciliationLog",
    "ReconciliationRecord",
    "RunEnding",
    "RunMode",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "SqlAlertSink",
    "SqlFillStore",
    "SqlOrderStore",
    "SqlRiskDecisionStore",
    "StoredAlert",
    "TradingStore",
    "UnknownControlRequestError",
    "UnknownRunError",
    "current_revision",
    "default_database_url",
    "head_revision",
    "open_database",
    "process_alive",
    "safe_url",
    "upgrade_to_head",
]
