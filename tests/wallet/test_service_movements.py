"""The ledger's movements, in-process against service.py on a migrated SQLite file: a top-up, a
payment, a transfer and a reversal write exactly their entries, once; a replay moves nothing."""

from __future__ import annotations

import pytest

from shared.errors import ErrorCode
from subgraphs.wallet.models import Direction
from subgraphs.wallet.service import WalletService
from tests.wallet.helpers import new_id
from tests.wallet.service_helpers import ALICE, BOB, balance_of, funded, refused

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
