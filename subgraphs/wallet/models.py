"""The wallet subgraph's tables: accounts (customer wallets and the platform's system accounts),
their double-entry ledger, one idempotency record per money-moving transaction id, and merchant
settlement batches.

The database itself guards the ledger's invariants (CHECK balance >= 0 except for the kinds that
mirror money outside the platform, CHECK amount > 0, UNIQUE (transaction_id, wallet_id, direction),
UNIQUE transaction id per operation), so a bug in the service cannot quietly create or destroy
money. `migrations/versions/` creates the same tables by hand; keep both in step.
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

from shared.db import column, make_model_base, one_of

Base = make_model_base()


class WalletStatus(StrEnum):
    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"


class Direction(StrEnum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"

    @property
    def opposite(self) -> Direction:
        """The other side of the same movement (and of its mirror, a reversal)."""
        return Direction.DEBIT if self is Direction.CREDIT else Direction.CREDIT


class AccountKind(StrEnum):
    """What an account is. Every movement debits one account and credits another, so the sum of all
    balances is zero: FUNDING mirrors the money that entered through a top-up channel (it only goes
    negative); SETTLEMENT holds what a merchant was paid and not yet paid out; PAYOUT holds what was
    paid out to a merchant; SUSPENSE is what a merchant owes back (a reversal of a payment already
    paid out; it only goes negative). Only customer wallets belong to users."""

    CUSTOMER = "CUSTOMER"
    FUNDING = "FUNDING"
    SETTLEMENT = "SETTLEMENT"
    PAYOUT = "PAYOUT"
    SUSPENSE = "SUSPENSE"


# The kinds whose balance may go below zero: the mirrors of money outside the platform.
MAY_GO_NEGATIVE = frozenset({AccountKind.FUNDING, AccountKind.SUSPENSE})
# An entry cannot see its account's kind, but the ids of those accounts say it (accounts.py).
BALANCE_AFTER_RULE = "balance_after >= 0 OR wallet_id LIKE 'sys:funding:%' OR wallet_id LIKE 'sys:suspense:%'"


class OperationKind(StrEnum):
    """What a transaction id did: money entered (TOPUP), paid to a merchant (DEDUCT), moved between
    wallets, reversed, or a merchant's settled balance paid out (PAYOUT)."""

    TOPUP = "TOPUP"
    DEDUCT = "DEDUCT"
    TRANSFER = "TRANSFER"
    REVERSAL = "REVERSAL"
    PAYOUT = "PAYOUT"


class Wallet(Base, table=True):
    """An account: a user's wallet (kind CUSTOMER) or a system account (owner `system`); `balance`
    (minor units) always equals the sum of its ledger entries.

    `incoming_month_minor` is what the wallet received (top-ups and incoming transfers, not
    reversals) in the calendar month `incoming_month` ("YYYY-MM", UTC): the monthly incoming limit is
    checked against it in O(1) instead of summing the month's entries; reconciliation proves it.
    """

    __tablename__ = "wallets"
    __table_args__ = (
        CheckConstraint(
            "balance >= 0 OR kind IN ('FUNDING', 'SUSPENSE')", name="ck_wallets_balance_non_negative"
        ),
        one_of("status", WalletStatus, name="ck_wallets_status"),
        one_of("kind", AccountKind, name="ck_wallets_kind"),
        CheckConstraint("incoming_month_minor >= 0", name="ck_wallets_incoming_non_negative"),
        Index("ix_wallets_owner_id", "owner_id"),
    )

    wallet_id: str = column(String(36), primary_key=True)
    owner_id: str = column(String(64))
    name: str = column(String(50))
    balance: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))
    status: str = Field(sa_column=Column(String(10), nullable=False, default=WalletStatus.ACTIVE.value))
    version: int = Field(sa_column=Column(Integer, nullable=False, default=0))
    created_at: datetime = column(DateTime(timezone=True))
    updated_at: datetime = column(DateTime(timezone=True))
    incoming_month: str | None = column(String(7), nullable=True)
    incoming_month_minor: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0, server_default="0")
    )
    kind: str = Field(
        default=AccountKind.CUSTOMER.value,
        sa_column=Column(String(12), nullable=False, default="CUSTOMER", server_default="CUSTOMER"),
    )


class LedgerEntry(Base, table=True):
    """One side of a money movement; entries are only ever appended, never updated."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_ledger_entries_amount_positive"),
        CheckConstraint(BALANCE_AFTER_RULE, name="ck_ledger_entries_balance_after_non_negative"),
        one_of("direction", Direction, name="ck_ledger_entries_direction"),
        UniqueConstraint("transaction_id", "wallet_id", "direction", name="uq_ledger_entries_tx_wallet_dir"),
        Index("ix_ledger_entries_wallet_created", "wallet_id", "created_at", "entry_id"),
    )

    entry_id: str = column(String(36), primary_key=True)
    wallet_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("wallets.wallet_id", name="fk_ledger_entries_wallet"), nullable=False
        )
    )
    transaction_id: str = column(String(128))
    direction: str = column(String(6))
    amount_minor: int = column(BigInteger)
    # The account's balance after this entry (below zero only for the kinds that may go negative:
    # the wallets' CHECK guards the balance itself, in the same transaction).
    balance_after: int = column(BigInteger)
    created_at: datetime = column(DateTime(timezone=True))


class WalletOperation(Base, table=True):
    """The idempotency record of one transaction id: what it was asked to do and what it did.

    A replay with the same input returns `result`; the same id with another input is refused.
    """

    __tablename__ = "wallet_operations"
    __table_args__ = (
        one_of("kind", OperationKind, name="ck_wallet_operations_kind"),
        CheckConstraint(
            "amount_minor IS NULL OR amount_minor > 0", name="ck_wallet_operations_amount_positive"
        ),
        UniqueConstraint("reverses_transaction_id", name="uq_wallet_operations_reverses"),
    )

    transaction_id: str = column(String(128), primary_key=True)
    kind: str = column(String(10))
    user_id: str | None = column(String(64), nullable=True)
    wallet_id: str | None = column(String(36), nullable=True)
    to_wallet_id: str | None = column(String(36), nullable=True)
    # DEDUCT: the merchant's settlement account paid; PAYOUT: the merchant's payout account.
    amount_minor: int | None = column(BigInteger, nullable=True)
    reverses_transaction_id: str | None = column(String(128), nullable=True)
    result: str = column(Text)
    created_at: datetime = column(DateTime(timezone=True))


class SettlementBatch(Base, table=True):
    """One payout of a merchant's settled balance: its total and the entries it closes
    (`settlement_items`), so the merchant can reconcile what it was paid against its orders."""

    __tablename__ = "settlement_batches"
    __table_args__ = (
        CheckConstraint("total_minor > 0", name="ck_settlement_batches_total_positive"),
        UniqueConstraint("transaction_id", name="uq_settlement_batches_transaction"),
        Index("ix_settlement_batches_merchant_created", "merchant_id", "created_at", "batch_id"),
    )

    batch_id: str = column(String(36), primary_key=True)
    merchant_id: str = column(String(32))
    transaction_id: str = column(String(128))  # the PAYOUT's
    total_minor: int = column(BigInteger)
    payment_count: int = column(Integer)
    created_at: datetime = column(DateTime(timezone=True))


class SettlementItem(Base, table=True):
    """An entry of a merchant's settlement account closed by a batch (a payment's credit, a
    reversal's debit, or the payout's own debit). An entry is closed at most once (primary key)."""

    __tablename__ = "settlement_items"
    __table_args__ = (Index("ix_settlement_items_batch", "batch_id"),)

    entry_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("ledger_entries.entry_id", name="fk_settlement_items_entry"),
            primary_key=True,
        )
    )
    batch_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("settlement_batches.batch_id", name="fk_settlement_items_batch"),
            nullable=False,
        )
    )
