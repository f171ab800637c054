"""Migrations on a database that several replicas share: each process migrates at start, so two
starting at once must not both apply a revision (one would fail on tables the other made)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.support.postgres import fresh_database

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("subgraph", ["wallet", "transactions"])
def test_two_processes_migrating_one_fresh_postgres_database_at_once_both_succeed_once(
    postgres_admin_url: str, subgraph: str
) -> None:
    migrations = REPO / "subgraphs" / subgraph / "migrations"
    with fresh_database(f"sawit_migrate_{subgraph}") as url:
        # Separate processes, as replicas are (Alembic's `context` is one per process).
        script = "import sys; from shared.migrations import upgrade_to_head_sync as up; up(*sys.argv[1:])"
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(migrations), url],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(4)
        ]
        outcomes = [(run.wait(120), run.stdout.read().decode()[-800:] if run.stdout else "") for run in runs]
        assert [code for code, _ in outcomes] == [0] * 4, outcomes
        assert asyncio.run(alembic_versions(url)) == 1


async def alembic_versions(url: str) -> int:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return len(await connection.fetch("SELECT version_num FROM alembic_version"))
    finally:
        await connection.close()
