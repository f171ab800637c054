"""The admin's reversal of a SUCCESS transaction: the wallet's compensating movement (idempotent by
the reversal id), then REVERSED with its outbox rows; recovery finishes one left half-way."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db import has_nul
from shared.errors import AppError, ErrorCode, bad_input, not_found
from shared.tokens import Principal
from shared.tracing import traced
from subgraphs.transactions.models import SagaStep, TxStatus
from subgraphs.transactions.records import TransactionRecord
from subgraphs.transactions.rules import AMBIGUOUS_CODES, DESCRIPTION_MAX, clean, locked
from subgraphs.transactions.wiring import JobDeps


class Reversal:
    """Reverses transactions; marks a running reversal in `deps.inflight` (shared with recovery)."""

    def __init__(self, deps: JobDeps) -> None:
        self.deps = deps
        self.db = deps.database
        self.clients = deps.clients

    async def reverse(self, admin: Principal, tx_id: str, reason: str | None) -> TransactionRecord:
        """Post the compensating movement of a SUCCESS transaction and mark it REVERSED."""
        reason = clean(reason)
        if reason is not None and len(reason) > DESCRIPTION_MAX:
            raise bad_input(f"reason may have at most {DESCRIPTION_MAX} characters", field="reason")
        if has_nul(reason):
            raise bad_input("reason must not contain a NUL character", field="reason")
        if has_nul(tx_id):
            raise not_found("Transaction not found")

        def work(session: Session) -> tuple[TransactionRecord, bool]:
            """The row, and whether it still needs the wallet's reversal (False: already REVERSED)."""
            row = locked(session, tx_id)
            if row.status == TxStatus.REVERSED:
                return TransactionRecord.of(row), False
            if row.status != TxStatus.SUCCESS:
                raise AppError(
                    ErrorCode.CONFLICT, f"Only SUCCESS transactions can be reversed (this is {row.status})"
                )
            if row.step != SagaStep.REVERSING:
                row.step = SagaStep.REVERSING.value
                row.reversal_id = str(uuid.uuid4())
                row.reversal_reason = reason
                row.reversed_by = admin.subject
                row.updated_at = utcnow()
            return TransactionRecord.of(row), True

        row, to_reverse = await self.db.write(work)
        if not to_reverse:
            return row
        # Like a live saga: the recovery worker leaves a reversal alone while it runs here.
        inflight = self.deps.inflight
        owner = tx_id not in inflight
        inflight.add(tx_id)
        try:
            return await self.finish(row)
        finally:
            if owner:
                inflight.discard(tx_id)

    @traced("saga.finish_reversal")
    async def finish(self, row: TransactionRecord) -> TransactionRecord:
        tx_id = row.transaction_id
        try:
            await self.clients.wallet.reverse_ledger(transaction_id=tx_id, reversal_id=row.reversal_id or "")
        except AppError as exc:
            if exc.code in AMBIGUOUS_CODES:
                raise AppError(
                    ErrorCode.SUBGRAPH_UNAVAILABLE,
                    "The wallet did not confirm the reversal; it is retried automatically",
                    retriable=True,
                ) from None

            def refused(session: Session) -> None:
                current = locked(session, tx_id)
                if current.status == TxStatus.SUCCESS and current.step == SagaStep.REVERSING:
                    current.step = SagaStep.DONE.value
                    current.updated_at = utcnow()

            await self.db.write(refused)
            raise
        reversal_id = row.reversal_id

        def work(session: Session) -> tuple[TransactionRecord, bool]:
            """The row as it stands, and whether this call marked it REVERSED (and wrote outbox rows)."""
            current = locked(session, tx_id)
            # The wallet confirmed that this reversal id moved the money: the transaction is
            # REVERSED, even if a refused attempt with the same id already set the step back.
            if current.status != TxStatus.SUCCESS or current.reversal_id != reversal_id:
                return TransactionRecord.of(current), False
            now = utcnow()
            current.status = TxStatus.REVERSED.value
            current.step = SagaStep.DONE.value
            current.updated_at = now
            self.deps.outbox_rows.write(session, current, TxStatus.REVERSED, now)
            return TransactionRecord.of(current), True

        return await self.deps.write_final(work)
