"""The ledger's rules on PostgreSQL, in-process against service.py (one fresh, migrated database for
the module; every test uses its own users and wallets)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.db import Database
from shared.errors import AppError, ErrorCode
from shared.migrations import upgrade_to_head_sync
from shared.tokens import Principal
from subgraphs.wallet.app import MIGRATIONS_DIR
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.models import Direction, WalletStatus
from subgraphs.wallet.reconcile import reconcile
from subgraphs.wallet.service import WalletService
from tests.wallet.helpers import new_id

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    from tests.support.postgres import fresh_database

    with fresh_database("sawit_wallet_svc") as url:
        upgrade_to_head_sync(MIGRATIONS_DIR, url)
        upgrade_to_head_sync(MIGRATIONS_DIR, url)  # migrating again is a no-op
        yield url


@pytest.fixture
async def pg_service(postgres_url: str) -> AsyncIterator[WalletService]:
    db = Database(postgres_url)
    try:
        yield WalletService(db, WalletSettings(max_balance_minor=50_000, monthly_incoming_limit_minor=80_000))
    finally:
        await db.dispose()


async def expect_code(code: ErrorCode, operation: Awaitable[object]) -> None:
    with pytest.raises(AppError) as caught:
        await operation
    assert caught.value.code == code, caught.value


async def test_transfers_reversals_and_replays_keep_the_ledger_exact_on_postgres(
    pg_service: WalletService,
) -> None:
    alice, bob = new_id(), new_id()
    source = (await pg_service.create_wallet(alice, "A")).wallet_id
    target = (await pg_service.create_wallet(bob, "B")).wallet_id
    await pg_service.topup(
        transaction_id=f"dep-{alice}", user_id=alice, wallet_id=source, amount_minor=30_000
    )
    tx, rev = new_id(), new_id()

    await pg_service.transfer(
        transaction_id=tx, user_id=alice, from_wallet_id=source, to_wallet_id=target, amount_minor=12_345
    )
    replay = await pg_service.transfer(
        transaction_id=tx, user_id=alice, from_wallet_id=source, to_wallet_id=target, amount_minor=12_345
    )
    mirrored = await pg_service.reverse(transaction_id=tx, reversal_id=rev)

    assert replay.replayed and replay.credit.balance_after == 12_345
    assert sorted((m.wallet_id, m.direction) for m in mirrored) == sorted(
        [(source, Direction.CREDIT), (target, Direction.DEBIT)]
    )
    assert (await pg_service.find_wallet(source)).balance == 30_000
    assert (await pg_service.find_wallet(target)).balance == 0
    await expect_code(ErrorCode.CONFLICT, pg_service.reverse(transaction_id=tx, reversal_id=new_id()))
    await expect_code(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        pg_service.transfer(
            transaction_id=tx, user_id=alice, from_wallet_id=source, to_wallet_id=target, amount_minor=1
        ),
    )
    assert (await reconcile(pg_service.db)).ok


async def test_limits_freezes_and_ownership_are_enforced_on_postgres(pg_service: WalletService) -> None:
    alice, bob = new_id(), new_id()
    wallet_id = (await pg_service.create_wallet(alice, "A")).wallet_id
    await pg_service.topup(transaction_id=new_id(), user_id=alice, wallet_id=wallet_id, amount_minor=45_000)

    await expect_code(
        ErrorCode.LIMIT_EXCEEDED,
        pg_service.topup(transaction_id=new_id(), user_id=alice, wallet_id=wallet_id, amount_minor=5_001),
    )
    await pg_service.deduct(transaction_id=new_id(), user_id=alice, wallet_id=wallet_id, amount_minor=45_000)
    await pg_service.topup(transaction_id=new_id(), user_id=alice, wallet_id=wallet_id, amount_minor=35_000)
    await expect_code(
        ErrorCode.LIMIT_EXCEEDED,
        pg_service.topup(transaction_id=new_id(), user_id=alice, wallet_id=wallet_id, amount_minor=1),
    )
    await expect_code(
        ErrorCode.FORBIDDEN,
        pg_service.deduct(transaction_id=new_id(), user_id=bob, wallet_id=wallet_id, amount_minor=1),
    )
    await pg_service.set_frozen(wallet_id, True)
    await expect_code(
        ErrorCode.WALLET_FROZEN,
        pg_service.deduct(transaction_id=new_id(), user_id=alice, wallet_id=wallet_id, amount_minor=1),
    )
    assert (await pg_service.find_wallet(wallet_id)).balance == 35_000
    assert len(await pg_service.entries_of(wallet_id)) == 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE wallets SET balance = -1 WHERE wallet_id = :wallet",
        "INSERT INTO ledger_entries VALUES ('e1', :wallet, 'tx', 'CREDIT', 0, 0, now())",
        "INSERT INTO ledger_entries VALUES ('e1', :wallet, :dep, 'CREDIT', 5, 5, now())",
    ],
)
async def test_postgres_refuses_rows_that_break_the_ledger(pg_service: WalletService, statement: str) -> None:
    owner = new_id()
    wallet_id = (await pg_service.create_wallet(owner, "A")).wallet_id
    await pg_service.topup(transaction_id=f"dep-{owner}", user_id=owner, wallet_id=wallet_id, amount_minor=5)
    params = {"wallet": wallet_id, "dep": f"dep-{owner}"}
    with pytest.raises(IntegrityError):
        await pg_service.db.write(lambda session: session.execute(text(statement), params))


async def test_a_nul_character_in_any_text_is_a_clear_error_not_a_database_failure_on_postgres(
    pg_service: WalletService,
) -> None:
    """PostgreSQL refuses NUL in text outright; the ledger must answer with our codes, not INTERNAL."""
    owner = new_id()
    wallet_id = (await pg_service.create_wallet(owner, "A")).wallet_id
    await expect_code(ErrorCode.BAD_USER_INPUT, pg_service.create_wallet(owner, "Tabungan\x00"))
    for transaction_id in ("tx\x00", "\x00"):
        await expect_code(
            ErrorCode.BAD_USER_INPUT,
            pg_service.topup(
                transaction_id=transaction_id, user_id=owner, wallet_id=wallet_id, amount_minor=1
            ),
        )
        await expect_code(
            ErrorCode.BAD_USER_INPUT,
            pg_service.reverse(transaction_id=transaction_id, reversal_id=new_id()),
        )
    await expect_code(
        ErrorCode.NOT_FOUND,
        pg_service.topup(
            transaction_id=new_id(), user_id=owner, wallet_id=f"{wallet_id}\x00", amount_minor=1
        ),
    )
    await expect_code(
        ErrorCode.NOT_FOUND,
        pg_service.transfer(
            transaction_id=new_id(),
            user_id=owner,
            from_wallet_id=wallet_id,
            to_wallet_id="\x00",
            amount_minor=1,
        ),
    )
    assert await pg_service.find_wallet("\x00") is None
    assert await pg_service.movements_of("tx\x00") == []
    assert await pg_service.wallets_of("\x00") == []
    assert await pg_service.entries_of("\x00") == []
    await expect_code(ErrorCode.BAD_USER_INPUT, pg_service.wallets_of(owner, after="\x00"))
    await expect_code(ErrorCode.BAD_USER_INPUT, pg_service.entries_of(wallet_id, after="\x00"))
    admin = Principal(kind="user", subject="admin", role="ADMIN")
    await expect_code(ErrorCode.NOT_FOUND, pg_service.close_wallet(admin, "\x00"))
    await expect_code(ErrorCode.NOT_FOUND, pg_service.set_frozen("\x00", True))
    assert (await pg_service.find_wallet(wallet_id)).balance == 0


async def test_owner_lookups_and_the_direction_filter_work_on_postgres(pg_service: WalletService) -> None:
    owner = new_id()
    older = (await pg_service.create_wallet(owner, "A")).wallet_id
    newer = (await pg_service.create_wallet(owner, "B")).wallet_id
    await pg_service.topup(transaction_id=new_id(), user_id=owner, wallet_id=older, amount_minor=9)
    move = await pg_service.transfer(
        transaction_id=new_id(), user_id=owner, from_wallet_id=older, to_wallet_id=newer, amount_minor=4
    )

    assert (move.debit.owner_id, move.credit.owner_id) == (owner, owner)
    owned = await pg_service.wallet_owner(newer)
    assert (owned.wallet_id, owned.owner_id, owned.status) == (newer, owner, WalletStatus.ACTIVE)
    assert await pg_service.default_wallet_of(owner) == older
    await pg_service.set_frozen(older, True)
    assert await pg_service.default_wallet_of(owner) == newer
    assert [e.direction for e in await pg_service.entries_of(older, direction="DEBIT")] == [Direction.DEBIT]
    assert [e.amount_minor for e in await pg_service.entries_of(older, direction="CREDIT")] == [9]
    for impossible in ("\x00", f"{newer}\x00", "x" * 37, "x" * 10_000):
        assert await pg_service.wallet_owner(impossible) is None
    for impossible in ("\x00", f"{owner}\x00", "x" * 65, "x" * 10_000):
        assert await pg_service.default_wallet_of(impossible) is None
    await expect_code(ErrorCode.BAD_USER_INPUT, pg_service.entries_of(older, direction="CREDIT\x00"))
