"""One unit of work on the wallet database: the write transaction, its bounded retry, the row locks.

A unique violation on the idempotency record (a replay that raced past the idempotency check), a
deadlock or a serialization failure rolls the whole transaction back and runs it again, a bounded
number of times; the second run finds the original and answers it as a replay. The wallets a unit of
work touches are locked in sorted id order (SQLite: the BEGIN IMMEDIATE write lock of `db.write()`;
PostgreSQL: `SELECT ... FOR UPDATE`), so two transfers in opposite directions cannot deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared.db import Database, has_nul
from subgraphs.wallet.records import WalletRecord, wallet_from_row, wallets_t

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITE_ATTEMPTS_MAX = 8
RETRY_BACKOFF_BASE_S = 0.005
RETRY_BACKOFF_MAX_S = 0.2

# PostgreSQL SQLSTATEs after which the whole transaction may simply run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "23505"})

# Built once (SQLAlchemy then reuses its compiled form): the lock every unit of work takes first.
_LOCK_WALLET = select(wallets_t).where(wallets_t.c.wallet_id == bindparam("b_wallet")).with_for_update()


def _sqlstate(exc: DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_retryable(exc: DBAPIError) -> bool:
    """A conflict with a concurrent transaction that a fresh attempt resolves (never a rule broken)."""
    if _sqlstate(exc) in _RETRYABLE_SQLSTATES:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "unique constraint failed: wallet_operations" in text


class UnitOfWork:
    """Runs a piece of work in one write transaction of the wallet database, and locks its wallets."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def run_write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction; run it again after a retryable conflict (bounded)."""
        for attempt in range(1, WRITE_ATTEMPTS_MAX + 1):
            try:
                return await self.db.write(work)
            except DBAPIError as exc:
                if attempt == WRITE_ATTEMPTS_MAX or not is_retryable(exc):
                    raise
                delay = min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_BASE_S * 2**attempt)
                log.info("wallet write conflict (%s), attempt %d, retrying", _sqlstate(exc), attempt)
                await asyncio.sleep(random.uniform(0, delay))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def lock(session: Session, wallet_ids: Iterable[str]) -> dict[str, WalletRecord]:
        """Lock the wallets (sorted ids: one global order, so no deadlock) and read them."""
        found: dict[str, WalletRecord] = {}
        for wallet_id in sorted(set(wallet_ids)):  # one statement per row keeps the lock order explicit
            if has_nul(wallet_id):
                continue  # no wallet has such an id: reported as not found
            row = session.execute(_LOCK_WALLET, {"b_wallet": wallet_id}).first()
            if row is not None:
                found[wallet_id] = wallet_from_row(row)
        return found
