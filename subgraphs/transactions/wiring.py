"""What the saga, the reversal and recovery are built with, in one value: the database, the clients,
the settings, the outbox rows every final status writes, the shared in-flight ids and the outbox
worker's wake-up, instead of the same six keywords passed to each job (service.py builds it once)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.db import Database
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.outbox_rows import OutboxRows


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
