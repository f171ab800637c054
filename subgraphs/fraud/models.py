"""The fraud subgraph's one table: a log row (the verdict) for every transaction id ever checked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, UniqueConstraint

from shared.db import column, make_model_base, one_of

Base = make_model_base()

STATUSES: tuple[str, ...] = ("SAFE", "SUSPICIOUS", "FRAUD")


class FraudLog(Base, table=True):
    """One check's verdict; `created_at` is naive UTC (the same on SQLite and PostgreSQL)."""

    __tablename__ = "fraud_logs"
    __table_args__ = (
        UniqueConstraint("transaction_id", name="uq_fraud_logs_transaction_id"),
        one_of("status", STATUSES, name="ck_fraud_logs_status"),
        CheckConstraint("amount_minor > 0", name="ck_fraud_logs_amount_positive"),
        CheckConstraint("score >= 0 AND score <= 100", name="ck_fraud_logs_score"),
        Index("ix_fraud_logs_user_created", "user_id", "created_at"),
        Index("ix_fraud_logs_created", "created_at"),
    )

    log_id: str = column(String(64), primary_key=True)
    transaction_id: str = column(String(128))
    user_id: str = column(String(128))
    wallet_id: str | None = column(String(128), nullable=True)
    amount_minor: int = column(BigInteger)
    type: str = column(String(32))
    va_number: str | None = column(String(128), nullable=True)
    status: str = column(String(16))
    score: int = column(BigInteger)
    # The rule codes that fired, in rule order, joined by ","; "" when none fired.
    reasons: str = column(String(512), default="")
    created_at: datetime = column(DateTime(timezone=False))

    @property
    def reason_codes(self) -> list[str]:
        return [code for code in self.reasons.split(",") if code]
