"""Create the trading runtime's tables: runs, orders, fills, positions, balances,
risk decisions, alerts, control requests and reconciliations.

Money and quantities are TEXT (a Decimal's canonical text), times BIGINT (epoch
nanoseconds, UTC); see ``quantbridge.runtime.store.types``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_ACCOUNT = 100
_NAME = 200
_ID = 200


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _key() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _account(*, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column("account", sa.String(_ACCOUNT), nullable=False, primary_key=primary_key)


def _run_id() -> sa.Column[int]:
    return sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=True)


def _create_runs() -> None:
    op.create_table(
        "runs",
        _key(),
        _account(),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("strategy", sa.String(_NAME), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("exchange", sa.String(_NAME), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        _text("force_reason"),
        sa.Column("certificate_id", sa.Integer(), sa.ForeignKey("parity_certificates.id"), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        _time("started"),
        _time("heartbeat", nullable=True),
        _time("stopped", nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        _text("stop_reason"),
        sa.CheckConstraint("mode IN ('paper', 'live')", name="ck_runs_mode"),
        sa.CheckConstraint("status IN ('running', 'stopped', 'crashed', 'failed')", name="ck_runs_status"),
    )
    op.create_index("ix_runs_account_status", "runs", ["account", "status"])
    op.create_index("ix_runs_status", "runs", ["status"])


def _create_orders() -> None:
    op.create_table(
        "orders",
        _key(),
        _account(),
        _run_id(),
        sa.Column("client_order_id", sa.String(_ID), nullable=False),
        sa.Column("strategy_id", sa.String(_NAME), nullable=False),
        sa.Column("symbol", sa.String(_NAME), nullable=False),
        sa.Column("side", sa.String(10), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("intent", sa.String(10), nullable=False),
        _text("qty"),
        _time("signal_bar"),
        _time("created"),
        _text("price", nullable=True),
        _text("stop", nullable=True),
        _text("budget", nullable=True),
        _text("tag"),
        _time("expire_at", nullable=True),
        _text("protection", nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        _text("filled_qty"),
        _text("leaves_qty", nullable=True),
        _text("avg_price", nullable=True),
        _text("commission"),
        _time("updated", nullable=True),
        _text("reason"),
        sa.Column("venue_order_id", sa.String(_ID), nullable=False),
        sa.UniqueConstraint("account", "client_order_id", name="uq_orders_account_client_order_id"),
    )


def _create_fills() -> None:
    op.create_table(
        "fills",
        _key(),
        _account(),
        _run_id(),
        sa.Column("fill_id", sa.String(_ID), nullable=False),
        sa.Column("client_order_id", sa.String(_ID), nullable=False),
        sa.Column("symbol", sa.String(_NAME), nullable=False),
        sa.Column("side", sa.String(10), nullable=False),
        _text("qty"),
        _text("price"),
        _text("commission"),
        _time("ts"),
        _time("received"),
        _text("leaves_qty"),
        _time("bar_time", nullable=True),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.UniqueConstraint("account", "fill_id", name="uq_fills_account_fill_id"),
    )
    op.create_index("ix_fills_account_client_order_id", "fills", ["account", "client_order_id"])
    op.create_index("ix_fills_account_symbol_ts", "fills", ["account", "symbol", "ts"])


def _create_snapshots() -> None:
    op.create_table(
        "positions",
        _account(primary_key=True),
        sa.Column("symbol", sa.String(_NAME), primary_key=True, nullable=False),
        _text("qty"),
        _text("avg_price", nullable=True),
        _time("updated"),
        sa.Column("source", sa.String(10), nullable=False),
        sa.CheckConstraint("source IN ('runtime', 'venue')", name="ck_positions_source"),
    )
    op.create_table(
        "balances",
        _account(primary_key=True),
        sa.Column("asset", sa.String(50), primary_key=True, nullable=False),
        _text("total"),
        _text("free"),
        _time("updated"),
    )


def _create_risk_decisions() -> None:
    op.create_table(
        "risk_decisions",
        _key(),
        _account(),
        _time("ts"),
        sa.Column("client_order_id", sa.String(_ID), nullable=False),
        sa.Column("rule", sa.String(_NAME), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        _text("detail"),
        sa.Column("strategy_id", sa.String(_NAME), nullable=False),
        sa.Column("symbol", sa.String(_NAME), nullable=False),
    )
    op.create_index("ix_risk_decisions_account_outcome", "risk_decisions", ["account", "outcome"])


def _create_alerts() -> None:
    op.create_table(
        "alerts",
        _key(),
        _account(),
        _time("ts"),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(_NAME), nullable=False),
        _text("message"),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_alerts_account_delivered", "alerts", ["account", "delivered"])


def _create_control_requests() -> None:
    op.create_table(
        "control_requests",
        _key(),
        _account(),
        _time("ts"),
        sa.Column("command", sa.String(10), nullable=False),
        _text("reason"),
        sa.Column("source", sa.String(10), nullable=False),
        _time("handled_at", nullable=True),
        _text("result"),
        sa.CheckConstraint("command IN ('kill', 'resume')", name="ck_control_requests_command"),
        sa.CheckConstraint("source IN ('cli', 'telegram')", name="ck_control_requests_source"),
    )
    op.create_index("ix_control_requests_account_handled_at", "control_requests", ["account", "handled_at"])


def _create_reconciliations() -> None:
    op.create_table(
        "reconciliations",
        _key(),
        _account(),
        _run_id(),
        _time("ts"),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("client_order_id", sa.String(_ID), nullable=False),
        _text("detail"),
    )
    op.create_index("ix_reconciliations_account_run_id", "reconciliations", ["account", "run_id"])


_DROP_ORDER = (
    "reconciliations",
    "control_requests",
    "alerts",
    "risk_decisions",
    "balances",
    "positions",
    "fills",
    "orders",
    "runs",
)


def upgrade() -> None:
    _create_runs()
    _create_orders()
    _create_fills()
    _create_snapshots()
    _create_risk_decisions()
    _create_alerts()
    _create_control_requests()
    _create_reconciliations()


def downgrade() -> None:
    for table in _DROP_ORDER:
        op.drop_table(table)  # drops the table's indexes with it
