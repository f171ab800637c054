"""The fraud subgraph's process: `create_app()` for tests and containers, `main()` to serve on :8004."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.app import SubgraphSpec
from shared.settings import Settings, get_settings
from subgraphs.fraud.config import FraudConfig
from subgraphs.fraud.schema import FraudDeps, schema
from subgraphs.fraud.service import FraudService

SUBGRAPH = SubgraphSpec("fraud", schema, Path(__file__).resolve().parent / "migrations")
MIGRATIONS_DIR = SUBGRAPH.migrations_dir


def create_app(settings: Settings | None = None, config: FraudConfig | None = None) -> FastAPI:
    """The fraud subgraph app on its own database (`FRAUD_DATABASE_URL`), migrated at start."""
    settings = settings or get_settings()
    database = SUBGRAPH.database(settings)
    return SUBGRAPH.app(
        settings, database, FraudDeps(service=FraudService(database, config or FraudConfig()))
    )


def main() -> None:
    SUBGRAPH.main(create_app)


if __name__ == "__main__":
    main()
