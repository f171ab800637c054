"""Recovery: settles or resumes the sagas a crash or an unreachable wallet left PENDING (and the
reversals left half-way), from the row as it stands and the wallet's ledger; the recovery worker
(workers.py) calls `recover_once`."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select

from shared.clock import utcnow
from shared.errors import AppError, ErrorCode
from shared.tracing import traced
from subgraphs.transactions.models import SagaStep, Transaction, TxStatus
from subgraphs.transactions.queries import Queries
from subgraphs.transactions.reversal import Reversal
from subgraphs.transactions.rules import Failure
from subgraphs.transactions.saga import Saga
from subgraphs.transactions.wiring import JobDeps

log = logging.getLogger(__name__)


class Recovery:
    """Resumes stale rows one by one, skipping those a live saga or reversal here runs
    (`deps.inflight`)."""

    def __init__(self, deps: JobDeps, *, queries: Queries, saga: Saga, reversal: Reversal) -> None:
        self.db = deps.database
        self.clients = deps.clients
        self.config = deps.config
        self.inflight = deps.inflight
        self.queries = queries
        self.saga = saga
        self.reversal = reversal

    async def recover_once(self, *, grace_s: float | None = None) -> int:
        """Settle or resume sagas left PENDING (and reversals left half-way); returns how many settled."""
        grace = self.config.recovery_grace_s if grace_s is None else grace_s
        cutoff = utcnow() - timedelta(seconds=grace)
        query = (
            select(Transaction.transaction_id)
            .where(
                or_(
                    Transaction.status == TxStatus.PENDING.value,
                    and_(
                        Transaction.status == TxStatus.SUCCESS.value,
                        Transaction.step == SagaStep.REVERSING.value,
                    ),
                ),
                Transaction.updated_at <= cutoff,
            )
            .order_by(Transaction.updated_at)
            .limit(self.config.recovery_batch_size)
        )
        # Only the ids: each row is read again at its turn (`_recover`).
        tx_ids = await self.db.read(lambda session: list(session.execute(query).scalars()))
        settled = 0
        for tx_id in tx_ids:
            if tx_id in self.inflight:
                continue
            self.inflight.add(tx_id)
            try:
                if await self._recover(tx_id):
                    settled += 1
            except Exception:  # noqa: BLE001 - one bad row must not stop the others
                log.exception("recovery of %s failed", tx_id)
            finally:
                self.inflight.discard(tx_id)
        return settled

    @traced("saga.recover")
    async def _recover(self, tx_id: str) -> bool:
        # The batch was read before this row's turn: a live saga (or reversal) may have settled it
        # since. Act only on the row as it stands now, or a settled FAILED could still move money.
        row = await self.queries.find(tx_id)
        if row is None:
            return False
        if row.status == TxStatus.SUCCESS and row.step == SagaStep.REVERSING:
            try:
                await self.reversal.finish(row)
            except AppError as exc:
                log.warning("reversal of %s still pending: %s", tx_id, exc.message)
                return False
            return True
        if row.step in (SagaStep.RECORDED, SagaStep.CHECKED):
            # The wallet was never called for this id: nothing can have moved.
            settled = await self.saga.finish(
                tx_id,
                TxStatus.FAILED,
                Failure(ErrorCode.INTERNAL, "The transaction was interrupted before any money moved"),
                expect=(SagaStep.RECORDED, SagaStep.CHECKED),
            )
            return settled.status != TxStatus.PENDING
        if row.status != TxStatus.PENDING or row.step != SagaStep.DEBITING:
            return False
        try:
            movements = await self.clients.wallet.movements_of(tx_id)
        except AppError as exc:
            log.info("recovery of %s waits for the wallet: %s", tx_id, exc.message)
            return False
        if movements:
            settled = await self.saga.finish(tx_id, TxStatus.SUCCESS, None, expect=(SagaStep.DEBITING,))
            return settled.status != TxStatus.PENDING
        settled = await self.saga.debit_and_settle(row)
        return settled.status != TxStatus.PENDING
