"""Database access for one subgraph: units of work on SQLite (WAL) or PostgreSQL.

A unit of work is a plain function of a SQLAlchemy `Session` (Core statements or ORM), run in one
transaction by `await db.write(work)` or `await db.read(work)`: committed when it returns, rolled
back when it raises. The caller stays async; how the statements reach the database depends on it:

- PostgreSQL: the async engine (asyncpg), the function run with `AsyncSession.run_sync`, so every
  statement is awaited on the event loop.
- SQLite: the whole function runs in a thread that owns SQLite connections (one writer thread, a
  few reader threads), through the synchronous pysqlite driver. aiosqlite hands every *statement*
  to its thread and back (measured: ~150 us of CPU per hop, and SQLAlchemy's async layer ~200 us
  more, against ~50 us for the statement itself); here a whole unit of work costs one hop.

SQLite allows one writer at a time: the single writer thread serialises this process's writes, and
BEGIN IMMEDIATE takes the write lock up front, so a writer in another process (a CLI, a second
copy) makes us wait in SQLite's busy handler instead of failing on lock upgrade. Reads use a plain
deferred BEGIN and, thanks to WAL, never wait for a writer.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pydantic_core import PydanticUndefined
from sqlalchemy import CheckConstraint, Column, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, registry, sessionmaker
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel

from shared.settings import Settings
from shared.tracing import span

T = TypeVar("T")
Work = Callable[[Session], T]

SQLITE_BEGIN_OPTION = "sqlite_begin"
SQLITE_READER_THREADS = 4


def make_model_base() -> type[SQLModel]:
    """A SQLModel base with its own registry and metadata, so each subgraph owns its tables alone."""

    class Base(SQLModel, registry=registry()):
        pass

    return Base


def one_of(column: str, values: Iterable[str], *, name: str) -> CheckConstraint:
    """`CHECK (column IN ('A', 'B', ...))` from the tuple (or enum) the code checks against, so the
    allowed values are written once."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def column(
    type_: TypeEngine[Any] | type[TypeEngine[Any]],
    *,
    nullable: bool = False,
    primary_key: bool = False,
    default: Any = PydanticUndefined,
) -> Any:
    """A model field stored in a column of exactly this SQL type (`Field(sa_column=Column(...))`):
    NOT NULL and required unless `nullable` (then None by default) or given a `default`."""
    if primary_key:
        return Field(default=default, sa_column=Column(type_, primary_key=True))
    if nullable and default is PydanticUndefined:
        default = None
    return Field(default=default, sa_column=Column(type_, nullable=nullable))


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _sync_sqlite_url(url: str) -> str:
    """The same database through the synchronous pysqlite driver."""
    return make_url(url).set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)


def create_sqlite_engine(url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 10) -> Engine:
    """A synchronous engine with this project's SQLite rules: WAL, busy timeout, foreign keys,
    synchronous=NORMAL, and transactions begun by SQLAlchemy (BEGIN IMMEDIATE for writers)."""
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_sync_engine(
        _sync_sqlite_url(url),
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see the begin hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def create_postgres_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _run(factory: sessionmaker[Session], work: Work[T]) -> T:
    with factory() as session, session.begin():
        return work(session)


async def _in_thread(executor: ThreadPoolExecutor, factory: sessionmaker[Session], work: Work[T]) -> T:
    """Run a unit of work on `executor`, with the caller's context (request id in log lines)."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, _run, factory, work)
    return await asyncio.get_running_loop().run_in_executor(executor, call)


def has_nul(*values: str | None) -> bool:
    """PostgreSQL refuses a NUL character in any text parameter (even in a WHERE); no id, name, VA
    number or cursor of ours contains one, so such input is answered before it reaches the database."""
    return any(value is not None and "\x00" in value for value in values)


class Database:
    """A subgraph's database: `write(work)` (serialised on SQLite) and `read(work)`."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        self.sync_engine: Engine | None = None
        self.async_engine: AsyncEngine | None = None
        if self.is_sqlite:
            engine = create_sqlite_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
            self.sync_engine = engine
            writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            self._write_sessions = sessionmaker(writer, expire_on_commit=False)
            self._read_sessions = sessionmaker(engine, expire_on_commit=False)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
            self._readers = ThreadPoolExecutor(SQLITE_READER_THREADS, thread_name_prefix="sqlite-reader")
        else:
            self.async_engine = create_postgres_engine(url, pool_size=pool_size)
            self._async_sessions = async_sessionmaker(self.async_engine, expire_on_commit=False)

    @classmethod
    def for_subgraph(cls, name: str, settings: Settings) -> Database:
        """The database of subgraph `name`: its URL (`<NAME>_DATABASE_URL`, `DATABASE_URL` or the
        SQLite default), the SQLite busy timeout and the pool size, as every subgraph reads them."""
        return cls(
            settings.database_url_of(name),
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            pool_size=settings.db_pool_size,
        )

    async def write(self, work: Work[T]) -> T:
        """Run `work` in one write transaction: committed when it returns, rolled back on any exception."""
        with span("db.write", attributes=self._span_attributes(work)):
            if self.is_sqlite:
                return await _in_thread(self._writer, self._write_sessions, work)
            return await self._run_async(work)

    async def read(self, work: Work[T]) -> T:
        """Run `work` in one read transaction (it should not write; it is not serialised with writers)."""
        with span("db.read", attributes=self._span_attributes(work)):
            if self.is_sqlite:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(
                    self._readers, functools.partial(_run, self._read_sessions, work)
                )
            return await self._run_async(work)

    def _span_attributes(self, work: Work[T]) -> dict[str, str]:
        return {
            "db.system": "sqlite" if self.is_sqlite else "postgresql",
            "code.function": getattr(work, "__qualname__", "work"),
        }

    async def _run_async(self, work: Work[T]) -> T:
        async with self._async_sessions() as session, session.begin():
            return await session.run_sync(work)

    async def dispose(self) -> None:
        if self.sync_engine is not None:
            await asyncio.to_thread(self._writer.shutdown, True)
            await asyncio.to_thread(self._readers.shutdown, True)
            self.sync_engine.dispose()
        if self.async_engine is not None:
            await self.async_engine.dispose()
