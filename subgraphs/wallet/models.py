"""The wallet subgraph's tables: wallets, their double-entry ledger, and one idempotency record per
money-moving transaction id.

The database itself guards the ledger's invariants (CHECK balance >= 0, CHECK amount > 0, UNIQUE
(transaction_id, wallet_id, direction), UNIQUE transaction id per operation), so a bug in the
service cannot quietly create or destroy money. `migrations/versions/0001_initial.py` creates the
same tables by hand; keep both in step.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field

from shared.clock import as_utc, utcnow  # noqa: F401 - re-exported
from shared.db import make_model_base

Base = make_model_base()


class WalletStatus(StrEnum):
    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"


class Direction(StrEnum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


class OperationKind(StrEnum):
    """What a transaction id did: money created (TOPUP), leaving (DEDUCT), moved, or reversed."""

    TOPUP = "TOPUP"
    DEDUCT = "DEDUCT"
    TRANSFER = "TRANSFER"
    REVERSAL = "REVERSAL"


class Wallet(Base, table=True):
    """A user's wallet; `balance` (minor units) always equals the sum of its ledger entries.

    `incoming_month_minor` is what the wallet received (top-ups and incoming transfers, not
    reversals) in the calendar month `incoming_month` ("YYYY-MM", UTC): the monthly incoming limit is
    checked against it in O(1) instead of summing the month's entries; reconciliation proves it.
    """

    __tablename__ = "wallets"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="ck_wallets_balance_non_negative"),
        CheckConstraint("status IN ('ACTIVE', 'FROZEN', 'CLOSED')", name="ck_wallets_status"),
        CheckConstraint("incoming_month_minor >= 0", name="ck_wallets_incoming_non_negative"),
        Index("ix_wallets_owner_id", "owner_id"),
    )

    wallet_id: str = Field(sa_column=Column(String(36), primary_key=True))
    owner_id: str = Field(sa_column=Column(String(64), nullable=False))
    name: str = Field(sa_column=Column(String(50), nullable=False))
    balance: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))
    status: str = Field(sa_column=Column(String(10), nullable=False, default=WalletStatus.ACTIVE.value))
    version: int = Field(sa_column=Column(Integer, nullable=False, default=0))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    incoming_month: str | None = Field(default=None, sa_column=Column(String(7), nullable=True))
    incoming_month_minor: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0, server_default="0")
    )


class LedgerEntry(Base, table=True):
    """One side of a money movement; entries are only ever appended, never updated."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_ledger_entries_amount_positive"),
        CheckConstraint("balance_after >= 0", name="ck_ledger_entries_balance_after_non_negative"),
        CheckConstraint("direction IN ('CREDIT', 'DEBIT')", name="ck_ledger_entries_direction"),
        UniqueConstraint("transaction_id", "wallet_id", "direction", name="uq_ledger_entries_tx_wallet_dir"),
        Index("ix_ledger_entries_wallet_created", "wallet_id", "created_at", "entry_id"),
    )

    entry_id: str = Field(sa_column=Column(String(36), primary_key=True))
    wallet_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("wallets.wallet_id", name="fk_ledger_entries_wallet"), nullable=False
        )
    )
    transaction_id: str = Field(sa_column=Column(String(128), nullable=False))
    direction: str = Field(sa_column=Column(String(6), nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    balance_after: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WalletOperation(Base, table=True):
    """The idempotency record of one transaction id: what it was asked to do and what it did.

    A replay with the same input returns `result`; the same id with another input is refused.
    """

    __tablename__ = "wallet_operations"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('TOPUP', 'DEDUCT', 'TRANSFER', 'REVERSAL')", name="ck_wallet_operations_kind"
        ),
        CheckConstraint("amount IS NULL OR amount > 0", name="ck_wallet_operations_amount_positive"),
        UniqueConstraint("reverses_transaction_id", name="uq_wallet_operations_reverses"),
    )

    transaction_id: str = Field(sa_column=Column(String(128), primary_key=True))
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    user_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    wallet_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    to_wallet_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    amount: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reverses_transaction_id: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    result: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
