"""wallets, ledger entries and idempotency records

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
        "wallets",
        sa.Column("wallet_id", sa.String(36), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_wallets_balance_non_negative"),
        sa.CheckConstraint("status IN ('ACTIVE', 'FROZEN', 'CLOSED')", name="ck_wallets_status"),
    )
    op.create_index("ix_wallets_owner_id", "wallets", ["owner_id"])

    op.create_table(
        "ledger_entries",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column(
            "wallet_id",
            sa.String(36),
            sa.ForeignKey("wallets.wallet_id", name="fk_ledger_entries_wallet"),
            nullable=False,
        ),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_ledger_entries_amount_positive"),
        sa.CheckConstraint("balance_after >= 0", name="ck_ledger_entries_balance_after_non_negative"),
        sa.CheckConstraint("direction IN ('CREDIT', 'DEBIT')", name="ck_ledger_entries_direction"),
        sa.UniqueConstraint(
            "transaction_id", "wallet_id", "direction", name="uq_ledger_entries_tx_wallet_dir"
        ),
    )
    op.create_index(
        "ix_ledger_entries_wallet_created", "ledger_entries", ["wallet_id", "created_at", "entry_id"]
    )

    op.create_table(
        "wallet_operations",
        sa.Column("transaction_id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("wallet_id", sa.String(36), nullable=True),
        sa.Column("to_wallet_id", sa.String(36), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("reverses_transaction_id", sa.String(128), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('TOPUP', 'DEDUCT', 'TRANSFER', 'REVERSAL')", name="ck_wallet_operations_kind"
        ),
        sa.CheckConstraint("amount IS NULL OR amount > 0", name="ck_wallet_operations_amount_positive"),
        sa.UniqueConstraint("reverses_transaction_id", name="uq_wallet_operations_reverses"),
    )


def downgrade() -> None:
    op.drop_table("wallet_operations")
    op.drop_index("ix_ledger_entries_wallet_created", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_wallets_owner_id", table_name="wallets")
    op.drop_table("wallets")
