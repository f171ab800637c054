"""The wallet subgraph process: its own database (migrated at start), schema and ledger service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.app import SubgraphSpec
from shared.events import build_bus
from shared.settings import Settings, get_settings
from subgraphs.wallet.config import WalletSettings, get_wallet_settings
from subgraphs.wallet.schema import schema
from subgraphs.wallet.service import WalletDeps, WalletService

SUBGRAPH = SubgraphSpec("wallet", schema, Path(__file__).resolve().parent / "migrations")
MIGRATIONS_DIR = SUBGRAPH.migrations_dir


def create_app(settings: Settings | None = None, limits: WalletSettings | None = None) -> FastAPI:
    """The wallet subgraph's ASGI app on its own database (`WALLET_DATABASE_URL`, else `DATABASE_URL`,
    else data/wallets.db); the event bus it publishes movements on is closed when the app stops."""
    settings = settings or get_settings()
    database = SUBGRAPH.database(settings)
    limits = limits or get_wallet_settings()
    events = build_bus(settings.redis_url, limits.events_redis_prefix)
    service = WalletService(database, limits, money_max_minor=settings.money_max_minor, events=events)
    return SUBGRAPH.app(
        settings, database, WalletDeps(database=database, service=service), on_shutdown=[events.aclose]
    )


def main() -> None:
    SUBGRAPH.main(create_app)


if __name__ == "__main__":
    main()
