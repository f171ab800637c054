"""Reading the ledger and its guards, in-process against service.py on a migrated SQLite file:
statements, wallet names and lists; the database's own CHECKs and reconciliation catch what the
service would never write."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from shared.errors import AppError, ErrorCode
from subgraphs.wallet.reconcile import reconcile
from subgraphs.wallet.service import WalletService, wallets_t
from tests.wallet.service_helpers import ALICE, BOB, funded, refused

# ---- reading ----------------------------------------------------------------------------------


async def test_a_statement_is_newest_first_and_pages_by_entry_id(service: WalletService) -> None:
    wallet_id = await funded(service, ALICE, 0)
    for index in range(1, 6):
        await service.topup(
            transaction_id=f"dep-{index}", user_id=ALICE, wallet_id=wallet_id, amount_minor=index
        )

    first_page = await service.entries_of(wallet_id, first=2)
    second_page = await service.entries_of(wallet_id, first=2, after=first_page[-1].entry_id)
    last_page = await service.entries_of(wallet_id, first=2, after=second_page[-1].entry_id)

    assert [e.transaction_id for e in first_page + second_page + last_page] == [
        f"dep-{i}" for i in range(5, 0, -1)
    ]
    with pytest.raises(AppError) as caught:
        await service.entries_of(wallet_id, first=201)
    assert caught.value.code == ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize("name", ["", "   ", "x" * 51])
async def test_a_wallet_name_must_be_1_to_50_characters(service: WalletService, name: str) -> None:
    await refused(service, ErrorCode.BAD_USER_INPUT, service.create_wallet(ALICE, name))


async def test_a_wallet_name_is_trimmed(service: WalletService) -> None:
    assert (await service.create_wallet(ALICE, "  Tabungan Utama  ")).name == "Tabungan Utama"


# ---- the database guards the invariants too ----------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE wallets SET balance = -1",
        "UPDATE wallets SET status = 'DELETED'",
        "INSERT INTO ledger_entries VALUES ('e1', :wallet, 'tx', 'CREDIT', 0, 0, CURRENT_TIMESTAMP)",
        "INSERT INTO ledger_entries VALUES ('e1', :wallet, 'tx', 'CREDIT', 5, -5, CURRENT_TIMESTAMP)",
        "INSERT INTO ledger_entries VALUES ('e1', :wallet, 'dep', 'CREDIT', 5, 5, CURRENT_TIMESTAMP)",
        "INSERT INTO ledger_entries VALUES ('e1', 'no-wallet', 'tx', 'CREDIT', 5, 5, CURRENT_TIMESTAMP)",
    ],
)
async def test_the_database_refuses_rows_that_break_the_ledger(
    service: WalletService, statement: str
) -> None:
    from sqlalchemy.exc import IntegrityError

    wallet_id = await funded(service, ALICE, 0)
    await service.topup(transaction_id="dep", user_id=ALICE, wallet_id=wallet_id, amount_minor=5)
    params = {"wallet": wallet_id} if ":wallet" in statement else {}
    with pytest.raises(IntegrityError):
        await service.db.write(lambda session: session.execute(text(statement), params))


async def test_reconciliation_finds_a_balance_changed_behind_the_ledgers_back(service: WalletService) -> None:
    alices = await funded(service, ALICE, 7_000)
    await funded(service, BOB, 3_000)
    assert (await reconcile(service.db)).ok

    await service.db.write(
        lambda session: session.execute(
            update(wallets_t).where(wallets_t.c.wallet_id == alices).values(balance=7_001)
        )
    )

    report = await reconcile(service.db)
    assert not report.ok
    assert [(d.account_id, d.balance, d.ledger_balance) for d in report.drifts] == [(alices, 7_001, 7_000)]


async def test_a_users_wallets_are_listed_newest_first_in_pages(service: WalletService) -> None:
    created = [(await service.create_wallet(ALICE, f"w{index}")).wallet_id for index in range(5)]
    await service.create_wallet(BOB, "not alice's")

    first_page = await service.wallets_of(ALICE, first=3)
    rest = await service.wallets_of(ALICE, first=3, after=first_page[-1].wallet_id)

    assert [w.wallet_id for w in first_page + rest] == list(reversed(created))
    with pytest.raises(AppError) as caught:
        await service.wallets_of(BOB, after=created[0])
    assert caught.value.code == ErrorCode.BAD_USER_INPUT
