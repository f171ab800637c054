"""The transactions subgraph's value types (enums, failure reasons, invoices, notices, outbox
messages): what its GraphQL answers are made of, apart from the entities in schema.py."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from shared.money import Money
from subgraphs.transactions import models
from subgraphs.transactions.records import InvoiceRecord, OutboxRecord
from subgraphs.transactions.service import invoice_status

# The models' enums, registered with Strawberry: one definition each, no hand conversion.
TransactionType = strawberry.enum(
    models.TxType, name="TransactionType", description="What a transaction does with money."
)
TransactionStatus = strawberry.enum(
    models.TxStatus,
    name="TransactionStatus",
    description="Where a transaction stands; PENDING means the money may still move.",
)


@strawberry.enum(description="Which way money went, seen from the caller: OUT of their wallet or IN.")
class TransactionDirection(enum.Enum):
    OUT = "OUT"
    IN = "IN"


InvoiceStatus = strawberry.enum(
    models.InvoiceStatus,
    name="InvoiceStatus",
    description="An invoice's state; an UNPAID invoice past expiresAt reads EXPIRED.",
)


@strawberry.type(description="Why a transaction is not (yet) SUCCESS: an error code and a message.")
class FailureReason:
    code: str
    message: str


@strawberry.type(description="Delivery state of the marketplace's payment notice of a PAYMENT.")
class Notification:
    state: str = strawberry.field(description="PENDING, DELIVERED or DEAD")
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_record(cls, message: OutboxRecord) -> Notification:
        """A notice's delivery; `nextAttemptAt` only while it is still PENDING."""
        return cls(
            state=message.state,
            attempts=message.attempts,
            last_error=message.last_error,
            delivered_at=message.delivered_at,
            next_attempt_at=message.next_attempt_at if message.state == "PENDING" else None,
        )


@strawberry.type(description="A bill payable by virtual account (VA).")
class Invoice:
    va_number: str
    amount: Money
    description: str | None
    status: InvoiceStatus
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None

    @classmethod
    def from_record(cls, invoice: InvoiceRecord) -> Invoice:
        return cls(
            va_number=invoice.va_number,
            amount=invoice.amount_minor,  # type: ignore[arg-type]
            description=invoice.description,
            status=invoice_status(invoice),
            created_at=invoice.created_at,
            expires_at=invoice.expires_at,
            paid_at=invoice.paid_at,
        )


@strawberry.type(description="An outbox message (history record or marketplace notice); admins only.")
class OutboxMessage:
    id: strawberry.ID
    transaction_id: strawberry.ID
    kind: str
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    deadline_at: datetime | None = strawberry.field(
        description="Retried until acknowledged or until then (DEAD after a failure past it)."
    )

    @classmethod
    def from_record(cls, message: OutboxRecord) -> OutboxMessage:
        return cls(
            id=strawberry.ID(message.message_id),
            transaction_id=strawberry.ID(message.transaction_id),
            kind=message.kind,
            state=message.state,
            attempts=message.attempts,
            last_error=message.last_error,
            next_attempt_at=message.next_attempt_at,
            created_at=message.created_at,
            delivered_at=message.delivered_at,
            deadline_at=message.deadline_at,
        )
