"""The fraud subgraph's one table: a log row (the verdict) for every transaction id ever checked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, String, UniqueConstraint
from sqlmodel import Field

from shared.db import make_model_base

Base = make_model_base()

STATUSES: tuple[str, ...] = ("SAFE", "SUSPICIOUS", "FRAUD")


class FraudLog(Base, table=True):
    """One check's verdict; `created_at` is naive UTC (the same on SQLite and PostgreSQL)."""

    __tablename__ = "fraud_logs"
    __table_args__ = (
        UniqueConstraint("transaction_id", name="uq_fraud_logs_transaction_id"),
        CheckConstraint("status IN ('SAFE', 'SUSPICIOUS', 'FRAUD')", name="ck_fraud_logs_status"),
        CheckConstraint("amount_minor > 0", name="ck_fraud_logs_amount_positive"),
        CheckConstraint("score >= 0 AND score <= 100", name="ck_fraud_logs_score"),
        Index("ix_fraud_logs_user_created", "user_id", "created_at"),
        Index("ix_fraud_logs_created", "created_at"),
    )

    log_id: str = Field(sa_column=Column(String(64), primary_key=True))
    transaction_id: str = Field(sa_column=Column(String(128), nullable=False))
    user_id: str = Field(sa_column=Column(String(128), nullable=False))
    wallet_id: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    type: str = Field(sa_column=Column(String(32), nullable=False))
    va_number: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    score: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The rule codes that fired, in rule order, joined by ","; "" when none fired.
    reasons: str = Field(default="", sa_column=Column(String(512), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))

    @property
    def reason_codes(self) -> list[str]:
        return [code for code in self.reasons.split(",") if code]
