"""The wallet subgraph process: its own database (migrated at start), schema and ledger service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.app import create_subgraph_app, serve
from shared.db import Database
from shared.events import build_bus
from shared.settings import Settings, get_settings
from subgraphs.wallet.config import WalletSettings, get_wallet_settings
from subgraphs.wallet.schema import schema
from subgraphs.wallet.service import WalletDeps, WalletService

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def open_database(settings: Settings) -> Database:
    """The wallet's database, from `WALLET_DATABASE_URL` (or `DATABASE_URL`, or data/wallets.db)."""
    return Database.for_subgraph("wallet", settings)


def create_app(settings: Settings | None = None, limits: WalletSettings | None = None) -> FastAPI:
    """The wallet subgraph's ASGI app."""
    settings = settings or get_settings()
    database = open_database(settings)
    limits = limits or get_wallet_settings()
    events = build_bus(settings.redis_url, limits.events_redis_prefix)
    service = WalletService(database, limits, money_max_minor=settings.money_max_minor, events=events)

    async def close_events() -> None:
        await events.aclose()

    return create_subgraph_app(
        name="wallet",
        schema=schema,
        deps=WalletDeps(database=database, service=service),
        database=database,
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
        on_shutdown=[close_events],
    )


def main() -> None:
    serve("wallet", create_app())


if __name__ == "__main__":
    main()
