"""a real double-entry ledger: system accounts, balanced transfers, merchant settlement batches

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Wallets become accounts with a kind (CUSTOMER for every existing one); amounts are named in minor
units (`amount_minor`). Every transaction id that moved money on one side only (a top-up credited
from nowhere, a payment debited to nowhere, or a reversal of either) gets its missing side: the
DEPOSIT funding account, or the default merchant's settlement account, with the original's time.
No customer balance changes; afterwards the sum of all balances is exactly zero.
"""

import uuid
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FUNDING = "sys:funding:DEPOSIT"
MERCHANT = "marketplace"  # the seed's marketplace: the merchant of every earlier payment
SETTLEMENT = f"sys:settlement:{MERCHANT}"
SYSTEM_ACCOUNTS = {
    FUNDING: "FUNDING",
    SETTLEMENT: "SETTLEMENT",
    f"sys:payout:{MERCHANT}": "PAYOUT",
    f"sys:suspense:{MERCHANT}": "SUSPENSE",
}
KINDS = "('CUSTOMER', 'FUNDING', 'SETTLEMENT', 'PAYOUT', 'SUSPENSE')"


def upgrade() -> None:
    _reshape_tables()
    _create_settlement_tables()
    _balance_every_transaction()


def _reshape_tables() -> None:
    with op.batch_alter_table("wallets") as batch:
        batch.add_column(sa.Column("kind", sa.String(12), nullable=False, server_default="CUSTOMER"))
        batch.drop_constraint("ck_wallets_balance_non_negative", type_="check")
        batch.create_check_constraint(
            "ck_wallets_balance_non_negative", "balance >= 0 OR kind IN ('FUNDING', 'SUSPENSE')"
        )
        batch.create_check_constraint("ck_wallets_kind", f"kind IN {KINDS}")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_constraint("ck_ledger_entries_balance_after_non_negative", type_="check")
        batch.drop_constraint("ck_ledger_entries_amount_positive", type_="check")
        batch.alter_column("amount", new_column_name="amount_minor", existing_type=sa.BigInteger())
        batch.create_check_constraint("ck_ledger_entries_amount_positive", "amount_minor > 0")
        batch.create_check_constraint(
            "ck_ledger_entries_balance_after_non_negative",
            "balance_after >= 0 OR wallet_id LIKE 'sys:funding:%' OR wallet_id LIKE 'sys:suspense:%'",
        )
    with op.batch_alter_table("wallet_operations") as batch:
        batch.drop_constraint("ck_wallet_operations_kind", type_="check")
        batch.drop_constraint("ck_wallet_operations_amount_positive", type_="check")
        batch.alter_column("amount", new_column_name="amount_minor", existing_type=sa.BigInteger())
        batch.create_check_constraint(
            "ck_wallet_operations_kind", "kind IN ('TOPUP', 'DEDUCT', 'TRANSFER', 'REVERSAL', 'PAYOUT')"
        )
        batch.create_check_constraint(
            "ck_wallet_operations_amount_positive", "amount_minor IS NULL OR amount_minor > 0"
        )


def _create_settlement_tables() -> None:
    op.create_table(
        "settlement_batches",
        sa.Column("batch_id", sa.String(36), primary_key=True),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_minor > 0", name="ck_settlement_batches_total_positive"),
        sa.UniqueConstraint("transaction_id", name="uq_settlement_batches_transaction"),
    )
    op.create_index(
        "ix_settlement_batches_merchant_created", "settlement_batches", ["merchant_id", "created_at", "batch_id"]
    )
    op.create_table(
        "settlement_items",
        sa.Column(
            "entry_id",
            sa.String(36),
            sa.ForeignKey("ledger_entries.entry_id", name="fk_settlement_items_entry"),
            primary_key=True,
        ),
        sa.Column(
            "batch_id",
            sa.String(36),
            sa.ForeignKey("settlement_batches.batch_id", name="fk_settlement_items_batch"),
            nullable=False,
        ),
    )
    op.create_index("ix_settlement_items_batch", "settlement_items", ["batch_id"])


def _balance_every_transaction() -> None:
    bind = op.get_bind()
    wallets = sa.table(
        "wallets",
        sa.column("wallet_id", sa.String),
        sa.column("owner_id", sa.String),
        sa.column("name", sa.String),
        sa.column("balance", sa.BigInteger),
        sa.column("status", sa.String),
        sa.column("version", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("incoming_month_minor", sa.BigInteger),
        sa.column("kind", sa.String),
    )
    entries = sa.table(
        "ledger_entries",
        sa.column("entry_id", sa.String),
        sa.column("wallet_id", sa.String),
        sa.column("transaction_id", sa.String),
        sa.column("direction", sa.String),
        sa.column("amount_minor", sa.BigInteger),
        sa.column("balance_after", sa.BigInteger),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    operations = sa.table(
        "wallet_operations",
        sa.column("transaction_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("to_wallet_id", sa.String),
    )
    now = sa.func.now()
    existing = set(bind.execute(sa.select(wallets.c.wallet_id).where(wallets.c.owner_id == "system")).scalars())
    for account_id, kind in SYSTEM_ACCOUNTS.items():
        if account_id in existing:
            continue
        op.execute(
            wallets.insert().values(
                wallet_id=account_id,
                owner_id="system",
                name=f"{kind.lower()} {account_id.rsplit(':', 1)[-1]}",
                balance=0,
                status="ACTIVE",
                version=0,
                created_at=now,
                updated_at=now,
                incoming_month_minor=0,
                kind=kind,
            )
        )
    # Every transaction id's net, oldest first: a non-zero net is a side that was never posted.
    signed = sa.case((entries.c.direction == "CREDIT", entries.c.amount_minor), else_=-entries.c.amount_minor)
    rows = bind.execute(
        sa.select(entries.c.transaction_id, sa.func.sum(signed).label("net"), sa.func.min(entries.c.created_at))
        .group_by(entries.c.transaction_id)
        .having(sa.func.sum(signed) != 0)
        .order_by(sa.func.min(entries.c.created_at), entries.c.transaction_id)
    ).all()
    kinds = dict(bind.execute(sa.select(operations.c.transaction_id, operations.c.kind)).all())
    balances: dict[str, int] = defaultdict(int)
    for transaction_id, net, created_at in rows:
        kind = kinds.get(transaction_id)
        # A top-up, or the reversal of one (net < 0: money left a customer), met the funding account;
        # a payment, or its reversal (net > 0), the marketplace's settlement account.
        if kind == "TOPUP" or (kind == "REVERSAL" and net < 0):
            account = FUNDING
        else:
            account = SETTLEMENT
        balances[account] -= net
        op.execute(
            entries.insert().values(
                entry_id=str(uuid.uuid4()),
                wallet_id=account,
                transaction_id=transaction_id,
                direction="DEBIT" if net > 0 else "CREDIT",
                amount_minor=abs(int(net)),
                balance_after=balances[account],
                created_at=created_at,
            )
        )
    for account, balance in balances.items():
        op.execute(wallets.update().where(wallets.c.wallet_id == account).values(balance=balance))
    # A payment's idempotency record now names the account it paid (as new payments do).
    op.execute(operations.update().where(operations.c.kind == "DEDUCT").values(to_wallet_id=SETTLEMENT))


def downgrade() -> None:
    raise NotImplementedError("the double-entry ledger is not migrated back: restore a backup instead")
