"""The two background workers: the outbox deliverer and the saga recovery loop.

The outbox worker delivers rows written in the same local transaction as a status change (history
records, marketplace notices) until the receiver acknowledges them: it polls every
`OUTBOX_POLL_S` and is woken right after a commit. A failed delivery is retried after a capped
exponential backoff with jitter (`OUTBOX_BACKOFF_S * 2**(attempts-1)`, capped at
`OUTBOX_BACKOFF_MAX_S`, then between half and all of it), for as long as the message's deadline
(`OUTBOX_RETRY_HORIZON_S` after it was written, 3 days by default) allows; only a failure after the
deadline makes it DEAD (visible to admins, who can retry it). Messages undelivered for
`OUTBOX_OVERDUE_S` count as overdue (`sawit_outbox_overdue`, `outboxMessages(overdue: true)`).

Every notice carries a stable id, so a receiver can drop repeats: the marketplace gets the message
id as `Idempotency-Key` and the transaction id as `X-Transaction-Id`; history is idempotent by
(transaction id, status). A message delivered twice after a crash is harmless. A claimed batch is
leased for `OUTBOX_LEASE_S` so two workers do not share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, assert_never

from opentelemetry.trace import SpanKind
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.clock import as_utc, utcnow
from shared.db import Database
from shared.errors import AppError
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_OVERDUE
from shared.tracing import extract_from, span
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.messages import HistoryNotice, MarketplaceNotice, OutboxNotice, decode
from subgraphs.transactions.models import OutboxKind, OutboxMessage, OutboxState
from subgraphs.transactions.outbox_admin import is_overdue

log = logging.getLogger(__name__)

DELIVERY_CONCURRENCY = 10
ERROR_MAX = 500
GAUGE_INTERVAL_S = 5.0


@dataclass(frozen=True)
class _Claimed:
    message_id: str
    transaction_id: str
    kind: str
    payload: str
    attempts: int


class NotAcknowledged(Exception):
    """The receiver answered but did not acknowledge the message (e.g. the marketplace said false)."""


def backoff_s(
    attempts: int, base_s: float, cap_s: float, jitter: Callable[[], float] = random.random
) -> float:
    """Delay before the next try after `attempts` failed ones: base, 2*base, 4*base, ... capped, then
    a random point between half of it and all of it, so receivers coming back are not hit by every
    sender at once ("equal jitter")."""
    ceiling = min(cap_s, base_s * (2 ** min(max(0, attempts - 1), 60)))
    return ceiling / 2 + jitter() * ceiling / 2


def deadline_of(row: OutboxMessage, horizon_s: float) -> datetime:
    """Until when a message is retried (rows older than the column: created_at + the horizon)."""
    if row.deadline_at is not None:
        return as_utc(row.deadline_at)
    return as_utc(row.created_at) + timedelta(seconds=horizon_s)


class _Background:
    """One asyncio task running `_loop` from the app's start to its shutdown."""

    TASK_NAME: ClassVar[str]

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.TASK_NAME)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        raise NotImplementedError


class OutboxWorker(_Background):
    """Delivers outbox rows with retries and exponential backoff."""

    TASK_NAME = "outbox-worker"

    def __init__(self, *, database: Database, clients: Clients, config: TransactionsConfig) -> None:
        super().__init__()
        self.db = database
        self.clients = clients
        self.config = config
        self._wake = asyncio.Event()
        self._semaphore = asyncio.Semaphore(DELIVERY_CONCURRENCY)

    def wake(self) -> None:
        """Deliver now (called right after a commit that wrote outbox rows)."""
        self._wake.set()

    async def _loop(self) -> None:
        gauge_due = 0.0
        while True:
            self._wake.clear()
            try:
                handled = await self.run_once()
                if time.monotonic() >= gauge_due:
                    await self.update_backlog_gauge()
                    gauge_due = time.monotonic() + GAUGE_INTERVAL_S
            except Exception:  # noqa: BLE001 - the worker must outlive any single failure
                log.exception("outbox pass failed")
                handled = 0
            if handled >= self.config.outbox_batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.outbox_poll_s)

    async def run_once(self) -> int:
        """One pass: claim due messages, deliver them, record the outcomes; returns how many."""
        claimed = await self._claim()
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._deliver_bounded(message) for message in claimed))
        await self._record(claimed, outcomes)
        return len(claimed)

    async def update_backlog_gauge(self) -> None:
        """`sawit_outbox_backlog{state}`: messages PENDING (not yet delivered) and DEAD;
        `sawit_outbox_overdue{kind}`: messages still undelivered OUTBOX_OVERDUE_S after written."""
        query = (
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.state != OutboxState.DELIVERED.value)
            .group_by(OutboxMessage.state)
        )
        overdue = (
            select(OutboxMessage.kind, func.count())
            .where(is_overdue(utcnow(), self.config.outbox_overdue_s))
            .group_by(OutboxMessage.kind)
        )

        def read(session: Session) -> tuple[dict[str, int], dict[str, int]]:
            by_state = {str(state): int(count) for state, count in session.execute(query).all()}
            return by_state, {str(kind): int(count) for kind, count in session.execute(overdue).all()}

        counts, late = await self.db.read(read)
        for state in (OutboxState.PENDING, OutboxState.DEAD):
            OUTBOX_BACKLOG.labels(state.value).set(counts.get(state.value, 0))
        for kind in OutboxKind:
            OUTBOX_OVERDUE.labels(kind.value).set(late.get(kind.value, 0))

    async def _claim(self) -> list[_Claimed]:
        now = utcnow()
        due = (
            select(OutboxMessage.message_id)
            .where(OutboxMessage.state == OutboxState.PENDING.value, OutboxMessage.next_attempt_at <= now)
            .limit(1)
        )
        # An idle poll takes no write lock.
        if await self.db.read(lambda session: session.execute(due).first()) is None:
            return []
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.PENDING.value, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(self.config.outbox_batch_size)
            .with_for_update(skip_locked=True)
        )
        lease_until = now + timedelta(seconds=self.config.outbox_lease_s)

        def work(session: Session) -> list[_Claimed]:
            rows = list(session.execute(query).scalars())
            for row in rows:
                row.next_attempt_at = lease_until
            return [
                _Claimed(row.message_id, row.transaction_id, row.kind, row.payload, row.attempts)
                for row in rows
            ]

        return await self.db.write(work)

    async def _deliver_bounded(self, message: _Claimed) -> str | None:
        async with self._semaphore:
            try:
                notice = decode(message.kind, message.payload)
                with span(
                    f"outbox.deliver {message.kind}",
                    kind=SpanKind.PRODUCER,
                    parent=extract_from(notice.trace),
                    attributes={"sawit.outbox.message_id": message.message_id},
                ):
                    await self.deliver(notice, message)
            except AppError as exc:
                reason = exc.details.get("reason")
                return f"{exc.code.value}: {exc.message}" + (f" ({reason})" if reason else "")
            except NotAcknowledged as exc:
                return f"not acknowledged: {exc}"
            except Exception as exc:  # noqa: BLE001 - recorded on the row, retried later
                log.exception("outbox delivery of %s failed", message.message_id)
                return f"{type(exc).__name__}: {exc}"
            return None

    async def deliver(self, notice: OutboxNotice, message: _Claimed) -> None:
        """Send one message; raises when the receiver did not acknowledge it."""
        match notice:
            case HistoryNotice():
                await self.clients.history.add(notice)
            case MarketplaceNotice():
                marketplace = self.clients.marketplace
                if marketplace is None:
                    raise NotAcknowledged("MARKETPLACE_URL is not configured")
                acknowledged = await marketplace.update_payment_status(
                    notice.va_number,
                    notice.status,
                    idempotency_key=message.message_id,
                    transaction_id=message.transaction_id,
                )
                if not acknowledged:
                    raise NotAcknowledged("the marketplace answered false")
            case _:
                assert_never(notice)

    async def _record(self, claimed: list[_Claimed], outcomes: list[str | None]) -> None:
        now = utcnow()
        config = self.config

        def work(session: Session) -> list[tuple[str, str, str]]:
            """Record the outcomes; returns (message id, kind, error) of each message that became DEAD."""
            dead: list[tuple[str, str, str]] = []
            for message, error in zip(claimed, outcomes, strict=True):
                row = session.get(OutboxMessage, message.message_id, with_for_update=True)
                if row is None or row.state != OutboxState.PENDING:
                    continue
                row.attempts = row.attempts + 1
                if error is None:
                    row.state = OutboxState.DELIVERED.value
                    row.delivered_at = now
                    row.last_error = None
                    continue
                row.last_error = error[:ERROR_MAX]
                deadline = deadline_of(row, config.outbox_retry_horizon_s)
                if now >= deadline:
                    row.state = OutboxState.DEAD.value
                    dead.append((row.message_id, row.kind, error))
                else:
                    delay = backoff_s(row.attempts, config.outbox_backoff_s, config.outbox_backoff_max_s)
                    # one last try at the deadline itself, rather than none after it
                    row.next_attempt_at = min(now + timedelta(seconds=delay), deadline)
            return dead

        # Logged after the commit, on the event loop (the writer thread has no request context).
        for message_id, kind, error in await self.db.write(work):
            log.error("outbox message %s (%s) is DEAD: %s", message_id, kind, error)


class RecoveryWorker(_Background):
    """Runs `TransactionService.recover_once` at start and every `RECOVERY_INTERVAL_S`."""

    TASK_NAME = "recovery-worker"

    def __init__(self, recover_once: Callable[[], Awaitable[int]], interval_s: float) -> None:
        super().__init__()
        self._recover_once = recover_once
        self.interval_s = interval_s

    async def _loop(self) -> None:
        while True:
            try:
                settled = await self._recover_once()
                if settled:
                    log.info("recovery settled %d transaction(s)", settled)
            except Exception:  # noqa: BLE001 - try again next interval
                log.exception("recovery pass failed")
            await asyncio.sleep(self.interval_s)
