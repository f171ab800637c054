"""an entry per user a transaction touches: direction, counterparty, and (transaction, status, user)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Existing entries become OUT with no counterparty, which is how they hash (chain.py), so the stored
chain still verifies.
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("history_entries") as batch:
        batch.add_column(sa.Column("direction", sa.String(3), nullable=False, server_default="OUT"))
        batch.add_column(sa.Column("counterparty", sa.String(64), nullable=True))
        batch.create_check_constraint("ck_history_direction", "direction IN ('OUT', 'IN')")
        batch.drop_constraint("uq_history_transaction_status", type_="unique")
        batch.create_unique_constraint(
            "uq_history_transaction_status_user", ["transaction_id", "status", "user_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("history_entries") as batch:
        batch.drop_constraint("uq_history_transaction_status_user", type_="unique")
        batch.create_unique_constraint("uq_history_transaction_status", ["transaction_id", "status"])
        batch.drop_constraint("ck_history_direction", type_="check")
        batch.drop_column("counterparty")
        batch.drop_column("direction")
