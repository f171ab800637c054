"""The auth subgraph's tables: one `users` row per account (migrations/versions/0001_initial.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime
from sqlmodel import Field

from shared.db import column, make_model_base, one_of

Base = make_model_base()

ROLE_USER = "USER"
ROLE_ADMIN = "ADMIN"
ROLES = (ROLE_USER, ROLE_ADMIN)


class User(Base, table=True):
    """An account; `email` is stored lowercased, both email and username are unique ignoring case."""

    __tablename__ = "users"
    __table_args__ = (
        one_of("role", ROLES, name="ck_users_role"),
        CheckConstraint("email = lower(email)", name="ck_users_email_lowercase"),
        CheckConstraint("length(username) >= 3", name="ck_users_username_length"),
    )

    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(max_length=32)
    fullname: str = Field(max_length=100)
    email: str = Field(max_length=254)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=ROLE_USER, max_length=16)
    created_at: datetime = column(DateTime(timezone=True))
    updated_at: datetime = column(DateTime(timezone=True))
