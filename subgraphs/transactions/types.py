"""The transactions subgraph's value types (enums, failure reasons, invoices, notices, outbox
messages): what its GraphQL answers are made of, apart from the entities in schema.py."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from shared.money import Money
from shared.records import copy_fields
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
        return copy_fields(
            cls, message, next_attempt_at=message.next_attempt_at if message.state == "PENDING" else None
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
        return copy_fields(cls, invoice, amount=invoice.amount_minor, status=invoice_status(invoice))


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
        return copy_fields(
            cls,
            message,
            id=strawberry.ID(message.message_id),
            transaction_id=strawberry.ID(message.transaction_id),
        )
