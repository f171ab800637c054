"""Migrations 0002 and 0003 on a ledger made by the first schema: the monthly-incoming counters
start right (0002), and every one-sided movement gets its missing side in a system account without
any customer balance changing, so the ledger is double-entry and sums to zero (0003). On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from shared.clock import utcnow
from shared.db import Database
from shared.errors import AppError, ErrorCode
from shared.migrations import alembic_config, upgrade_to_head
from subgraphs.wallet.app import MIGRATIONS_DIR
from subgraphs.wallet.config import WalletSettings
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


async def old_ledger(db: Database) -> None:
    """Wallet A: 1000 topped up last month; this month 500 topped up, 300 received by transfer from
    B, 200 paid and that payment reversed (a reversal credit, which is not incoming money)."""
    now = utcnow()
    last_month = now.replace(day=1) - timedelta(days=2)
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

    def write(conn: Any) -> None:
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

    await db.write(write)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("postgres_admin_url")  # skips, saying why, without a server
    from tests.support.postgres import fresh_database

    with fresh_database("sawit_wallet_migration") as url:
        yield url


@pytest.fixture
async def migrated_from_0001(database_url: str) -> str:
    await asyncio.to_thread(command.upgrade, alembic_config(MIGRATIONS_DIR, database_url), "0001")
    db = Database(database_url)
    try:
        await old_ledger(db)
    finally:
        await db.dispose()
    await upgrade_to_head(MIGRATIONS_DIR, database_url)
    return database_url


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


async def test_every_one_sided_movement_gets_its_system_side_and_no_balance_changes(
    migrated_from_0001: str,
) -> None:
    db = Database(migrated_from_0001)
    try:
        service = WalletService(db, WalletSettings(max_balance_minor=10**9), money_max_minor=10**9)
        report = await service.trial_balance()
        balances = {account.account_id: account.balance for account in report.accounts}
        assert (balances["A"], balances["B"]) == (1800, 0)  # as before the migration
        assert balances["sys:funding:DEPOSIT"] == -1800  # 1000 + 300 + 500 entered
        assert balances["sys:settlement:marketplace"] == 0  # 200 paid, and given back
        assert report.balanced and report.balance_total == 0
        assert report.debit_total == report.credit_total
        movements = await service.movements_of("old-topup")
        assert sorted((m.wallet_id, m.direction.value, m.amount_minor) for m in movements) == [
            ("A", "CREDIT", 1000),
            ("sys:funding:DEPOSIT", "DEBIT", 1000),
        ]

        # The migrated ledger keeps working as a double-entry one.
        await service.deduct(transaction_id="new-pay", user_id="owner-A", wallet_id="A", amount_minor=300)
        batch = await service.settle_merchant("marketplace", "first-payout")
        # The old payment (netted by its reversal) and the new one.
        assert (batch.total_minor, batch.payment_count) == (300, 2)
        assert (await reconcile(db)).ok
    finally:
        await db.dispose()
