"""What the in-process ledger tests share: two users, a rupiah in sen, a snapshot of every count and
balance (so a refusal can prove it wrote nothing), and a funded wallet."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.errors import AppError, ErrorCode
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


async def refused(service: WalletService, code: ErrorCode, operation: Awaitable[object]) -> AppError:
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
