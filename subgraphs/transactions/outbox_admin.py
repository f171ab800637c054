"""The admin's view of the outbox: its messages (by state, overdue or not) and putting one back in
the queue. (The backlog per state is the outbox worker's gauge, workers.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db import Database, has_nul
from shared.errors import bad_input, not_found
from shared.pagination import page_size
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.models import OutboxMessage, OutboxState
from subgraphs.transactions.records import OutboxRecord


def is_overdue(now: datetime, overdue_s: float) -> Any:
    """SQL condition: a message still not delivered `overdue_s` after it was written."""
    return and_(
        OutboxMessage.state != OutboxState.DELIVERED.value,
        OutboxMessage.created_at <= now - timedelta(seconds=overdue_s),
    )


class OutboxAdmin:
    """Lists and retries outbox messages; a retry wakes the outbox worker."""

    def __init__(
        self, *, database: Database, config: TransactionsConfig, on_outbox_written: Callable[[], None]
    ) -> None:
        self.db = database
        self.config = config
        self.on_outbox_written = on_outbox_written

    async def outbox_messages(
        self, state: str | None, first: int | None, overdue: bool | None = None
    ) -> list[OutboxRecord]:
        """Newest first; `overdue`: only (or, False: no) messages undelivered for OUTBOX_OVERDUE_S."""
        size = page_size(first)
        query = select(OutboxMessage)
        if state is not None:
            wanted = state.strip().upper()
            if wanted not in {s.value for s in OutboxState}:
                raise bad_input("state must be PENDING, DELIVERED or DEAD", field="state")
            query = query.where(OutboxMessage.state == wanted)
        if overdue is not None:
            condition = is_overdue(utcnow(), self.config.outbox_overdue_s)
            query = query.where(condition if overdue else ~condition)
        query = query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.message_id.desc()).limit(size)
        return await self.db.read(
            lambda session: [OutboxRecord.of(row) for row in session.execute(query).scalars()]
        )

    async def retry_outbox_message(self, message_id: str) -> OutboxRecord:
        """Put a DEAD (or failing) message back in the queue with a fresh retry horizon."""
        if has_nul(message_id):
            raise not_found("Outbox message not found")

        def work(session: Session) -> OutboxRecord:
            row = session.get(OutboxMessage, message_id, with_for_update=True)
            if row is None:
                raise not_found("Outbox message not found")
            if row.state != OutboxState.DELIVERED:
                now = utcnow()
                row.state = OutboxState.PENDING.value
                row.attempts = 0
                row.next_attempt_at = now
                row.deadline_at = now + timedelta(seconds=self.config.outbox_retry_horizon_s)
            return OutboxRecord.of(row)

        record = await self.db.write(work)
        self.on_outbox_written()
        return record
