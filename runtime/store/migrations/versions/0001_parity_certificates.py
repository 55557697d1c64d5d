"""Create the parity certificates table.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "parity_certificates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("prototype", sa.String(200), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("params_hash", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("rules_fingerprint", sa.String(64), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("model_fingerprint", sa.String(64), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tool_version", sa.String(50), nullable=False),
    )
    op.create_index(
        "ix_parity_certificates_version",
        "parity_certificates",
        ["prototype", "code_hash", "params_hash", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_parity_certificates_version", table_name="parity_certificates")
    op.drop_table("parity_certificates")
