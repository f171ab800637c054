"""Fresh PostgreSQL databases for the tests that must prove the ledger under real concurrency.

`SAWIT_TEST_POSTGRES_URL` (an admin URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres) wins;
otherwise a testcontainers PostgreSQL when a Docker engine answers; otherwise the caller skips
with the reason returned here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

_container_url: str | None = None


def admin_url() -> tuple[str | None, str]:
    """(admin URL or None, reason when None)."""
    global _container_url
    explicit = os.environ.get("SAWIT_TEST_POSTGRES_URL")
    if explicit:
        return explicit, ""
    if _container_url:
        return _container_url, ""
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        return None, f"no SAWIT_TEST_POSTGRES_URL and no Docker engine answers ({type(exc).__name__})"
    from testcontainers.postgres import PostgresContainer

    container = PostgresContainer("postgres:16-alpine")
    container.start()
    _container_url = container.get_connection_url()
    return _container_url, ""


def async_url(url: str, database: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False)
    )


@contextmanager
def fresh_database(prefix: str = "sawit_test") -> Iterator[str]:
    """Create a new empty database; yields its asyncpg URL and drops it afterwards."""
    import asyncio

    import asyncpg

    url, reason = admin_url()
    if url is None:
        raise RuntimeError(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield async_url(url, name)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
