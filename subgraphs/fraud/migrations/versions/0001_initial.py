"""fraud_logs table

Revision ID: 0001_fraud_initial
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_fraud_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fraud_logs",
        sa.Column("log_id", sa.String(64), primary_key=True),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("wallet_id", sa.String(128), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("va_number", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("reasons", sa.String(512), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.UniqueConstraint("transaction_id", name="uq_fraud_logs_transaction_id"),
        sa.CheckConstraint("status IN ('SAFE', 'SUSPICIOUS', 'FRAUD')", name="ck_fraud_logs_status"),
        sa.CheckConstraint("amount_minor > 0", name="ck_fraud_logs_amount_positive"),
        sa.CheckConstraint("score >= 0 AND score <= 100", name="ck_fraud_logs_score"),
    )
    op.create_index("ix_fraud_logs_user_created", "fraud_logs", ["user_id", "created_at"])
    op.create_index("ix_fraud_logs_created", "fraud_logs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_fraud_logs_created", table_name="fraud_logs")
    op.drop_index("ix_fraud_logs_user_created", table_name="fraud_logs")
    op.drop_table("fraud_logs")
