"""The transactions subgraph process: port 8003, `TRANSACTIONS_DATABASE_URL`, the saga and its workers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI

from shared.app import SubgraphSpec
from shared.settings import Settings, get_settings
from shared.throttle import Throttles
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig, get_transactions_config
from subgraphs.transactions.records import TransactionRecord
from subgraphs.transactions.schema import TransactionsDeps, schema
from subgraphs.transactions.service import TransactionService
from subgraphs.transactions.workers import OutboxWorker, RecoveryWorker

SUBGRAPH = SubgraphSpec("transactions", schema, Path(__file__).resolve().parent / "migrations")
CRASH_EXIT_CODE = 86

log = logging.getLogger(__name__)


def crash_after_debit(tx: TransactionRecord) -> None:
    """Fault-injection hook for tests (TRANSACTIONS_CRASH_AFTER_DEBIT): die like a crash would, after
    the wallet moved the money and before SUCCESS is recorded, so recovery has to settle it."""
    log.error("TRANSACTIONS_CRASH_AFTER_DEBIT set: exiting after the wallet call of %s", tx.transaction_id)
    os._exit(CRASH_EXIT_CODE)


def create_app(
    settings: Settings | None = None,
    config: TransactionsConfig | None = None,
    clients: Clients | None = None,
) -> FastAPI:
    """The transactions ASGI app; its outbox and recovery workers run while the app is up."""
    settings = settings or get_settings()
    config = config or get_transactions_config()
    database = SUBGRAPH.database(settings)
    clients = clients or Clients.build(
        settings,
        marketplace_url=config.marketplace_url,
        marketplace_timeout_s=config.marketplace_timeout_s,
        max_in_flight=config.downstream_max_in_flight,
    )
    outbox = OutboxWorker(database=database, clients=clients, config=config)
    throttles = Throttles.from_settings(settings)
    service = TransactionService(
        database=database,
        clients=clients,
        config=config,
        on_outbox_written=outbox.wake,
        recipient_throttle=throttles.window(
            "recipient-lookup", config.recipient_lookup_limit, config.recipient_lookup_window_s
        ),
        after_debit=crash_after_debit if config.crash_after_debit else None,
    )
    recovery = RecoveryWorker(service.recover_once, config.recovery_interval_s)
    deps = TransactionsDeps(
        service=service,
        config=config,
        invoice_limiter=throttles.window(
            "invoice-client", config.invoice_rate_limit, config.invoice_rate_window_s
        ),
    )

    async def stop() -> None:
        await recovery.stop()
        await service.drain()
        await outbox.stop()
        await clients.aclose()
        await throttles.close()

    app = SUBGRAPH.app(
        settings, database, deps, on_startup=[outbox.start, recovery.start], on_shutdown=[stop]
    )
    app.state.service = service
    app.state.outbox = outbox
    return app


def main() -> None:
    SUBGRAPH.main(create_app)


if __name__ == "__main__":
    main()
