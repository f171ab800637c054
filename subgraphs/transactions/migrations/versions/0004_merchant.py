"""the merchant of each invoice, and of each payment, so the wallet credits its settlement account

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Invoices issued before this revision were all the seed's marketplace's (`marketplace`); payments
take their invoice's merchant when they claim its VA.
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("merchant_id", sa.String(32), nullable=False, server_default="marketplace"))
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("merchant_id", sa.String(32), nullable=True))
    invoices = sa.table("invoices", sa.column("va_number", sa.String), sa.column("merchant_id", sa.String))
    transactions = sa.table(
        "transactions",
        sa.column("type", sa.String),
        sa.column("va_number", sa.String),
        sa.column("merchant_id", sa.String),
    )
    merchant = (
        sa.select(invoices.c.merchant_id).where(invoices.c.va_number == transactions.c.va_number).scalar_subquery()
    )
    op.execute(transactions.update().where(transactions.c.type == "PAYMENT").values(merchant_id=merchant))


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("merchant_id")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("merchant_id")
