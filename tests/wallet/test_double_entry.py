"""The double-entry ledger: every movement debits one account and credits another, so the sum over
all accounts is zero at every moment; merchants are settled in batches. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import Database
from shared.errors import AppError, ErrorCode
from shared.migrations import upgrade_to_head_sync
from subgraphs.wallet.app import MIGRATIONS_DIR
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.models import AccountKind, OperationKind
from subgraphs.wallet.reconcile import reconcile
from subgraphs.wallet.service import WalletService
from tests.wallet.conftest import copy_of

FUNDING = "sys:funding:DEPOSIT"
SETTLEMENT = "sys:settlement:marketplace"
PAYOUT = "sys:payout:marketplace"
SUSPENSE = "sys:suspense:marketplace"
LIMITS = WalletSettings(max_balance_minor=10**12, monthly_incoming_limit_minor=10**12)


@pytest.fixture(scope="module")
def postgres_ledger_url(request: pytest.FixtureRequest) -> Iterator[str]:
    request.getfixturevalue("postgres_admin_url")  # skips, saying why, without a server
    from tests.support.postgres import fresh_database

    with fresh_database("sawit_wallet_double_entry") as url:
        upgrade_to_head_sync(MIGRATIONS_DIR, url)
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> str:
    if request.param == "sqlite":
        return copy_of(migrated_template, tmp_path / "ledger.db")
    return str(request.getfixturevalue("postgres_ledger_url"))


EMPTY_LEDGER = "TRUNCATE settlement_items, settlement_batches, ledger_entries, wallet_operations, wallets"


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[WalletService]:
    db = Database(ledger_url)
    if ledger_url.startswith("postgresql"):  # one module-wide database: each test starts empty
        await db.write(lambda s: s.execute(text(EMPTY_LEDGER)))
    try:
        yield WalletService(db, LIMITS, money_max_minor=10**12)
    finally:
        await db.dispose()


async def balance(service: WalletService, account_id: str) -> int:
    report = await service.trial_balance()
    return next((a.balance for a in report.accounts if a.account_id == account_id), 0)


async def new_wallet(service: WalletService, owner: str, amount: int = 0) -> str:
    wallet_id = (await service.create_wallet(owner, "Dompet")).wallet_id
    if amount:
        await service.topup(
            transaction_id=f"fund-{wallet_id}", user_id=owner, wallet_id=wallet_id, amount_minor=amount
        )
    return wallet_id


async def test_a_topup_comes_from_the_funding_account_and_a_payment_goes_to_the_merchant(
    ledger: WalletService,
) -> None:
    wallet = await new_wallet(ledger, "alice", 10_000)
    await ledger.deduct(transaction_id="pay-1", user_id="alice", wallet_id=wallet, amount_minor=2_500)

    report = await ledger.trial_balance()
    balances = {a.account_id: (a.kind, a.balance) for a in report.accounts}
    assert balances[wallet] == (AccountKind.CUSTOMER, 7_500)
    assert balances[FUNDING] == (AccountKind.FUNDING, -10_000)
    assert balances[SETTLEMENT] == (AccountKind.SETTLEMENT, 2_500)
    assert report.balanced and report.balance_total == 0
    assert report.debit_total == report.credit_total == 12_500


async def test_a_payment_to_another_merchant_credits_that_merchants_settlement_account(
    ledger: WalletService,
) -> None:
    wallet = await new_wallet(ledger, "alice", 10_000)
    await ledger.deduct(
        transaction_id="pay-b", user_id="alice", wallet_id=wallet, amount_minor=900, merchant_id="toko-b"
    )
    assert await balance(ledger, "sys:settlement:toko-b") == 900
    assert await balance(ledger, SETTLEMENT) == 0
    with pytest.raises(AppError) as refused:
        await ledger.deduct(
            transaction_id="pay-c",
            user_id="alice",
            wallet_id=wallet,
            amount_minor=1,
            merchant_id="Not Valid!",
        )
    assert refused.value.code == ErrorCode.BAD_USER_INPUT


async def test_a_system_account_is_no_wallet_to_send_to_freeze_or_read(ledger: WalletService) -> None:
    wallet = await new_wallet(ledger, "alice", 1_000)
    await ledger.deduct(transaction_id="pay", user_id="alice", wallet_id=wallet, amount_minor=100)
    for transaction_id, user_id, source, target in (
        ("steal", "alice", wallet, SETTLEMENT),
        ("steal-2", "system", SETTLEMENT, wallet),
    ):
        with pytest.raises(AppError) as refused:
            await ledger.transfer(
                transaction_id=transaction_id,
                user_id=user_id,
                from_wallet_id=source,
                to_wallet_id=target,
                amount_minor=1,
            )
        assert refused.value.code == ErrorCode.NOT_FOUND
    with pytest.raises(AppError):
        await ledger.set_frozen(SETTLEMENT, True)
    assert await ledger.find_wallet(SETTLEMENT) is None
    assert await ledger.wallet_owner(FUNDING) is None


async def test_the_merchant_statement_lists_exactly_the_payments_and_a_payout_empties_the_account(
    ledger: WalletService,
) -> None:
    wallet = await new_wallet(ledger, "alice", 100_000)
    for index, amount in enumerate([1_000, 2_000, 3_000]):
        await ledger.deduct(
            transaction_id=f"va-{index}", user_id="alice", wallet_id=wallet, amount_minor=amount
        )
    await ledger.reverse(transaction_id="va-1", reversal_id="undo-va-1")

    statement = await ledger.merchant_statement("marketplace")
    assert [
        (line.transaction_id, line.kind, line.direction.value, line.amount_minor) for line in statement
    ] == [
        ("undo-va-1", OperationKind.REVERSAL, "DEBIT", 2_000),
        ("va-2", OperationKind.DEDUCT, "CREDIT", 3_000),
        ("va-1", OperationKind.DEDUCT, "CREDIT", 2_000),
        ("va-0", OperationKind.DEDUCT, "CREDIT", 1_000),
    ]
    assert all(line.batch_id is None for line in statement)

    batch = await ledger.settle_merchant("marketplace", "payout-1")
    assert (batch.total_minor, batch.payment_count) == (4_000, 3)
    assert {line.transaction_id for line in batch.lines} == {
        "va-0",
        "va-1",
        "va-2",
        "undo-va-1",
        "payout:payout-1",
    }
    assert await balance(ledger, SETTLEMENT) == 0
    assert await balance(ledger, PAYOUT) == 4_000
    again = await ledger.settle_merchant("marketplace", "payout-1")  # a retried click pays nothing more
    assert again.batch_id == batch.batch_id and await balance(ledger, PAYOUT) == 4_000
    with pytest.raises(AppError) as nothing:
        await ledger.settle_merchant("marketplace", "payout-2")
    assert nothing.value.code == ErrorCode.NOTHING_TO_SETTLE
    assert [b.batch_id for b in await ledger.settlement_batches("marketplace")] == [batch.batch_id]
    first_page = await ledger.merchant_statement("marketplace", first=2)
    rest = await ledger.merchant_statement("marketplace", first=10, after=first_page[-1].entry_id)
    assert len(first_page) + len(rest) == 5 and all(
        line.batch_id == batch.batch_id for line in first_page + rest
    )
    assert (await reconcile(ledger.db)).ok


async def test_a_payment_reversed_after_its_payout_is_owed_by_the_merchant(ledger: WalletService) -> None:
    wallet = await new_wallet(ledger, "alice", 5_000)
    await ledger.deduct(transaction_id="va", user_id="alice", wallet_id=wallet, amount_minor=5_000)
    await ledger.settle_merchant("marketplace", "p1")

    await ledger.reverse(transaction_id="va", reversal_id="undo-va")

    assert (await ledger.find_wallet(wallet)).balance == 5_000  # type: ignore[union-attr]
    assert await balance(ledger, SUSPENSE) == -5_000
    assert await balance(ledger, SETTLEMENT) == 0
    report = await ledger.trial_balance()
    assert report.balanced and report.balance_total == 0
    with pytest.raises(AppError) as refused:
        await ledger.reverse(transaction_id="payout:p1", reversal_id="undo-payout")
    assert refused.value.code == ErrorCode.BAD_USER_INPUT


async def test_after_a_mixed_concurrent_load_the_trial_balance_is_balanced_and_sums_to_zero(
    ledger: WalletService,
) -> None:
    rng = random.Random(17)
    owners = [f"user-{i}" for i in range(6)]
    wallets = [await new_wallet(ledger, owner, 50_000) for owner in owners]

    async def one(index: int) -> None:
        i = rng.randrange(len(wallets))
        kind = rng.choice(["topup", "deduct", "transfer", "reverse"])
        try:
            if kind == "topup":
                await ledger.topup(
                    transaction_id=f"t{index}",
                    user_id=owners[i],
                    wallet_id=wallets[i],
                    amount_minor=rng.randint(1, 9_000),
                )
            elif kind == "deduct":
                await ledger.deduct(
                    transaction_id=f"t{index}",
                    user_id=owners[i],
                    wallet_id=wallets[i],
                    amount_minor=rng.randint(1, 9_000),
                )
            elif kind == "transfer":
                j = (i + 1 + rng.randrange(len(wallets) - 1)) % len(wallets)
                await ledger.transfer(
                    transaction_id=f"t{index}",
                    user_id=owners[i],
                    from_wallet_id=wallets[i],
                    to_wallet_id=wallets[j],
                    amount_minor=rng.randint(1, 9_000),
                )
            else:
                await ledger.reverse(
                    transaction_id=f"t{rng.randrange(max(index, 1))}", reversal_id=f"r{index}"
                )
        except AppError as exc:
            assert exc.code in (ErrorCode.INSUFFICIENT_FUNDS, ErrorCode.CONFLICT), exc

    await asyncio.gather(*(one(index) for index in range(200)))
    # ... and a payout in the middle of more of it
    await asyncio.gather(
        ledger.settle_merchant("marketplace", "mid"), *(one(index) for index in range(200, 260))
    )

    report = await ledger.trial_balance()
    assert report.balanced, (report.drifts, report.unbalanced_transactions, report.settlement_drifts)
    assert report.balance_total == 0 and report.debit_total == report.credit_total
    assert all(a.balance >= 0 for a in report.accounts if a.kind == AccountKind.CUSTOMER)
    assert (await reconcile(ledger.db)).ok


async def test_reconciliation_catches_money_created_on_one_side_only(ledger: WalletService) -> None:
    wallet = await new_wallet(ledger, "alice", 1_000)
    await ledger.db.write(
        lambda s: s.execute(
            text(
                "INSERT INTO ledger_entries (entry_id, wallet_id, transaction_id, direction, amount_minor, "
                "balance_after, created_at) "
                "VALUES ('forged', :w, 'forged-tx', 'CREDIT', 500, 1500, CURRENT_TIMESTAMP)"
            ),
            {"w": wallet},
        )
    )
    await ledger.db.write(
        lambda s: s.execute(text("UPDATE wallets SET balance = 1500 WHERE wallet_id = :w"), {"w": wallet})
    )

    report = await reconcile(ledger.db)

    assert not report.ok
    assert report.ledger.unbalanced_transactions == ["forged-tx"]
    assert report.ledger.balance_total == 500
    assert "FAILED" in report.lines()[-1]
