"""Reading transactions: one, many, a user's or a wallet's page (what each may see), the marketplace
notices, and whether a PENDING transfer's money already reached its receiver."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session

from shared.db import Database, has_nul
from shared.errors import AppError, bad_input, not_found
from shared.pagination import newest_first, older_than, page_size
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.models import (
    OutboxKind,
    OutboxMessage,
    SagaStep,
    Transaction,
    TxStatus,
    TxType,
)
from subgraphs.transactions.records import OutboxRecord, TransactionRecord

RECEIVED_STATUSES = (TxStatus.SUCCESS.value, TxStatus.REVERSED.value)


def received_by(user_id: str) -> Any:
    """SQL condition: a transfer to `user_id` from someone else that moved money."""
    return and_(
        Transaction.type == TxType.TRANSFER.value,
        Transaction.to_user_id == user_id,
        Transaction.user_id != user_id,
        Transaction.status.in_(RECEIVED_STATUSES),
    )


@dataclass(frozen=True)
class TransactionPage:
    """Which transactions a list shows (see `Queries.list`) and which page of them."""

    user_id: str | None
    wallet_id: str | None = None
    type: TxType | None = None
    status: TxStatus | None = None
    direction: str | None = None
    first: int | None = None
    after: str | None = None


def visibility(user_id: str | None, wallet_id: str | None, direction: str | None) -> Any:
    """SQL condition for the transactions a list shows (see `Queries.list`)."""
    sides = []
    if direction in (None, "OUT"):
        out = [] if user_id is None else [Transaction.user_id == user_id]
        if wallet_id is not None:
            out.append(Transaction.wallet_id == wallet_id)
        sides.append(and_(true(), *out))
    if direction in (None, "IN"):
        incoming = [Transaction.type == TxType.TRANSFER.value, Transaction.status.in_(RECEIVED_STATUSES)]
        if user_id is not None:
            incoming.append(received_by(user_id))
        if wallet_id is not None:
            incoming.append(Transaction.to_wallet_id == wallet_id)
        if user_id is None and wallet_id is None and direction is None:
            return true()
        sides.append(and_(*incoming))
    return or_(*sides)


class Queries:
    """Answers the reads of the schema (and the saga's re-reads of a row)."""

    def __init__(self, *, database: Database, clients: Clients) -> None:
        self.db = database
        self.clients = clients

    async def get(self, tx_id: str) -> TransactionRecord:
        row = await self.find(tx_id)
        if row is None:
            raise not_found("Transaction not found")
        return row

    async def arrived_for(self, user_id: str, row: TransactionRecord) -> bool:
        """A transfer to `user_id` still PENDING whose money the wallet has already credited: the
        receiver's wallet event (published at the wallet's commit, just before this saga records
        SUCCESS) may name it. Asked of the wallet only in that window; anything else is False."""
        if (
            row.type != TxType.TRANSFER.value
            or row.status != TxStatus.PENDING.value
            or row.step != SagaStep.DEBITING.value
            or row.to_user_id != user_id
            or row.user_id == user_id
        ):
            return False
        try:
            movements = await self.clients.wallet.movements_of(row.transaction_id)
        except AppError:
            return False
        return any(m.direction == "CREDIT" and m.wallet_id == row.to_wallet_id for m in movements)

    async def find(self, tx_id: str) -> TransactionRecord | None:
        if has_nul(tx_id):
            return None

        def work(session: Session) -> TransactionRecord | None:
            row = session.get(Transaction, tx_id)
            return None if row is None else TransactionRecord.of(row)

        return await self.db.read(work)

    async def find_many(self, tx_ids: Sequence[str]) -> dict[str, TransactionRecord]:
        tx_ids = [tx_id for tx_id in tx_ids if not has_nul(tx_id)]
        if not tx_ids:
            return {}
        query = select(Transaction).where(Transaction.transaction_id.in_(list(set(tx_ids))))
        return await self.db.read(
            lambda session: {
                row.transaction_id: TransactionRecord.of(row) for row in session.execute(query).scalars()
            }
        )

    async def list(self, page: TransactionPage) -> list[TransactionRecord]:
        """Newest first; `page.after` is the id of the last item of the previous page.

        With `user_id`: that user's own transactions (OUT) and the transfers they received (IN: a
        TRANSFER to them that moved money, SUCCESS or REVERSED); `direction` picks one side. With
        `wallet_id`: those that left that wallet and the transfers it received."""
        size = page_size(page.first)
        after = page.after
        if has_nul(after):
            raise bad_input("Unknown cursor in after", field="after")
        if page.direction is not None and page.direction not in ("IN", "OUT"):
            raise bad_input("direction must be IN or OUT", field="direction")
        if has_nul(page.user_id, page.wallet_id):
            return []
        visible = visibility(page.user_id, page.wallet_id, page.direction)
        query = select(Transaction).where(visible)
        if page.type is not None:
            query = query.where(Transaction.type == page.type.value)
        if page.status is not None:
            query = query.where(Transaction.status == page.status.value)

        def work(session: Session) -> list[TransactionRecord]:
            selected = query
            if after:
                anchor = session.execute(
                    select(Transaction.created_at, Transaction.transaction_id).where(
                        Transaction.transaction_id == after, visible
                    )
                ).first()
                if anchor is None:
                    raise bad_input("Unknown cursor in after", field="after")
                selected = selected.where(
                    older_than(Transaction.created_at, Transaction.transaction_id, anchor[0], anchor[1])
                )
            selected = selected.order_by(*newest_first(Transaction.created_at, Transaction.transaction_id))
            return [TransactionRecord.of(row) for row in session.execute(selected.limit(size)).scalars()]

        return await self.db.read(work)

    async def notifications(self, tx_ids: Sequence[str]) -> dict[str, OutboxRecord]:
        """The marketplace notice of each transaction that has one."""
        if not tx_ids:
            return {}
        query = select(OutboxMessage).where(
            OutboxMessage.transaction_id.in_(list(set(tx_ids))),
            OutboxMessage.kind == OutboxKind.MARKETPLACE.value,
        )
        return await self.db.read(
            lambda session: {
                row.transaction_id: OutboxRecord.of(row) for row in session.execute(query).scalars()
            }
        )
