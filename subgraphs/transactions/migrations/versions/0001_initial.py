"""transactions, invoices, va_payments and the outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transactions",
        sa.Column("transaction_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("wallet_id", sa.String(64), nullable=False),
        sa.Column("to_wallet_id", sa.String(64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("step", sa.String(10), nullable=False),
        sa.Column("va_number", sa.String(64), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("fraud_status", sa.String(16), nullable=True),
        sa.Column("failure_code", sa.String(40), nullable=True),
        sa.Column("failure_message", sa.String(255), nullable=True),
        sa.Column("reversal_id", sa.String(64), nullable=True),
        sa.Column("reversal_reason", sa.String(255), nullable=True),
        sa.Column("reversed_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_transactions_amount_positive"),
        sa.CheckConstraint("type IN ('DEPOSIT', 'PAYMENT', 'TRANSFER')", name="ck_transactions_type"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCESS', 'FAILED', 'REJECTED', 'REVERSED')",
            name="ck_transactions_status",
        ),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_transactions_user_idempotency_key"),
    )
    op.create_index("ix_transactions_user_created", "transactions", ["user_id", "created_at"])
    op.create_index("ix_transactions_wallet_created", "transactions", ["wallet_id", "created_at"])
    op.create_index("ix_transactions_status_updated", "transactions", ["status", "updated_at"])

    op.create_table(
        "invoices",
        sa.Column("va_number", sa.String(32), primary_key=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by_transaction_id", sa.String(36), nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_invoices_amount_positive"),
        sa.CheckConstraint("status IN ('UNPAID', 'PAID', 'EXPIRED')", name="ck_invoices_status"),
    )

    op.create_table(
        "va_payments",
        sa.Column("va_number", sa.String(64), primary_key=True),
        sa.Column("transaction_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("transaction_id", name="uq_va_payments_transaction_id"),
    )

    op.create_table(
        "outbox",
        sa.Column("message_id", sa.String(36), primary_key=True),
        sa.Column("transaction_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("dedup_key", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('HISTORY', 'MARKETPLACE')", name="ck_outbox_kind"),
        sa.CheckConstraint("state IN ('PENDING', 'DELIVERED', 'DEAD')", name="ck_outbox_state"),
        sa.UniqueConstraint("dedup_key", name="uq_outbox_dedup_key"),
    )
    op.create_index("ix_outbox_state_next", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_transaction", "outbox", ["transaction_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_transaction", table_name="outbox")
    op.drop_index("ix_outbox_state_next", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("va_payments")
    op.drop_table("invoices")
    op.drop_index("ix_transactions_status_updated", table_name="transactions")
    op.drop_index("ix_transactions_wallet_created", table_name="transactions")
    op.drop_index("ix_transactions_user_created", table_name="transactions")
    op.drop_table("transactions")
