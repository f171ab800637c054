"""The plain values the transactions service hands out: a transaction, an invoice, an outbox message.

One job: what crosses the service -> schema boundary is a frozen record built from its row inside
the session that read it, never a live ORM row (no session behind it, nothing to mutate by mistake),
with its instants in UTC (SQLite gives them back naive) and its states as the models' enums. Code
that changes rows keeps the rows, inside its session. Amounts are in minor units (sen), `amount_minor`.
No rules, no database access.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from shared.clock import as_utc
from shared.records import copy_fields
from subgraphs.transactions.models import (
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    SagaStep,
    Transaction,
    TxStatus,
    TxType,
)

R = TypeVar("R")


def copy_row(cls: type[R], row: object, **overrides: Any) -> R:
    """A record `cls` from `row`: `shared.records.copy_fields`, with every instant of `row` read as
    UTC (SQLite gives them back naive). A record's instants are UTC already, so what is built from a
    record (the GraphQL types) uses `copy_fields` itself."""
    instants = {
        field.name: as_utc(value)
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.init
        and field.name not in overrides
        and isinstance(value := getattr(row, field.name), datetime)
    }
    return copy_fields(cls, row, **instants, **overrides)


@dataclass(frozen=True)
class TransactionRecord:
    """One createTransaction call and its saga state, as the service hands it out."""

    transaction_id: str
    user_id: str
    wallet_id: str
    to_wallet_id: str | None
    to_user_id: str | None
    to_username: str | None
    user_username: str | None
    amount_minor: int
    type: TxType
    status: TxStatus
    step: SagaStep
    va_number: str | None
    merchant_id: str | None
    description: str | None
    idempotency_key: str | None
    request_hash: str
    flagged: bool
    fraud_status: str | None
    failure_code: str | None
    failure_message: str | None
    reversal_id: str | None
    reversal_reason: str | None
    reversed_by: str | None
    created_at: datetime
    updated_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, row: Transaction) -> TransactionRecord:
        return copy_row(cls, row, type=TxType(row.type), status=TxStatus(row.status), step=SagaStep(row.step))


@dataclass(frozen=True)
class InvoiceRecord:
    """A bill payable by VA; `status` as stored (`invoices.invoice_status` says when it reads EXPIRED)."""

    va_number: str
    amount_minor: int
    merchant_id: str
    description: str | None
    status: InvoiceStatus
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    paid_by_transaction_id: str | None

    @classmethod
    def of(cls, row: Invoice) -> InvoiceRecord:
        return copy_row(cls, row, status=InvoiceStatus(row.status))


@dataclass(frozen=True)
class OutboxRecord:
    """An outbox message (a history record or a marketplace notice) and how its delivery stands."""

    message_id: str
    transaction_id: str
    kind: str
    dedup_key: str
    payload: str
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    deadline_at: datetime | None

    @classmethod
    def of(cls, row: OutboxMessage) -> OutboxRecord:
        return copy_row(cls, row)
