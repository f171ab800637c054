"""Async database access for one subgraph: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL.

SQLite allows one writer at a time; starting write transactions with BEGIN IMMEDIATE takes the
write lock up front, so two writers never both read a balance and then collide on upgrade (which
SQLite reports as "database is locked" instead of waiting). Reads use a plain deferred BEGIN and,
thanks to WAL, never wait for a writer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

SQLITE_BEGIN_OPTION = "sqlite_begin"


def make_model_base() -> type[SQLModel]:
    """A SQLModel base with its own registry and metadata, so each subgraph owns its tables alone."""

    class Base(SQLModel, registry=registry()):
        pass

    return Base


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def create_engine(url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 10) -> AsyncEngine:
    """An engine configured for this project's concurrency rules on either backend."""
    if is_sqlite(url):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            connect_args={"timeout": busy_timeout_ms / 1000},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see the begin hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """A subgraph's engine and two session factories: `write()` (serialised on SQLite) and `read()`."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
        self.is_sqlite = is_sqlite(url)
        write_engine = (
            self.engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            if self.is_sqlite
            else self.engine
        )
        self._write = async_sessionmaker(write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        async with self._write() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
