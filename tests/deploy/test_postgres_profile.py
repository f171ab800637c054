"""The compose `postgres` profile for real: deploy/postgres/init-databases.sh run by psql against a
PostgreSQL server (SAWIT_TEST_POSTGRES_URL, or a testcontainers one), then each subgraph's own
migrations run as its own role, as the containers do at start; plus the documented skip path."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.migrations import upgrade_to_head_sync
from tests.deploy.compose_files import POSTGRES_INIT, SUBGRAPHS
from tests.support import postgres
from tests.support.procs import REPO_ROOT


def _dsn(admin_url: str, user: str, database: str) -> str:
    return (
        make_url(admin_url)
        .set(drivername="postgresql", username=user, database=database)
        .render_as_string(hide_password=False)
    )


async def _execute(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def initialised(postgres_admin_url: str) -> Iterator[tuple[str, str]]:
    """(admin URL, name prefix) after the init script ran once with a unique name prefix."""
    if shutil.which("psql") is None:
        pytest.skip("psql (the PostgreSQL client the init script uses) is not installed")
    url = make_url(postgres_admin_url)
    prefix = f"sawit_deploy_{uuid.uuid4().hex[:8]}_"
    passwords = {name: f"{name}-{uuid.uuid4().hex[:8]}" for name in SUBGRAPHS}
    env = {
        **os.environ,
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGPASSWORD": url.password or "",
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_DB": url.database or "postgres",
        "SAWIT_DB_PREFIX": prefix,
        **{f"{name.upper()}_DB_PASSWORD": password for name, password in passwords.items()},
    }
    result = subprocess.run(
        ["sh", str(POSTGRES_INIT)], env=env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )
    try:
        assert result.returncode == 0, result.stderr
        yield postgres_admin_url, prefix
    finally:
        admin = _dsn(postgres_admin_url, url.username or "postgres", url.database or "postgres")
        drops = []
        for name in SUBGRAPHS:
            drops += [
                f'DROP DATABASE IF EXISTS "{prefix}{name}" WITH (FORCE)',
                f'DROP ROLE IF EXISTS "{prefix}{name}"',
            ]
        asyncio.run(_execute(admin, *drops))


@pytest.mark.postgres
def test_each_subgraph_role_owns_its_database_and_cannot_open_another(
    initialised: tuple[str, str],
) -> None:
    admin_url, prefix = initialised
    for name in SUBGRAPHS:
        own = _dsn(admin_url, f"{prefix}{name}", f"{prefix}{name}")
        asyncio.run(
            _execute(own, "CREATE TABLE deploy_probe (id int PRIMARY KEY)", "DROP TABLE deploy_probe")
        )
    intruder = _dsn(admin_url, f"{prefix}wallet", f"{prefix}auth")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        asyncio.run(_execute(intruder, "SELECT 1"))


@pytest.mark.postgres
@pytest.mark.parametrize("name", SUBGRAPHS)
def test_each_subgraph_migrates_its_own_database_as_its_own_role(
    initialised: tuple[str, str], name: str
) -> None:
    admin_url, prefix = initialised
    database_url = postgres.async_url(_dsn(admin_url, f"{prefix}{name}", "x"), f"{prefix}{name}")
    upgrade_to_head_sync(REPO_ROOT / "subgraphs" / name / "migrations", database_url)

    async def tables() -> set[str]:
        conn = await asyncpg.connect(_dsn(admin_url, f"{prefix}{name}", f"{prefix}{name}"))
        try:
            rows = await conn.fetch("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
        finally:
            await conn.close()
        assert {row["tableowner"] for row in rows} == {f"{prefix}{name}"}
        return {row["tablename"] for row in rows}

    found = asyncio.run(tables())
    assert "alembic_version" in found and len(found) > 1, found


def test_the_init_script_refuses_to_create_a_role_without_a_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DB_PASSWORD")}
    # no server is contacted: the missing password stops the script before psql runs
    env |= {"PGHOST": str(tmp_path), "SAWIT_DB_PREFIX": "never_"}
    result = subprocess.run(["sh", str(POSTGRES_INIT)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "AUTH_DB_PASSWORD" in result.stderr


def test_without_a_url_or_a_docker_engine_the_postgres_tests_skip_saying_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SAWIT_TEST_POSTGRES_URL", raising=False)
    # a Docker endpoint where nothing answers, whatever this machine has
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    monkeypatch.setattr(postgres, "_container_url", None)
    url, reason = postgres.admin_url()
    assert url is None
    assert "SAWIT_TEST_POSTGRES_URL" in reason and "Docker" in reason
    with pytest.raises(RuntimeError, match="Docker"), postgres.fresh_database():
        pass
