"""The ledger's rules, in-process against service.py on a migrated SQLite file: every refusal has its
own code and writes nothing; every success writes exactly its entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from shared.errors import AppError, ErrorCode
from shared.tokens import Principal
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.models import Direction, WalletStatus, utcnow
from subgraphs.wallet.reconcile import reconcile
from subgraphs.wallet.service import WalletService, entries_t, operations_t, wallets_t
from tests.wallet.helpers import new_id

ALICE, BOB = "user-alice", "user-bob"
RP = 100  # minor units per rupiah


@dataclass(frozen=True)
class Snapshot:
    entries: int
    operations: int
    balances: dict[str, int]


async def snapshot(service: WalletService) -> Snapshot:
    def read(session: Session) -> Snapshot:
        entries = session.execute(select(func.count()).select_from(entries_t)).scalar_one()
        operations = session.execute(select(func.count()).select_from(operations_t)).scalar_one()
        rows = session.execute(select(wallets_t.c.wallet_id, wallets_t.c.balance)).all()
        return Snapshot(entries, operations, {row.wallet_id: row.balance for row in rows})

    return await service.db.read(read)


async def refused(service: WalletService, code: ErrorCode, operation) -> AppError:
    """Run `operation`, expect AppError(code), and prove nothing was written."""
    before = await snapshot(service)
    with pytest.raises(AppError) as caught:
        await operation
    assert caught.value.code == code, caught.value
    assert await snapshot(service) == before
    return caught.value


async def funded(service: WalletService, owner: str, amount_minor: int) -> str:
    wallet = await service.create_wallet(owner, "Dompet")
    if amount_minor:
        await service.topup(
            transaction_id=new_id(), user_id=owner, wallet_id=wallet.wallet_id, amount_minor=amount_minor
        )
    return wallet.wallet_id


async def balance_of(service: WalletService, wallet_id: str) -> int:
    wallet = await service.find_wallet(wallet_id)
    assert wallet is not None
    return wallet.balance


# ---- movements and idempotency -----------------------------------------------------------------


async def test_a_topup_credits_the_wallet_and_appends_one_entry(service: WalletService) -> None:
    wallet_id = await funded(service, ALICE, 0)

    move = await service.topup(
        transaction_id="dep-1", user_id=ALICE, wallet_id=wallet_id, amount_minor=150_050
    )

    assert (move.direction, move.amount_minor, move.balance_after, move.replayed) == (
        Direction.CREDIT,
        150_050,
        150_050,
        False,
    )
    entries = await service.movements_of("dep-1")
    assert sorted((e.wallet_id, e.direction, e.amount_minor, e.balance_after) for e in entries) == [
        (wallet_id, Direction.CREDIT, 150_050, 150_050),
        ("sys:funding:DEPOSIT", Direction.DEBIT, 150_050, -150_050),  # money entered: its mirror
    ]


async def test_a_replayed_debit_returns_the_original_result_and_moves_money_once(
    service: WalletService,
) -> None:
    wallet_id = await funded(service, ALICE, 10_000)
    first = await service.deduct(
        transaction_id="pay-1", user_id=ALICE, wallet_id=wallet_id, amount_minor=2_500
    )
    await service.deduct(transaction_id="pay-2", user_id=ALICE, wallet_id=wallet_id, amount_minor=1_000)

    again = await service.deduct(
        transaction_id="pay-1", user_id=ALICE, wallet_id=wallet_id, amount_minor=2_500
    )

    assert again.replayed and not first.replayed
    assert (
        (again.amount_minor, again.balance_after)
        == (first.amount_minor, first.balance_after)
        == (2_500, 7_500)
    )
    assert await balance_of(service, wallet_id) == 6_500
    assert len(await service.movements_of("pay-1")) == 2  # the wallet's debit, the merchant's credit


@pytest.mark.parametrize(
    "change",
    ["amount", "wallet", "user", "kind"],
)
async def test_the_same_transaction_id_with_different_input_is_idempotency_key_reused(
    service: WalletService, change: str
) -> None:
    wallet_id = await funded(service, ALICE, 10_000)
    other_wallet = await funded(service, ALICE, 10_000)
    await service.deduct(transaction_id="pay-x", user_id=ALICE, wallet_id=wallet_id, amount_minor=1_000)
    variants = {
        "amount": service.deduct(
            transaction_id="pay-x", user_id=ALICE, wallet_id=wallet_id, amount_minor=1_001
        ),
        "wallet": service.deduct(
            transaction_id="pay-x", user_id=ALICE, wallet_id=other_wallet, amount_minor=1_000
        ),
        "user": service.deduct(transaction_id="pay-x", user_id=BOB, wallet_id=wallet_id, amount_minor=1_000),
        "kind": service.topup(transaction_id="pay-x", user_id=ALICE, wallet_id=wallet_id, amount_minor=1_000),
    }
    for name, operation in variants.items():
        if name != change:
            operation.close()

    await refused(service, ErrorCode.IDEMPOTENCY_KEY_REUSED, variants[change])


async def test_a_transfer_debits_one_wallet_and_credits_another_users_wallet(service: WalletService) -> None:
    source = await funded(service, ALICE, 50_000)
    target = await funded(service, BOB, 1_000)

    move = await service.transfer(
        transaction_id="tr-1", user_id=ALICE, from_wallet_id=source, to_wallet_id=target, amount_minor=20_000
    )

    assert (move.debit.balance_after, move.credit.balance_after) == (30_000, 21_000)
    assert [(e.wallet_id, e.direction) for e in await service.movements_of("tr-1")] == [
        (source, Direction.DEBIT),
        (target, Direction.CREDIT),
    ]
    replay = await service.transfer(
        transaction_id="tr-1", user_id=ALICE, from_wallet_id=source, to_wallet_id=target, amount_minor=20_000
    )
    assert replay.replayed and replay.debit.balance_after == 30_000
    assert (await balance_of(service, source), await balance_of(service, target)) == (30_000, 21_000)


# ---- refusals write nothing ---------------------------------------------------------------------


async def test_a_debit_above_the_balance_is_insufficient_funds(service: WalletService) -> None:
    wallet_id = await funded(service, ALICE, 999)
    await refused(
        service,
        ErrorCode.INSUFFICIENT_FUNDS,
        service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=1_000),
    )


@pytest.mark.parametrize("amount", [0, -1, -100_000, 1.5, True])
async def test_a_non_positive_or_non_integral_amount_is_bad_user_input(
    service: WalletService, amount
) -> None:
    wallet_id = await funded(service, ALICE, 10_000)
    await refused(
        service,
        ErrorCode.BAD_USER_INPUT,
        service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=amount),
    )
    await refused(
        service,
        ErrorCode.BAD_USER_INPUT,
        service.topup(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=amount),
    )


@pytest.mark.parametrize("transaction_id", ["", "   ", "x" * 129])
async def test_an_empty_or_overlong_transaction_id_is_bad_user_input(
    service: WalletService, transaction_id
) -> None:
    wallet_id = await funded(service, ALICE, 10_000)
    await refused(
        service,
        ErrorCode.BAD_USER_INPUT,
        service.deduct(transaction_id=transaction_id, user_id=ALICE, wallet_id=wallet_id, amount_minor=1),
    )


async def test_an_unknown_wallet_is_not_found(service: WalletService) -> None:
    known = await funded(service, ALICE, 10_000)
    await refused(
        service,
        ErrorCode.NOT_FOUND,
        service.topup(transaction_id=new_id(), user_id=ALICE, wallet_id="no-such-wallet", amount_minor=1),
    )
    await refused(
        service,
        ErrorCode.NOT_FOUND,
        service.transfer(
            transaction_id=new_id(), user_id=ALICE, from_wallet_id=known, to_wallet_id="nope", amount_minor=1
        ),
    )


async def test_a_wallet_moves_money_only_for_its_owner(service: WalletService) -> None:
    alices = await funded(service, ALICE, 10_000)
    bobs = await funded(service, BOB, 10_000)
    await refused(
        service,
        ErrorCode.FORBIDDEN,
        service.deduct(transaction_id=new_id(), user_id=BOB, wallet_id=alices, amount_minor=1),
    )
    await refused(
        service,
        ErrorCode.FORBIDDEN,
        service.topup(transaction_id=new_id(), user_id=BOB, wallet_id=alices, amount_minor=1),
    )
    await refused(
        service,
        ErrorCode.FORBIDDEN,
        service.transfer(
            transaction_id=new_id(), user_id=BOB, from_wallet_id=alices, to_wallet_id=bobs, amount_minor=1
        ),
    )


async def test_a_transfer_to_the_same_wallet_is_bad_user_input(service: WalletService) -> None:
    wallet_id = await funded(service, ALICE, 10_000)
    await refused(
        service,
        ErrorCode.BAD_USER_INPUT,
        service.transfer(
            transaction_id=new_id(),
            user_id=ALICE,
            from_wallet_id=wallet_id,
            to_wallet_id=wallet_id,
            amount_minor=1,
        ),
    )


async def test_a_frozen_wallet_neither_pays_nor_receives(service: WalletService) -> None:
    frozen = await funded(service, ALICE, 10_000)
    other = await funded(service, BOB, 10_000)
    assert (await service.set_frozen(frozen, True)).status == WalletStatus.FROZEN

    for operation in (
        service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=frozen, amount_minor=1),
        service.topup(transaction_id=new_id(), user_id=ALICE, wallet_id=frozen, amount_minor=1),
        service.transfer(
            transaction_id=new_id(), user_id=ALICE, from_wallet_id=frozen, to_wallet_id=other, amount_minor=1
        ),
        service.transfer(
            transaction_id=new_id(), user_id=BOB, from_wallet_id=other, to_wallet_id=frozen, amount_minor=1
        ),
    ):
        await refused(service, ErrorCode.WALLET_FROZEN, operation)

    await service.set_frozen(frozen, False)
    move = await service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=frozen, amount_minor=1)
    assert move.balance_after == 9_999


async def test_a_closed_wallet_stays_in_the_ledger_but_moves_nothing(service: WalletService) -> None:
    wallet_id = await funded(service, ALICE, 5_000)
    other = await funded(service, BOB, 5_000)
    owner = Principal(kind="user", subject=ALICE, role="USER")
    await refused(service, ErrorCode.CONFLICT, service.close_wallet(owner, wallet_id))
    await service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=5_000)

    closed = await service.close_wallet(owner, wallet_id)

    assert closed.status == WalletStatus.CLOSED
    assert [w.wallet_id for w in await service.wallets_of(ALICE)] == []
    assert [w.wallet_id for w in await service.wallets_of(ALICE, include_closed=True)] == [wallet_id]
    assert len(await service.entries_of(wallet_id)) == 2
    await refused(
        service,
        ErrorCode.WALLET_CLOSED,
        service.transfer(
            transaction_id=new_id(), user_id=BOB, from_wallet_id=other, to_wallet_id=wallet_id, amount_minor=1
        ),
    )
    await refused(service, ErrorCode.WALLET_CLOSED, service.set_frozen(wallet_id, True))


async def test_another_users_wallet_cannot_be_closed_and_looks_absent(service: WalletService) -> None:
    wallet_id = await funded(service, ALICE, 0)
    stranger = Principal(kind="user", subject=BOB, role="USER")
    error = await refused(service, ErrorCode.NOT_FOUND, service.close_wallet(stranger, wallet_id))
    assert "Dompet" not in error.message


# ---- limits -----------------------------------------------------------------------------------


async def test_the_maximum_balance_is_rp_20_million_by_default(service: WalletService) -> None:
    assert service.limits.max_balance_minor == 20_000_000 * RP
    assert service.limits.monthly_incoming_limit_minor == 40_000_000 * RP
    wallet_id = await funded(service, ALICE, 19_999_999 * RP)
    await refused(
        service,
        ErrorCode.LIMIT_EXCEEDED,
        service.topup(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=1 * RP + 1),
    )
    move = await service.topup(
        transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=1 * RP
    )
    assert move.balance_after == 20_000_000 * RP


async def test_the_monthly_incoming_limit_counts_topups_and_transfers_of_this_calendar_month(
    service: WalletService,
) -> None:
    service.limits = WalletSettings(max_balance_minor=10_000, monthly_incoming_limit_minor=15_000)
    wallet_id = await funded(service, ALICE, 8_000)
    sender = await funded(service, BOB, 9_000)
    await service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=8_000)
    await service.transfer(
        transaction_id=new_id(),
        user_id=BOB,
        from_wallet_id=sender,
        to_wallet_id=wallet_id,
        amount_minor=6_000,
    )

    await refused(
        service,
        ErrorCode.LIMIT_EXCEEDED,
        service.topup(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=1_001),
    )
    await refused(
        service,
        ErrorCode.LIMIT_EXCEEDED,
        service.transfer(
            transaction_id=new_id(),
            user_id=BOB,
            from_wallet_id=sender,
            to_wallet_id=wallet_id,
            amount_minor=1_001,
        ),
    )

    # Last month's credits do not count against this month (the ledger and the month's counter
    # both moved back in time).
    last_month = utcnow().replace(day=1) - timedelta(days=1)

    def time_travel(session: Session) -> None:
        session.execute(
            update(entries_t).where(entries_t.c.wallet_id == wallet_id).values(created_at=last_month)
        )
        session.execute(
            update(wallets_t)
            .where(wallets_t.c.wallet_id == wallet_id)
            .values(incoming_month=last_month.strftime("%Y-%m"))
        )

    await service.db.write(time_travel)
    assert (await reconcile(service.db)).ok
    move = await service.topup(
        transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=4_000
    )
    assert move.balance_after == 10_000


def test_limits_are_read_from_the_environment_in_rupiah(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLET_MAX_BALANCE", "2000000")
    monkeypatch.setenv("WALLET_MONTHLY_INCOMING_LIMIT", "5000000.50")
    limits = WalletSettings()
    assert (limits.max_balance_minor, limits.monthly_incoming_limit_minor) == (200_000_000, 500_000_050)


def test_a_limit_named_minor_is_sen_and_any_other_is_rupiah_whatever_its_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert WalletSettings(max_balance=20_000).max_balance_minor == 2_000_000  # an int of rupiah
    assert WalletSettings(max_balance="20000.00").max_balance_minor == 2_000_000
    assert WalletSettings(max_balance_minor=20_000).max_balance_minor == 20_000  # sen
    monkeypatch.setenv("WALLET_MAX_BALANCE_MINOR", "150")
    assert WalletSettings().max_balance_minor == 150
    with pytest.raises(ValueError):
        WalletSettings(max_balance_minor=1.5)
    with pytest.raises(ValueError):
        WalletSettings(monthly_incoming_limit="lots")


# ---- reversal ---------------------------------------------------------------------------------


async def test_a_reversal_posts_the_exact_mirror_once(service: WalletService) -> None:
    source = await funded(service, ALICE, 10_000)
    target = await funded(service, BOB, 0)
    await service.transfer(
        transaction_id="tr", user_id=ALICE, from_wallet_id=source, to_wallet_id=target, amount_minor=4_000
    )

    moves = await service.reverse(transaction_id="tr", reversal_id="rev")

    assert sorted((m.wallet_id, m.direction, m.amount_minor) for m in moves) == sorted(
        [(source, Direction.CREDIT, 4_000), (target, Direction.DEBIT, 4_000)]
    )
    assert (await balance_of(service, source), await balance_of(service, target)) == (10_000, 0)
    replay = await service.reverse(transaction_id="tr", reversal_id="rev")
    assert all(m.replayed for m in replay) and len(replay) == 2
    await refused(service, ErrorCode.CONFLICT, service.reverse(transaction_id="tr", reversal_id="rev-2"))
    await refused(
        service, ErrorCode.IDEMPOTENCY_KEY_REUSED, service.reverse(transaction_id="other", reversal_id="rev")
    )
    assert await service.reverse(transaction_id="never-moved", reversal_id="rev-3") == []


async def test_a_reversal_that_would_overdraw_is_insufficient_funds(service: WalletService) -> None:
    wallet_id = await funded(service, ALICE, 0)
    await service.topup(transaction_id="dep", user_id=ALICE, wallet_id=wallet_id, amount_minor=5_000)
    await service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=4_000)
    await refused(
        service, ErrorCode.INSUFFICIENT_FUNDS, service.reverse(transaction_id="dep", reversal_id="rev")
    )


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
