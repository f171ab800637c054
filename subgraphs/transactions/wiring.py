"""What the saga, the reversal and recovery are built with, in one value: the database, the clients,
the settings, the outbox rows every final status writes, the shared in-flight ids and the outbox
worker's wake-up, instead of the same six keywords passed to each job (service.py builds it once);
and what both the saga and the reversal do once a final status is committed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shared.db import Database
from shared.metrics import SAGA_OUTCOMES
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.outbox_rows import OutboxRows
from subgraphs.transactions.records import TransactionRecord


@dataclass(frozen=True)
class JobDeps:
    """`inflight`: the ids of the sagas and reversals running in this process (recovery leaves
    them alone); `on_outbox_written`: called after a commit that wrote outbox rows."""

    database: Database
    clients: Clients
    config: TransactionsConfig
    outbox_rows: OutboxRows
    inflight: set[str]
    on_outbox_written: Callable[[], None]

    async def write_final(
        self, work: Callable[[Session], tuple[TransactionRecord, bool]]
    ) -> TransactionRecord:
        """Run `work`, a compare-and-set that may record a final status with its outbox rows (it says
        whether it did), in one local transaction; once one is committed, count the outcome and wake
        the outbox worker. Returns the transaction as it stands."""
        record, settled = await self.database.write(work)
        if settled:
            SAGA_OUTCOMES.labels(record.type, record.status).inc()
            self.on_outbox_written()
        return record
