"""a per-wallet counter of this month's incoming money (the monthly limit in O(1))

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

The counter starts as exactly what the limit check used to sum: this calendar month's (UTC)
credits that are not reversals.
"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wallets") as batch:
        batch.add_column(sa.Column("incoming_month", sa.String(7), nullable=True))
        batch.add_column(sa.Column("incoming_month_minor", sa.BigInteger(), nullable=False, server_default="0"))
        batch.create_check_constraint("ck_wallets_incoming_non_negative", "incoming_month_minor >= 0")
    now = datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    wallets = sa.table(
        "wallets",
        sa.column("wallet_id", sa.String),
        sa.column("incoming_month", sa.String),
        sa.column("incoming_month_minor", sa.BigInteger),
    )
    entries = sa.table(
        "ledger_entries",
        sa.column("wallet_id", sa.String),
        sa.column("transaction_id", sa.String),
        sa.column("direction", sa.String),
        sa.column("amount", sa.BigInteger),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    operations = sa.table("wallet_operations", sa.column("transaction_id", sa.String), sa.column("kind", sa.String))
    received = (
        sa.select(sa.func.coalesce(sa.func.sum(entries.c.amount), 0))
        .select_from(entries.join(operations, operations.c.transaction_id == entries.c.transaction_id))
        .where(
            entries.c.wallet_id == wallets.c.wallet_id,
            entries.c.direction == "CREDIT",
            entries.c.created_at >= start,
            operations.c.kind != "REVERSAL",
        )
        .scalar_subquery()
    )
    op.execute(wallets.update().values(incoming_month=now.strftime("%Y-%m"), incoming_month_minor=received))


def downgrade() -> None:
    with op.batch_alter_table("wallets") as batch:
        batch.drop_constraint("ck_wallets_incoming_non_negative", type_="check")
        batch.drop_column("incoming_month_minor")
        batch.drop_column("incoming_month")
