"""The history subgraph's process: `python -m subgraphs.history.app` serves it on HISTORY_PORT (8005)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.app import SubgraphSpec
from shared.settings import Settings, get_settings
from subgraphs.history.config import HistoryConfig
from subgraphs.history.schema import HistoryDeps, schema
from subgraphs.history.service import HistoryService

SUBGRAPH = SubgraphSpec("history", schema, Path(__file__).resolve().parent / "migrations")
MIGRATIONS_DIR = SUBGRAPH.migrations_dir


def create_app(settings: Settings | None = None, config: HistoryConfig | None = None) -> FastAPI:
    """The history ASGI app on its own database (`HISTORY_DATABASE_URL`), migrated at start."""
    settings = settings or get_settings()
    database = SUBGRAPH.database(settings)
    return SUBGRAPH.app(
        settings, database, HistoryDeps(service=HistoryService(database, config or HistoryConfig()))
    )


def main() -> None:
    SUBGRAPH.main(create_app)


if __name__ == "__main__":
    main()
