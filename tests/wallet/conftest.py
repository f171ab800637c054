"""Wallet test fixtures: an in-process ledger service on a migrated SQLite file, the in-process app,
and real wallet processes (SQLite and PostgreSQL) for the concurrency tests."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.db import Database
from shared.migrations import upgrade_to_head_sync
from shared.settings import get_settings
from subgraphs.wallet.app import MIGRATIONS_DIR, create_app
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.service import WalletService
from tests.support.procs import Process, start_subgraph
from tests.support.tokens import as_router_if_federation


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, empty wallet database that tests copy instead of migrating again."""
    path = tmp_path_factory.mktemp("wallet-template") / "template.db"
    upgrade_to_head_sync(MIGRATIONS_DIR, sqlite_url(path))
    return path


def copy_of(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return sqlite_url(target)


@pytest.fixture
async def service(tmp_path: Path, migrated_template: Path) -> AsyncIterator[WalletService]:
    """A ledger service on a fresh, migrated SQLite file with the default (Bank Indonesia) limits."""
    db = Database(copy_of(migrated_template, tmp_path / "wallets.db"))
    try:
        yield WalletService(db, WalletSettings())
    finally:
        await db.dispose()


@dataclass
class InProcessWallet:
    """The wallet app served in-process; `gql` posts one operation with a bearer token."""

    client: httpx.AsyncClient
    service: WalletService

    async def gql(self, query: str, token: str | None = None, **variables: object) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers=as_router_if_federation(query, headers),
        )
        return response.json()


@pytest.fixture
async def wallet_app(tmp_path: Path) -> AsyncIterator[InProcessWallet]:
    """The wallet app in-process (migrated at start by its lifespan) on its own SQLite file."""
    settings = get_settings().model_copy(update={"wallet_database_url": sqlite_url(tmp_path / "app.db")})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wallet.test") as client:
            yield InProcessWallet(client=client, service=app.state.deps.service)


@dataclass
class WalletProcess:
    """A real wallet subgraph process and the database URL it writes to."""

    process: Process
    url: str
    database_url: str
    backend: str


def _start(base_env: dict[str, str], log_dir: Path, database_url: str, backend: str) -> WalletProcess:
    env = {**base_env, "WALLET_DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    process, port = start_subgraph("wallet", env, log_dir)
    return WalletProcess(process, f"http://127.0.0.1:{port}/graphql", database_url, backend)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def wallet_process(
    request: pytest.FixtureRequest, base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WalletProcess]:
    """A real wallet process on SQLite, then on a fresh PostgreSQL database (skipped without one)."""
    log_dir = tmp_path_factory.mktemp(f"wallet-{request.param}")
    if request.param == "sqlite":
        proc = _start(base_env, log_dir, sqlite_url(log_dir / "wallets.db"), "sqlite")
        try:
            yield proc
        finally:
            proc.process.stop()
        return
    request.getfixturevalue("postgres_admin_url")
    from tests.support.postgres import fresh_database

    with fresh_database("sawit_wallet") as database_url:
        proc = _start(base_env, log_dir, database_url, "postgres")
        try:
            yield proc
        finally:
            proc.process.stop()
