"""The history subgraph's tables: the hash-chained audit entries, the owners' hide marks, the chain head.

`history_entries` is append-only: every row carries its place in the chain (`seq`), the hash of the
entry before it (`prev_hash`) and the SHA-256 of its own canonical content (`entry_hash`, see
`subgraphs.history.chain`). Hiding an entry from its owner's view is a row in `history_hidden`, kept
out of the hashed content, so hiding never breaks the chain. `history_chain_head` is one row naming
the newest entry: appends lock it (PostgreSQL `SELECT ... FOR UPDATE`; SQLite writers are already
serialised by BEGIN IMMEDIATE), and verification compares the chain's tail with it, so removing the
newest entries is detected too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlmodel import Field

from shared.db import column, make_model_base, one_of

Base = make_model_base()

ID_MAX = 128
CODE_MAX = 32
VA_MAX = 64
COUNTERPARTY_MAX = 64
HASH_LEN = 64
CHAIN_HEAD_ID = 1
# OUT: money left the user's wallet (or their own deposit); IN: a transfer they received.
DIRECTIONS: tuple[str, ...] = ("OUT", "IN")


class HistoryEntryRow(Base, table=True):
    """One audit record of a transaction reaching a status, for one user it touched (a transfer has
    one for its sender, OUT, and one for its receiver, IN); never updated, never deleted."""

    __tablename__ = "history_entries"
    __table_args__ = (
        UniqueConstraint("transaction_id", "status", "user_id", name="uq_history_transaction_status_user"),
        UniqueConstraint("seq", name="uq_history_seq"),
        UniqueConstraint("prev_hash", name="uq_history_prev_hash"),
        UniqueConstraint("entry_hash", name="uq_history_entry_hash"),
        CheckConstraint("seq >= 1", name="ck_history_seq_positive"),
        CheckConstraint("amount_minor > 0", name="ck_history_amount_positive"),
        one_of("direction", DIRECTIONS, name="ck_history_direction"),
        Index("ix_history_user_seq", "user_id", "seq"),
    )

    history_id: str = column(String(ID_MAX), primary_key=True)
    seq: int = column(BigInteger)
    transaction_id: str = column(String(ID_MAX))
    user_id: str = column(String(ID_MAX))
    wallet_id: str = column(String(ID_MAX))
    amount_minor: int = column(BigInteger)
    type: str = column(String(CODE_MAX))
    status: str = column(String(CODE_MAX))
    va_number: str | None = column(String(VA_MAX), nullable=True)
    # One of DIRECTIONS; the server default gave the rows older than migration 0002 their OUT.
    direction: str = Field(default="OUT", sa_column=Column(String(3), nullable=False, server_default="OUT"))
    # The other party of a transfer, by username (never a wallet id or an email).
    counterparty: str | None = column(String(COUNTERPARTY_MAX), nullable=True)
    occurred_at: datetime = column(DateTime(timezone=True))
    created_at: datetime = column(DateTime(timezone=True))
    prev_hash: str = column(String(HASH_LEN))
    entry_hash: str = column(String(HASH_LEN))


class HistoryHiddenRow(Base, table=True):
    """An owner's "delete": the entry leaves that owner's view; the audit record stays untouched."""

    __tablename__ = "history_hidden"

    history_id: str = Field(
        sa_column=Column(String(ID_MAX), ForeignKey("history_entries.history_id"), primary_key=True)
    )
    user_id: str = column(String(ID_MAX))
    hidden_at: datetime = column(DateTime(timezone=True))


class ChainHeadRow(Base, table=True):
    """The newest entry of the chain (one row, id 1); seq 0 and the genesis hash when empty."""

    __tablename__ = "history_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_history_chain_head_single_row"),)

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    last_seq: int = column(BigInteger)
    last_hash: str = column(String(HASH_LEN))
    last_history_id: str | None = column(String(ID_MAX), nullable=True)
