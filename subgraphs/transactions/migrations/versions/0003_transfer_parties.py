"""a transfer's receiver and both usernames, so the receiver sees it as incoming

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Transfers recorded before this revision keep NULLs: their receivers are not known here.
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("to_user_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("to_username", sa.String(64), nullable=True))
        batch.add_column(sa.Column("user_username", sa.String(64), nullable=True))
        batch.create_index("ix_transactions_to_user_created", ["to_user_id", "created_at"])
        batch.create_index("ix_transactions_to_wallet_created", ["to_wallet_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_index("ix_transactions_to_wallet_created")
        batch.drop_index("ix_transactions_to_user_created")
        batch.drop_column("user_username")
        batch.drop_column("to_username")
        batch.drop_column("to_user_id")
