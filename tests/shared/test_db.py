"""The database helper: SQLite writers are serialised (no lost update), failures roll back whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import Database
from shared.settings import Settings


async def make_counter(db: Database) -> None:
    async with db.write() as session:
        await session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        await session.execute(text("INSERT INTO counter VALUES (1, 0)"))


async def test_concurrent_read_then_write_transactions_on_sqlite_lose_no_update(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    await make_counter(db)

    async def increment() -> None:
        # Read, yield to other tasks, then write: only safe because write() starts BEGIN IMMEDIATE.
        async with db.write() as session:
            n = (await session.execute(text("SELECT n FROM counter WHERE id = 1"))).scalar_one()
            await asyncio.sleep(0)
            await session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})

    await asyncio.gather(*(increment() for _ in range(50)))
    async with db.read() as session:
        assert (await session.execute(text("SELECT n FROM counter"))).scalar_one() == 50
    await db.dispose()


async def test_an_exception_inside_a_write_block_rolls_everything_back(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    await make_counter(db)
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await session.execute(text("UPDATE counter SET n = 99"))
            raise RuntimeError("boom")
    async with db.read() as session:
        assert (await session.execute(text("SELECT n FROM counter"))).scalar_one() == 0
    await db.dispose()


async def test_sqlite_databases_run_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    async with db.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    await db.dispose()


def test_each_subgraph_gets_its_own_database_file_by_default(tmp_path: Path) -> None:
    settings = Settings(DATA_DIR=str(tmp_path))
    urls = {name: settings.database_url_of(name) for name in ("auth", "wallet", "history")}
    assert urls["auth"].endswith("/users.db") and urls["wallet"].endswith("/wallets.db")
    assert len(set(urls.values())) == 3


def test_a_per_subgraph_database_url_wins_over_the_generic_one() -> None:
    settings = Settings(
        DATABASE_URL="postgresql+asyncpg://x/generic", WALLET_DATABASE_URL="sqlite+aiosqlite:///w.db"
    )
    assert settings.database_url_of("wallet") == "sqlite+aiosqlite:///w.db"
    assert settings.database_url_of("fraud") == "postgresql+asyncpg://x/generic"
