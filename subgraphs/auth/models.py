"""The auth subgraph's tables: one `users` row per account (migrations/versions/0001_initial.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime
from sqlmodel import Field

from shared.db import make_model_base

Base = make_model_base()

ROLE_USER = "USER"
ROLE_ADMIN = "ADMIN"


class User(Base, table=True):
    """An account; `email` is stored lowercased, both email and username are unique ignoring case."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('USER', 'ADMIN')", name="ck_users_role"),
        CheckConstraint("email = lower(email)", name="ck_users_email_lowercase"),
        CheckConstraint("length(username) >= 3", name="ck_users_username_length"),
    )

    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(max_length=32)
    fullname: str = Field(max_length=100)
    email: str = Field(max_length=254)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=ROLE_USER, max_length=16)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
