"""History: hash-chained audit entries, owners' hide marks, the chain head.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "history_entries",
        sa.Column("history_id", sa.String(128), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("wallet_id", sa.String(128), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("va_number", sa.String(64), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("transaction_id", "status", name="uq_history_transaction_status"),
        sa.UniqueConstraint("seq", name="uq_history_seq"),
        sa.UniqueConstraint("prev_hash", name="uq_history_prev_hash"),
        sa.UniqueConstraint("entry_hash", name="uq_history_entry_hash"),
        sa.CheckConstraint("seq >= 1", name="ck_history_seq_positive"),
        sa.CheckConstraint("amount_minor > 0", name="ck_history_amount_positive"),
    )
    op.create_index("ix_history_user_seq", "history_entries", ["user_id", "seq"])
    op.create_table(
        "history_hidden",
        sa.Column(
            "history_id",
            sa.String(128),
            sa.ForeignKey("history_entries.history_id"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=False),
    )
    head = op.create_table(
        "history_chain_head",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("last_history_id", sa.String(128), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_history_chain_head_single_row"),
    )
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH, "last_history_id": None}])


def downgrade() -> None:
    op.drop_table("history_chain_head")
    op.drop_table("history_hidden")
    op.drop_index("ix_history_user_seq", table_name="history_entries")
    op.drop_table("history_entries")
