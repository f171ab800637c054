"""The ledger's refusals, in-process against service.py on a migrated SQLite file: every refusal
(funds, amount, transaction id, wallet, owner, status) has its own code and writes nothing."""

from __future__ import annotations

import pytest

from shared.errors import ErrorCode
from shared.tokens import Principal
from subgraphs.wallet.models import WalletStatus
from subgraphs.wallet.service import WalletService
from tests.wallet.helpers import new_id
from tests.wallet.service_helpers import ALICE, BOB, funded, refused

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
    service: WalletService, amount: object
) -> None:
    wallet_id = await funded(service, ALICE, 10_000)
    for move in (service.deduct, service.topup):
        await refused(
            service,
            ErrorCode.BAD_USER_INPUT,
            move(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=amount),
        )


@pytest.mark.parametrize("transaction_id", ["", "   ", "x" * 129])
async def test_an_empty_or_overlong_transaction_id_is_bad_user_input(
    service: WalletService, transaction_id: str
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
    for operation in (
        service.deduct(transaction_id=new_id(), user_id=BOB, wallet_id=alices, amount_minor=1),
        service.topup(transaction_id=new_id(), user_id=BOB, wallet_id=alices, amount_minor=1),
        service.transfer(
            transaction_id=new_id(), user_id=BOB, from_wallet_id=alices, to_wallet_id=bobs, amount_minor=1
        ),
    ):
        await refused(service, ErrorCode.FORBIDDEN, operation)


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
