"""The history subgraph's process: `python -m subgraphs.history.app` serves it on HISTORY_PORT (8005)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.app import create_subgraph_app, serve
from shared.db import Database
from shared.settings import Settings, get_settings
from subgraphs.history.config import HistoryConfig
from subgraphs.history.schema import HistoryDeps, schema
from subgraphs.history.service import HistoryService

NAME = "history"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None, config: HistoryConfig | None = None) -> FastAPI:
    """The history ASGI app on its own database (migrated at start)."""
    settings = settings or get_settings()
    database = Database.for_subgraph(NAME, settings)
    service = HistoryService(database, config or HistoryConfig())
    return create_subgraph_app(
        name=NAME,
        schema=schema,
        deps=HistoryDeps(service=service),
        database=database,
        migrations_dir=MIGRATIONS_DIR,
        settings=settings,
    )


def main() -> None:
    serve(NAME, create_app())


if __name__ == "__main__":
    main()
