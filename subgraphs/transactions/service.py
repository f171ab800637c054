"""The transactions service: one façade over its jobs, each in its own module; no GraphQL here.

- saga.py: the payment saga (create -> fraud -> VA -> debit -> settle) and its final statuses
- outbox_rows.py: the outbox rows a final status writes, in the same local transaction
- recovery.py: settling or resuming what a crash or an unreachable wallet left PENDING
- reversal.py: the admin's reversal of a SUCCESS transaction
- invoices.py: invoices (VAs) and whether a VA can be paid
- queries.py: reading transactions and their marketplace notices
- outbox_admin.py: the admin's view of the outbox
- inputs.py, rules.py: the createTransaction input; what the jobs share

The jobs share one set of in-flight transaction ids (sagas and reversals running in this process),
so recovery leaves those alone. The names below the imports stay importable from here, where
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
from subgraphs.transactions.models import Invoice, OutboxMessage, Transaction, TxStatus, TxType
from subgraphs.transactions.outbox_admin import OutboxAdmin, is_overdue
from subgraphs.transactions.outbox_rows import OutboxRows
from subgraphs.transactions.queries import RECEIVED_STATUSES, Queries, received_by, visibility
from subgraphs.transactions.recipients import Recipients
from subgraphs.transactions.recovery import Recovery
from subgraphs.transactions.reversal import Reversal
from subgraphs.transactions.rules import Failure
from subgraphs.transactions.saga import Saga

__all__ = [
    "RECEIVED_STATUSES",
    "CreateTransactionInput",
    "Failure",
    "TransactionService",
    "invoice_status",
    "is_overdue",
    "new_va_number",
    "normalise_input",
    "received_by",
    "request_hash",
    "visibility",
]


def _no_hook(_tx: Transaction) -> None:
    return None


class TransactionService:
    """Runs sagas, issues invoices, answers queries; the workers call `recover_once`.

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
        after_debit: Callable[[Transaction], None] | None = None,
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
        inflight: set[str] = set()
        outbox_rows = OutboxRows(clients=clients, config=config)
        self.queries = Queries(database=database, clients=clients)
        self.invoices = Invoices(database=database, clients=clients, config=config)
        self.outbox_admin = OutboxAdmin(database=database, config=config, on_outbox_written=on_outbox_written)
        self.saga = Saga(
            database=database,
            clients=clients,
            recipients=self.recipients,
            queries=self.queries,
            invoices=self.invoices,
            outbox_rows=outbox_rows,
            inflight=inflight,
            on_outbox_written=on_outbox_written,
            after_debit=after_debit or _no_hook,
        )
        self.reversal = Reversal(
            database=database,
            clients=clients,
            outbox_rows=outbox_rows,
            inflight=inflight,
            on_outbox_written=on_outbox_written,
        )
        self.recovery = Recovery(
            database=database,
            clients=clients,
            config=config,
            queries=self.queries,
            saga=self.saga,
            reversal=self.reversal,
            inflight=inflight,
        )

    # the saga, recovery and reversal

    async def create(
        self, principal: Principal, raw: CreateTransactionInput, *, client: str | None = None
    ) -> Transaction:
        return await self.saga.create(principal, raw, client=client)

    async def recover_once(self, *, grace_s: float | None = None) -> int:
        return await self.recovery.recover_once(grace_s=grace_s)

    async def reverse(self, admin: Principal, tx_id: str, reason: str | None) -> Transaction:
        return await self.reversal.reverse(admin, tx_id, reason)

    async def drain(self) -> None:
        await self.saga.drain()

    # invoices

    async def generate_invoice(self, amount_minor: int, description: str | None) -> Invoice:
        return await self.invoices.generate_invoice(amount_minor, description)

    async def get_invoice(self, va_number: str) -> Invoice | None:
        return await self.invoices.get_invoice(va_number)

    # queries

    async def get(self, tx_id: str) -> Transaction:
        return await self.queries.get(tx_id)

    async def arrived_for(self, user_id: str, row: Transaction) -> bool:
        return await self.queries.arrived_for(user_id, row)

    async def find(self, tx_id: str) -> Transaction | None:
        return await self.queries.find(tx_id)

    async def find_many(self, tx_ids: Sequence[str]) -> dict[str, Transaction]:
        return await self.queries.find_many(tx_ids)

    async def list(
        self,
        *,
        user_id: str | None,
        wallet_id: str | None = None,
        type: TxType | None = None,
        status: TxStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        direction: str | None = None,
    ) -> list[Transaction]:
        return await self.queries.list(
            user_id=user_id,
            wallet_id=wallet_id,
            type=type,
            status=status,
            first=first,
            after=after,
            direction=direction,
        )

    async def notifications(self, tx_ids: Sequence[str]) -> dict[str, OutboxMessage]:
        return await self.queries.notifications(tx_ids)

    # outbox admin

    async def outbox_messages(
        self, state: str | None, first: int | None, overdue: bool | None = None
    ) -> list[OutboxMessage]:
        return await self.outbox_admin.outbox_messages(state, first, overdue)

    async def retry_outbox_message(self, message_id: str) -> OutboxMessage:
        return await self.outbox_admin.retry_outbox_message(message_id)

    async def outbox_backlog(self) -> dict[str, int]:
        return await self.outbox_admin.outbox_backlog()
