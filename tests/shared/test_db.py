"""The database helper: units of work commit or roll back whole; SQLite writers lose no update."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.db import Database
from shared.settings import Settings


def make_counter(session: Session) -> None:
    session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
    session.execute(text("INSERT INTO counter VALUES (1, 0)"))


def read_then_increment(session: Session) -> None:
    # Read, then write: only safe because a write unit starts with BEGIN IMMEDIATE (SQLite).
    n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
    session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})


def count(session: Session) -> int:
    return int(session.execute(text("SELECT n FROM counter")).scalar_one())


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    await db.write(make_counter)
    yield db
    await db.dispose()


async def test_concurrent_read_then_write_units_on_sqlite_lose_no_update(sqlite_db: Database) -> None:
    await asyncio.gather(*(sqlite_db.write(read_then_increment) for _ in range(50)))
    assert await sqlite_db.read(count) == 50


async def test_two_databases_on_one_sqlite_file_wait_for_each_other_and_lose_no_update(
    sqlite_db: Database, tmp_path: Path
) -> None:
    # A second engine on the same file stands in for another process (a CLI, a second copy).
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        await asyncio.gather(*(db.write(read_then_increment) for _ in range(25) for db in (sqlite_db, other)))
        assert await other.read(count) == 50
    finally:
        await other.dispose()


async def test_an_exception_inside_a_unit_of_work_rolls_everything_back(sqlite_db: Database) -> None:
    def update_then_fail(session: Session) -> None:
        session.execute(text("UPDATE counter SET n = 99"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await sqlite_db.write(update_then_fail)
    assert await sqlite_db.read(count) == 0


async def test_a_sqlite_unit_of_work_runs_whole_in_one_thread_off_the_event_loop(sqlite_db: Database) -> None:
    def threads_of_each_statement(session: Session) -> set[int]:
        seen = set()
        for _ in range(3):
            session.execute(text("SELECT 1"))
            seen.add(threading.get_ident())
        return seen

    seen = await sqlite_db.write(threads_of_each_statement)
    assert len(seen) == 1 and threading.get_ident() not in seen


async def test_sqlite_databases_run_in_wal_mode(sqlite_db: Database) -> None:
    assert await sqlite_db.read(lambda s: s.execute(text("PRAGMA journal_mode")).scalar_one()) == "wal"


@pytest.fixture
def pg_url(postgres_admin_url: str) -> Iterator[str]:
    from tests.support.postgres import fresh_database

    with fresh_database("sawit_dbtest") as url:
        yield url


@pytest.mark.postgres
async def test_on_postgres_a_unit_of_work_commits_whole_or_rolls_back_whole(pg_url: str) -> None:
    def fail_after_update(session: Session) -> None:
        session.execute(text("UPDATE counter SET n = 7"))
        raise RuntimeError("boom")

    db = Database(pg_url)
    try:
        await db.write(make_counter)
        await db.write(read_then_increment)
        with pytest.raises(RuntimeError):
            await db.write(fail_after_update)
        assert await db.read(count) == 1
    finally:
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
