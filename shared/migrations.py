"""Alembic for each subgraph, without an alembic.ini: every subgraph migrates its own database at start.

A subgraph keeps `migrations/` (env.py, script.py.mako, versions/) beside its models; its env.py
is two lines that call `run_env(metadata)`. `upgrade_to_head` runs in a worker thread so it can be
awaited from a running event loop (Alembic's async env starts its own loop).

Replicas of a subgraph share its database and each migrates at start: on PostgreSQL the upgrade
runs under a transaction-scoped advisory lock, so a second process waits, then finds the database
at head and does nothing (without it, both would apply the first revision and one would fail).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from shared.db import _sqlite_file, is_sqlite

# Any fixed bigint: advisory locks are per database, and only migrations take this one.
MIGRATION_LOCK_KEY = 0x5A_77_17_00


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head_sync(migrations_dir: Path, database_url: str) -> None:
    if is_sqlite(database_url):
        path = _sqlite_file(database_url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(migrations_dir, database_url), "head")


async def upgrade_to_head(migrations_dir: Path, database_url: str) -> None:
    """Bring the database to the newest revision; safe to call on every start."""
    await asyncio.to_thread(upgrade_to_head_sync, migrations_dir, database_url)


def _do_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def _run_async(metadata: MetaData) -> None:
    config = context.config
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    async with engine.connect() as connection:
        await connection.run_sync(_do_run, metadata)
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """The body of every subgraph's migrations/env.py."""
    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(metadata))
