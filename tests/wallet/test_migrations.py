"""Migration 0002: a ledger made by the previous schema gets its monthly-incoming counters right."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from shared.db import Database
from shared.errors import AppError, ErrorCode
from shared.migrations import alembic_config, upgrade_to_head_sync
from subgraphs.wallet.app import MIGRATIONS_DIR
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.models import utcnow
from subgraphs.wallet.reconcile import reconcile
from subgraphs.wallet.service import WalletService

# The tables as revision 0001 made them (no counter columns yet).
WALLETS = sa.table(
    "wallets",
    *(sa.column(c, sa.String) for c in ("wallet_id", "owner_id", "name", "status")),
    sa.column("balance", sa.BigInteger),
    sa.column("version", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
ENTRIES = sa.table(
    "ledger_entries",
    *(sa.column(c, sa.String) for c in ("entry_id", "wallet_id", "transaction_id", "direction")),
    sa.column("amount", sa.BigInteger),
    sa.column("balance_after", sa.BigInteger),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
OPERATIONS = sa.table(
    "wallet_operations",
    *(sa.column(c, sa.String) for c in ("transaction_id", "kind", "user_id", "wallet_id", "result")),
    sa.column("amount", sa.BigInteger),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def old_ledger(url: str) -> None:
    """Wallet A: 1000 topped up last month; this month 500 topped up, 300 received by transfer from
    B, 200 paid and that payment reversed (a reversal credit, which is not incoming money)."""
    now = utcnow()
    last_month = now.replace(day=1) - timedelta(days=2)
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    moves = [  # (tx, kind, wallet, direction, amount, when)
        ("old-topup", "TOPUP", "A", "CREDIT", 1000, last_month),
        ("b-topup", "TOPUP", "B", "CREDIT", 300, last_month),
        ("topup", "TOPUP", "A", "CREDIT", 500, now),
        ("transfer", "TRANSFER", "B", "DEBIT", 300, now),
        ("transfer", "TRANSFER", "A", "CREDIT", 300, now),
        ("pay", "DEDUCT", "A", "DEBIT", 200, now),
        ("undo-pay", "REVERSAL", "A", "CREDIT", 200, now),
    ]
    balances = {"A": 0, "B": 0}
    with engine.begin() as conn:
        for wallet in balances:
            conn.execute(
                WALLETS.insert().values(
                    wallet_id=wallet, owner_id=f"owner-{wallet}", name=wallet, status="ACTIVE",
                    balance=0, version=0, created_at=last_month, updated_at=last_month,
                )
            )  # fmt: skip
        for index, (tx, kind, wallet, direction, amount, when) in enumerate(moves):
            balances[wallet] += amount if direction == "CREDIT" else -amount
            conn.execute(
                ENTRIES.insert().values(
                    entry_id=f"e{index}", wallet_id=wallet, transaction_id=tx, direction=direction,
                    amount=amount, balance_after=balances[wallet], created_at=when,
                )
            )  # fmt: skip
            if direction == "CREDIT" or kind == "DEDUCT":
                conn.execute(
                    OPERATIONS.insert().values(
                        transaction_id=tx, kind=kind, user_id=f"owner-{wallet}", wallet_id=wallet,
                        result="[]", amount=amount, created_at=when,
                    )
                )  # fmt: skip
        for wallet, balance in balances.items():
            conn.execute(WALLETS.update().where(WALLETS.c.wallet_id == wallet).values(balance=balance))
    engine.dispose()


@pytest.fixture
def migrated_from_0001(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(MIGRATIONS_DIR, url), "0001")
    old_ledger(url)
    upgrade_to_head_sync(MIGRATIONS_DIR, url)
    return url


async def test_the_counter_starts_at_this_months_incoming_credits_and_balances_stay(
    migrated_from_0001: str,
) -> None:
    db = Database(migrated_from_0001)
    try:
        service = WalletService(
            db,
            WalletSettings(max_balance_minor=10**9, monthly_incoming_limit_minor=1_000),
            money_max_minor=10**9,
        )
        a = await service.find_wallet("A")
        b = await service.find_wallet("B")
        assert a is not None and b is not None
        assert (a.balance, b.balance) == (1800, 0)
        assert a.received_in(utcnow().strftime("%Y-%m")) == 800  # 500 + 300: not last month, not the reversal
        assert (await reconcile(db)).ok
        with pytest.raises(AppError) as refused:
            await service.topup(transaction_id="t-201", user_id="owner-A", wallet_id="A", amount_minor=201)
        assert refused.value.code == ErrorCode.LIMIT_EXCEEDED
        move = await service.topup(transaction_id="t-200", user_id="owner-A", wallet_id="A", amount_minor=200)
        assert move.balance_after == 2000
        assert (await reconcile(db)).ok
    finally:
        await db.dispose()


async def test_reconciliation_reports_a_counter_that_disagrees_with_the_ledger(
    migrated_from_0001: str,
) -> None:
    db = Database(migrated_from_0001)
    try:
        await db.write(
            lambda s: s.execute(sa.text("UPDATE wallets SET incoming_month_minor = 1 WHERE wallet_id = 'A'"))
        )
        report = await reconcile(db)
        assert not report.ok
        assert [(d.wallet_id, d.counted, d.received) for d in report.incoming_drifts] == [("A", 1, 800)]
    finally:
        await db.dispose()
