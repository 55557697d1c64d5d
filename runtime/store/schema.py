"""The ORM schema of the quantbridge database (SQLAlchemy 2, typed).

The tables are *created* by the Alembic revisions in :mod:`.migrations`, never by
``metadata.create_all``; this module is what the code reads and writes, and what a new
revision is compared against (a test checks that head and this schema agree).

* ``parity_certificates`` (revision 0001): the validation layer's certificates.
* revision 0002, the trading runtime's durable state, every row namespaced by
  ``account``: ``runs``, ``orders`` (UNIQUE account + client order id), ``fills``
  (UNIQUE account + fill id), ``positions`` and ``balances`` (latest value per key),
  ``risk_decisions``, ``alerts``, ``control_requests`` and ``reconciliations``.

Money and quantities are :class:`~.types.DecimalText`, times :class:`~.types.UtcNanos`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import DecimalText, UtcNanos

__all__ = [
    "AlertRow",
    "BalanceRow",
    "Base",
    "CertificateRow",
    "ControlRequestRow",
    "FillRow",
    "OrderRow",
    "PositionRow",
    "ReconciliationRow",
    "RiskDecisionRow",
    "RunRow",
]

HASH_LENGTH = 64
ACCOUNT_LENGTH = 100
NAME_LENGTH = 200
ID_LENGTH = 200
RUN_MODES = ("paper", "live")
RUN_STATUSES = ("running", "stopped", "crashed", "failed")
POSITION_SOURCES = ("runtime", "venue")
CONTROL_COMMANDS = ("kill", "resume")
CONTROL_SOURCES = ("cli", "telegram")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class Base(DeclarativeBase):
    """The declarative base of every quantbridge table."""


class CertificateRow(Base):
    """One parity certificate (see :class:`quantbridge.validation.certificates.ParityCertificate`)."""

    __tablename__ = "parity_certificates"
    __table_args__ = (Index("ix_parity_certificates_version", "prototype", "code_hash", "params_hash", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prototype: Mapped[str] = mapped_column(String(200))
    code_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    params_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    results: Mapped[dict[str, Any]] = mapped_column(JSON)
    passed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tool_version: Mapped[str] = mapped_column(String(50))


class RunRow(Base):
    """One paper or live run of the runtime: who, what, where, and how it ended."""

    __tablename__ = "runs"
    __table_args__ = (
        _one_of("mode", RUN_MODES, "ck_runs_mode"),
        _one_of("status", RUN_STATUSES, "ck_runs_status"),
        Index("ix_runs_account_status", "account", "status"),
        Index("ix_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    mode: Mapped[str] = mapped_column(String(10))
    strategy: Mapped[str] = mapped_column(String(NAME_LENGTH))
    symbols: Mapped[list[str]] = mapped_column(JSON)
    exchange: Mapped[str] = mapped_column(String(NAME_LENGTH))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    forced: Mapped[bool] = mapped_column(Boolean)
    force_reason: Mapped[str] = mapped_column(Text)
    certificate_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("parity_certificates.id"), nullable=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    started: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    heartbeat: Mapped[pd.Timestamp | None] = mapped_column(UtcNanos, nullable=True)
    stopped: Mapped[pd.Timestamp | None] = mapped_column(UtcNanos, nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    stop_reason: Mapped[str] = mapped_column(Text)


class OrderRow(Base):
    """Every field of :class:`~quantbridge.runtime.domain.orders.Order`, plus its account and run."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("account", "client_order_id", name="uq_orders_account_client_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("runs.id"), nullable=True)
    client_order_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    strategy_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    symbol: Mapped[str] = mapped_column(String(NAME_LENGTH))
    side: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(20))
    intent: Mapped[str] = mapped_column(String(10))
    qty: Mapped[Decimal] = mapped_column(DecimalText)
    signal_bar: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    created: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    price: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    stop: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    budget: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    tag: Mapped[str] = mapped_column(Text)
    expire_at: Mapped[pd.Timestamp | None] = mapped_column(UtcNanos, nullable=True)
    protection: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    filled_qty: Mapped[Decimal] = mapped_column(DecimalText)
    leaves_qty: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    avg_price: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    commission: Mapped[Decimal] = mapped_column(DecimalText)
    updated: Mapped[pd.Timestamp | None] = mapped_column(UtcNanos, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    venue_order_id: Mapped[str] = mapped_column(String(ID_LENGTH))


class FillRow(Base):
    """Every field of :class:`~quantbridge.runtime.domain.fills.Fill`, plus its account and run."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("account", "fill_id", name="uq_fills_account_fill_id"),
        Index("ix_fills_account_client_order_id", "account", "client_order_id"),
        Index("ix_fills_account_symbol_ts", "account", "symbol", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("runs.id"), nullable=True)
    fill_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    client_order_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    symbol: Mapped[str] = mapped_column(String(NAME_LENGTH))
    side: Mapped[str] = mapped_column(String(10))
    qty: Mapped[Decimal] = mapped_column(DecimalText)
    price: Mapped[Decimal] = mapped_column(DecimalText)
    commission: Mapped[Decimal] = mapped_column(DecimalText)
    ts: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    received: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    leaves_qty: Mapped[Decimal] = mapped_column(DecimalText)
    bar_time: Mapped[pd.Timestamp | None] = mapped_column(UtcNanos, nullable=True)
    origin: Mapped[str] = mapped_column(String(20))


class PositionRow(Base):
    """The latest known position of one symbol in one account (``source``: who said so)."""

    __tablename__ = "positions"
    __table_args__ = (_one_of("source", POSITION_SOURCES, "ck_positions_source"),)

    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(DecimalText)
    avg_price: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    updated: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    source: Mapped[str] = mapped_column(String(10))


class BalanceRow(Base):
    """The latest known balance of one asset in one account."""

    __tablename__ = "balances"

    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH), primary_key=True)
    asset: Mapped[str] = mapped_column(String(50), primary_key=True)
    total: Mapped[Decimal] = mapped_column(DecimalText)
    free: Mapped[Decimal] = mapped_column(DecimalText)
    updated: Mapped[pd.Timestamp] = mapped_column(UtcNanos)


class RiskDecisionRow(Base):
    """Every field of :class:`~quantbridge.runtime.components.risk_store.RiskDecision`, plus its account."""

    __tablename__ = "risk_decisions"
    __table_args__ = (Index("ix_risk_decisions_account_outcome", "account", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    ts: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    client_order_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    rule: Mapped[str] = mapped_column(String(NAME_LENGTH))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    strategy_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    symbol: Mapped[str] = mapped_column(String(NAME_LENGTH))


class AlertRow(Base):
    """One notification (``fields`` as a JSON list of [key, value] pairs, order kept)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_account_delivered", "account", "delivered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    ts: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    level: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(NAME_LENGTH))
    message: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[list[str]]] = mapped_column(JSON)
    delivered: Mapped[bool] = mapped_column(Boolean)


class ControlRequestRow(Base):
    """A request to kill or resume trading of an account (from the CLI or Telegram)."""

    __tablename__ = "control_requests"
    __table_args__ = (
        _one_of("command", CONTROL_COMMANDS, "ck_control_requests_command"),
        _one_of("source", CONTROL_SOURCES, "ck_control_requests_source"),
        Index("ix_control_requests_account_handled_at", "account", "handled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    ts: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    command: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))
    handled_at: Mapped[pd.Timestamp | None] = mapped_column(UtcNanos, nullable=True)
    result: Mapped[str] = mapped_column(Text)


class ReconciliationRow(Base):
    """One difference found between the store and the venue, and what was done about it."""

    __tablename__ = "reconciliations"
    __table_args__ = (Index("ix_reconciliations_account_run_id", "account", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("runs.id"), nullable=True)
    ts: Mapped[pd.Timestamp] = mapped_column(UtcNanos)
    kind: Mapped[str] = mapped_column(String(40))
    client_order_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    detail: Mapped[str] = mapped_column(Text)
