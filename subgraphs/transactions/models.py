"""The transactions subgraph's tables: the saga's transactions, invoices (VAs), VA claims, outbox.

The database guards the rules a check in code could race past: one transaction per (user,
idempotency key), a VA paid at most once (`va_payments.va_number` UNIQUE, claimed in the same local
transaction that moves a saga to its debit step), one outbox row per (transaction, kind, status).
`migrations/versions/0001_initial.py` creates the same tables by hand; keep both in step.

The IN-list CHECKs are built from the enums below (`shared.db.one_of`), so a new member also needs
a migration. A field is `shared.db.column(type)` unless its column says more than its type: the
`amount` columns (named apart from `amount_minor`) and the defaults SQLAlchemy fills in on insert
(`flagged`, `attempts`, `invoices.merchant_id`) are written out.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field

from shared.db import column, make_model_base, one_of

Base = make_model_base()


class TxType(StrEnum):
    DEPOSIT = "DEPOSIT"
    PAYMENT = "PAYMENT"
    TRANSFER = "TRANSFER"


class TxStatus(StrEnum):
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    REVERSED = "REVERSED"


class SagaStep(StrEnum):
    """How far a saga got; written before the network call of the next step."""

    RECORDED = "RECORDED"  # row written, fraud not yet asked
    CHECKED = "CHECKED"  # fraud (and the VA) passed; wallet not yet called
    DEBITING = "DEBITING"  # about to call / calling wallet: money may have moved
    REVERSING = "REVERSING"  # SUCCESS being reversed by an admin: reverseLedger may have run
    DONE = "DONE"  # final status recorded


class InvoiceStatus(StrEnum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    EXPIRED = "EXPIRED"


class OutboxKind(StrEnum):
    HISTORY = "HISTORY"
    MARKETPLACE = "MARKETPLACE"


class OutboxState(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


class Transaction(Base, table=True):
    """One createTransaction call and its saga state."""

    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_transactions_amount_positive"),
        one_of("type", TxType, name="ck_transactions_type"),
        one_of("status", TxStatus, name="ck_transactions_status"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_transactions_user_idempotency_key"),
        Index("ix_transactions_user_created", "user_id", "created_at"),
        Index("ix_transactions_wallet_created", "wallet_id", "created_at"),
        Index("ix_transactions_status_updated", "status", "updated_at"),
        Index("ix_transactions_to_user_created", "to_user_id", "created_at"),
        Index("ix_transactions_to_wallet_created", "to_wallet_id", "created_at"),
    )

    transaction_id: str = column(String(36), primary_key=True)
    user_id: str = column(String(64))
    wallet_id: str = column(String(64))
    to_wallet_id: str | None = column(String(64), nullable=True)
    # A TRANSFER's two parties as users see them: the receiver (who sees it as incoming) and both
    # usernames (shown as the counterparty; never a wallet id or an email of the other side).
    to_user_id: str | None = column(String(64), nullable=True)
    to_username: str | None = column(String(64), nullable=True)
    user_username: str | None = column(String(64), nullable=True)
    amount_minor: int = Field(sa_column=Column("amount", BigInteger, nullable=False))  # sen
    type: str = column(String(10))
    status: str = column(String(10))
    step: str = column(String(10))
    va_number: str | None = column(String(64), nullable=True)
    # A PAYMENT's merchant (its invoice's), set when the VA is claimed: the wallet credits its
    # settlement account.
    merchant_id: str | None = column(String(32), nullable=True)
    description: str | None = column(String(255), nullable=True)
    idempotency_key: str | None = column(String(128), nullable=True)
    request_hash: str = column(String(64))
    flagged: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    fraud_status: str | None = column(String(16), nullable=True)
    failure_code: str | None = column(String(40), nullable=True)
    failure_message: str | None = column(String(255), nullable=True)
    reversal_id: str | None = column(String(64), nullable=True)
    reversal_reason: str | None = column(String(255), nullable=True)
    reversed_by: str | None = column(String(64), nullable=True)
    created_at: datetime = column(DateTime(timezone=True))
    updated_at: datetime = column(DateTime(timezone=True))
    settled_at: datetime | None = column(DateTime(timezone=True), nullable=True)


class Invoice(Base, table=True):
    """A bill payable by virtual account, issued to the marketplace by generateInvoiceVA."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_invoices_amount_positive"),
        one_of("status", InvoiceStatus, name="ck_invoices_status"),
    )

    va_number: str = column(String(32), primary_key=True)
    amount_minor: int = Field(sa_column=Column("amount", BigInteger, nullable=False))  # sen
    # Whom the bill is for: the wallet credits this merchant's settlement account when it is paid.
    merchant_id: str = Field(
        default="marketplace",
        sa_column=Column(String(32), nullable=False, default="marketplace", server_default="marketplace"),
    )
    description: str | None = column(String(255), nullable=True)
    status: str = column(String(10))
    created_at: datetime = column(DateTime(timezone=True))
    expires_at: datetime = column(DateTime(timezone=True))
    paid_at: datetime | None = column(DateTime(timezone=True), nullable=True)
    paid_by_transaction_id: str | None = column(String(36), nullable=True)


class VaPayment(Base, table=True):
    """The claim of a VA by one transaction: the primary key makes a second claim impossible."""

    __tablename__ = "va_payments"
    __table_args__ = (UniqueConstraint("transaction_id", name="uq_va_payments_transaction_id"),)

    va_number: str = column(String(64), primary_key=True)
    transaction_id: str = column(String(36))
    created_at: datetime = column(DateTime(timezone=True))


class OutboxMessage(Base, table=True):
    """A message to deliver after a commit (history record, marketplace notice), retried with backoff
    until acknowledged or until its deadline."""

    __tablename__ = "outbox"
    __table_args__ = (
        one_of("kind", OutboxKind, name="ck_outbox_kind"),
        one_of("state", OutboxState, name="ck_outbox_state"),
        UniqueConstraint("dedup_key", name="uq_outbox_dedup_key"),
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_transaction", "transaction_id"),
    )

    message_id: str = column(String(36), primary_key=True)
    transaction_id: str = column(String(36))
    kind: str = column(String(12))
    dedup_key: str = column(String(128))
    payload: str = column(Text)
    state: str = column(String(10))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    last_error: str | None = column(String(500), nullable=True)
    next_attempt_at: datetime = column(DateTime(timezone=True))
    created_at: datetime = column(DateTime(timezone=True))
    delivered_at: datetime | None = column(DateTime(timezone=True), nullable=True)
    # Retried until acknowledged or until this moment (then DEAD); NULL on rows older than the
    # column: created_at + OUTBOX_RETRY_HORIZON_S.
    deadline_at: datetime | None = column(DateTime(timezone=True), nullable=True)
