"""The transactions service: one façade over its jobs, each in its own module; no GraphQL here.

- saga.py: the payment saga (create -> fraud -> VA -> debit -> settle) and its final statuses
- outbox_rows.py: the outbox rows a final status writes, in the same local transaction
- recovery.py: settling or resuming what a crash or an unreachable wallet left PENDING
- reversal.py: the admin's reversal of a SUCCESS transaction
- invoices.py: invoices (VAs) and whether a VA can be paid
- queries.py: reading transactions and their marketplace notices
- outbox_admin.py: the admin's view of the outbox
- inputs.py, rules.py: the createTransaction input; what the jobs share
- records.py: the frozen records every method here returns (never a live ORM row)
- wiring.py: `JobDeps`, what the saga, the reversal and recovery are built with

The jobs share one set of in-flight transaction ids (sagas and reversals running in this process,
in `JobDeps`), so recovery leaves those alone. The names below the imports stay importable from here, where
schema.py, workers.py and the tests have always found them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.db import Database
from shared.throttle import MemoryThrottle, Throttle
from shared.tokens import Principal
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.inputs import CreateTransactionInput, normalise_input, request_hash
from subgraphs.transactions.invoices import Invoices, invoice_status, new_va_number
from subgraphs.transactions.outbox_admin import OutboxAdmin, is_overdue
from subgraphs.transactions.outbox_rows import OutboxRows
from subgraphs.transactions.queries import (
    RECEIVED_STATUSES,
    Queries,
    TransactionPage,
    received_by,
    visibility,
)
from subgraphs.transactions.recipients import Recipients
from subgraphs.transactions.records import InvoiceRecord, OutboxRecord, TransactionRecord
from subgraphs.transactions.recovery import Recovery
from subgraphs.transactions.reversal import Reversal
from subgraphs.transactions.rules import Failure
from subgraphs.transactions.saga import Saga
from subgraphs.transactions.wiring import JobDeps

__all__ = [
    "RECEIVED_STATUSES",
    "CreateTransactionInput",
    "Failure",
    "TransactionPage",
    "TransactionService",
    "invoice_status",
    "is_overdue",
    "new_va_number",
    "normalise_input",
    "received_by",
    "request_hash",
    "visibility",
]


def _no_hook(_tx: TransactionRecord) -> None:
    return None


class TransactionService:
    """Runs sagas, issues invoices, answers queries; the workers call `recover_once`. Everything it
    returns is a frozen record (records.py), never a live row.

    `after_debit`: called once the wallet moved a transaction's money, before SUCCESS is recorded
    (app.py passes the test-only crash hook of TRANSACTIONS_CRASH_AFTER_DEBIT; None: nothing)."""

    def __init__(
        self,
        *,
        database: Database,
        clients: Clients,
        config: TransactionsConfig,
        on_outbox_written: Callable[[], None] = lambda: None,
        recipient_throttle: Throttle | None = None,
        after_debit: Callable[[TransactionRecord], None] | None = None,
    ) -> None:
        self.db = database
        self.clients = clients
        self.config = config
        self.on_outbox_written = on_outbox_written
        self.recipients = Recipients(
            clients,
            recipient_throttle
            or MemoryThrottle(config.recipient_lookup_limit, config.recipient_lookup_window_s),
        )
        deps = JobDeps(
            database=database,
            clients=clients,
            config=config,
            outbox_rows=OutboxRows(clients=clients, config=config),
            inflight=set(),
            on_outbox_written=on_outbox_written,
        )
        self.queries = Queries(database=database, clients=clients)
        self.invoices = Invoices(database=database, clients=clients, config=config)
        self.outbox_admin = OutboxAdmin(database=database, config=config, on_outbox_written=on_outbox_written)
        self.saga = Saga(
            deps,
            recipients=self.recipients,
            queries=self.queries,
            invoices=self.invoices,
            after_debit=after_debit or _no_hook,
        )
        self.reversal = Reversal(deps)
        self.recovery = Recovery(deps, queries=self.queries, saga=self.saga, reversal=self.reversal)

    # the saga, recovery and reversal

    async def create(
        self, principal: Principal, raw: CreateTransactionInput, *, client: str | None = None
    ) -> TransactionRecord:
        return await self.saga.create(principal, raw, client=client)

    async def recover_once(self, *, grace_s: float | None = None) -> int:
        return await self.recovery.recover_once(grace_s=grace_s)

    async def reverse(self, admin: Principal, tx_id: str, reason: str | None) -> TransactionRecord:
        return await self.reversal.reverse(admin, tx_id, reason)

    async def drain(self) -> None:
        await self.saga.drain()

    # invoices

    async def generate_invoice(self, amount_minor: int, description: str | None) -> InvoiceRecord:
        return await self.invoices.generate_invoice(amount_minor, description)

    async def get_invoice(self, va_number: str) -> InvoiceRecord | None:
        return await self.invoices.get_invoice(va_number)

    # queries

    async def get(self, tx_id: str) -> TransactionRecord:
        return await self.queries.get(tx_id)

    async def arrived_for(self, user_id: str, row: TransactionRecord) -> bool:
        return await self.queries.arrived_for(user_id, row)

    async def find(self, tx_id: str) -> TransactionRecord | None:
        return await self.queries.find(tx_id)

    async def find_many(self, tx_ids: Sequence[str]) -> dict[str, TransactionRecord]:
        return await self.queries.find_many(tx_ids)

    async def list(self, page: TransactionPage) -> list[TransactionRecord]:
        return await self.queries.list(page)

    async def notifications(self, tx_ids: Sequence[str]) -> dict[str, OutboxRecord]:
        return await self.queries.notifications(tx_ids)

    # outbox admin

    async def outbox_messages(
        self, state: str | None, first: int | None, overdue: bool | None = None
    ) -> list[OutboxRecord]:
        return await self.outbox_admin.outbox_messages(state, first, overdue)

    async def retry_outbox_message(self, message_id: str) -> OutboxRecord:
        return await self.outbox_admin.retry_outbox_message(message_id)
