"""The fraud subgraph's process: `create_app()` for tests and containers, `main()` to serve on :8004."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.app import create_subgraph_app, serve
from shared.db import Database
from shared.settings import Settings, get_settings
from subgraphs.fraud.config import FraudConfig
from subgraphs.fraud.schema import FraudDeps, schema
from subgraphs.fraud.service import FraudService

NAME = "fraud"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None, config: FraudConfig | None = None) -> FastAPI:
    """The fraud subgraph app on its own database (`FRAUD_DATABASE_URL`), migrated at start."""
    settings = settings or get_settings()
    config = config or FraudConfig()
    database = Database.for_subgraph(NAME, settings)
    deps = FraudDeps(service=FraudService(database, config))
    return create_subgraph_app(
        name=NAME,
        schema=schema,
        deps=deps,
        database=database,
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
    )


def main() -> None:
    settings = get_settings()
    serve(NAME, create_app(settings), settings)


if __name__ == "__main__":
    main()
