"""Merchant settlement: what a merchant was paid (its statement), and paying it out in batches.

A payment credits the merchant's settlement account; `settle` moves that whole balance to the
merchant's payout account in one balanced transfer and records a batch that closes every entry it
covers (the payments' credits, reversals' debits and the payout's own debit). So at every moment a
settlement account's balance == the sum of its entries no batch closed, and a batch's total == its
payments minus its reversals == what it paid out: the marketplace can reconcile each payout against
its orders.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from shared.clock import as_utc, utcnow
from shared.db import Database, has_nul
from shared.errors import AppError, ErrorCode, bad_input
from shared.pagination import PAGE_DEFAULT, newest_first_page, page_size
from subgraphs.wallet.accounts import MerchantAccounts, SystemAccounts, check_merchant_id, merchant_accounts
from subgraphs.wallet.models import AccountKind, Direction, OperationKind
from subgraphs.wallet.movements import check_transaction_id
from subgraphs.wallet.postings import FIND_OPERATION, post, record_operation, signed
from subgraphs.wallet.records import Request, batches_t, entries_t, items_t, operations_t
from subgraphs.wallet.unit_of_work import UnitOfWork

PAYOUT_PREFIX = "payout:"
IDEMPOTENCY_KEY_MAX_CHARS = 100


@dataclass(frozen=True)
class StatementLine:
    """One entry of a merchant's settlement account, with what posted it and the batch that closed it."""

    entry_id: str
    transaction_id: str
    kind: OperationKind  # DEDUCT (a payment), REVERSAL, PAYOUT
    direction: Direction
    amount_minor: int
    balance_after: int
    batch_id: str | None
    created_at: datetime
    reverses_transaction_id: str | None = None  # a REVERSAL's original payment


@dataclass(frozen=True)
class BatchRecord:
    """A payout of a merchant's settled balance and the lines it closed."""

    batch_id: str
    merchant_id: str
    transaction_id: str
    total_minor: int
    payment_count: int
    created_at: datetime
    lines: tuple[StatementLine, ...] = ()


def _line_query() -> object:
    return select(
        entries_t.c.entry_id,
        entries_t.c.transaction_id,
        operations_t.c.kind,
        entries_t.c.direction,
        entries_t.c.amount_minor,
        entries_t.c.balance_after,
        items_t.c.batch_id,
        entries_t.c.created_at,
        operations_t.c.reverses_transaction_id,
    ).select_from(
        entries_t.join(operations_t, operations_t.c.transaction_id == entries_t.c.transaction_id).outerjoin(
            items_t, items_t.c.entry_id == entries_t.c.entry_id
        )
    )


def _line(row: object) -> StatementLine:
    return StatementLine(
        entry_id=row.entry_id,  # type: ignore[attr-defined]
        transaction_id=row.transaction_id,  # type: ignore[attr-defined]
        kind=OperationKind(row.kind),  # type: ignore[attr-defined]
        direction=Direction(row.direction),  # type: ignore[attr-defined]
        amount_minor=int(row.amount_minor),  # type: ignore[attr-defined]
        balance_after=int(row.balance_after),  # type: ignore[attr-defined]
        batch_id=row.batch_id,  # type: ignore[attr-defined]
        created_at=as_utc(row.created_at),  # type: ignore[attr-defined]
        reverses_transaction_id=row.reverses_transaction_id,  # type: ignore[attr-defined]
    )


def _batch(row: object, lines: list[StatementLine] | None = None) -> BatchRecord:
    return BatchRecord(
        batch_id=row.batch_id,  # type: ignore[attr-defined]
        merchant_id=row.merchant_id,  # type: ignore[attr-defined]
        transaction_id=row.transaction_id,  # type: ignore[attr-defined]
        total_minor=int(row.total_minor),  # type: ignore[attr-defined]
        payment_count=int(row.payment_count),  # type: ignore[attr-defined]
        created_at=as_utc(row.created_at),  # type: ignore[attr-defined]
        lines=tuple(lines or ()),
    )


class Settlement:
    """Statements, batches and payouts of merchants."""

    def __init__(self, db: Database, unit_of_work: UnitOfWork, accounts: SystemAccounts) -> None:
        self.db = db
        self.unit_of_work = unit_of_work
        self.accounts = accounts

    async def settle(self, merchant_id: str, idempotency_key: str) -> BatchRecord:
        """Pay out the merchant's whole settled balance as one batch; the same key answers the same
        batch again (a retried click never pays twice)."""
        merchant = await self.accounts.merchant(check_merchant_id(merchant_id))
        key = (idempotency_key or "").strip()
        if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_CHARS or has_nul(key):
            raise bad_input(
                f"idempotencyKey must be 1 to {IDEMPOTENCY_KEY_MAX_CHARS} characters", field="idempotencyKey"
            )
        transaction_id = check_transaction_id(PAYOUT_PREFIX + key)
        return await self.unit_of_work.run_write(
            lambda session: _settle(session, self, merchant, transaction_id)
        )

    async def statement(
        self, merchant_id: str, *, first: int = PAGE_DEFAULT, after: str | None = None
    ) -> list[StatementLine]:
        """The merchant's settlement account, newest first; `after` is the previous page's last entry id."""
        first = page_size(first)
        # A read: an unknown merchant has an empty statement (its accounts are made by its first payment).
        account = merchant_accounts(check_merchant_id(merchant_id)).settlement
        if has_nul(after):
            raise bad_input("Unknown cursor 'after'")

        def read(session: Session) -> list[StatementLine]:
            mine = entries_t.c.wallet_id == account
            query = _line_query().where(mine)  # type: ignore[attr-defined]
            return [
                _line(row)
                for row in newest_first_page(session, query, entries_t.c.entry_id, mine, first, after)
            ]

        return await self.db.read(read)

    async def batches(
        self, merchant_id: str, *, first: int = PAGE_DEFAULT, after: str | None = None
    ) -> list[BatchRecord]:
        """The merchant's payouts, newest first, each with the lines it closed."""
        first = page_size(first)
        merchant = check_merchant_id(merchant_id)
        if has_nul(after):
            raise bad_input("Unknown cursor 'after'")

        def read(session: Session) -> list[BatchRecord]:
            mine = batches_t.c.merchant_id == merchant
            rows = newest_first_page(
                session, select(batches_t).where(mine), batches_t.c.batch_id, mine, first, after
            )
            return [_batch(row, batch_lines(session, row.batch_id)) for row in rows]

        return await self.db.read(read)


def batch_lines(session: Session, batch_id: str) -> list[StatementLine]:
    query = _line_query().where(items_t.c.batch_id == batch_id)  # type: ignore[attr-defined]
    return [
        _line(row) for row in session.execute(query.order_by(entries_t.c.created_at, entries_t.c.entry_id))
    ]


def open_lines(session: Session, settlement_id: str) -> list[StatementLine]:
    """The settlement account's entries that no batch closed yet (their sum is its balance)."""
    query = _line_query().where(  # type: ignore[attr-defined]
        and_(entries_t.c.wallet_id == settlement_id, items_t.c.batch_id.is_(None))
    )
    return [
        _line(row) for row in session.execute(query.order_by(entries_t.c.created_at, entries_t.c.entry_id))
    ]


def _settle(
    session: Session, settlement: Settlement, merchant: MerchantAccounts, transaction_id: str
) -> BatchRecord:
    now = utcnow()
    locked = settlement.unit_of_work.lock(session, [merchant.settlement, merchant.payout])
    recorded = session.execute(FIND_OPERATION, {"b_tx": transaction_id}).first()
    if recorded is not None:
        if recorded.kind != OperationKind.PAYOUT.value or recorded.wallet_id != merchant.settlement:
            raise AppError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED, "This idempotency key was already used for another payout"
            )
        row = session.execute(select(batches_t).where(batches_t.c.transaction_id == transaction_id)).one()
        return _batch(row, batch_lines(session, row.batch_id))
    source = locked[merchant.settlement]
    lines = open_lines(session, merchant.settlement)
    total = sum(signed(line.direction, line.amount_minor) for line in lines)
    assert total == source.balance, "a settlement account's balance is the sum of its open entries"
    if total <= 0:
        raise AppError(ErrorCode.NOTHING_TO_SETTLE, "This merchant has no settled balance to pay out")
    debit = post(session, transaction_id, source, Direction.DEBIT, total, now)
    credit = post(session, transaction_id, locked[merchant.payout], Direction.CREDIT, total, now)
    request = Request(
        OperationKind.PAYOUT, wallet_id=merchant.settlement, to_wallet_id=merchant.payout, amount_minor=total
    )
    kinds = {merchant.settlement: AccountKind.SETTLEMENT, merchant.payout: AccountKind.PAYOUT}
    record_operation(session, transaction_id, request, [debit, credit], kinds, now)
    batch_id = str(uuid.uuid4())
    payments = sum(1 for line in lines if line.kind == OperationKind.DEDUCT)
    session.execute(
        insert(batches_t),
        {
            "batch_id": batch_id,
            "merchant_id": merchant.merchant_id,
            "transaction_id": transaction_id,
            "total_minor": total,
            "payment_count": payments,
            "created_at": now,
        },
    )
    closed = [line.entry_id for line in lines] + [debit.entry_id]
    session.execute(insert(items_t), [{"entry_id": entry_id, "batch_id": batch_id} for entry_id in closed])
    remaining = session.execute(
        select(func.count())
        .select_from(entries_t.outerjoin(items_t, items_t.c.entry_id == entries_t.c.entry_id))
        .where(entries_t.c.wallet_id == merchant.settlement, items_t.c.batch_id.is_(None))
    ).scalar()
    assert remaining == 0 and debit.balance_after == 0, "a payout empties the settlement account"
    payout_line = StatementLine(
        entry_id=debit.entry_id or "",
        transaction_id=transaction_id,
        kind=OperationKind.PAYOUT,
        direction=Direction.DEBIT,
        amount_minor=total,
        balance_after=debit.balance_after,
        batch_id=batch_id,
        created_at=now,
    )
    closed_lines = [dataclasses.replace(line, batch_id=batch_id) for line in lines] + [payout_line]
    return BatchRecord(
        batch_id, merchant.merchant_id, transaction_id, total, payments, now, tuple(closed_lines)
    )
